"""Profiles: the YAML files in params/ that hold every setting of a run.

`default` is the embedded digits-motion run sized for two CPU cores; `paper_*` profiles
hold the paper's settings for GPUs. A profile is read into validated dataclasses, so a
wrong key or value fails at once with the field's name.
"""
from __future__ import annotations

import dataclasses
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .data.digits_motion import DigitsMotionConfig, load_digits_motion
from .data.video_io import ClipSpec
from .data.videoset import VideoSet
from .evaluate import TrainConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
PARAMS_DIR = REPO_ROOT / "params"


def _build(cls, values: dict | None, where: str):
    values = dict(values or {})
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{where}: unknown setting(s) {unknown}; allowed: {sorted(known)}")
    for f in dataclasses.fields(cls):       # YAML lists → tuples where the field is a tuple
        if f.name in values and isinstance(values[f.name], list) and "tuple" in str(f.type):
            values[f.name] = tuple(values[f.name])
    return cls(**values)


@dataclass
class DatasetConfig:
    """Which dataset, and how to read it (digits-motion settings or a real dataset's root and clip)."""

    name: str = "digits-motion"
    root: str = ""                                  # real datasets: the folder the user unpacked
    digits_motion: DigitsMotionConfig = field(default_factory=DigitsMotionConfig)
    clip: ClipSpec = field(default_factory=ClipSpec)
    cache_dir: str = "artifacts/data"

    def __post_init__(self) -> None:
        from .data.real import DATASETS

        allowed = ["digits-motion", *DATASETS]
        if self.name not in allowed:
            raise ValueError(f"dataset.name must be one of {allowed}; got {self.name!r}")
        if self.name != "digits-motion" and not self.root:
            raise ValueError(f"dataset.root must name the folder holding {self.name}; it is empty.")


@dataclass
class EvalProtocol:
    """How selections are scored: runs per setting, VPCs, and the evaluator's training."""

    runs: int = 5
    vpcs: tuple[int, ...] = (1, 5, 10)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if self.runs < 1:
            raise ValueError(f"evaluation.runs must be >= 1; got {self.runs}")
        if not self.vpcs or min(self.vpcs) < 1:
            raise ValueError(f"evaluation.vpcs must be positive integers; got {self.vpcs}")


@dataclass
class Profile:
    name: str
    dataset: DatasetConfig
    evaluation: EvalProtocol

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def load_profile(name_or_path: str) -> Profile:
    """Read params/<name>.yaml (or a path) into a validated Profile."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PARAMS_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        have = sorted(p.stem for p in PARAMS_DIR.glob("*.yaml"))
        raise FileNotFoundError(f"No profile at {path}; profiles in {PARAMS_DIR}: {have}")
    raw = yaml.safe_load(path.read_text()) or {}
    unknown = sorted(set(raw) - {"name", "dataset", "evaluation"})
    if unknown:
        raise ValueError(f"{path}: unknown section(s) {unknown}; allowed: name, dataset, evaluation")
    ds = dict(raw.get("dataset") or {})
    ds["digits_motion"] = _build(DigitsMotionConfig, ds.get("digits_motion"), f"{path}: dataset.digits_motion")
    ds["clip"] = _build(ClipSpec, ds.get("clip"), f"{path}: dataset.clip")
    ev = dict(raw.get("evaluation") or {})
    ev["train"] = _build(TrainConfig, ev.get("train"), f"{path}: evaluation.train")
    return Profile(raw.get("name", path.stem), _build(DatasetConfig, ds, f"{path}: dataset"),
                   _build(EvalProtocol, ev, f"{path}: evaluation"))


def load_dataset(cfg: DatasetConfig) -> dict[str, VideoSet]:
    """The train and test splits the profile names, decoded or generated (and cached)."""
    if cfg.name == "digits-motion":
        return load_digits_motion(cfg.digits_motion, cfg.cache_dir)
    from .data.real import load_real

    return {split: load_real(cfg.name, cfg.root, split, cfg.clip, cfg.cache_dir)[0] for split in ("train", "test")}


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=PARAMS_DIR.parent, timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def write_run_config(path: str | Path, profile: Profile, **parameters) -> None:
    """The resolved profile, the notebook's parameters and the git commit, beside a run's outputs."""
    from .results import write_text

    write_text(path, json.dumps({"profile": profile.to_dict(), "parameters": parameters,
                                 "git_commit": git_commit()}, indent=2, default=str))
