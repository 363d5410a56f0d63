"""A run's profile: every stage's settings in one object, read from params/<name>.yaml.

This module sits above the stages: it puts each stage's own settings dataclass together
(`vddlib.config` reads and type-checks the YAML and knows no stage).

**Where a run writes.** A profile's `outputs:` folder holds its executed notebooks
(`notebooks/`), tables (`results/`, selection manifests in `results/selections/` unless
`selection.manifests` names another place) and figures (`figures/`). Only `default.yaml` says
`outputs: .`, the committed outputs of the repository; every other profile writes to
`runs/<name>/` (its own `outputs:` where it sets one; never inherited from its `base:`).
"""
from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .config import REPO_ROOT, build, read_profile, write_run_config
from .checksums import set_strict
from .files import ensure_writable
from .data.datasets import DatasetConfig, pool_resampling
from .data.paths import check_paths
from .diffusion.generate import GenerateConfig
from .diffusion.stage import DiffusionSettings, diffusion_dir, pool_dir
from .evaluation.train import EvalProtocol
from .experiments.ablate import AblationSettings
from .experiments.beyond import BeyondSettings
from .experiments.resolution import ResolutionSettings
from .hardware import resolve_device
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
    beyond: BeyondSettings = field(default_factory=BeyondSettings)
    resolution: ResolutionSettings = field(default_factory=ResolutionSettings)
    outputs: str = ""                   # the profile's output folder; "": runs/<name>
    strict: bool = False                # true: refuse weight folders that no SHA256SUMS lists (else a loud warning)
    results_dir: str = ""               # tables and manifests; "": <outputs>/results (a notebook parameter may move it)
    figures_dir: str = ""               # PNGs; "": <outputs>/figures

    def __post_init__(self) -> None:
        self.outputs = self.outputs or f"runs/{self.name}"
        self._manifests_follow = not self.selection.manifests
        self.set_output_dirs(self.results_dir or None, self.figures_dir or None)

    def set_output_dirs(self, results_dir: str | None = None, figures_dir: str | None = None) -> None:
        """Results and figures folders (default: under `outputs`); manifests follow the results unless the profile's
        `selection.manifests` names a folder."""
        self.results_dir = str(results_dir or Path(self.outputs) / "results")
        self.figures_dir = str(figures_dir or Path(self.outputs) / "figures")
        if self._manifests_follow:
            self.selection.manifests = str(Path(self.results_dir) / "selections")

    @property
    def notebooks_dir(self) -> Path:
        """Where the executed notebooks of this run are (their papermill timings feed notebook 06)."""
        return Path(self.results_dir).parent / "notebooks"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def check_inputs(self) -> list[str]:
        """Every local file the profile names (the dataset's, each stage's weights), checked at once: one error
        lists all that are missing, with where to get each."""
        return check_paths(self.dataset, {**self.diffusion.input_files(), **self.selection.input_files()},
                           f"Profile {self.name!r}")


@dataclass(frozen=True)
class RunContext:
    """What a notebook resolves once from its parameters and its profile, handed to the stage functions beside
    their own settings: the folders it reads and writes, its seeds, VPCs and methods, and its evaluators' device."""

    profile: str                        # the profile's name (queued evaluations on several processes re-read it)
    dataset: str
    results: Path
    figures: Path
    diffusion: Path                     # the trained pair's folder (notebook 01's; `diffusion_dir`)
    pool: Path                          # the pool's folder (notebook 02's; `pool_dir`)
    seeds: tuple[int, ...]
    vpcs: tuple[int, ...]
    methods: tuple[str, ...]
    processes: int                      # evaluation processes
    device: str                         # the evaluators' device, resolved ("cpu", "cuda")


def run_context(prof: Profile, runs: int | None = None, vpcs=None, methods=None, processes: int | None = None,
                runs_of: str = "evaluation") -> RunContext:
    """The context of a run of `prof`: a notebook's parameters where given, else the profile's (`runs` from the
    section `runs_of`: evaluation, ablation or beyond)."""
    ev = prof.evaluation
    return RunContext(prof.name, prof.dataset.name, Path(prof.results_dir), Path(prof.figures_dir),
                      diffusion_dir(prof.diffusion, prof.dataset.name),
                      pool_dir(prof.diffusion, prof.generate, prof.dataset.name),
                      tuple(range(runs or getattr(prof, runs_of).runs)), tuple(vpcs or ev.vpcs),
                      tuple(methods or prof.selection.methods), processes or ev.processes,
                      resolve_device(ev.device).type)


SECTIONS = {"dataset": DatasetConfig, "evaluation": EvalProtocol, "diffusion": DiffusionSettings,
            "generate": GenerateConfig, "selection": SelectionSettings, "ablation": AblationSettings,
            "beyond": BeyondSettings, "resolution": ResolutionSettings}


def load_profile(name_or_path: str) -> Profile:
    """Read params/<name>.yaml (or a path), with its `base:` chain, into a validated Profile."""
    path, raw = read_profile(name_or_path)
    unknown = sorted(set(raw) - set(SECTIONS) - {"name", "outputs", "strict"})
    if unknown:
        raise ValueError(f"{path}: unknown section(s) {unknown}; allowed: {sorted(SECTIONS)}")
    where = str(path)
    dataset = build(DatasetConfig, raw.get("dataset"), f"{where}: dataset")
    diffusion = build(DiffusionSettings, raw.get("diffusion"), f"{where}: diffusion")
    # the clip rule: a pool generated at the diffusion model's clip is resampled to the evaluators' (unless set)
    generate = {**pool_resampling(dataset, diffusion.clip), **(raw.get("generate") or {})}
    evaluation, selection = (build(EvalProtocol, raw.get("evaluation"), f"{where}: evaluation"),
                             SelectionSettings.from_dict(raw.get("selection") or {}, where))
    stray = [m for m in evaluation.methods if m not in selection.methods]
    if stray:
        raise ValueError(f"{where}: evaluation.methods names {stray}, which selection.methods does not (03 makes no "
                         "selections of them for 04 to evaluate); add them there or leave them out")
    return Profile(raw["name"], dataset, evaluation,
                   diffusion, build(GenerateConfig, generate, f"{where}: generate"),
                   selection,
                   build(AblationSettings, raw.get("ablation"), f"{where}: ablation"),
                   build(BeyondSettings, raw.get("beyond"), f"{where}: beyond"),
                   build(ResolutionSettings, raw.get("resolution"), f"{where}: resolution"),
                   outputs=build_outputs(raw.get("outputs"), where), strict=build_strict(raw.get("strict", False), where))


def build_strict(value, where: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{where}: strict: expected true or false; got {value!r}")
    return value


def build_outputs(value, where: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{where}: outputs: expected a string (a folder); got {value!r} ({type(value).__name__})")
    return value


def _short_warning(message, category, filename, lineno, line=None) -> str:
    return f"{category.__name__}: {message}\n"


COUNTS = ("runs", "max_runs", "processes", "vpcs")     # notebook parameters that count something: None or ≥ 1


def check_counts(parameters: dict) -> None:
    """Refuse a count parameter below 1 or not whole (`runs = 0` would otherwise fall back to the profile's runs
    without a word), naming the parameter."""
    for name in COUNTS:
        value = parameters.get(name)
        if value is None:
            continue
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"Notebook parameter {name} = {value!r}: give whole numbers of at least 1, or None "
                                 "for the profile's value.")


def start(profile: str, run_config: str, results_dir: str | None = None, figures_dir: str | None = None,
          runs_of: str = "evaluation", **parameters) -> tuple[Profile, RunContext]:
    """A notebook's first call: paths relative to the repository (papermill and nbval start in different
    folders), the profile loaded and validated, every local file it names checked, its results and figures
    folders (the notebook's parameters, else the profile's `outputs`), and the resolved run config (with the
    notebook's parameters and the git commit) written to `<results_dir>/<run_config>`. Returns the profile (each
    stage's settings) and the run's context (`run_context`, from the parameters runs, vpcs, methods and processes
    where the notebook has them; `runs_of`: the section whose runs it takes otherwise)."""
    check_counts(parameters)
    os.chdir(REPO_ROOT)
    warnings.formatwarning = _short_warning   # "UserWarning: message": no machine paths or source lines in outputs
    prof = load_profile(profile)
    set_strict(prof.strict)
    prof.set_output_dirs(results_dir, figures_dir)
    for folder, what in ((prof.results_dir, "the results folder"), (prof.figures_dir, "the figures folder")):
        ensure_writable(folder, f"{what} (the notebook's parameter, else the profile's outputs)")
    prof.check_inputs()
    write_run_config(Path(prof.results_dir) / run_config, prof, **parameters)
    return prof, run_context(prof, parameters.get("runs"), parameters.get("vpcs"), parameters.get("methods"),
                             parameters.get("processes"), runs_of)
