"""How fast Latte trains and samples, and how near the hardware's limit: counted FLOPs, peaks, MFU, measurements.

FLOPs are counted by PyTorch's own `FlopCounterMode` on a copy of the model on the meta
device (no memory, no arithmetic), so they follow the code as it is: matmuls, convolutions
and attention, forward and backward; element-wise work is not counted, as is the convention
for MFU. MFU (model FLOPs utilisation, as in PaLM) divides the model's FLOPs per second by
the chip's dense peak; recomputation under activation checkpointing is work the hardware
does but the model does not need, so it is not counted.
"""
from __future__ import annotations

import contextlib
import functools
import json
import time
from dataclasses import replace

import torch
from torch.overrides import TorchFunctionMode

from vddlib.diffusion.train import LatteTrainConfig, make_optimizer, make_scheduler, speed_setup, train_step
from vddlib.hardware import attention_backend
from vddlib.models.latte import LatteClassConditional

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
    from vddlib.diffusion.generate import GenerateConfig, sample_latents

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


def vae_decode_flops(vae_config: dict, latent_size: int, frames: int = 1) -> float:
    """FLOPs of the autoencoder decoding `frames` latent frames of `latent_size`² (counted as for Latte: on the meta
    device, convolutions, matmuls and attention)."""
    from diffusers import AutoencoderKL
    from torch.utils.flop_counter import FlopCounterMode

    cfg = {k: v for k, v in dict(vae_config).items() if not k.startswith("_")}
    with torch.device("meta"):
        vae = AutoencoderKL(**cfg)
        z = torch.zeros(frames, cfg.get("latent_channels", 4), latent_size, latent_size)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        vae.decode(z)
    return float(counter.get_total_flops())


def measure_decoding(vae_config: dict, latent_size: int, batch_frames: int = 256, reps: int = 2,
                     precision: str = "bf16", device: str | torch.device = "cpu", channels_last: bool = False,
                     frames_per_video: int = 16, pool_videos: int = 101 * 100, resize_to: int = 0) -> dict:
    """Time the pool's own decoding (`decode_latents` under the sampling precision's autocast, uint8 frames back on
    the host) of `batch_frames` frames, `reps` times after a warm-up; returns seconds per video of
    `frames_per_video` frames, TFLOP/s, MFU, peak memory and the hours to decode a pool of `pool_videos`.
    `channels_last`: the autoencoder's weights in NHWC layout, which cuDNN's bf16 convolutions prefer (the pool
    decodes in the default layout; this measures what switching would give). `resize_to` > 0: the frames are then
    resampled to that size on the host, as the pool does for the evaluators' clip (`fit_videos`), timed apart
    (`resize_s_per_video`) and counted in the pool's hours, since the GPU waits for it."""
    from diffusers import AutoencoderKL

    from vddlib.models.autoencoder import decode_latents
    from vddlib.diffusion.generate import fit_videos

    device = torch.device(device)
    _reset_peak(device)
    torch.manual_seed(0)
    vae = AutoencoderKL(**vae_config).to(device).eval()
    if channels_last:
        vae.to(memory_format=torch.channels_last)
    c = vae.config.latent_channels
    z = torch.randn(1, batch_frames, c, latent_size, latent_size, generator=torch.Generator().manual_seed(0))
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
    with amp, torch.no_grad():
        decode_latents(vae, z, batch_frames=batch_frames)           # warm-up (cuDNN picks its kernels)
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(reps):
            videos = decode_latents(vae, z, batch_frames=batch_frames)
        seconds = (time.perf_counter() - t0) / reps     # decode_latents returns on the host: the device is done
    resize = 0.0
    if resize_to:
        t0 = time.perf_counter()
        for _ in range(reps):
            fit_videos(videos, 0, resize_to)
        resize = (time.perf_counter() - t0) / reps / batch_frames * frames_per_video
    per_video = seconds / batch_frames * frames_per_video
    flops = vae_decode_flops(vae_config, latent_size, frames_per_video)
    tflops = flops / per_video / 1e12
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    peak = peak_tflops(name, precision)
    return {"device": name, "batch_frames": batch_frames, "precision": precision, "channels_last": channels_last,
            "s_per_video": per_video,
            "frame_size": list(videos.shape[-2:]), "tflop_per_video": flops / 1e12, "tflops": tflops,
            "mfu": tflops / peak if peak else None, "peak_gib": _peak_gib(device),
            "resize_to": resize_to, "resize_s_per_video": resize,
            "pool_gpu_hours": pool_videos * (per_video + resize) / 3600}


def estimate_train_memory(model_config: dict, batch: int, checkpoint_ratio: float = 0.0,
                          precision: str = "bf16", compile: bool = False) -> dict:
    """GiB a training step on a GPU holds at its peak, estimated on the CPU (to choose batch and checkpointing
    before a GPU is at hand).

    Static: fp32 weights, gradients, AdamW's two moments and the EMA copy (20 bytes per parameter). Activations:
    Latte with 2 and with 4 blocks runs forward on one and on two videos under bf16 autocast, counting every tensor
    autograd saves (once per storage, weights excluded). Two videos less one is what each video adds; one less that
    is what a step saves whatever the batch (the bf16 copies autocast makes of the weights); four blocks less two is
    one spatial + temporal block pair; all scaled to the whole depth and the batch. CUDA's autocast runs layer norm
    in fp32 and CPU's does not, so the count runs layer norm the CUDA way (`_CudaAutocastNorms`). A checkpointed
    block keeps only its input, and backward recomputes one block at a time. Transient buffers inside single
    kernels are not counted. With `compile`, the blocks are compiled (on the CPU) before counting: what a compiled
    block saves is what torch.compile's partitioner chose to keep, which it decides before any device's kernels
    are generated, so the CPU's choice stands for the GPU's (to be checked against a GPU measurement). Against the
    one GPU measurement (H200, batch 16, no checkpointing: 116.5 GiB peak) it gives 118.2 GiB
    (results/latte_memory.md)."""
    cfg = {k: v for k, v in dict(model_config).items() if not k.startswith("_")}
    depth = cfg["depth"]
    key = json.dumps(cfg, sort_keys=True)
    (s2, block_input), (s2b, _), (s4, _), (s4b, _) = (_saved_bytes(key, d, precision, v, compile)
                                                       for d in (2, 4) for v in (1, 2))
    video2, video4 = s2b - s2, s4b - s4                 # what one more video adds, with 2 and with 4 blocks
    fixed2, fixed4 = s2 - video2, s4 - video4           # what does not grow with the batch
    pair, pair_fixed = video4 - video2, fixed4 - fixed2
    ckpt = round(checkpoint_ratio * depth)
    # block pairs whose saves are held when backward starts (its peak): the blocks not checkpointed, which are the
    # last ones and freed before backward reaches a checkpointed block; with every block checkpointed, the one
    # block backward recomputes
    kept = max((depth - ckpt) / 2, 0.5)
    per_video = video2 - pair + kept * pair + ckpt * block_input
    fixed = fixed2 - pair_fixed + kept * pair_fixed
    with torch.device("meta"):                          # sizes only: no memory, no random draws
        n_params = sum(p.numel() for p in LatteClassConditional(**cfg).parameters())
    gib = 2 ** 30
    activations = batch * per_video + fixed
    return {"params_M": n_params / 1e6, "static_gib": 20 * n_params / gib, "activations_gib": activations / gib,
            "total_gib": (20 * n_params + activations) / gib, "pair_gib_per_video": pair / gib,
            "pair_gib_fixed": pair_fixed / gib}


class _CudaAutocastNorms(TorchFunctionMode):
    """Under CPU autocast, run layer norm in fp32 as CUDA's autocast does (its fp32 op list has layer_norm, CPU's
    runs it in the input's dtype): the fp32 copy of the input and the fp32 output are what a GPU step saves."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.nn.functional.layer_norm and torch.is_autocast_enabled("cpu"):
            with torch.autocast("cpu", enabled=False):
                return func(args[0].float(), *args[1:], **kwargs)
        return func(*args, **kwargs)


def _saved_bytes(config_json: str, depth: int, precision: str, videos: int = 1,
                 compile: bool = False) -> tuple[int, int]:
    """Bytes autograd saves for backward in one forward of a `depth`-block Latte on `videos` videos (GPU autocast
    policy), and one block's input per video; the caller's random state is left as it was (only sizes matter)."""
    with torch.random.fork_rng(devices=[]):
        return _count_saved(config_json, depth, precision, videos, compile)


@functools.lru_cache(maxsize=32)
def _count_saved(config_json: str, depth: int, precision: str, videos: int = 1,
                 compile: bool = False) -> tuple[int, int]:
    cfg = json.loads(config_json)
    model = LatteClassConditional(**{**cfg, "depth": depth})
    x = torch.randn(videos, cfg["num_frames"], cfg["in_channels"], cfg["sample_size"], cfg["sample_size"])
    if compile:
        model.compile_blocks()
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}
    block_input = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        ptr = t.untyped_storage().data_ptr()
        if ptr not in weights:
            saved[ptr] = t.untyped_storage().nbytes()
        return t

    hook = model.blocks[0].register_forward_pre_hook(
        lambda m, a: block_input.append(a[0].numel() * a[0].element_size() // videos))
    bf16 = precision == "bf16"
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), \
            torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16), \
            (_CudaAutocastNorms() if bf16 else contextlib.nullcontext()):
        model(x, torch.full((videos,), 500), torch.zeros(videos, dtype=torch.long)).float().square().mean()
    hook.remove()
    return sum(saved.values()), block_input[0]
