"""Generating the synthetic pool: N_c videos per class, once, stored as shards + a manifest.

Video i of class c has global index g = c·N_c + i and its own seed (seed·1,000,003 + g),
which fixes its starting noise; DDIM (η=0) and DPM-Solver++ are deterministic, and DDPM and
SDE-DPM-Solver++ draw each video's fresh noise from a generator of its own, so any video can
be regenerated alone. Shards hold consecutive global indices; a rerun
skips finished shards, a shard cut short is redone (each is written to a temp file and
renamed), and several processes split the shards between them (Accelerate) without
changing a byte of the manifest.

Where it runs: `GenerateConfig.device` (cpu, cuda or auto; the paper profiles: auto), and with
`processes` > 1, `launch_pool` starts that many processes with `accelerate launch`, one per GPU
(`vddlib.cli.generate_pool`), which split the shards between them.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from ..logs import bar, log

from ..data.hashing import weights_hash
from ..data.pool import LATENTS, VIDEOS, assemble_pool, assembled, shard_path
from ..files import save_tensors, write_text
from ..hardware import AUTOCAST, DEVICES, resolve_autocast, resolve_device
from ..launch import accelerate_launch
from ..models.autoencoder import decode_latents

SEED_STRIDE = 1_000_003


SAMPLERS = ("dpmsolver++", "sde-dpmsolver++", "ddim", "ddpm")
STOCHASTIC = ("ddpm", "sde-dpmsolver++")      # fresh noise every step


@dataclass
class GenerateConfig:
    per_class: int = 100            # N_c
    guidance_scale: float = 2.0     # the best Full syn measured here; Latte's sampling used 7.0 (paper profiles)
    sampler: str = "dpmsolver++"    # "dpmsolver++", "sde-dpmsolver++", "ddim" or "ddpm" (Latte's: DDPM, 250 steps)
    steps: int = 10
    batch_size: int = 100
    shard_size: int = 100
    seed: int = 0
    autocast: str = "no"            # "no": fp32, the same pool on every CPU. "auto": bf16 on a GPU or a CPU with
                                    # native bf16 (AVX-512 BF16 / AMX), else fp32; "bf16" forces it. bf16 is 2.3x
                                    # faster where native and 30-170x slower where emulated (AVX2 only):
                                    # results/generation_dtype.md
    compile: bool = False           # torch.compile each Latte block in place (a GPU's pool; compilation costs minutes)
    video_frames: int = 0           # >0: the pool's videos are resampled to this many frames and ...
    video_size: int = 0             # ... this square size (the evaluators' clip, e.g. 16 × 112² when the diffusion
                                    # model works at 256²); 0: as decoded. Latents stay as sampled.
    device: str = "cpu"             # where Latte samples and the autoencoder decodes: "cpu", "cuda" or "auto" (the
                                    # GPU where there is one; the paper profiles)
    processes: int = 1              # >1: that many processes (one per GPU) split the shards, via `accelerate launch`

    def __post_init__(self) -> None:
        if self.per_class < 1:
            raise ValueError(f"GenerateConfig.per_class (N_c) must be >= 1; got {self.per_class}. "
                             "Set generate.per_class in the profile (the paper uses 100).")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"GenerateConfig.sampler must be one of {SAMPLERS}; got {self.sampler!r}")
        if self.steps < 1 or self.batch_size < 1 or self.shard_size < 1:
            raise ValueError("GenerateConfig.steps, batch_size and shard_size must be >= 1")
        if self.autocast not in AUTOCAST:
            raise ValueError(f"GenerateConfig.autocast must be one of {AUTOCAST}; got {self.autocast!r}")
        if self.video_frames < 0 or self.video_size < 0:
            raise ValueError("GenerateConfig.video_frames and video_size must be >= 0 (0: as decoded)")
        if self.device not in DEVICES:
            raise ValueError(f"GenerateConfig.device must be one of {DEVICES}; got {self.device!r}")
        if self.processes < 1:
            raise ValueError(f"GenerateConfig.processes must be >= 1; got {self.processes}")


def fit_videos(videos: torch.Tensor, frames: int = 0, size: int = 0) -> torch.Tensor:
    """uint8 (N, T, C, H, W) → `frames` evenly spaced frames at size × size (antialiased bilinear); 0 keeps an axis."""
    if frames and frames != videos.shape[1]:
        idx = torch.linspace(0, videos.shape[1] - 1, frames).round().long()
        videos = videos[:, idx]
    if size and (videos.shape[-2], videos.shape[-1]) != (size, size):
        n, t = videos.shape[:2]
        x = torch.nn.functional.interpolate(videos.flatten(0, 1).float(), size=(size, size), mode="bilinear",
                                            antialias=True, align_corners=False)
        videos = x.round().clamp(0, 255).to(torch.uint8).view(n, t, videos.shape[2], size, size)
    return videos


def precision(cfg: GenerateConfig, device: torch.device | str):
    """The autocast context that sampling and decoding run under (fp32, a no-op, where autocast resolves to 'no')."""
    dev = torch.device(device).type
    return torch.autocast(dev, dtype=torch.bfloat16, enabled=resolve_autocast(cfg.autocast, device) == "bf16")


def make_sampler(name: str, steps: int):
    from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler

    common = dict(num_train_timesteps=1000, beta_schedule="linear", beta_start=1e-4, beta_end=0.02)
    if name == "ddpm":
        s = DDPMScheduler(**common, clip_sample=False, variance_type="fixed_small", timestep_spacing="trailing")
    elif name == "ddim":
        s = DDIMScheduler(**common, clip_sample=False, set_alpha_to_one=False, timestep_spacing="trailing")
    else:
        s = DPMSolverMultistepScheduler(**common, algorithm_type=name, solver_order=2, timestep_spacing="trailing")
    s.set_timesteps(steps)
    return s


def video_seed(cfg: GenerateConfig, global_index: int) -> int:
    return cfg.seed * SEED_STRIDE + global_index


@torch.no_grad()
def sample_latents(model, labels: torch.Tensor, seeds: list[int], cfg: GenerateConfig,
                   device: torch.device | str = "cpu") -> torch.Tensor:
    """Latents (B, T, C, h, w) for the given labels, each starting from the noise of its own seed."""
    mc = model.config
    shape = (mc.num_frames, mc.in_channels, mc.sample_size, mc.sample_size)
    x = torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(int(s))) for s in seeds])
    x = x.to(device, model.dtype)
    y = labels.to(device)
    sched = make_sampler(cfg.sampler, cfg.steps)
    # DDPM and SDE-DPM-Solver++ draw fresh noise every step: one generator per video keeps each video regenerable alone.
    extra = ({"generator": [torch.Generator(x.device).manual_seed(int(s) + 1) for s in seeds]}
             if cfg.sampler in STOCHASTIC else {})
    for t in sched.timesteps:
        with precision(cfg, x.device):                      # the network only: the sampler's update stays fp32
            eps = model.forward_with_cfg(x, t.to(device), y, cfg.guidance_scale)
        x = sched.step(eps.to(x.dtype), t, x, **extra).prev_sample
    return x.float().cpu()


def generate_pool(model, vae, class_names: list[str], cfg: GenerateConfig, out_dir: str | Path,
                  accelerator=None, settings: dict | None = None, progress: bool = True,
                  stop_after_shards: int | None = None) -> Path:
    """Write the pool's shards and manifest into out_dir, then assemble the shards into one memory-mapped video file
    and one latent file (`vddlib.data.pool.assemble_pool`); returns the manifest path.

    Runs on `accelerator.device` when given (one process of several), else on `cfg.device`; the model and the
    autoencoder are moved there. Resumable: finished shards are kept, and an assembled pool is not generated again. `out_dir/made_by.json` records which weights
    made them; a folder whose shards other weights made (a retrained model, another run's) is emptied and generated
    again, never mixed."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rank, world = (accelerator.process_index, accelerator.num_processes) if accelerator else (0, 1)
    made_by = {"latte": weights_hash(model), "vae": weights_hash(vae)}
    if rank == 0:
        _claim(out_dir, made_by)
    if accelerator:
        accelerator.wait_for_everyone()
    device = accelerator.device if accelerator else resolve_device(cfg.device, "generate.device")
    model.to(device).eval()
    vae.to(device)
    if cfg.compile:
        model.compile_blocks()
    total = len(class_names) * cfg.per_class
    n_shards = -(-total // cfg.shard_size)
    whole = assembled(out_dir, made_by) is not None     # finished and assembled earlier: every shard is done
    done = lambda k: whole or shard_path(out_dir, k).is_file()
    mine = [k for k in range(n_shards) if k % world == rank]
    made = 0
    log.info("generate %s: %d videos in %d shards (%d here)", out_dir, total, n_shards,
             sum(not done(k) for k in mine))
    for k in bar(mine, desc="generate shards", show=progress):
        if done(k):
            continue                                        # finished earlier: never redone, never doubled
        if stop_after_shards is not None and made >= stop_after_shards:
            break
        _write_shard(model, vae, cfg, k, total, device, shard_path(out_dir, k))
        made += 1
    if accelerator:
        accelerator.wait_for_everyone()
    manifest = out_dir / "manifest.json"
    if rank == 0 and all(done(k) for k in range(n_shards)):
        _write_manifest(manifest, cfg, class_names, total, n_shards, device, made_by, settings)
        assemble_pool(out_dir)                          # one mapped file; the shards go
    if accelerator:
        accelerator.wait_for_everyone()
    return manifest


def _claim(out_dir: Path, made_by: dict) -> None:
    """Record which weights make the pool in `out_dir`; a pool other weights made there is removed first."""
    mark = out_dir / "made_by.json"
    if mark.is_file() and json.loads(mark.read_text()) != made_by:
        warnings.warn(f"{out_dir} holds a pool that other weights made ({mark}); generating it again with these.",
                      stacklevel=3)
        for p in [*out_dir.glob("shard_*"), out_dir / "manifest.json", out_dir / VIDEOS,
                  (out_dir / VIDEOS).with_suffix(".json"), out_dir / LATENTS]:
            p.unlink(missing_ok=True)
    write_text(mark, json.dumps(made_by))


def _write_shard(model, vae, cfg: GenerateConfig, k: int, total: int, device, path: Path) -> None:
    """Shard `k`: its videos' latents sampled a batch at a time (each video from its own seed), decoded, saved."""
    g = torch.arange(k * cfg.shard_size, min(total, (k + 1) * cfg.shard_size))
    labels = g // cfg.per_class
    lat = []
    for b in range(0, len(g), cfg.batch_size):
        gb = g[b:b + cfg.batch_size]
        lat.append(sample_latents(model, labels[b:b + cfg.batch_size], [video_seed(cfg, int(i)) for i in gb],
                                  cfg, device))
    lat = torch.cat(lat)
    with precision(cfg, device):
        videos = fit_videos(decode_latents(vae, lat), cfg.video_frames, cfg.video_size)
    save_tensors(path, {"latents": lat.half(), "videos": videos, "labels": labels, "global_index": g})


def _write_manifest(manifest: Path, cfg: GenerateConfig, class_names: list[str], total: int, n_shards: int, device,
                    made_by: dict, settings: dict | None) -> None:
    entries = [{"index": int(gi), "class": int(gi // cfg.per_class),
                "class_name": class_names[gi // cfg.per_class], "seed": video_seed(cfg, gi),
                "shard": shard_path(manifest.parent, gi // cfg.shard_size).name} for gi in range(total)]
    config = {k: v for k, v in asdict(cfg).items() if k != "processes"}     # how many made it: not what it is
    doc = {"config": config, "precision": resolve_autocast(cfg.autocast, device), "device": device.type,
           "settings": settings or {}, "made_by": made_by, "class_names": class_names,
           "n_videos": total, "n_shards": n_shards, "videos": entries}
    write_text(manifest, json.dumps(doc, indent=1))


def launch_pool(weights: str | Path, class_names: list[str], cfg: GenerateConfig, out_dir: str | Path,
                settings: dict | None = None, port: int | None = None) -> Path:
    """Generate the pool on `cfg.processes` processes (one per GPU; gloo processes on a CPU-only machine) with
    `accelerate launch -m vddlib.cli.generate_pool`; returns the manifest path.

    `weights` is a folder with `vae/` and `latte_ema/` (what `finetune` writes). The launch's settings go to
    `out_dir/launch.json`, which the processes read. The pool is the one `generate_pool` writes in one process, byte
    for byte; a rerun after a kill keeps the finished shards."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = out_dir / "launch.json"
    write_text(spec, json.dumps({"weights": str(weights), "class_names": list(class_names), "config": asdict(cfg),
                                 "out_dir": str(out_dir), "settings": settings or {}}, indent=1))
    log.info("generate %s on %d processes (accelerate launch)", out_dir, cfg.processes)
    accelerate_launch("vddlib.cli.generate_pool", [str(spec)], cfg.processes, port)
    manifest = out_dir / "manifest.json"
    if not manifest.is_file():
        raise RuntimeError(f"The launched processes left the pool in {out_dir} unfinished (no manifest.json); "
                           "run again to finish it (finished shards are kept).")
    return manifest
