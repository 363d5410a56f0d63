"""A run's profile: every stage's settings in one object, read from params/<name>.yaml.

This module sits above the stages: it puts each stage's own settings dataclass together
(`vddlib.config` reads and type-checks the YAML and knows no stage). It also checks,
before any work, every local file a profile names.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from .config import build, read_profile
from .data.datasets import DatasetConfig, pool_resampling
from .data.real import DATASETS
from .diffusion.generate import GenerateConfig
from .diffusion.stage import DiffusionSettings
from .evaluation.train import EvalProtocol
from .experiments.ablate import AblationSettings
from .selection.stage import SelectionSettings


@dataclass
class Profile:
    name: str
    dataset: DatasetConfig
    evaluation: EvalProtocol
    diffusion: DiffusionSettings = field(default_factory=DiffusionSettings)
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    selection: SelectionSettings = field(default_factory=SelectionSettings)
    ablation: AblationSettings = field(default_factory=AblationSettings)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


SECTIONS = {"dataset": DatasetConfig, "evaluation": EvalProtocol, "diffusion": DiffusionSettings,
            "generate": GenerateConfig, "selection": SelectionSettings, "ablation": AblationSettings}


def load_profile(name_or_path: str) -> Profile:
    """Read params/<name>.yaml (or a path), with its `base:` chain, into a validated Profile."""
    path, raw = read_profile(name_or_path)
    unknown = sorted(set(raw) - set(SECTIONS) - {"name"})
    if unknown:
        raise ValueError(f"{path}: unknown section(s) {unknown}; allowed: {sorted(SECTIONS)}")
    where = str(path)
    dataset = build(DatasetConfig, raw.get("dataset"), f"{where}: dataset")
    diffusion = build(DiffusionSettings, raw.get("diffusion"), f"{where}: diffusion")
    # the clip rule: a pool generated at the diffusion model's clip is resampled to the evaluators' (unless set)
    generate = {**pool_resampling(dataset, diffusion.clip), **(raw.get("generate") or {})}
    return Profile(raw["name"], dataset, build(EvalProtocol, raw.get("evaluation"), f"{where}: evaluation"),
                   diffusion, build(GenerateConfig, generate, f"{where}: generate"),
                   SelectionSettings.from_dict(raw.get("selection") or {}, where),
                   build(AblationSettings, raw.get("ablation"), f"{where}: ablation"))


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
    if not ds.embedded:
        root = Path(ds.root)
        if not root.is_dir():
            problems.append(f"dataset.root: {root} does not exist; unpack {ds.name} there (see vddlib/data/real.py "
                            "for the expected layout) or point dataset.root at it.")
        else:
            for split in ("train", "test"):
                try:
                    items, _ = DATASETS[ds.name].lister(root, split)
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
