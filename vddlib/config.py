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
from .diffusion import LatteTrainConfig
from .evaluate import TrainConfig
from .generate import GenerateConfig
from .models.autoencoder import SmallVAEConfig

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
class DiffusionProfile:
    """The diffusion stage: autoencoder, Latte training, and the trained pair the default ships."""

    shipped: str = ""                   # folder with vae/ and latte_ema/ used unless retrain (empty: always train)
    retrain: bool = False
    vae_path: str = ""                  # a pretrained VAE folder (paper: sd-vae-ft-ema); empty: train a small one
    vae: SmallVAEConfig = field(default_factory=SmallVAEConfig)
    vae_steps: int = 1500
    vae_batch: int = 64
    vae_lr: float = 1e-3
    init_from: str = ""                 # Latte weights to fine-tune (original .pt or our folder); empty: scratch
    latte: LatteTrainConfig = field(default_factory=LatteTrainConfig)
    smoke_steps: int = 20               # a short real training run that keeps the path tested when shipped weights are used
    work_dir: str = "artifacts/diffusion"

    def __post_init__(self) -> None:
        if self.vae_steps < 1 or self.smoke_steps < 1:
            raise ValueError("diffusion.vae_steps and diffusion.smoke_steps must be >= 1")


@dataclass
class Profile:
    name: str
    dataset: DatasetConfig
    evaluation: EvalProtocol
    diffusion: DiffusionProfile = field(default_factory=DiffusionProfile)
    generate: GenerateConfig = field(default_factory=GenerateConfig)

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
    sections = {"name", "dataset", "evaluation", "diffusion", "generate"}
    unknown = sorted(set(raw) - sections)
    if unknown:
        raise ValueError(f"{path}: unknown section(s) {unknown}; allowed: {sorted(sections)}")
    ds = dict(raw.get("dataset") or {})
    ds["digits_motion"] = _build(DigitsMotionConfig, ds.get("digits_motion"), f"{path}: dataset.digits_motion")
    ds["clip"] = _build(ClipSpec, ds.get("clip"), f"{path}: dataset.clip")
    ev = dict(raw.get("evaluation") or {})
    ev["train"] = _build(TrainConfig, ev.get("train"), f"{path}: evaluation.train")
    df = dict(raw.get("diffusion") or {})
    df["vae"] = _build(SmallVAEConfig, df.get("vae"), f"{path}: diffusion.vae")
    df["latte"] = _build(LatteTrainConfig, df.get("latte"), f"{path}: diffusion.latte")
    return Profile(raw.get("name", path.stem), _build(DatasetConfig, ds, f"{path}: dataset"),
                   _build(EvalProtocol, ev, f"{path}: evaluation"),
                   _build(DiffusionProfile, df, f"{path}: diffusion"),
                   _build(GenerateConfig, raw.get("generate"), f"{path}: generate"))


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
