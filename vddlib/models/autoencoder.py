"""The frame autoencoder of the latent diffusion stage (diffusers `AutoencoderKL`).

`paper` profile: Stable Diffusion's VAE (sd-vae-ft-ema) from a local folder, 8× down,
4 latent channels, latents scaled by 0.18215: 16×3×256×256 → 16×4×32×32.
Default profile: a small AutoencoderKL (32×32 → 4×8×8) trained here on the training
frames through the same class, saved with `save_pretrained`. Videos are encoded frame
by frame, as Latte does.

Latent scale: SD uses one global factor. A small VAE's channels can differ a lot in
spread (measured: 0.35 … 2.3 std), so `fit_latent_stats` can store per-channel mean/std
in the VAE's own config (`latents_mean` / `latents_std`); `encode_videos` then
standardises per channel, and uses `scaling_factor` only when they are absent.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL
from ..logs import bar

from ..checksums import load_checked


@dataclass(frozen=True)
class SmallVAEConfig:
    block_out_channels: tuple[int, ...] = (32, 64, 64)   # 2 down-samplings: 32×32 → 8×8
    layers_per_block: int = 1
    latent_channels: int = 4
    norm_num_groups: int = 16
    sample_size: int = 32


def build_small_vae(cfg: SmallVAEConfig = SmallVAEConfig()) -> AutoencoderKL:
    n = len(cfg.block_out_channels)
    return AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * n,
                         up_block_types=("UpDecoderBlock2D",) * n, block_out_channels=cfg.block_out_channels,
                         layers_per_block=cfg.layers_per_block, latent_channels=cfg.latent_channels,
                         norm_num_groups=cfg.norm_num_groups, sample_size=cfg.sample_size,
                         mid_block_add_attention=False)


# Stable Diffusion's VAE (stabilityai/sd-vae-ft-ema): 8x down, 4 latent channels, scale 0.18215.
# Its shape, for dry runs on the meta device and GPU smokes without the weights.
SD_VAE_CONFIG = dict(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
                     up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(128, 256, 512, 512),
                     layers_per_block=2, latent_channels=4, norm_num_groups=32, sample_size=256,
                     scaling_factor=0.18215)


def build_sd_vae_shape() -> AutoencoderKL:
    """An untrained AutoencoderKL shaped like Stable Diffusion's (no weights; build under torch.device('meta'))."""
    return AutoencoderKL(**SD_VAE_CONFIG)


def load_vae(path: str | Path) -> AutoencoderKL:
    """A VAE saved with save_pretrained (e.g. stabilityai/sd-vae-ft-ema downloaded by the user)."""
    path = Path(path)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"No autoencoder at {path} (expected config.json and diffusion_pytorch_model.safetensors). "
            "For the paper profile download stabilityai/sd-vae-ft-ema into that folder; for the default "
            "profile run notebooks/01_finetune.ipynb, which trains and saves one there.")
    return load_checked(lambda p: AutoencoderKL.from_pretrained(p, local_files_only=True), path, "autoencoder")


def _to_pm1(videos_u8: torch.Tensor) -> torch.Tensor:
    return videos_u8.float().div(127.5).sub(1.0)


def _latent_norm(vae: AutoencoderKL, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(shift, scale) so that z_model = (z - shift) * scale, broadcast over (…, C, h, w)."""
    c = vae.config
    if c.latents_mean is not None and c.latents_std is not None:
        mean = torch.tensor(c.latents_mean, dtype=like.dtype, device=like.device).view(-1, 1, 1)
        std = torch.tensor(c.latents_std, dtype=like.dtype, device=like.device).view(-1, 1, 1)
        return mean, 1.0 / std
    shift = c.shift_factor or 0.0
    return torch.tensor(shift, dtype=like.dtype, device=like.device), torch.tensor(
        c.scaling_factor, dtype=like.dtype, device=like.device)


@torch.no_grad()
def encode_videos(vae: AutoencoderKL, videos_u8: torch.Tensor, batch_frames: int = 256, sample: bool = False,
                  generator: torch.Generator | None = None, progress: bool = False) -> torch.Tensor:
    """uint8 (N, T, 3, H, W) → model-space latents (N, T, C, h, w) (posterior mean unless sample)."""
    vae.eval()
    N, T = videos_u8.shape[:2]
    frames = videos_u8.flatten(0, 1)
    dev, dt = vae.device, vae.dtype
    outs = []
    for i in bar(range(0, len(frames), batch_frames), desc="encode", show=progress, leave=False):
        dist = vae.encode(_to_pm1(frames[i:i + batch_frames]).to(dev, dt)).latent_dist
        outs.append((dist.sample(generator) if sample else dist.mean).float().cpu())
    z = torch.cat(outs)
    shift, scale = _latent_norm(vae, z)
    return ((z - shift) * scale).view(N, T, *z.shape[1:])


@torch.no_grad()
def decode_latents(vae: AutoencoderKL, latents: torch.Tensor, batch_frames: int = 256,
                   progress: bool = False) -> torch.Tensor:
    """Model-space latents (N, T, C, h, w) → uint8 videos (N, T, 3, H, W)."""
    vae.eval()
    N, T = latents.shape[:2]
    z = latents.flatten(0, 1).float()
    shift, scale = _latent_norm(vae, z)
    z = z / scale + shift
    outs = []
    for i in bar(range(0, len(z), batch_frames), desc="decode", show=progress, leave=False):
        x = vae.decode(z[i:i + batch_frames].to(vae.device, vae.dtype)).sample.float().cpu()
        outs.append(((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8))
    x = torch.cat(outs)
    return x.view(N, T, *x.shape[1:])


@torch.no_grad()
def fit_latent_stats(vae: AutoencoderKL, videos_u8: torch.Tensor, max_videos: int = 500) -> None:
    """Store per-channel mean/std of the training latents in the VAE config (saved with it)."""
    vae.register_to_config(latents_mean=None, latents_std=None)
    raw = encode_videos(vae, videos_u8[:max_videos])                       # scaled by scaling_factor
    raw = raw / vae.config.scaling_factor + (vae.config.shift_factor or 0.0)
    dims = [d for d in range(raw.ndim) if d != 2]
    vae.register_to_config(latents_mean=raw.mean(dim=dims).tolist(), latents_std=raw.std(dim=dims).tolist())


def psnr(a_u8: torch.Tensor, b_u8: torch.Tensor) -> float:
    """Peak signal-to-noise ratio (dB) between two uint8 tensors."""
    mse = F.mse_loss(a_u8.float(), b_u8.float()).item()
    return float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def train_vae(vae: AutoencoderKL, videos_u8: torch.Tensor, steps: int, batch_size: int = 64, lr: float = 1e-3,
              kl_weight: float = 1e-6, seed: int = 0, progress: bool = True) -> list[float]:
    """Fit the VAE on random training frames: L1 + MSE reconstruction plus a small KL term. Returns losses."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    frames = videos_u8.flatten(0, 1)
    opt = torch.optim.AdamW(vae.parameters(), lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 50) * 0.5 * (1 + math.cos(math.pi * s / steps)))
    vae.train()
    losses = []
    for _ in bar(range(steps), desc="train autoencoder", show=progress):
        x = _to_pm1(frames[torch.randint(0, len(frames), (batch_size,), generator=g)]).to(vae.device)
        dist = vae.encode(x).latent_dist
        rec = vae.decode(dist.sample(g)).sample
        loss = F.l1_loss(rec, x) + F.mse_loss(rec, x) + kl_weight * dist.kl().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
    vae.eval()
    return losses
