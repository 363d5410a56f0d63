"""digits-motion: the embedded default dataset, a small real action-recognition problem.

Each video shows one of scikit-learn's handwritten digit glyphs (`load_digits`, shipped
with the package, so nothing is downloaded) performing one of ten motions. The class is
the motion, never the glyph; nuisances make sure no single frame tells the class and
that every class has several modes:

* glyph: any digit, in any orientation and at a random scale; train and test draw from
  disjoint sets of glyphs;
* colour of the glyph, start position, 3 speed modes per class;
* a coloured sinusoidal background grating that itself drifts;
* a half-transparent distractor glyph drifting in a random direction;
* pixel noise.

Rendering is one batched `grid_sample` over all frames, so a split of 1,000 videos
takes well under a second.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..files import write_text
from .hashing import settings_hash
from .videoset import VideoSet

CLASSES = ("translate_right", "translate_left", "translate_up", "translate_down",
           "rotate_cw", "rotate_ccw", "zoom_in", "zoom_out", "bounce", "circle")

# Three speed modes per class (px/frame, degrees/frame, zoom ratio/frame, hop period).
_TRANSLATE_SPEEDS = (1.2, 2.0, 2.8)
_ROTATE_SPEEDS = (12.0, 20.0, 30.0)
_ZOOM_RATES = (1.06, 1.10, 1.14)
_BOUNCE_PERIODS = (8.0, 6.0, 4.0)
_CIRCLE_SPEEDS = (25.0, 40.0, 55.0)

# Glyph split: a fixed permutation of the 1,797 glyphs, first part train, rest test.
_GLYPH_SPLIT_SEED = 20240601
_TRAIN_GLYPH_FRACTION = 0.6


@dataclass(frozen=True)
class DigitsMotionConfig:
    """Settings of the generator; every field is part of the cache key."""

    train_per_class: int = 100
    test_per_class: int = 100
    frames: int = 8
    size: int = 32
    glyph_px: float = 13.0          # rendered glyph width at scale 1
    distractor_alpha: float = 0.5   # opacity of the distracting glyph (1.0 drives VPC=1 to chance)
    tilt_deg: float = 180.0         # glyph orientation drawn from ±tilt_deg, for every class
    context_p: float = 0.7          # chance that the background takes one of its class's two scene hues
    background_contrast: float = 0.12
    noise_std: float = 0.03
    seed: int = 0

    def __post_init__(self) -> None:
        if self.frames < 4:
            raise ValueError(f"DigitsMotionConfig.frames must be >= 4 to show a motion; got {self.frames}")
        if self.size < 16:
            raise ValueError(f"DigitsMotionConfig.size must be >= 16 pixels; got {self.size}")
        if self.train_per_class < 1 or self.test_per_class < 1:
            raise ValueError("DigitsMotionConfig.train_per_class and test_per_class must be >= 1")
        if not 0.0 <= self.context_p <= 1.0:
            raise ValueError(f"DigitsMotionConfig.context_p must be in [0, 1]; got {self.context_p}")
        if not 0.0 <= self.distractor_alpha <= 1.0:
            raise ValueError(f"DigitsMotionConfig.distractor_alpha must be in [0, 1]; got {self.distractor_alpha}")

    def key(self) -> str:
        return settings_hash(self, 10)


def glyph_split() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(glyphs 1797×8×8 in [0, 1], train glyph indices, test glyph indices); disjoint by construction."""
    from sklearn.datasets import load_digits

    glyphs = load_digits().images.astype(np.float32) / 16.0
    perm = np.random.default_rng(_GLYPH_SPLIT_SEED).permutation(len(glyphs))
    n_train = int(round(_TRAIN_GLYPH_FRACTION * len(glyphs)))
    return glyphs, np.sort(perm[:n_train]), np.sort(perm[n_train:])


def _trajectories(labels: np.ndarray, cfg: DigitsMotionConfig, rng: np.random.Generator):
    """Per video and frame: centre x, y (px), angle (rad), scale. Shapes (N, T)."""
    n, T, S = len(labels), cfg.frames, cfg.size
    t = np.arange(T, dtype=np.float64)[None, :] - (T - 1) / 2.0     # centred time
    mode = rng.integers(0, 3, size=n)
    jitter = rng.uniform(0.9, 1.1, size=n)                          # within-mode speed spread
    cx = rng.uniform(0.32 * S, 0.68 * S, size=(n, 1)) + 0 * t
    cy = rng.uniform(0.32 * S, 0.68 * S, size=(n, 1)) + 0 * t
    tilt = math.radians(cfg.tilt_deg)
    angle = rng.uniform(-tilt, tilt, size=(n, 1)) + 0 * t          # same orientation law for every class
    scale = rng.uniform(0.8, 1.15, size=(n, 1)) + 0 * t
    for c, name in enumerate(CLASSES):
        m = labels == c
        if not m.any():
            continue
        k = mode[m]
        j = jitter[m][:, None]
        if name.startswith("translate"):
            v = np.take(_TRANSLATE_SPEEDS, k)[:, None] * j * t
            dx, dy = {"translate_right": (v, 0), "translate_left": (-v, 0),
                      "translate_up": (0, -v), "translate_down": (0, v)}[name]
            cx[m] = cx[m] + dx
            cy[m] = cy[m] + dy
        elif name.startswith("rotate"):
            w = np.deg2rad(np.take(_ROTATE_SPEEDS, k))[:, None] * j * t
            # image y points down, so a clockwise turn on screen is a positive angle here
            angle[m] = angle[m] + (w if name == "rotate_cw" else -w)
        elif name.startswith("zoom"):
            r = np.log(np.take(_ZOOM_RATES, k))[:, None] * j * t
            scale[m] = scale[m] * np.exp(r if name == "zoom_in" else -r)
        elif name == "bounce":
            period = np.take(_BOUNCE_PERIODS, k)[:, None] / j
            phase = rng.uniform(0, math.pi, size=(m.sum(), 1))
            hop = rng.uniform(6.0, 10.0, size=(m.sum(), 1))
            cy[m] = cy[m] + hop / 2 - hop * np.abs(np.sin(math.pi * t / period + phase))
        elif name == "circle":
            w = np.deg2rad(np.take(_CIRCLE_SPEEDS, k))[:, None] * j
            sign = rng.choice([-1.0, 1.0], size=(m.sum(), 1))
            phase = rng.uniform(0, 2 * math.pi, size=(m.sum(), 1))
            radius = rng.uniform(4.0, 7.0, size=(m.sum(), 1))
            cx[m] = cx[m] + radius * np.cos(sign * w * t + phase)
            cy[m] = cy[m] + radius * np.sin(sign * w * t + phase)
    return cx, cy, angle, scale


def _render_glyphs(glyphs: torch.Tensor, cx, cy, angle, scale, size: int, glyph_px: float) -> torch.Tensor:
    """Warp one 8×8 glyph per video into every frame: (N, T, size, size) coverage in [0, 1]."""
    n, T = cx.shape
    cx, cy, angle, scale = (torch.as_tensor(a, dtype=torch.float32).reshape(-1) for a in (cx, cy, angle, scale))
    half = size / 2.0
    k = 2.0 * half / (scale * glyph_px)             # canvas-normalised → glyph-normalised
    cos, sin = torch.cos(angle), torch.sin(angle)
    # Source coordinate u = R(-angle) (p - c) / (scale * glyph_px / 2), with p = half * p_n + half.
    theta = torch.zeros(n * T, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = k * cos, k * sin
    theta[:, 1, 0], theta[:, 1, 1] = -k * sin, k * cos
    ox, oy = (half - cx) / half, (half - cy) / half
    theta[:, 0, 2] = k * (cos * ox + sin * oy)
    theta[:, 1, 2] = k * (-sin * ox + cos * oy)
    src = glyphs.repeat_interleave(T, dim=0)[:, None]                  # (N*T, 1, 8, 8)
    grid = F.affine_grid(theta, (n * T, 1, size, size), align_corners=False)
    out = F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.reshape(n, T, size, size).clamp_(0, 1)


def _background_colours(labels: np.ndarray, context_p: float, rng: np.random.Generator) -> np.ndarray:
    """Dark background colours (N, 3): a class's scene hue with probability context_p, else any hue.

    Real action videos carry scene context (a pool for diving, a field for football),
    which is what lets one video per class teach anything; two scene hues per class give
    digits-motion the same weak, multi-modal cue without letting one frame decide.
    """
    from matplotlib.colors import hsv_to_rgb

    n = len(labels)
    scene_hues = np.random.default_rng(_GLYPH_SPLIT_SEED).permutation(2 * len(CLASSES)) / (2 * len(CLASSES))
    hue = rng.uniform(0, 1, size=n)
    use_scene = rng.uniform(size=n) < context_p
    scene = scene_hues[2 * labels + rng.integers(0, 2, size=n)] + rng.uniform(-0.015, 0.015, size=n)
    hue = np.where(use_scene, scene, hue) % 1.0
    hsv = np.stack([hue, rng.uniform(0.5, 0.8, size=n), rng.uniform(0.22, 0.38, size=n)], axis=1)
    return hsv_to_rgb(hsv)


def _random_colours(rng: np.random.Generator, n: int, low: float) -> torch.Tensor:
    c = rng.uniform(low, 1.0, size=(n, 3))
    c /= c.max(axis=1, keepdims=True)                # saturated-ish, brightest channel at 1
    return torch.as_tensor(c, dtype=torch.float32)


def render_split(labels: np.ndarray, glyph_pool: np.ndarray, glyphs: np.ndarray,
                 cfg: DigitsMotionConfig, rng: np.random.Generator) -> tuple[torch.Tensor, np.ndarray]:
    """Render videos for the given labels from one glyph pool. Returns (uint8 N×T×3×S×S, glyph ids)."""
    n, T, S = len(labels), cfg.frames, cfg.size
    glyph_ids = rng.choice(glyph_pool, size=n)
    cx, cy, angle, scale = _trajectories(labels, cfg, rng)
    fg = _render_glyphs(torch.as_tensor(glyphs[glyph_ids]), cx, cy, angle, scale, S, cfg.glyph_px)

    # Distractor: another glyph of the same split, drifting in a straight line, spinning slowly.
    d_ids = rng.choice(glyph_pool, size=n)
    t = np.arange(T)[None, :] - (T - 1) / 2.0
    d_dir = rng.uniform(0, 2 * math.pi, size=(n, 1))
    d_speed = rng.uniform(0.0, 2.5, size=(n, 1))
    dcx = rng.uniform(0.2 * S, 0.8 * S, size=(n, 1)) + d_speed * np.cos(d_dir) * t
    dcy = rng.uniform(0.2 * S, 0.8 * S, size=(n, 1)) + d_speed * np.sin(d_dir) * t
    dang = rng.uniform(-math.pi, math.pi, size=(n, 1)) + rng.uniform(-0.1, 0.1, size=(n, 1)) * t
    dscale = rng.uniform(0.6, 0.9, size=(n, 1)) + 0 * t
    dist = _render_glyphs(torch.as_tensor(glyphs[d_ids]), dcx, dcy, dang, dscale, S, cfg.glyph_px)

    # Background: a coloured grating drifting at a random velocity.
    yy, xx = torch.meshgrid(torch.arange(S, dtype=torch.float32), torch.arange(S, dtype=torch.float32),
                            indexing="ij")
    ori = torch.as_tensor(rng.uniform(0, math.pi, size=(n, 1, 1, 1)), dtype=torch.float32)
    freq = torch.as_tensor(rng.uniform(1.5, 4.0, size=(n, 1, 1, 1)) / S, dtype=torch.float32)
    drift = torch.as_tensor(rng.uniform(-1.0, 1.0, size=(n, 1, 1, 1)), dtype=torch.float32)
    phase0 = torch.as_tensor(rng.uniform(0, 2 * math.pi, size=(n, 1, 1, 1)), dtype=torch.float32)
    tt = torch.arange(T, dtype=torch.float32)[None, :, None, None]
    arg = 2 * math.pi * freq * (xx * torch.cos(ori) + yy * torch.sin(ori) - drift * tt) + phase0
    base = torch.as_tensor(_background_colours(labels, cfg.context_p, rng), dtype=torch.float32)[:, None, :, None, None]
    tint = _random_colours(rng, n, 0.2)[:, None, :, None, None]
    bg = base + cfg.background_contrast * torch.sin(arg)[:, :, None] * tint   # (N, T, 3, S, S)

    fg_col = _random_colours(rng, n, 0.3)[:, None, :, None, None]
    d_col = _random_colours(rng, n, 0.3)[:, None, :, None, None]
    a_d = (cfg.distractor_alpha * dist)[:, :, None]
    frame = bg * (1 - a_d) + d_col * a_d
    a = fg[:, :, None]
    frame = frame * (1 - a) + fg_col * a
    noise = torch.as_tensor(rng.standard_normal(size=frame.shape).astype(np.float32)) * cfg.noise_std
    frame = (frame + noise).clamp_(0, 1)
    return (frame * 255).round_().to(torch.uint8), glyph_ids


def make_digits_motion(cfg: DigitsMotionConfig = DigitsMotionConfig()) -> dict[str, VideoSet]:
    """Generate the train and test splits (balanced classes, disjoint glyphs, seeded)."""
    glyphs, train_pool, test_pool = glyph_split()
    out = {}
    for split, per_class, pool, offset in (("train", cfg.train_per_class, train_pool, 0),
                                           ("test", cfg.test_per_class, test_pool, 1)):
        rng = np.random.default_rng([cfg.seed, offset])
        labels = np.repeat(np.arange(len(CLASSES)), per_class)
        labels = labels[rng.permutation(len(labels))]
        videos, glyph_ids = render_split(labels, pool, glyphs, cfg, rng)
        ids = [f"{split}_{i:05d}" for i in range(len(labels))]
        meta = {"dataset": "digits-motion", "split": split, "config": asdict(cfg),
                "glyph_ids": glyph_ids.tolist()}
        out[split] = VideoSet(videos, torch.as_tensor(labels), list(CLASSES), ids, meta)
    return out


def load_digits_motion(cfg: DigitsMotionConfig = DigitsMotionConfig(),
                       cache_dir: str | Path | None = "artifacts/data") -> dict[str, VideoSet]:
    """Cached `make_digits_motion`: the cache folder is named after the settings' hash.

    The cached splits are the same bytes on every x86 CPU. torch's MKL picks its code path by the CPU, and on an
    Intel CPU with AVX-512 it rounds a few of the renderer's floats otherwise than on AMD or AVX2-only CPUs: 16 of
    the default train split's 24.6 M pixels differ by one grey level. Shipped weights are used only for the data
    they were trained on (its hash), so the split is rendered in a child process with MKL's conditional numerical
    reproducibility on (`MKL_CBWR=COMPATIBLE`, which the child needs set before MKL starts). That process renders
    the same bytes everywhere. Where this process already runs with it set, the split is rendered here instead.
    Only the rendering runs this way: the setting makes MKL's matrix products 4-6 times slower, so the rest of a
    run keeps MKL's fastest path."""
    if cache_dir is None:
        return make_digits_motion(cfg)
    folder = Path(cache_dir) / f"digits-motion_{cfg.key()}"
    paths = {s: folder / f"{s}.safetensors" for s in ("train", "test")}
    if not all(p.is_file() for p in paths.values()):
        if os.environ.get("MKL_CBWR", "").upper() == _CNR:
            splits = make_digits_motion(cfg)
            for s, p in paths.items():
                splits[s].save(p)
            write_text(folder / "config.json", json.dumps(asdict(cfg), indent=2))
            return splits
        _render_in_child(cfg, folder.parent)
    return {s: VideoSet.load(p) for s, p in paths.items()}


_CNR = "COMPATIBLE"


def _render_in_child(cfg: DigitsMotionConfig, cache_dir: Path) -> None:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "vddlib.data.digits_motion", json.dumps(asdict(cfg)),
                        str(Path(cache_dir).resolve())], env={**os.environ, "MKL_CBWR": _CNR},
                       capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"Rendering digits-motion into {cache_dir} failed in its child process "
                           f"(exit {r.returncode}):\n{r.stderr[-2000:]}")


if __name__ == "__main__":               # the child of `load_digits_motion`: render one config into a cache folder
    import sys

    load_digits_motion(DigitsMotionConfig(**json.loads(sys.argv[1])), sys.argv[2])
