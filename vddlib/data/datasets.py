"""The datasets a profile can name, how a split is loaded, and the clip rule.

`digits-motion` is generated here (no downloads); the real datasets are read from the
user's files (`vddlib.data.real`, which lists each with its facts). The **clip rule** lives
here and nowhere else: the evaluators see the dataset's clip (`dataset.clip`); the
diffusion model sees `diffusion.clip` where a profile sets one (the paper: 16 frames at
256²), and the pool it generates is then resampled to the evaluators' clip.
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .digits_motion import CLASSES as DIGITS_CLASSES, DigitsMotionConfig, load_digits_motion
from .real import DATASETS as REAL_DATASETS, SHORT_FRACTION, SplitStream, list_splits, load_real, stream_real
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
    short_fraction: float = SHORT_FRACTION          # real datasets: a file holding under this share of the frames
                                                    # its container states gives a short clip (warned, reported)
    short_clips: str = "keep"                       # keep | skip: what happens to short clips

    def __post_init__(self) -> None:
        if self.short_clips not in ("keep", "skip"):
            raise ValueError(f"dataset.short_clips must be 'keep' or 'skip'; got {self.short_clips!r}")
        if not 0.0 <= self.short_fraction <= 1.0:
            raise ValueError(f"dataset.short_fraction must lie in [0, 1]; got {self.short_fraction}")
        allowed = [EMBEDDED, *REAL_DATASETS]
        if self.name not in allowed:
            raise ValueError(f"dataset.name must be one of {allowed}; got {self.name!r}")
        if self.name != EMBEDDED and not self.root:
            raise ValueError(f"dataset.root must name the folder holding {self.name}; it is empty.")

    @property
    def embedded(self) -> bool:
        return self.name == EMBEDDED


def num_classes(cfg: DatasetConfig) -> int:
    """Classes of the dataset: those its split files list where its root is there (a subset of a dataset has
    fewer), else the dataset's facts (planning a run before the data is in place)."""
    if cfg.embedded:
        return len(DIGITS_CLASSES)
    if Path(cfg.root).is_dir():
        try:
            return _listed_classes(cfg.name, str(Path(cfg.root).resolve()))
        except (OSError, ValueError):
            pass                                      # unreadable split files: load_dataset reports them
    return REAL_DATASETS[cfg.name].classes


@functools.lru_cache(maxsize=8)
def _listed_classes(name: str, root: str) -> int:
    return len(list_splits(name, root)["names"])


def _load_real(cfg: DatasetConfig, split: str, spec: ClipSpec, listing=None) -> VideoSet:
    return load_real(cfg.name, cfg.root, split, spec, cfg.cache_dir, listing=listing,
                     short_fraction=cfg.short_fraction, short_clips=cfg.short_clips)[0]


def load_dataset(cfg: DatasetConfig) -> dict[str, VideoSet]:
    """The train and test splits the profile names (the evaluators' clips), generated or decoded, and cached.
    A real split's LoadReport (listed, loaded, skipped, short) is in its `meta["load_report"]`; `load_summary`
    prints them."""
    if cfg.embedded:
        return load_digits_motion(cfg.digits_motion, cfg.cache_dir)
    listing = list_splits(cfg.name, cfg.root)          # both splits listed once, checked for leaks and repeats
    check_cache_space(cfg, {split: len(listing[split]) for split in ("train", "test")})
    return {split: _load_real(cfg, split, cfg.clip, listing) for split in ("train", "test")}


def check_cache_space(cfg: DatasetConfig, videos: dict[str, int], free: int | None = None) -> None:
    """Warn, before any decoding, when the disk under `dataset.cache_dir` lacks room for the splits' clips
    (`free` bytes; the file system's figure when None). A split is decoded into shards, then written as one
    split file that the loaders memory-map, so the host need not hold it (Kinetics-400's splits at the
    evaluators' 16 × 112² are 143 GiB); until that file is whole its shards are on disk too. What the cache
    already holds of this dataset counts as room (a rerun rewrites nothing)."""
    import shutil

    clip = 3 * cfg.clip.frames * cfg.clip.crop ** 2
    sizes = [n * clip for n in videos.values()]
    need = sum(sizes) + max(sizes, default=0)
    cache = Path(cfg.cache_dir)
    held = sum(f.stat().st_size for f in cache.glob(f"{cfg.name}_*/*") if f.is_file()) if cache.is_dir() else 0
    if free is None:
        probe = next(p for p in (cache.resolve(), *cache.resolve().parents) if p.exists())
        free = shutil.disk_usage(probe).free
    if need > free + held:
        counts = ", ".join(f"{n} {split}" for split, n in videos.items())
        warnings.warn(f"{cfg.name}: decoding its splits ({counts} videos of {cfg.clip.frames} × {cfg.clip.crop}²) "
                      f"takes up to {need / 2**30:.1f} GiB under {cache} (the split files, and one split's shards "
                      f"while its file is written), and {(free + held) / 2**30:.1f} GiB are free or already "
                      "this dataset's: decoding will fail when the disk fills. Point `dataset.cache_dir` at a "
                      "larger disk, or set a smaller `dataset.clip` (frames, crop).", stacklevel=3)


def load_summary(splits: dict[str, VideoSet]) -> str:
    """One line per split: what was listed, loaded, skipped and flagged short (real datasets), or generated."""
    lines = []
    for split, vs in splits.items():
        r = vs.meta.get("load_report")
        if r is None:
            lines.append(f"{split}: {len(vs)} videos generated ({vs.num_classes} classes)")
            continue
        line = (f"{r['dataset']}/{split}: {r['loaded']} of {r['listed']} videos loaded, "
                f"{len(r['skipped'])} skipped, {len(r['short'])} short")
        for what, entries in (("skipped", r["skipped"]), ("short", r["short"])):
            line += "".join(f"\n    {what}: {path}: {why}" for path, why in entries[:5])
            if len(entries) > 5:
                line += f"\n    … and {len(entries) - 5} more {what}"
        lines.append(line)
    return "\n".join(lines)


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
    return diffusion_stream(cfg, clip, splits).collect()


def diffusion_stream(cfg: DatasetConfig, clip: ClipSpec | None, splits: dict[str, VideoSet],
                     cache_clips: bool = True) -> SplitStream:
    """`diffusion_split` shard by shard, for encoding a split that host memory cannot hold at the diffusion model's
    clip (UCF101's train split at 16 × 256² is 28 GiB, Kinetics-400's 0.7 TiB); the evaluators' train split as
    one part where the diffusion model sees their clip. `cache_clips=False`: the decoded clips are not written to
    `dataset.cache_dir` (for a consumer that keeps what it makes of each shard, as the latent encoder does)."""
    dclip = diffusion_clip(cfg, clip)
    if dclip is None:
        return SplitStream.of(splits["train"])
    return stream_real(cfg.name, cfg.root, "train", dclip, cfg.cache_dir if cache_clips else None,
                       short_fraction=cfg.short_fraction, short_clips=cfg.short_clips)
