"""What the machine offers: the device a profile asks for, and whether the CPU has native bf16.

A leaf (imports only torch), so that every stage can ask the same questions the same way.
"""
from __future__ import annotations

import torch

AUTOCAST = ("auto", "bf16", "no")


def resolve_device(name: str) -> torch.device:
    """'auto' → cuda when there is one, else cpu; 'cuda' without one is an error that says so."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("evaluation.device is 'cuda' but torch sees no GPU; set it to 'auto' or 'cpu'.")
    return torch.device(name)


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware, as torch reports it.

    It needs the instructions (AVX-512 BF16 or AMX) and torch's kernels allowed to use them: the
    ATen dispatch level (ATEN_CPU_CAPABILITY) at AVX-512 and oneDNN's bf16 path (ONEDNN_MAX_CPU_ISA).
    Without them torch emulates bf16, 30-170x slower than fp32 (results/generation_dtype.md).
    """
    cpu = torch.cpu
    has_isa = cpu._is_avx512_bf16_supported() or (hasattr(cpu, "_is_amx_tile_supported") and cpu._is_amx_tile_supported())
    return bool(has_isa and torch.backends.cpu.get_cpu_capability().startswith("AVX512")
                and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def cpu_label() -> str:
    """The CPU as the precision choice sees it, e.g. 'AVX512; native bf16 yes' (a benchmark table's row key)."""
    return f"{torch.backends.cpu.get_cpu_capability()}; native bf16 {'yes' if native_bf16() else 'no'}"


def resolve_autocast(setting: str, device: torch.device | str = "cpu") -> str:
    """'auto' → 'bf16' on a GPU or a CPU with native bf16, else 'no' (fp32); 'bf16' and 'no' are kept as forced."""
    if setting not in AUTOCAST:
        raise ValueError(f"autocast must be one of {AUTOCAST}; got {setting!r}")
    if setting != "auto":
        return setting
    return "bf16" if torch.device(device).type == "cuda" or native_bf16() else "no"
