"""How fast Latte trains and samples, and how near the hardware's limit: counted FLOPs, peaks, MFU, measurements.

FLOPs are counted by PyTorch's own `FlopCounterMode` on a copy of the model on the meta
device (no memory, no arithmetic), so they follow the code as it is: matmuls, convolutions
and attention, forward and backward; element-wise work is not counted, as is the convention
for MFU. MFU (model FLOPs utilisation, as in PaLM) divides the model's FLOPs per second by
the chip's dense peak; recomputation under activation checkpointing is work the hardware
does but the model does not need, so it is not counted.
"""
from __future__ import annotations

import functools
import json
import time
from dataclasses import replace

import torch

from ..hardware import attention_backend
from ..models.latte import LatteClassConditional
from .train import LatteTrainConfig, make_optimizer, make_scheduler, speed_setup, train_step

# Dense (no sparsity) peak TFLOP/s per chip, from the vendors' data sheets: bf16/fp16 tensor cores and TF32.
# Matched by the first key contained in torch.cuda.get_device_name(); "H100" alone is the SXM part.
PEAK_TFLOPS = {
    "H200": {"bf16": 989.4, "tf32": 494.7},
    "H100 PCIe": {"bf16": 756.0, "tf32": 378.0},
    "H100 NVL": {"bf16": 835.0, "tf32": 417.5},
    "H100": {"bf16": 989.4, "tf32": 494.7},
    "A100": {"bf16": 312.0, "tf32": 156.0},
    "L40S": {"bf16": 362.1, "tf32": 183.0},
    "RTX 4090": {"bf16": 165.2, "tf32": 82.6},
}


def peak_tflops(device_name: str, precision: str) -> float | None:
    """The chip's dense peak for `precision` ('bf16'/'fp16' → tensor-core bf16, 'no' → TF32); None if unknown (CPUs)."""
    for key, peaks in PEAK_TFLOPS.items():
        if key in device_name:
            return peaks["tf32" if precision == "no" else "bf16"]
    return None


def latte_flops(config: dict, batch: int = 1, train: bool = False, guidance: bool = False) -> float:
    """FLOPs of one Latte forward (or forward + backward with `train`) on `batch` videos of the config's shape;
    `guidance`: a classifier-free-guidance pass (conditional and null labels stacked: twice the batch)."""
    from torch.utils.flop_counter import FlopCounterMode

    cfg = {k: v for k, v in dict(config).items() if not k.startswith("_")}
    n = batch * (2 if guidance else 1)
    with torch.device("meta"):
        model = LatteClassConditional(**cfg)
        x = torch.zeros(n, cfg["num_frames"], cfg["in_channels"], cfg["sample_size"], cfg["sample_size"])
        t = torch.zeros(n, dtype=torch.long)
        y = torch.zeros(n, dtype=torch.long)
    counter = FlopCounterMode(display=False)
    with counter:
        if train:
            model(x, t, y).float().square().mean().backward()
        else:
            with torch.no_grad():
                model(x, t, y)
    return float(counter.get_total_flops())


def latte_flops_formula(config: dict) -> float:
    """Forward FLOPs per video from the architecture (2 per multiply-add), for reading and as a check on the count:
    patch embedding, per block the adaLN modulation (one row per frame or per patch position), the q/k/v/out
    projections, attention scores and mixing (within a frame, or across frames), the MLP, and the final layer."""
    D, L, r = config["hidden_size"], config["depth"], config["mlp_ratio"]
    p, C, S, F = config["patch_size"], config["in_channels"], config["sample_size"], config["num_frames"]
    N = (S // p) ** 2                                   # patches per frame
    out = C * (2 if config["learn_sigma"] else 1)
    tokens = F * N
    macs = tokens * C * p * p * D                       # patch embedding
    macs += 256 * D + D * D                             # timestep MLP (one row per video)
    for i in range(L):
        rows, seq = (F, N) if i % 2 == 0 else (N, F)    # spatial block: F frames of N patches; temporal: N of F
        macs += rows * D * 6 * D                        # adaLN-Zero: shift/scale/gate ×2
        macs += tokens * 4 * D * D                      # q, k, v, out
        macs += rows * 2 * seq * seq * D                # q·kᵀ and weights·v
        macs += tokens * 2 * r * D * D                  # MLP up and down
    macs += F * D * 2 * D + tokens * D * p * p * out    # final adaLN and projection
    return 2.0 * macs


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _peak_gib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None


def measure_training(model_config: dict, cfg: LatteTrainConfig, batch: int, steps: int = 5, warmup: int = 3,
                     device: str | torch.device = "cpu", seed: int = 0) -> dict:
    """Time `steps` steps of Latte training (train_step, as train_latte takes them) after `warmup` steps, on random
    latents of the model's shape; returns step time, videos/s, TFLOP/s and MFU from the counted FLOPs, peak memory."""
    from diffusers.training_utils import EMAModel

    device = torch.device(device)
    torch.manual_seed(seed)
    _reset_peak(device)
    model = LatteClassConditional(**model_config).to(device)
    speed = speed_setup(model, cfg, device)
    ema = EMAModel(model.parameters(), decay=cfg.ema_decay, foreach=speed["fused"])
    opt = make_optimizer(model, cfg, speed["fused"])
    scheduler = make_scheduler()
    mc = model.config
    g = torch.Generator().manual_seed(seed)
    x0 = torch.randn(batch, mc.num_frames, mc.in_channels, mc.sample_size, mc.sample_size, generator=g).to(device)
    y = torch.randint(0, mc.num_classes, (batch,), generator=g).to(device)
    model.train()
    losses = []
    for s in range(warmup + steps):
        if s == warmup:
            _sync(device)
            t0 = time.perf_counter()
        losses.append(train_step(model, opt, ema, scheduler, x0, y, torch.Generator().manual_seed(seed + s),
                                 cfg).detach())
    _sync(device)
    step_s = (time.perf_counter() - t0) / steps
    flops = latte_flops(mc, batch=batch, train=True)
    tflops = flops / step_s / 1e12
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    peak = peak_tflops(name, cfg.mixed_precision)
    return {"device": name, "batch": batch, "precision": cfg.mixed_precision, "attention": speed["attention"],
            "fused": speed["fused"], "compile": cfg.compile,
            "checkpointing": cfg.checkpoint_ratio if cfg.gradient_checkpointing else 0.0,
            "step_s": step_s, "videos_per_s": batch / step_s, "train_tflop_per_video": flops / batch / 1e12,
            "tflops": tflops, "mfu": tflops / peak if peak else None, "peak_gib": _peak_gib(device),
            "loss_first_last": [float(losses[0]), float(losses[-1])]}


def measure_sampling(model_config: dict, batch: int, steps: int = 10, guidance_scale: float = 7.0,
                     precision: str = "bf16", attention: str = "auto", compile: bool = False,
                     device: str | torch.device = "cpu", pool_videos: int = 101 * 100, pool_steps: int = 250) -> dict:
    """Time the pool's own sampling (`sample_latents`: DPM-Solver++, CFG stacked into one pass of 2×batch) of `batch`
    videos for `steps` steps after a one-step warm-up; returns seconds per step per video, TFLOP/s, MFU and the
    hours for a whole pool of `pool_videos` at `pool_steps` steps on this one device."""
    from .generate import GenerateConfig, sample_latents

    device = torch.device(device)
    _reset_peak(device)
    model = LatteClassConditional(**model_config).to(device).eval()
    if compile:
        model.compile_blocks()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    attention = attention_backend(attention, device, dtype, model.config.hidden_size // model.config.num_heads)
    model.set_attention(attention)
    mc = model.config
    labels, seeds = torch.arange(batch) % mc.num_classes, list(range(batch))
    cfg = GenerateConfig(guidance_scale=guidance_scale, sampler="dpmsolver++", steps=steps, autocast=precision)
    sample_latents(model, labels, seeds, replace(cfg, steps=1), device)  # warm-up, compile
    _sync(device)
    t0 = time.perf_counter()
    x = sample_latents(model, labels, seeds, cfg, device)
    seconds = time.perf_counter() - t0                  # sample_latents returns on the host: the device is done
    per_step_video = seconds / steps / batch
    flops = latte_flops(mc, batch=1, guidance=guidance_scale != 1.0)
    tflops = flops / per_step_video / 1e12
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    peak = peak_tflops(name, precision)
    return {"device": name, "batch": batch, "steps": steps, "guidance": guidance_scale, "precision": precision,
            "attention": attention, "compile": compile, "s_per_step_per_video": per_step_video,
            "tflops": tflops, "mfu": tflops / peak if peak else None, "peak_gib": _peak_gib(device),
            "pool_gpu_hours": pool_videos * pool_steps * per_step_video / 3600, "pool_steps": pool_steps,
            "finite": bool(torch.isfinite(x).all())}


def estimate_train_memory(model_config: dict, batch: int, checkpoint_ratio: float = 0.0,
                          precision: str = "bf16") -> dict:
    """GiB a training step holds at its peak, estimated on the CPU (to choose batch and checkpointing before a GPU).

    Static: fp32 weights, gradients, AdamW's two moments and the EMA copy (20 bytes per parameter). Activations:
    Latte with 2 and with 4 blocks runs forward on one video under bf16 autocast, counting every tensor autograd
    saves (once per storage, weights excluded); the difference is one spatial + temporal block pair, the rest is
    outside the blocks; both are scaled to the whole depth and the batch. A checkpointed block keeps only its
    input, and backward recomputes one block at a time. Transient buffers inside single kernels are not counted,
    so a measured peak runs somewhat higher."""
    cfg = {k: v for k, v in dict(model_config).items() if not k.startswith("_")}
    depth = cfg["depth"]
    key = json.dumps(cfg, sort_keys=True)
    (two, block_input), (four, _) = (_saved_bytes(key, d, precision) for d in (2, 4))
    pair = four - two
    ckpt = round(checkpoint_ratio * depth)
    per_video = two - pair + (depth - ckpt) * pair / 2 + ckpt * block_input + (pair / 2 if ckpt else 0)
    n_params = sum(p.numel() for p in LatteClassConditional(**cfg).to("meta").parameters())
    gib = 2 ** 30
    return {"params_M": n_params / 1e6, "static_gib": 20 * n_params / gib, "activations_gib": batch * per_video / gib,
            "total_gib": (20 * n_params + batch * per_video) / gib, "pair_gib_per_video": pair / gib}


@functools.lru_cache(maxsize=16)
def _saved_bytes(config_json: str, depth: int, precision: str) -> tuple[int, int]:
    """Bytes autograd saves for backward in one forward of a `depth`-block Latte on one video, and one block's input."""
    cfg = json.loads(config_json)
    model = LatteClassConditional(**{**cfg, "depth": depth})
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}
    block_input = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        ptr = t.untyped_storage().data_ptr()
        if ptr not in weights:
            saved[ptr] = t.untyped_storage().nbytes()
        return t

    hook = model.blocks[0].register_forward_pre_hook(lambda m, a: block_input.append(a[0].numel() * a[0].element_size()))
    x = torch.randn(1, cfg["num_frames"], cfg["in_channels"], cfg["sample_size"], cfg["sample_size"])
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), \
            torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        model(x, torch.tensor([500]), torch.tensor([0])).float().square().mean()
    hook.remove()
    return sum(saved.values()), block_input[0]
