"""Training class-conditional Latte on training-split latents, through Hugging Face Accelerate.

One function, `train_latte`, serves the notebook (one process) and `accelerate launch`
(several processes, gloo on CPU or NCCL on GPUs; see `vddlib/cli/train_latte.py`).

Resumable by construction: every random draw of step s (batch order, timesteps, noise,
label dropout) comes from generators seeded by (seed, s, rank), not from a running RNG,
so a run killed after checkpoint k and resumed from it takes the very same steps as a run
that was never interrupted. Checkpoints (`accelerator.save_state`: model, optimiser, EMA)
are written to a temporary folder and renamed, so a kill mid-save loses nothing saved before.

Loss: ε-prediction MSE under diffusers' DDPM schedule (1000 steps, linear betas). With
`learn_sigma` (Latte/DiT) the variance half of the output is trained with the variational
bound on a stopped-gradient mean, the "hybrid" loss of improved DDPM that Latte uses.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from ..logs import bar, log

from ..files import write_text
from ..hardware import ATTENTION, attention_backend
from ..launch import accelerate_launch
from ..models.latte import LATTE_SIZES, LatteClassConditional
from ..checksums import load_checked


@dataclass
class LatteTrainConfig:
    size: str = "small"                 # a LATTE_SIZES name (the paper: XL/2)
    lr: float = 1e-3                    # Latte: AdamW 1e-4, no weight decay (params/paper_base.yaml)
    batch_size: int = 512               # global batch, split across processes
    steps: int = 4000
    ema_decay: float = 0.999            # Latte: 0.9999
    grad_clip: float = 1.0
    class_dropout_prob: float = 0.1
    learn_sigma: bool = False           # Latte: True (learned variance; the paper profiles)
    mixed_precision: str = "no"         # "no", "bf16" or "fp16" (GPU)
    checkpoint_every: int = 1000
    keep_checkpoints: int = 2
    gradient_checkpointing: bool = False
    checkpoint_ratio: float = 1.0       # with gradient_checkpointing: the share of blocks recomputed (memory vs speed)
    # GPU throughput switches (results/latte_throughput.md). Their defaults are the plain CPU path.
    attention: str = "auto"             # scaled-dot-product-attention kernel: auto / flash / efficient / cudnn / math;
                                        # one that cannot run here falls back to auto with a warning
    fused: str = "auto"                 # fused AdamW + one-kernel (foreach) EMA update: auto = on a GPU; yes / no
    compile: bool = False               # torch.compile each Latte block in place (needs a C++ compiler on CPU)
    data_on_device: str = "auto"        # auto: on a GPU, keep the training latents there if they take < 1/4 of its
                                        # free memory (else on the host); yes / no force it
    seed: int = 0

    def __post_init__(self) -> None:
        if self.size not in LATTE_SIZES:
            raise ValueError(f"LatteTrainConfig.size must be one of {sorted(LATTE_SIZES)}; got {self.size!r}")
        if self.mixed_precision not in ("no", "bf16", "fp16"):
            raise ValueError(f"LatteTrainConfig.mixed_precision must be 'no', 'bf16' or 'fp16'; got {self.mixed_precision!r}")
        if self.steps < 1 or self.batch_size < 1 or self.checkpoint_every < 1:
            raise ValueError("LatteTrainConfig.steps, batch_size and checkpoint_every must be >= 1")
        if not 0.0 < self.checkpoint_ratio <= 1.0:
            raise ValueError(f"LatteTrainConfig.checkpoint_ratio must be in (0, 1]; got {self.checkpoint_ratio}")
        if self.attention not in ATTENTION:
            raise ValueError(f"LatteTrainConfig.attention must be one of {ATTENTION}; got {self.attention!r}")
        for name in ("fused", "data_on_device"):
            if getattr(self, name) not in ("auto", "yes", "no"):
                raise ValueError(f"LatteTrainConfig.{name} must be 'auto', 'yes' or 'no'; got {getattr(self, name)!r}")


def make_accelerator(mixed_precision: str = "no", cpu: bool = False):
    """An Accelerator on the GPU where there is one (one per process), else on the CPU with gloo; `cpu` keeps it
    on the CPU even where there is a GPU (a profile's `device: cpu`).

    accelerate's `--cpu` flag takes its single-process launcher; several CPU processes
    come from `accelerate launch --multi_gpu --num_processes N` (torchrun underneath) with
    `cpu=True` here, which makes Accelerate initialise torch.distributed with gloo.
    """
    from accelerate import Accelerator

    return Accelerator(mixed_precision=mixed_precision, cpu=cpu or not torch.cuda.is_available())


def close_accelerator(acc) -> None:
    """Leave torch.distributed cleanly: a last barrier, then destroy the process group.

    Exiting with gloo's threads still up can abort a rank at interpreter shutdown
    ("terminate called without an active exception") after all its work is done, which
    torchrun then reports as a failed run.
    """
    import torch.distributed as dist

    if acc is not None and acc.num_processes > 1 and dist.is_available() and dist.is_initialized():
        acc.wait_for_everyone()
        dist.destroy_process_group()


def make_scheduler():
    """Latte's training noise schedule: DDPM, 1000 steps, linear betas 1e-4 … 0.02."""
    from diffusers import DDPMScheduler

    return DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", beta_start=1e-4, beta_end=0.02)


# ----------------------------------------------------------------------- variational bound (learn_sigma)
def _normal_kl(mean1, logvar1, mean2, logvar2):
    return 0.5 * (-1.0 + logvar2 - logvar1 + torch.exp(logvar1 - logvar2) + (mean1 - mean2) ** 2 * torch.exp(-logvar2))


def _approx_std_normal_cdf(x):
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def _discretized_gaussian_loglik(x, means, log_scales):
    centered = x - means
    inv = torch.exp(-log_scales)
    cdf_plus = _approx_std_normal_cdf(inv * (centered + 1.0 / 255.0))
    cdf_min = _approx_std_normal_cdf(inv * (centered - 1.0 / 255.0))
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_one_minus_cdf_min = torch.log((1.0 - cdf_min).clamp(min=1e-12))
    log_probs = torch.where(x < -0.999, log_cdf_plus,
                            torch.where(x > 0.999, log_one_minus_cdf_min, torch.log((cdf_plus - cdf_min).clamp(min=1e-12))))
    return log_probs


def vlb_loss(scheduler, x0, xt, t, eps, var_out):
    """Per-sample variational-bound term (bits/dim) for a learned-range variance, mean held fixed."""
    ac = scheduler.alphas_cumprod.to(x0.device, torch.float64)
    betas = scheduler.betas.to(x0.device, torch.float64)
    ac_prev = torch.cat([ac.new_ones(1), ac[:-1]])
    post_var = betas * (1 - ac_prev) / (1 - ac)
    post_logvar = torch.log(torch.cat([post_var[1:2], post_var[1:]]))
    coef1 = betas * ac_prev.sqrt() / (1 - ac)
    coef2 = (1 - ac_prev) * (1 - betas).sqrt() / (1 - ac)

    def at(a):
        return a[t].float().view(-1, *([1] * (x0.ndim - 1)))

    true_mean = at(coef1) * x0 + at(coef2) * xt
    true_logvar = at(post_logvar)
    frac = (var_out + 1) / 2
    model_logvar = frac * at(torch.log(betas)) + (1 - frac) * true_logvar
    pred_x0 = (xt - at((1 - ac).sqrt()) * eps) / at(ac.sqrt())
    model_mean = at(coef1) * pred_x0 + at(coef2) * xt
    dims = list(range(1, x0.ndim))
    kl = _normal_kl(true_mean, true_logvar, model_mean, model_logvar).mean(dim=dims) / math.log(2.0)
    nll = -_discretized_gaussian_loglik(x0, model_mean, 0.5 * model_logvar).mean(dim=dims) / math.log(2.0)
    return torch.where(t == 0, nll, kl)


def diffusion_loss(model, scheduler, x0, labels, gen: torch.Generator):
    """Latte's training loss on a batch of clean latents (B, T, C, h, w)."""
    B, C = x0.shape[0], x0.shape[2]
    t = torch.randint(0, scheduler.config.num_train_timesteps, (B,), generator=gen).to(x0.device)
    noise = torch.randn(x0.shape, generator=gen).to(x0.device, x0.dtype)
    xt = scheduler.add_noise(x0, noise, t)
    out = model(xt, t, labels)
    eps = out[:, :, :C]
    loss = F.mse_loss(eps.float(), noise.float(), reduction="none").mean(dim=list(range(1, x0.ndim)))
    if out.shape[2] == 2 * C:
        loss = loss + vlb_loss(scheduler, x0.float(), xt.float(), t, eps.detach().float(), out[:, :, C:].float())
    return loss.mean()


# ----------------------------------------------------------------------------- training
def _latest_checkpoint(ckpt_dir: Path) -> tuple[int, Path | None]:
    done = sorted(((int(p.name.split("_")[1]), p) for p in ckpt_dir.glob("step_*")
                   if p.is_dir() and p.name.split("_")[1].isdigit()), key=lambda sp: sp[0])
    return done[-1] if done else (0, None)


def _batch_indices(n: int, step: int, batch: int, seed: int, rank: int, world: int) -> torch.Tensor:
    """This process's share of the global batch of `step`: epochs are seeded permutations."""
    per_epoch = n // batch
    if per_epoch == 0:
        raise ValueError(f"batch_size {batch} exceeds the {n} training videos; lower diffusion.batch_size")
    epoch, pos = divmod(step, per_epoch)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
    return perm[pos * batch:(pos + 1) * batch][rank::world]


def build_latte(num_classes: int, frames: int, latent_size: int, latent_channels: int,
                cfg: LatteTrainConfig, init_from: str | Path | None = None) -> LatteClassConditional:
    """A fresh Latte of `cfg.size`, or one fine-tuned from a folder (ours) or an original `.pt`."""
    if init_from:
        init_from = Path(init_from)
        if init_from.suffix == ".pt":
            from ..models.latte_convert import load_original_latte

            return load_original_latte(init_from, num_classes=num_classes, num_heads=LATTE_SIZES[cfg.size]["num_heads"],
                                       reinit_labels=True, sample_size=latent_size, in_channels=latent_channels)
        model = load_checked(lambda p: LatteClassConditional.from_pretrained(p, local_files_only=True), init_from,
                             "Latte to fine-tune")
        if model.config.num_classes != num_classes:
            raise ValueError(f"{init_from} has {model.config.num_classes} classes, the dataset {num_classes}; "
                             "convert it with reinit_labels or pick a matching checkpoint.")
        return model
    return LatteClassConditional(sample_size=latent_size, num_frames=frames, in_channels=latent_channels,
                                 num_classes=num_classes, class_dropout_prob=cfg.class_dropout_prob,
                                 learn_sigma=cfg.learn_sigma, **LATTE_SIZES[cfg.size])


def _switch_on(setting: str, device: torch.device | str) -> bool:
    return setting == "yes" or (setting == "auto" and torch.device(device).type == "cuda")


def speed_setup(model: LatteClassConditional, cfg: LatteTrainConfig, device: torch.device | str) -> dict:
    """Apply the throughput switches to `model` (checkpointing, compiled blocks, the attention kernel that runs
    here: a refused one falls back to 'auto'); return what they resolved to, and whether to fuse the updates."""
    if cfg.gradient_checkpointing:
        model.enable_gradient_checkpointing()
        model.checkpoint_ratio = cfg.checkpoint_ratio
    if cfg.compile:
        model.compile_blocks()
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(cfg.mixed_precision, torch.float32)
    attention = attention_backend(cfg.attention, device, dtype, model.config.hidden_size // model.config.num_heads)
    model.set_attention(attention)
    return {"attention": attention, "fused": _switch_on(cfg.fused, device)}


def make_optimizer(model: torch.nn.Module, cfg: LatteTrainConfig, fused: bool) -> torch.optim.AdamW:
    """Latte's AdamW (no weight decay); `fused`: one kernel for the whole update (else PyTorch's default)."""
    return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0, fused=True if fused else None)


def place_training_data(latents: torch.Tensor, labels: torch.Tensor, device: torch.device | str,
                        setting: str = "auto") -> tuple[torch.Tensor, torch.Tensor]:
    """Where the pre-encoded training latents live: on the GPU itself when they fit (UCF101's train split is 3.5 GB
    in fp32), so a step gathers its batch there; else in host memory, where a step gathers its batch and copies it
    over (4 MB for 16 Latte-XL/2 videos, well under a millisecond next to a step of a second or more, so pinning
    the host copy would gain nothing measurable). On a CPU: as given."""
    device = torch.device(device)
    if device.type != "cuda" or latents.is_cuda or setting == "no":
        return latents, labels
    if setting == "auto" and latents.nbytes + labels.nbytes > torch.cuda.mem_get_info(device)[0] / 4:
        return latents, labels
    return latents.to(device), labels.to(device)


def train_step(model, opt, ema, scheduler, x0: torch.Tensor, y: torch.Tensor, gen: torch.Generator,
               cfg: LatteTrainConfig, acc=None) -> torch.Tensor:
    """One step of Latte training: the loss under autocast, backward, clipping, AdamW, EMA; returns the loss (on
    the device). Through `acc` (Accelerate) as `train_latte` runs it, or without one in a single process, as
    the throughput benchmark does (Accelerate's bf16 autocast is torch.autocast; fp16 needs its gradient scaler)."""
    if acc is None and cfg.mixed_precision == "fp16":
        raise ValueError("mixed_precision 'fp16' needs Accelerate's gradient scaler: pass an Accelerator")
    autocast = (acc.autocast() if acc is not None else
                torch.autocast(x0.device.type, dtype=torch.bfloat16, enabled=cfg.mixed_precision == "bf16"))
    with autocast:
        loss = diffusion_loss(model, scheduler, x0, y, gen)
    if acc is not None:
        acc.backward(loss)
    else:
        loss.backward()
    if cfg.grad_clip:
        (acc.clip_grad_norm_ if acc is not None else torch.nn.utils.clip_grad_norm_)(model.parameters(), cfg.grad_clip)
    opt.step()
    opt.zero_grad(set_to_none=True)
    ema.step((acc.unwrap_model(model) if acc is not None else model).parameters())
    return loss


def train_latte(latents: torch.Tensor, labels: torch.Tensor, num_classes: int, cfg: LatteTrainConfig,
                out_dir: str | Path, init_from: str | Path | None = None, accelerator=None,
                stop_after: int | None = None, progress: bool = True, class_names: list[str] | None = None) -> dict:
    """Train (or resume) Latte on latents (N, T, C, h, w) of the *training split* and their labels
    (`class_names`: what each label means, recorded in the saved config).

    Writes `out_dir/checkpoints/step_<k>/` (Accelerate state), `out_dir/latte_ema/` and
    `out_dir/latte/` (save_pretrained) and `out_dir/train_log.csv`. `stop_after` ends the
    run early at that step, as a kill would (tests use it).
    """
    out_dir = Path(out_dir)
    acc = accelerator or make_accelerator(cfg.mixed_precision)
    rank, world = acc.process_index, acc.num_processes
    if cfg.batch_size % world:
        raise ValueError(f"batch_size {cfg.batch_size} must divide across {world} processes")
    model, ema, opt, speed = _build_for_training(latents, num_classes, cfg, init_from, class_names, acc.device)
    latents, labels = place_training_data(latents, labels, acc.device, cfg.data_on_device)
    model, opt = acc.prepare(model, opt)
    acc.register_for_checkpointing(ema)
    scheduler = make_scheduler()

    ckpt_dir, log_path = out_dir / "checkpoints", out_dir / "train_log.csv"
    start, latest = _latest_checkpoint(ckpt_dir)
    if latest is not None:
        acc.load_state(str(latest))
    ema.to(acc.device)                                     # load_state restores the EMA on the CPU
    if acc.is_main_process:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_text(out_dir / "train_config.json", json.dumps({**asdict(cfg), "init_from": str(init_from or ""),
                                                              "processes": world, "n_videos": len(latents),
                                                              "resolved": {**speed, "data": latents.device.type}},
                                                             indent=2))
        _trim_log(log_path, start)
    end = min(cfg.steps, stop_after) if stop_after is not None else cfg.steps
    t0 = time.perf_counter()
    losses, pending = [], []
    model.train()
    if acc.is_main_process:
        log.info("train Latte %s in %s: steps %d-%d of %d, batch %d", cfg.size, out_dir, start + 1, end, cfg.steps,
                 cfg.batch_size)
    pbar = bar(range(start, end), desc="train Latte", show=progress and acc.is_main_process,
               initial=start, total=end)
    for step in pbar:
        idx = _batch_indices(len(latents), step, cfg.batch_size, cfg.seed, rank, world)
        idx = idx.to(latents.device)
        x0 = latents[idx].to(acc.device)
        y = labels[idx].to(acc.device)
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step * 1009 + rank)
        torch.manual_seed(cfg.seed * 7919 + step * 31 + rank)          # label dropout draws from the global RNG
        loss = train_step(model, opt, ema, scheduler, x0, y, gen, cfg, acc)
        # The loss stays on the device until a checkpoint (or the bar) reads it: a `.item()` every step would
        # make the host wait for the GPU each step, and small models on a GPU are bound by kernel launches.
        pending.append((step + 1, acc.gather(loss.detach()[None]).mean(), time.perf_counter() - t0))
        if acc.is_main_process and step % 50 == 0 and progress:
            pbar.set_postfix(loss=f"{pending[-1][1].item():.4f}")
        done = step + 1
        if done % cfg.checkpoint_every == 0 or done == cfg.steps:
            _save_checkpoint(acc, ckpt_dir, done, cfg.keep_checkpoints)
            losses += _log_losses(pending, log_path if acc.is_main_process else None)
            pending = []
    if pending:                                            # steps after the last checkpoint (stop_after)
        losses += torch.stack([v for _, v, _ in pending]).tolist()
    seconds = time.perf_counter() - t0
    if end == cfg.steps and acc.is_main_process:
        _save_trained(acc.unwrap_model(model), ema, out_dir)
    acc.wait_for_everyone()
    if accelerator is None:                                # ours: leave torch.distributed cleanly
        close_accelerator(acc)
    return {"steps_run": end - start, "start": start, "end": end, "seconds": seconds, "losses": losses}


def _build_for_training(latents: torch.Tensor, num_classes: int, cfg: LatteTrainConfig, init_from, class_names,
                        device) -> tuple:
    """(model, its EMA, the optimiser, the resolved speed settings), the model seeded by `cfg.seed`."""
    from diffusers.training_utils import EMAModel

    torch.manual_seed(cfg.seed)
    T, C, h = latents.shape[1], latents.shape[2], latents.shape[3]
    model = build_latte(num_classes, T, h, C, cfg, init_from)
    if class_names is not None:
        if len(class_names) != num_classes:
            raise ValueError(f"class_names has {len(class_names)} names for {num_classes} classes")
        model.register_to_config(class_names=list(class_names))
    speed = speed_setup(model, cfg, device)
    ema = EMAModel(model.parameters(), decay=cfg.ema_decay, model_cls=LatteClassConditional, model_config=model.config,
                   foreach=speed["fused"])
    return model, ema, make_optimizer(model, cfg, speed["fused"]), speed


def _trim_log(log_path: Path, start: int) -> None:
    """Drop the log's rows of steps after `start`, the checkpoint a resumed run starts from (a kill undid them)."""
    if log_path.is_file():
        rows = [r for r in log_path.read_text().splitlines() if r and int(r.split(",")[0]) <= start]
        write_text(log_path, "".join(r + "\n" for r in rows))


def _log_losses(pending: list[tuple], log_path: Path | None) -> list[float]:
    """The pending steps' losses read off the device (once per checkpoint), appended to `log_path` (the main
    process's; None elsewhere): the log holds exactly the checkpointed steps."""
    values = torch.stack([v for _, v, _ in pending]).tolist()
    if log_path is not None:
        with open(log_path, "a") as f:
            f.write("".join(f"{k},{v:.6f},{s:.2f}\n" for (k, _, s), v in zip(pending, values)))
    return values


def _save_trained(raw, ema, out_dir: Path) -> None:
    """The trained model (`latte/`) and its EMA (`latte_ema/`), as diffusers folders."""
    raw.save_pretrained(out_dir / "latte")
    # class_names given again: registered after __init__, diffusers' from_config would drop it as a default
    ema_model = LatteClassConditional.from_config(raw.config, class_names=raw.config.class_names)
    ema.copy_to(ema_model.parameters())
    ema_model.save_pretrained(out_dir / "latte_ema")


def launch_train_latte(latents_path: str | Path, cfg: LatteTrainConfig, out_dir: str | Path, processes: int,
                       init_from: str | Path | None = None, device: str = "auto", port: int | None = None) -> None:
    """`train_latte` on `processes` processes (one per GPU; gloo processes with device 'cpu' or without a GPU)
    through `accelerate launch -m vddlib.cli.train_latte`, on a latent file `encode_training_split` wrote. The
    config goes to `out_dir/launch_config.json`; a rerun resumes from the last checkpoint."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = out_dir / "launch_config.json"
    write_text(spec, json.dumps(asdict(cfg), indent=1))
    log.info("train Latte %s on %d processes (accelerate launch)", cfg.size, processes)
    accelerate_launch("vddlib.cli.train_latte", ["--latents", str(latents_path), "--out", str(out_dir), "--config",
                                                 str(spec), "--device", device,
                                                 *(["--init-from", str(init_from)] if init_from else [])],
                      processes, port)


def _save_checkpoint(acc, ckpt_dir: Path, step: int, keep: int) -> None:
    """save_state into a temp folder, then rename: a kill mid-save leaves the previous checkpoint intact."""
    final = ckpt_dir / f"step_{step:07d}"
    tmp = ckpt_dir / f"tmp_step_{step:07d}"
    if acc.is_main_process and tmp.exists():
        shutil.rmtree(tmp)
    acc.wait_for_everyone()
    acc.save_state(str(tmp))
    acc.wait_for_everyone()
    if acc.is_main_process:
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        for old in sorted(ckpt_dir.glob("step_*"))[:-keep]:
            shutil.rmtree(old)
    acc.wait_for_everyone()


def read_train_log(path: str | Path) -> np.ndarray:
    """(step, loss, seconds) rows of a training log: a run folder's train_log.csv, or a log file."""
    p = Path(path)
    p = p / "train_log.csv" if p.is_dir() else p
    return np.loadtxt(p, delimiter=",", ndmin=2) if p.is_file() else np.zeros((0, 3))


def smoothed_loss(log: np.ndarray, points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """(steps, mean loss) of a training log averaged over windows, at most `points` of them (for the loss curve)."""
    k = max(1, len(log) // points)
    smooth = torch.tensor(log[:, 1]).unfold(0, k, k).mean(1).numpy()
    return log[k - 1::k, 0][:len(smooth)], smooth
