"""The datasets a profile can name, how a split is loaded, and the clip rule.

`digits-motion` is generated here (no downloads); the real datasets are read from the
user's files (`vddlib.data.real`, which lists each with its facts). The **clip rule** lives
here and nowhere else: the evaluators see the dataset's clip (`dataset.clip`); the
diffusion model sees `diffusion.clip` where a profile sets one (the paper: 16 frames at
256²), and the pool it generates is then resampled to the evaluators' clip.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .digits_motion import CLASSES as DIGITS_CLASSES, DigitsMotionConfig, load_digits_motion
from .real import DATASETS as REAL_DATASETS, load_real
from .video_io import ClipSpec
from .videoset import VideoSet

EMBEDDED = "digits-motion"


@dataclass
class DatasetConfig:
    """Which dataset, and how to read it (digits-motion settings or a real dataset's root and clip)."""

    name: str = EMBEDDED
    root: str = ""                                  # real datasets: the folder the user unpacked
    digits_motion: DigitsMotionConfig = field(default_factory=DigitsMotionConfig)
    clip: ClipSpec = field(default_factory=ClipSpec)
    cache_dir: str = "artifacts/data"

    def __post_init__(self) -> None:
        allowed = [EMBEDDED, *REAL_DATASETS]
        if self.name not in allowed:
            raise ValueError(f"dataset.name must be one of {allowed}; got {self.name!r}")
        if self.name != EMBEDDED and not self.root:
            raise ValueError(f"dataset.root must name the folder holding {self.name}; it is empty.")

    @property
    def embedded(self) -> bool:
        return self.name == EMBEDDED


def num_classes(cfg: DatasetConfig) -> int:
    """Classes of the dataset, from its facts (no data read)."""
    return len(DIGITS_CLASSES) if cfg.embedded else REAL_DATASETS[cfg.name].classes


def load_dataset(cfg: DatasetConfig) -> dict[str, VideoSet]:
    """The train and test splits the profile names (the evaluators' clips), generated or decoded, and cached."""
    if cfg.embedded:
        return load_digits_motion(cfg.digits_motion, cfg.cache_dir)
    return {split: load_real(cfg.name, cfg.root, split, cfg.clip, cfg.cache_dir)[0] for split in ("train", "test")}


# ----------------------------------------------------------------------------- the clip rule
def diffusion_clip(cfg: DatasetConfig, clip: ClipSpec | None) -> ClipSpec | None:
    """The clip the diffusion model learns when it differs from the evaluators' (None: it sees theirs).

    digits-motion has one clip; a real dataset's `diffusion.clip` equal to `dataset.clip` is the same clip."""
    return None if clip is None or cfg.embedded or clip == cfg.clip else clip


def clip_shape(cfg: DatasetConfig, clip: ClipSpec | None = None) -> tuple[int, int]:
    """(frames, size) of a clip: the evaluators' with clip=None, else the diffusion model's `diffusion.clip`."""
    if cfg.embedded:
        return cfg.digits_motion.frames, cfg.digits_motion.size
    spec = diffusion_clip(cfg, clip) or cfg.clip
    return spec.frames, spec.crop


def pool_resampling(cfg: DatasetConfig, clip: ClipSpec | None) -> dict[str, int]:
    """What generated videos are resampled to so that the pool looks like the evaluators' clips:
    {"video_frames", "video_size"}, 0 for an axis that already matches (the generate settings' defaults)."""
    dclip = diffusion_clip(cfg, clip)
    if dclip is None:
        return {}
    return {"video_frames": cfg.clip.frames if dclip.frames != cfg.clip.frames else 0,
            "video_size": cfg.clip.crop if dclip.crop != cfg.clip.crop else 0}


def diffusion_split(cfg: DatasetConfig, clip: ClipSpec | None, splits: dict[str, VideoSet]) -> VideoSet:
    """The train split as the diffusion model sees it: its own clip decoded from a real dataset's files (cached
    beside the evaluators' clips), else the evaluators' train split."""
    dclip = diffusion_clip(cfg, clip)
    if dclip is None:
        return splits["train"]
    return load_real(cfg.name, cfg.root, "train", dclip, cfg.cache_dir)[0]
