"""A run's profile: every stage's settings in one object, read from params/<name>.yaml.

This module sits above the stages: it puts each stage's own settings dataclass together
(`vddlib.config` reads and type-checks the YAML and knows no stage).
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from .config import REPO_ROOT, build, read_profile, write_run_config
from .data.datasets import DatasetConfig, pool_resampling
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


def start(profile: str, run_config: str | Path, **parameters) -> Profile:
    """A notebook's first call: paths relative to the repository (papermill and nbval start in different
    folders), the profile loaded and validated, and the resolved run config (with the notebook's parameters and
    the git commit) written to `run_config` beside the outputs."""
    os.chdir(REPO_ROOT)
    prof = load_profile(profile)
    write_run_config(run_config, prof, **parameters)
    return prof
