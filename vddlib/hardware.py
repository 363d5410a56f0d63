"""What the machine offers: the device a profile asks for, and whether the CPU has native bf16.

A leaf (imports only torch and the standard library), so that every stage can ask the same questions the same way.
"""
from __future__ import annotations

import platform
from pathlib import Path

import torch

AUTOCAST = ("auto", "bf16", "no")


DEVICES = ("cpu", "cuda", "auto")


def resolve_device(name: str, setting: str = "evaluation.device") -> torch.device:
    """'auto' → cuda when there is one, else cpu; 'cuda' without one is an error that names the `setting`."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"{setting} is 'cuda' but torch sees no GPU; set it to 'auto' or 'cpu'.")
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


def cpu_model() -> str:
    """The CPU's model name as the kernel reports it (e.g. 'Intel(R) Xeon(R) Processor'), else the platform's.

    Machines of one kind differ in CPU (an AMD EPYC and a 2.1 GHz Intel Xeon, both with AVX-512 and native bf16, ran
    the default notebooks 1.7x apart), so a timing table names the model beside the instruction set."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine()


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


ATTENTION = ("auto", "flash", "efficient", "cudnn", "math")


def attention_backend(name: str, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                      head_dim: int = 64) -> str:
    """The scaled-dot-product-attention kernel to ask for: `name` if it runs here, else 'auto' with a warning.

    'auto' lets PyTorch pick per call (flash, memory-efficient, cuDNN or math). A named kernel is probed once
    with a small forward and backward at this device, dtype and head size: flash needs fp16/bf16 on a GPU
    (fp32 too on a CPU), memory-efficient and cuDNN exist on GPUs only, math runs everywhere.
    """
    import warnings

    import torch.nn.functional as F
    from torch.nn.attention import sdpa_kernel

    if name not in ATTENTION:
        raise ValueError(f"attention must be one of {ATTENTION}; got {name!r}")
    if name == "auto":
        return name
    q = torch.randn(1, 2, 16, head_dim, device=device, dtype=dtype, requires_grad=True)
    try:
        with warnings.catch_warnings(), sdpa_kernel(_sdpa_backends(name)), torch.enable_grad():
            warnings.simplefilter("ignore")               # PyTorch warns why a kernel was refused, then raises
            F.scaled_dot_product_attention(q, q, q).sum().backward()
    except RuntimeError as e:
        warnings.warn(f"attention kernel {name!r} does not run on {torch.device(device)} in {dtype} with head size "
                      f"{head_dim} ({str(e).splitlines()[0]}); using 'auto' (PyTorch picks per call).", stacklevel=2)
        return "auto"
    return name


def _sdpa_backends(name: str):
    from torch.nn.attention import SDPBackend

    return {"flash": [SDPBackend.FLASH_ATTENTION], "efficient": [SDPBackend.EFFICIENT_ATTENTION],
            "cudnn": [SDPBackend.CUDNN_ATTENTION], "math": [SDPBackend.MATH]}[name]


def attention_context(name: str):
    """A context in which scaled-dot-product attention uses kernel `name` (resolve it first); 'auto': PyTorch's choice."""
    import contextlib

    from torch.nn.attention import sdpa_kernel

    return contextlib.nullcontext() if name == "auto" else sdpa_kernel(_sdpa_backends(name))
