"""Dry run of a profile: every model it would build, on the meta device (no weights, no data, no memory).

`plan(profile)` returns the shapes each stage passes on, the parameter count of each model
and the planned amount of work (pool videos, selections, evaluator trainings), so a
user sees what the paper profile will do before it reads a byte or downloads anything.
"""
from __future__ import annotations

import torch

from ..data.datasets import DatasetConfig, clip_shape as _clip_shape, num_classes as _num_classes
from ..data.real import DATASETS, SHARD_SIZE
from ..diffusion.stage import DiffusionSettings
from ..diffusion.train import build_latte
from ..evaluation.train import new_evaluator
from ..models.autoencoder import SD_VAE_CONFIG, build_sd_vae_shape, build_small_vae
from ..models.vst_unet import VSTUNet
from ..selection.embeddings import build_videomae, videomae_v2_giant_config


def _params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def clip_shape(ds: DatasetConfig, d: DiffusionSettings | None) -> tuple[int, int]:
    """(frames, size) of the clips the diffusion model of settings `d` (None: the evaluators) sees (the clip rule
    of vddlib.data.datasets)."""
    return _clip_shape(ds, d.clip if d is not None else None)


def latent_shape(ds: DatasetConfig, d: DiffusionSettings) -> tuple[int, int, int]:
    """(frames, channels, h) of the autoencoder latents the diffusion model learns: the SD VAE's (8× down,
    4 channels) when the settings load one, else the small VAE's."""
    frames, size = clip_shape(ds, d)
    blocks, ch = ((SD_VAE_CONFIG["block_out_channels"], 4) if d.vae_path
                  else (d.vae.block_out_channels, d.vae.latent_channels))
    down = 2 ** (len(blocks) - 1)
    if size % down:
        raise ValueError(f"The diffusion clip size {size} must divide by the autoencoder's down-sampling {down}.")
    return frames, ch, size // down


class RunModels:
    """Every model a run builds, at the shapes its settings give (`prof`: every stage's settings, a
    `vddlib.profile.Profile`): the one place the dry run (`plan`) and the cost study (FLOPs, peak memory) build
    them. Build under `torch.device("meta")` for shapes and parameter counts alone."""

    def __init__(self, prof) -> None:
        self.d, self.sel, self.ev, self.per_class = prof.diffusion, prof.selection, prof.evaluation, prof.generate.per_class
        self.classes = _num_classes(prof.dataset)
        self.frames, self.size = clip_shape(prof.dataset, self.d)            # the diffusion model's clips
        self.ev_frames, self.ev_size = clip_shape(prof.dataset, None)       # the evaluators'
        _, self.channels, self.h = latent_shape(prof.dataset, self.d)

    def latents(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """`n` random latent videos (n, T, C, h, h)."""
        return torch.randn(n, self.frames, self.channels, self.h, self.h, generator=generator)

    def latte(self) -> torch.nn.Module:
        return build_latte(self.classes, self.frames, self.h, self.channels, self.d.latte)   # init_from: training only

    def small_vae(self) -> torch.nn.Module:
        return build_small_vae(self.d.vae)

    def vae(self) -> torch.nn.Module:
        """The run's autoencoder: Stable Diffusion's shape when the settings load one, else the small one."""
        return build_sd_vae_shape() if self.d.vae_path else self.small_vae()

    def videomae(self, frames: int | None = None, size: int | None = None) -> torch.nn.Module:
        """The small VideoMAE (trained here) for clips of (frames, size); default the evaluators'."""
        return build_videomae(self.classes, frames or self.ev_frames, size or self.ev_size, self.sel.videomae)

    def embedder(self) -> tuple[torch.nn.Module, tuple[int, int]]:
        """The run's embedder and its (frames, size): VideoMAE-v2 giant's shape where a path names one."""
        if self.sel.videomae_path:
            from transformers import VideoMAEForVideoClassification

            mae = VideoMAEForVideoClassification(videomae_v2_giant_config(self.classes))
            return mae, (mae.config.num_frames, mae.config.image_size)
        return self.videomae(), (self.ev_frames, self.ev_size)

    def vst_unet(self) -> torch.nn.Module:
        vc = self.sel.vst_unet
        return VSTUNet(self.channels, self.classes, vc.widths, vc.embed_dim, vc.mixing)

    def evaluator(self, frames: int | None = None, size: int | None = None) -> torch.nn.Module:
        return new_evaluator(self.ev.train, self.classes, frames or self.ev_frames, size or self.ev_size)


def plan(prof) -> dict:
    """Shapes, parameter counts and planned work of a run, all from the meta device. `prof`: the run's settings,
    every stage's (a `vddlib.profile.Profile`): a dry run reads them all."""
    d, sel, ev = prof.diffusion, prof.selection, prof.evaluation
    m = RunModels(prof)
    K, frames, size, ch, h, ev_frames, ev_size = m.classes, m.frames, m.size, m.channels, m.h, m.ev_frames, m.ev_size
    with torch.device("meta"):
        vae, latte = m.vae(), m.latte()
        eps = latte(torch.empty(2, frames, ch, h, h), torch.zeros(2, dtype=torch.long), torch.zeros(2, dtype=torch.long))
        mae, mae_in = m.embedder()
        vst = m.vst_unet()
        score, _, emb = vst(torch.empty(prof.generate.per_class, frames, ch, h, h))
        c3d = m.evaluator()
        logits = c3d(torch.empty(2, 3, ev_frames, ev_size, ev_size))
    n_sel = len(sel.methods) * len(ev.vpcs) * ev.runs
    facts = DATASETS.get(prof.dataset.name)
    return {
        "profile": prof.name, "dataset": prof.dataset.name, "classes": K,
        "expected_train_videos": facts.train if facts else None, "expected_test_videos": facts.test if facts else None,
        "diffusion_clip": [frames, 3, size, size], "latent": [frames, ch, h, h],
        "latte": {"size": d.latte.size, "params_M": _params(latte) / 1e6, "output": list(eps.shape[1:])},
        "vae_params_M": _params(vae) / 1e6,
        "videomae": {"params_M": _params(mae) / 1e6, "embedding_dim": mae.config.hidden_size,
                     "input": [mae_in[0], 3, mae_in[1], mae_in[1]]},
        "vst_network": {"params_M": _params(vst) / 1e6, "input": [prof.generate.per_class, frames, ch, h, h],
                        "scores": list(score.shape), "embeddings": list(emb.shape)},
        "evaluator": {"name": ev.train.classifier, "params_M": _params(c3d) / 1e6,
                      "input": [3, ev_frames, ev_size, ev_size], "logits": list(logits.shape[1:])},
        "pool_videos": K * prof.generate.per_class,
        "sampler": f"{prof.generate.sampler} {prof.generate.steps} steps, CFG {prof.generate.guidance_scale:g}",
        "selections": n_sel,
        "evaluator_trainings": n_sel + 2 * ev.runs,       # + Full real and Full syn
        "accuracy": ev.accuracy,
        **_footprint(prof.dataset, d, prof.generate.per_class, K, (frames, size), (ev_frames, ev_size), (ch, h)),
    }


def _footprint(ds: DatasetConfig, d: DiffusionSettings, per_class: int, K: int, clip: tuple[int, int],
               ev_clip: tuple[int, int], latent: tuple[int, int]) -> dict:
    """GiB of host memory and disk the run's data takes, from the expected split sizes. Host memory: decoding
    holds one shard of clips at a time (the evaluators' and Latte's own); Latte's training latents (fp32) are
    memory-mapped from their file for a real dataset (written a shard at a time; digits-motion's are held whole);
    the evaluators' splits are memory-mapped from their split files (`mapped_gib`: in the page cache while
    read, dropped under memory pressure, so they need not fit), and so are the pool's video and latent files (the
    latents fp16 as stored; selection converts a class at a time). On disk: the decoded-clip cache (Latte's own clips
    only where the autoencoder is trained here; while a split's file is written its shards are there too, the
    `clip_cache_peak`), the latents (kept per shard and as one file) and the pool (uint8 videos at the evaluators'
    clip, fp16 latents; twice that while its shards are assembled into its files, `pool_peak`)."""
    facts = DATASETS.get(ds.name)
    dm = ds.digits_motion
    n_train, n_test = (facts.train, facts.test) if facts else (K * dm.train_per_class, K * dm.test_per_class)
    (frames, size), (ev_frames, ev_size), (ch, h) = clip, ev_clip, latent
    ev_video, video = 3 * ev_frames * ev_size ** 2, 3 * frames * size ** 2
    own_clip = (frames, size) != (ev_frames, ev_size) and facts is not None
    cached_own = own_clip and not d.vae_path and not (d.shipped and not d.retrain)   # an autoencoder trained here
    latents = n_train * frames * ch * h * h * 4
    pool = K * per_class
    gib = 2 ** 30
    cache = ((n_train + n_test) * ev_video + (n_train * video if cached_own else 0)) if facts else 0
    largest = max(n_train * ev_video, n_train * video if cached_own else 0) if facts else 0
    return {"host_gib": {"evaluator_clip_shard": (min(SHARD_SIZE, n_train) * ev_video if facts else 0) / gib,
                         "latte_latents": (0 if facts else latents) / gib,
                         "diffusion_clip_shard": (min(SHARD_SIZE, n_train) if own_clip else 0) * video / gib},
            "mapped_gib": {"evaluator_splits": (n_train + n_test) * ev_video / gib,
                           "latte_latents": (latents if facts else 0) / gib,
                           "pool_videos": pool * ev_video / gib,
                           "pool_latents": pool * frames * ch * h * h * 2 / gib},
            "disk_gib": {"clip_cache": cache / gib,
                         "clip_cache_peak": (cache + largest) / gib,
                         "latte_latents": 2 * latents / gib,
                         "pool": pool * (ev_video + frames * ch * h * h * 2) / gib,
                         "pool_peak": 2 * pool * (ev_video + frames * ch * h * h * 2) / gib}}
