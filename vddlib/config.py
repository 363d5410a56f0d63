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
from .dm import DMConfig
from .embeddings import VideoMAETrainConfig
from .evaluate import TrainConfig
from .generate import GenerateConfig
from .models.autoencoder import SmallVAEConfig
from .models.csta import CSTAConfig
from .vst import VSTConfig

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
    """How selections are scored: runs per setting, VPCs, the evaluator's training, the headline
    accuracy (top-1; the paper reports top-5 for Kinetics-400 and SSv2) and the device."""

    runs: int = 5
    vpcs: tuple[int, ...] = (1, 5, 10)
    train: TrainConfig = field(default_factory=TrainConfig)
    accuracy: str = "top1"
    device: str = "cpu"                 # "cpu", "cuda" or "auto" (cuda when there is one)
    processes: int = 1                  # notebook 04's selection grid: >1 runs it under `accelerate launch`

    def __post_init__(self) -> None:
        if self.accuracy not in ("top1", "top5"):
            raise ValueError(f"evaluation.accuracy must be 'top1' or 'top5'; got {self.accuracy!r}")
        if self.device not in ("cpu", "cuda", "auto"):
            raise ValueError(f"evaluation.device must be 'cpu', 'cuda' or 'auto'; got {self.device!r}")
        if self.runs < 1:
            raise ValueError(f"evaluation.runs must be >= 1; got {self.runs}")
        if self.processes < 1:
            raise ValueError(f"evaluation.processes must be >= 1; got {self.processes}")
        if not self.vpcs or min(self.vpcs) < 1:
            raise ValueError(f"evaluation.vpcs must be positive integers; got {self.vpcs}")


@dataclass
class DiffusionProfile:
    """The diffusion stage: autoencoder, Latte training, and the trained pair the default ships."""

    shipped: str = ""                   # folder with vae/ and latte_ema/ used unless retrain (empty: always train)
    retrain: bool = False
    vae_path: str = ""                  # a pretrained VAE folder (paper: sd-vae-ft-ema); empty: train a small one
    clip: ClipSpec | None = None        # the clips the diffusion model learns (paper: 16 frames, interval 3, 256²);
                                        # None: the dataset's clip
    vae: SmallVAEConfig = field(default_factory=SmallVAEConfig)
    vae_steps: int = 1500
    vae_batch: int = 64
    vae_lr: float = 1e-3
    init_from: str = ""                 # Latte weights to fine-tune (original .pt or our folder); empty: scratch
    latte: LatteTrainConfig = field(default_factory=LatteTrainConfig)
    smoke_steps: int = 20               # a short real training run that keeps the path tested when shipped weights are used
    smoke_batch: int = 0                # its batch size; 0: latte.batch_size (a GPU-sized batch can cost seconds a step on CPU)
    work_dir: str = "artifacts/diffusion"

    def __post_init__(self) -> None:
        if self.vae_steps < 1 or self.smoke_steps < 1:
            raise ValueError("diffusion.vae_steps and diffusion.smoke_steps must be >= 1")
        if self.smoke_batch < 0:
            raise ValueError(f"diffusion.smoke_batch must be >= 0 (0: latte.batch_size); got {self.smoke_batch}")


METHODS = ("random", "mae_score", "csta", "dm_mmd", "vst_unet", "tac_dt", "herding", "kcenter")


@dataclass
class TacDTConfig:
    """TAC-DT's clustering (TAC-SUM's steps; see vddlib.select.tac_dt_clusters)."""

    pca_dims: int = 50
    threshold: float = 0.5
    linkage: str = "ward"
    knn: int = 5
    candidates: int = 3    # each run's representative: drawn among the cluster's members this near its mean

    def __post_init__(self) -> None:
        if self.linkage not in ("ward", "single", "average", "complete"):
            raise ValueError(f"selection.tac_dt.linkage must be ward, single, average or complete; got {self.linkage!r}")
        if self.pca_dims < 1 or self.threshold <= 0 or self.knn < 1 or self.candidates < 1:
            raise ValueError("selection.tac_dt: pca_dims, threshold, knn and candidates must be positive")


@dataclass
class SelectionProfile:
    """The selection stage: methods, the VideoMAE embedder and each selector's settings."""

    methods: tuple[str, ...] = METHODS
    videomae_path: str = ""             # a local transformers VideoMAE(-v2) folder; empty: train the small one
    videomae_shipped: str = ""          # the small one as trained earlier on this data (used if its settings match)
    videomae: VideoMAETrainConfig = field(default_factory=VideoMAETrainConfig)
    vst_unet: VSTConfig = field(default_factory=VSTConfig)
    csta: CSTAConfig = field(default_factory=CSTAConfig)
    tac_dt: TacDTConfig = field(default_factory=TacDTConfig)
    dm_mmd_restarts: int = 10
    parallel: int = 2                   # selections of a threaded method (VST-UNet) trained at once, each on its threads
    manifests: str = "results/selections"
    work_dir: str = "artifacts/selection"

    def __post_init__(self) -> None:
        self.methods = tuple(self.methods)
        bad = [m for m in self.methods if m not in METHODS]
        if bad:
            raise ValueError(f"selection.methods: unknown {bad}; allowed: {list(METHODS)}")
        if self.dm_mmd_restarts < 1:
            raise ValueError("selection.dm_mmd_restarts must be >= 1")
        if self.parallel < 1:
            raise ValueError("selection.parallel must be >= 1")

    def settings(self, method: str) -> dict:
        """The keyword settings `vddlib.select.select` takes for `method` (also written to its manifest)."""
        if method == "vst_unet":
            return {"config": self.vst_unet}
        if method == "csta":
            return {"config": self.csta}
        if method == "tac_dt":
            return dataclasses.asdict(self.tac_dt)
        if method == "dm_mmd":
            return {"n_init": self.dm_mmd_restarts}
        return {}


def _transformer_eval() -> TrainConfig:
    return TrainConfig(classifier="timesformer", model={"patch_size": 8, "hidden_size": 64, "depth": 2, "heads": 4},
                       epochs=12.8, min_steps=150, max_steps=400, shift=2)


@dataclass
class AblationProfile:
    """Notebook 05: what each ablation varies, and how many runs it takes (fewer than the main tables)."""

    runs: int = 3                       # seeds per setting (selection and evaluator, as in the main grid)
    vpc: int = 5                        # the VPC of the one-VPC ablations (Table 6's)
    vpcs: tuple[int, ...] = (1, 5, 10)  # Table 5 and the real-pool coreset table
    transformer: TrainConfig = field(default_factory=_transformer_eval)   # Table 5's video transformer
    lambda_d: tuple[float, ...] = (0.0, 0.1, 1.0)
    lambda_r: tuple[float, ...] = (0.0, 1.0, 10.0)
    n_cs: tuple[int, ...] = (25, 50, 100, 200)
    nc_methods: tuple[str, ...] = ("random", "tac_dt", "vst_unet")
    real_methods: tuple[str, ...] = ("random", "herding", "kcenter", "tac_dt", "vst_unet")
    dm: DMConfig = field(default_factory=DMConfig)
    dm_vpcs: tuple[int, ...] = (1, 5)
    work_dir: str = "artifacts/ablation"

    def __post_init__(self) -> None:
        if self.runs < 1 or self.vpc < 1 or not self.vpcs or min(self.vpcs) < 1:
            raise ValueError("ablation.runs, ablation.vpc and ablation.vpcs must be >= 1")
        if not self.n_cs or min(self.n_cs) < self.vpc:
            raise ValueError(f"ablation.n_cs must all be >= ablation.vpc ({self.vpc}); got {self.n_cs}")
        bad = [m for m in (*self.nc_methods, *self.real_methods) if m not in METHODS]
        if bad:
            raise ValueError(f"ablation: unknown selector(s) {bad}; allowed: {list(METHODS)}")
        if min(self.lambda_d + self.lambda_r, default=0) < 0:
            raise ValueError("ablation.lambda_d and lambda_r must be >= 0")


@dataclass
class Profile:
    name: str
    dataset: DatasetConfig
    evaluation: EvalProtocol
    diffusion: DiffusionProfile = field(default_factory=DiffusionProfile)
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    selection: SelectionProfile = field(default_factory=SelectionProfile)
    ablation: AblationProfile = field(default_factory=AblationProfile)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _merge(base: dict, over: dict) -> dict:
    """`over` on top of `base`: mappings merge key by key, anything else (lists included) is replaced."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_raw(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """A profile's YAML with its `base:` profile (a name in params/ or a path) merged underneath, recursively."""
    if path in seen:
        raise ValueError(f"{path}: profiles form a cycle through `base:` ({' → '.join(map(str, (*seen, path)))})")
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a profile is a mapping of sections; got {type(raw).__name__}")
    base = raw.pop("base", None)
    if base is None:
        return raw
    bpath = Path(base) if Path(base).suffix else PARAMS_DIR / f"{base}.yaml"
    if not bpath.is_file():
        raise FileNotFoundError(f"{path}: base profile {base!r} not found at {bpath}")
    return _merge(_read_raw(bpath, (*seen, path)), raw)


def load_profile(name_or_path: str) -> Profile:
    """Read params/<name>.yaml (or a path) into a validated Profile; a profile may name a `base:` profile and hold
    only what differs from it (nanoGPT's override files)."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PARAMS_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        have = sorted(p.stem for p in PARAMS_DIR.glob("*.yaml"))
        raise FileNotFoundError(f"No profile at {path}; profiles in {PARAMS_DIR}: {have}")
    raw = _read_raw(path)
    sections = {"name", "dataset", "evaluation", "diffusion", "generate", "selection", "ablation"}
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
    if df.get("clip") is not None:
        df["clip"] = _build(ClipSpec, df["clip"], f"{path}: diffusion.clip")
    df["latte"] = _build(LatteTrainConfig, df.get("latte"), f"{path}: diffusion.latte")
    sel = dict(raw.get("selection") or {})
    for key, cls in (("videomae", VideoMAETrainConfig), ("vst_unet", VSTConfig), ("csta", CSTAConfig),
                     ("tac_dt", TacDTConfig)):
        sel[key] = _build(cls, sel.get(key), f"{path}: selection.{key}")
    abl = dict(raw.get("ablation") or {})
    if "transformer" in abl:
        abl["transformer"] = _build(TrainConfig, {**dataclasses.asdict(_transformer_eval()), **abl["transformer"]},
                                    f"{path}: ablation.transformer")
    abl["dm"] = _build(DMConfig, abl.get("dm"), f"{path}: ablation.dm")
    gen = dict(raw.get("generate") or {})
    dclip = df.get("clip")
    if dclip is not None and ds.get("name", "digits-motion") != "digits-motion":
        # the pool must look like the evaluators' clips: resample the decoded videos unless the profile says otherwise
        gen.setdefault("video_frames", ds["clip"].frames if dclip.frames != ds["clip"].frames else 0)
        gen.setdefault("video_size", ds["clip"].crop if dclip.crop != ds["clip"].crop else 0)
    return Profile(raw.get("name", path.stem), _build(DatasetConfig, ds, f"{path}: dataset"),
                   _build(EvalProtocol, ev, f"{path}: evaluation"),
                   _build(DiffusionProfile, df, f"{path}: diffusion"),
                   _build(GenerateConfig, gen, f"{path}: generate"),
                   _build(SelectionProfile, sel, f"{path}: selection"),
                   _build(AblationProfile, abl, f"{path}: ablation"))


def resolve_device(name: str) -> "torch.device":
    """'auto' → cuda when there is one, else cpu; 'cuda' without one is an error that says so."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("evaluation.device is 'cuda' but torch sees no GPU; set it to 'auto' or 'cpu'.")
    return torch.device(name)


# Where each weight the paper profile reads comes from (shown when a path is missing).
WHERE_TO_GET = {
    "diffusion.vae_path": "Stable Diffusion's VAE: `huggingface-cli download stabilityai/sd-vae-ft-ema --local-dir "
                          "<folder>` on a machine with internet, then copy the folder here (config.json + "
                          "diffusion_pytorch_model.safetensors).",
    "diffusion.init_from": "Latte's class-conditional checkpoint for the dataset (e.g. ucf101.pt from "
                           "https://huggingface.co/maxin-cn/Latte); ours reads it with torch.load(weights_only=True). "
                           "Leave init_from empty to train from scratch.",
    "selection.videomae_path": "VideoMAE-v2 ViT-g (D = 1408, https://github.com/OpenGVLab/VideoMAEv2) saved as a "
                               "transformers VideoMAE folder (config.json + model.safetensors). Leave empty to train "
                               "the small VideoMAE on the real train split instead.",
}


def check_paths(prof: Profile) -> list[str]:
    """Check, before any work, every local file the profile names; raise one error listing all that are missing.

    Returns what was checked (for the notebook's log). The dataset's split files are checked by
    listing both splits with the dataset's own loader.
    """
    problems, checked = [], []
    ds = prof.dataset
    if ds.name != "digits-motion":
        from .data.real import DATASETS

        root = Path(ds.root)
        if not root.is_dir():
            problems.append(f"dataset.root: {root} does not exist; unpack {ds.name} there (see vddlib/data/real.py "
                            "for the expected layout) or point dataset.root at it.")
        else:
            for split in ("train", "test"):
                try:
                    items, _ = DATASETS[ds.name](root, split)
                    checked.append(f"dataset {ds.name}/{split}: {len(items)} videos listed")
                except (FileNotFoundError, ValueError) as e:
                    problems.append(f"dataset.root ({split} split): {e}")
    files = {"diffusion.vae_path": (prof.diffusion.vae_path, "config.json"),
             "diffusion.init_from": (prof.diffusion.init_from, None),
             "selection.videomae_path": (prof.selection.videomae_path, "config.json")}
    for key, (value, inside) in files.items():
        if not value:
            continue
        target = Path(value) / inside if inside else Path(value)
        if target.is_file():
            checked.append(f"{key}: {target}")
        else:
            problems.append(f"{key}: {target} is missing. {WHERE_TO_GET[key]}")
    if problems:
        raise FileNotFoundError(f"Profile {prof.name!r} names {len(problems)} missing input(s):\n- "
                                + "\n- ".join(problems))
    return checked


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
