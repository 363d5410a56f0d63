"""Sampling from a checkpoint folder as a diffusers pipeline: one `from_pretrained`, one call.

    from vddlib.diffusion.pipeline import LatteVideoPipeline
    pipe = LatteVideoPipeline.from_pretrained("checkpoints/digits-motion")
    videos = pipe(["bounce", "circle"], seeds=[0, 1])          # uint8 (2, T, 3, H, W)

The folder holds `latte_ema/` (the class-conditional Latte), `vae/` (the autoencoder) and a
`model_index.json` naming them, as `finetune` and the shipped checkpoint do; its SHA256SUMS
are checked first. Sampling is exactly the pool's (`generate.sample_latents` + the
autoencoder's decode): the same labels, seeds and settings give the same videos as
`generate_pool`. Labels may be class indices or the class names the checkpoint records.
"""
from __future__ import annotations

from pathlib import Path

import torch
from diffusers import AutoencoderKL, DiffusionPipeline

from ..checksums import verify
from ..models.autoencoder import decode_latents
from ..models.latte import LatteClassConditional
from .generate import GenerateConfig, sample_latents

MODEL_INDEX = {"_class_name": "LatteVideoPipeline", "latte_ema": ["vddlib.models.latte", "LatteClassConditional"],
               "vae": ["diffusers", "AutoencoderKL"]}


class LatteVideoPipeline(DiffusionPipeline):
    """Class-conditional Latte + autoencoder: labels (and seeds) in, uint8 videos out."""

    def __init__(self, latte_ema: LatteClassConditional, vae: AutoencoderKL) -> None:
        super().__init__()
        self.register_modules(latte_ema=latte_ema, vae=vae)

    @classmethod
    def from_pretrained(cls, folder: str | Path, **kwargs) -> "LatteVideoPipeline":
        """Load a checkpoint folder after checking its SHA256SUMS (never downloads)."""
        folder = Path(folder)
        if not (folder / "model_index.json").is_file():
            raise FileNotFoundError(f"{folder} has no model_index.json; write one with "
                                    "vddlib.diffusion.pipeline.write_model_index(folder).")
        for sub in ("latte_ema", "vae"):
            verify(folder / sub)
        return super().from_pretrained(str(folder), local_files_only=True, **kwargs)

    @property
    def class_names(self) -> list[str] | None:
        return getattr(self.latte_ema.config, "class_names", None)

    def _label_ids(self, labels) -> torch.Tensor:
        names = self.class_names or []
        out = []
        for y in labels:
            if isinstance(y, str):
                if y not in names:
                    raise ValueError(f"Unknown class {y!r}; this checkpoint's classes: {names or 'not recorded'}")
                out.append(names.index(y))
            else:
                out.append(int(y))
        return torch.tensor(out, dtype=torch.long)

    @torch.no_grad()
    def __call__(self, labels, seeds=None, guidance_scale: float = GenerateConfig.guidance_scale,
                 num_inference_steps: int = GenerateConfig.steps, sampler: str = GenerateConfig.sampler,
                 autocast: str = "no") -> torch.Tensor:
        """uint8 videos (N, T, 3, H, W), one per label; `seeds` (default 0..N-1) fix each video's noise."""
        y = self._label_ids(labels)
        seeds = list(range(len(y))) if seeds is None else [int(s) for s in seeds]
        if len(seeds) != len(y):
            raise ValueError(f"{len(seeds)} seeds for {len(y)} labels")
        cfg = GenerateConfig(guidance_scale=guidance_scale, steps=num_inference_steps, sampler=sampler,
                             autocast=autocast)
        z = sample_latents(self.latte_ema.eval(), y, seeds, cfg, self.device)
        return decode_latents(self.vae.eval(), z)


def write_model_index(folder: str | Path) -> Path:
    """The model_index.json that lets `LatteVideoPipeline.from_pretrained(folder)` load a finetune folder."""
    import json

    from ..files import write_text

    path = Path(folder) / "model_index.json"
    import diffusers

    write_text(path, json.dumps({**MODEL_INDEX, "_diffusers_version": diffusers.__version__}, indent=2) + "\n")
    return path
