"""The selection stage as notebook 03 runs it: the selectors' inputs for a saved pool, every selection, and
what the selections hold before any evaluator is trained.

Selection reads a saved pool (`vddlib.data.pool`) and never the generator; what it writes
(manifests) is all that evaluation reads. `SelectionSettings` is the profile's `selection:`
section: each registered selector's settings come from `selection.<name>` through the
registry, so no list of methods is kept here.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from ..logs import bar

from ..config import build
from ..data.hashing import data_hash
from ..data.paths import check_paths
from ..data.pool import load_pool
from ..data.videoset import VideoSet
from ..hardware import DEVICES, resolve_device
from .embeddings import VideoMAETrainConfig, embedder, pool_features, shipped_matches, videomae_features
from .manifests import selection_manifest
from .objective import class_space, set_objective
from .registry import SELECTORS, flat_indices, get


TEACHERS = ("recogniser", "videomae")


@dataclass
class SelectionSettings:
    """The selection stage: methods, the VideoMAE embedder, and each selector's settings (`configs`, by name).

    `selection.<name>` in a profile sets the registered selector's settings dataclass; a
    selector's settings are also reachable as an attribute (`settings.vst_unet`).
    """

    methods: tuple[str, ...] = ()       # empty: every registered selector
    videomae_path: str = ""             # a local transformers VideoMAE(-v2) folder; empty: train the small one
    videomae_shipped: str = ""          # the small one as trained earlier on this data (used if its settings match)
    videomae: VideoMAETrainConfig = field(default_factory=VideoMAETrainConfig)
    teacher: str = "recogniser"         # whose class probabilities the teacher-guided selectors read (`teacher`
                                        # input): "recogniser" (the Full-real evaluator) or "videomae" (its head)
    configs: dict = field(default_factory=dict)
    parallel: int = 2                   # selections of a threaded method (VST-UNet) trained at once, each on its threads
    device: str = "cpu"                 # the VideoMAE features and VST-UNet's training: "cpu", "cuda" or "auto" (the GPU
                                        # where there is one; the paper profiles). The manifests do not depend on it.
    manifests: str = ""                 # "": <results>/selections (vddlib.profile)
    work_dir: str = "artifacts/selection"

    def __post_init__(self) -> None:
        self.methods = tuple(self.methods) or tuple(SELECTORS)
        bad = [m for m in self.methods if m not in SELECTORS]
        if bad:
            raise ValueError(f"selection.methods: unknown {bad}; registered: {sorted(SELECTORS)}")
        for name in self.configs:
            if name not in SELECTORS or SELECTORS[name].settings is None:
                raise ValueError(f"selection.{name}: no registered selector with settings has this name; "
                                 f"those with settings: {sorted(n for n, s in SELECTORS.items() if s.settings)}")
        for name, sel in SELECTORS.items():          # every selector with settings has its config (defaults if unset)
            if sel.settings is not None:
                self.configs[name] = self.configs.get(name) or sel.settings()
        if self.parallel < 1:
            raise ValueError("selection.parallel must be >= 1")
        if self.teacher not in TEACHERS:
            raise ValueError(f"selection.teacher must be one of {TEACHERS}; got {self.teacher!r}")
        if self.device not in DEVICES:
            raise ValueError(f"selection.device must be one of {DEVICES}; got {self.device!r}")

    def __getattr__(self, name: str):
        configs = self.__dict__.get("configs", {})
        if name in configs:
            return configs[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def input_files(self) -> dict[str, tuple[str, str | None]]:
        """The pretrained weights these settings read ({setting: (path, file inside)}), for `check_paths`."""
        return {"selection.videomae_path": (self.videomae_path, "config.json")}

    def settings(self, method: str) -> dict:
        """The keyword settings `select` takes for `method` (also written to its manifest)."""
        return get(method).kwargs(self.configs.get(method))

    @classmethod
    def from_dict(cls, raw: dict, where: str) -> "SelectionSettings":
        """The `selection:` section of a profile; a key naming a registered selector sets its settings."""
        raw = dict(raw)
        configs = {k: raw.pop(k) for k in list(raw) if k in SELECTORS}
        for name, sel in SELECTORS.items():     # a selector built on another (`BASE`) starts from that one's section
            base = getattr(sel.settings, "BASE", None)
            if base in configs and isinstance(configs[base], dict):
                values = dict(configs.get(name) or {})
                configs[name] = {**values, "base": {**configs[base], **(values.get("base") or {})}}
        for name, values in configs.items():
            if SELECTORS[name].settings is None:
                raise ValueError(f"{where}: selection.{name}: the selector {name!r} takes no settings")
            configs[name] = build(SELECTORS[name].settings, values, f"{where}: selection.{name}")
        raw["videomae"] = build(VideoMAETrainConfig, raw.get("videomae"), f"{where}: selection.videomae")
        return build(cls, {**raw, "configs": configs}, f"{where}: selection")


def videomae_inputs(sel: SelectionSettings, dataset: str, train: VideoSet, videos: VideoSet, cache_name: str) -> tuple:
    """(embedder, {"embeddings", "scores"} of `videos`, embedder seconds): the settings' VideoMAE (loaded from
    `selection.videomae_path`, else trained on the real train split and cached) and its features, cached under
    <selection.work_dir>/<dataset>/<cache_name>/."""
    work = Path(sel.work_dir) / dataset
    t0 = time.perf_counter()
    model = embedder(train, sel.videomae, work, data_hash(train), sel.videomae_path or None,
                     shipped=sel.videomae_shipped or None).to(resolve_device(sel.device, "selection.device"))
    embed_s = time.perf_counter() - t0
    return model, pool_features(model, videos, work / cache_name / "videomae_features.safetensors", train), embed_s


def selection_inputs(sel: SelectionSettings, dataset: str, train: VideoSet, pool_path: str | Path,
                     test: VideoSet | None = None, recogniser=None) -> tuple[VideoSet, dict, dict]:
    """The pool, what the selectors read (embeddings, scores, latents, teacher) and a report on the embedder.

    The embedder is the settings' VideoMAE (loaded from `selection.videomae_path`, else
    trained on the real train split and cached); pool features are cached beside it. The teacher is
    `selection.teacher`'s: VideoMAE's class probabilities, or `recogniser(videos) -> (N, K) probabilities` (the
    Full-real evaluator's; None: no teacher, and a selector that needs one says so).
    """
    check_paths(None, sel.input_files(), "selection")
    pool, latents = load_pool(pool_path, with_latents=True)
    model, feats, embed_s = videomae_inputs(sel, dataset, train, pool, Path(pool_path).name)
    report = {"embedder": sel.videomae_path or "small VideoMAE trained on the real train split" + (
                  f" (shipped: {sel.videomae_shipped})" if sel.videomae_shipped and shipped_matches(
                      sel.videomae_shipped, sel.videomae, data_hash(train)) else ""),
              "embedding_dim": int(feats["embeddings"].shape[1]), "embedder_seconds": round(embed_s, 1),
              "pool_recognised_by_videomae": float((feats["scores"].argmax(1) == pool.labels.numpy()).mean())}
    if test is not None and feats["scores"].shape[1] == test.num_classes and sel.videomae_path == "":
        _, p = videomae_features(model, test.videos)
        report["videomae_real_test_top1"] = float((p.argmax(1) == test.labels).float().mean())
    teacher = feats["scores"] if sel.teacher == "videomae" else (
        np.asarray(recogniser(pool)) if recogniser is not None else None)
    return pool, {"embeddings": feats["embeddings"], "scores": feats["scores"], "latents": latents,
                  "teacher": teacher}, report


def make_selections(sel: SelectionSettings, dataset: str, pool: VideoSet, inputs: dict, vpcs, seeds, pool_name: str,
                    methods=None, progress: bool = True, name: str | None = None,
                    settings: dict | None = None) -> list[dict]:
    """Every (method, VPC, seed) selection of the pool as a manifest under `sel.manifests`/<dataset>/<pool_name>;
    saved ones with the same settings are re-used.

    `name` and `settings` (with one method): a variant of it saved under its own name (notebook 05's ablations).
    """
    methods = list(methods or sel.methods)
    if name is not None and len(methods) != 1:
        raise ValueError(f"A named variant ({name!r}) is one method; got {methods}")
    for m in methods:
        missing = [k for k in get(m).needs if inputs.get(k) is None]
        if missing:
            raise ValueError(f"{name or m} ({m}) needs the selector inputs {missing}; "
                             "vddlib.selection.stage.selection_inputs makes them for a pool.")

    device = resolve_device(sel.device, "selection.device")

    def one(job):
        m, v, s = job
        st = sel.settings(m) if settings is None else settings
        man = selection_manifest(sel.manifests, dataset, pool_name, m, pool.labels, v, s,
                                 settings=st, name=name, num_classes=pool.num_classes, **st,
                                 **{k: inputs[k] for k in get(m).needs},
                                 **({"device": device} if get(m).on_device else {}))
        return {**man, "method": name} if name else man

    jobs = [(m, v, s) for m in methods for v in vpcs for s in seeds]
    done = {}
    with bar(total=len(jobs), desc="selections", show=progress) as pbar:
        # a threaded method's trainings run `selection.parallel` at a time (each on its own fixed thread count,
        # so the selections are those of one at a time); the rest one by one
        threaded = [j for j in jobs if get(j[0]).threaded]
        if sel.parallel > 1 and len(threaded) > 1:
            with ThreadPoolExecutor(sel.parallel) as ex:
                for job, man in zip(threaded, ex.map(one, threaded)):
                    done[job] = man
                    pbar.update()
        for job in jobs:
            if job not in done:
                done[job] = one(job)
                pbar.update()
    return [done[j] for j in jobs]


def selection_quality(manifests: list[dict], pool: VideoSet, embeddings: np.ndarray, per_video: dict[str, np.ndarray],
                      latents: torch.Tensor | None = None, lambdas=None) -> list[dict]:
    """What each method's selections hold, averaged over seeds per (method, VPC):

    - `objective`: the paper's selection objective λ_d L_div + λ_r L_rep in the fixed latent space
      (`vddlib.selection.objective`; lower is better), with `lambdas(vpc)` -> (λ_d, λ_r) (VST-UNet's, the paper's by VPC);
    - each of `per_video` ({name: (N,) array}), averaged over the picks: e.g. `recognised` (the Full-real
      recogniser names the video's class) and `confidence` (its probability for that class);
    - `diversity`: mean pairwise cosine distance of the selected embeddings within a class;
    - `coverage_dist`: mean distance from each pool video of a class to its nearest selected one
      (L2-normalised embeddings; lower = more representative).
    """
    z = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    labels = pool.labels.numpy()
    spaces = {}
    acc: dict[tuple, list[dict]] = {}
    for m in manifests:
        per = {int(c): v for c, v in m["indices"].items()}
        div, cov, obj = [], [], []
        for c, idx in per.items():
            s = z[idx]
            if len(idx) > 1:
                sim = s @ s.T
                div.append(1.0 - (sim.sum() - np.trace(sim)) / (len(idx) * (len(idx) - 1)))
            members = z[labels == c]
            cov.append(float(np.sqrt(((members[:, None] - s[None]) ** 2).sum(-1)).min(1).mean()))
            if latents is not None:
                own = np.flatnonzero(labels == c)
                if c not in spaces:
                    spaces[c] = class_space(latents[torch.from_numpy(own)])
                local = torch.from_numpy(np.searchsorted(own, idx))[None]
                obj.append(float(set_objective(spaces[c], local, *lambdas(int(m["vpc"])))[0]))
        flat = flat_indices(per)
        runs = acc.setdefault((m["method"], int(m["vpc"])), [])
        runs.append(
            {"seed": int(m.get("seed", len(runs))), "objective": float(np.mean(obj)) if obj else float("nan"),
             **{k: float(np.asarray(v)[flat].mean()) for k, v in per_video.items()},
             "diversity": float(np.mean(div)) if div else float("nan"),
             "coverage_dist": float(np.mean(cov)), "seconds": float(m.get("seconds", float("nan")))})
    out = []
    for (method, vpc), rs in acc.items():
        out.append({"method": method, "vpc": vpc, "seeds": len(rs),
                    **{k: float(np.mean([r[k] for r in rs])) for k in rs[0] if k != "seed"},
                    "objective_std": float(np.std([r["objective"] for r in rs], ddof=1)) if len(rs) > 1 else float("nan"),
                    "objective_by_seed": {r["seed"]: r["objective"] for r in rs}})
    return out


# ----------------------------------------------------------------------------- what notebook 03 reports
def timing_rows(manifests: list[dict], methods, num_classes: int) -> list[list]:
    """Per method: selections, total seconds, seconds per selection and per class (as recorded in the manifests)."""
    body = []
    for meth in methods:
        secs = [m["seconds"] for m in manifests if m["method"] == meth]
        if secs:
            body.append([meth, len(secs), f"{sum(secs):.2f}", f"{np.mean(secs):.3f}", f"{np.mean(secs) / num_classes:.4f}"])
    return body


TIMING_HEADER = ["method", "selections", "total s", "s per selection", "s per class"]


def randomised(methods, vpcs) -> list[tuple[str, int]]:
    """The (method, VPC) pairs whose selections change with the seed, as each selector declares (`randomised`)."""
    return [(m, v) for m in methods for v in vpcs if get(m).varies_with_seed(v)]


def selection_checks(manifests: list[dict], labels: np.ndarray, methods, vpcs, seeds, num_classes: int,
                     seconds_per_class: dict[str, float] | None = None) -> dict[str, bool]:
    """What every selection must be, that a randomised selector's selections differ across seeds (each selector
    says from which VPC on it is randomised), and that each method of `seconds_per_class` ({method: seconds})
    takes at most that long per class (nbval compares these)."""
    import json

    ok = all(len(v) == m["vpc"] and len(set(v)) == len(v) and all(labels[i] == int(c) for i in v)
             for m in manifests for c, v in m["indices"].items())
    checks = {"one manifest per method × VPC × seed": len(manifests) == len(methods) * len(vpcs) * len(seeds),
              "every selection: VPC distinct videos of its own class, for every class": ok}
    for method, limit in (seconds_per_class or {}).items():
        took = [m["seconds"] / num_classes for m in manifests if m["method"] == method]
        if took:
            checks[f"{get(method).label} within {limit:g} s per class (N_c = 100, embeddings given)"] = max(took) <= limit
    differ = [len({json.dumps(x["indices"], sort_keys=True) for x in manifests if x["method"] == m and x["vpc"] == v}) > 1
              for m, v in randomised(methods, vpcs)]
    checks["every randomised selector's selections differ across seeds"] = len(seeds) < 2 or all(differ)
    return checks


def per_video_measures(proba: torch.Tensor, labels: torch.Tensor, latents: torch.Tensor) -> dict[str, np.ndarray]:
    """Per pool video: whether the recogniser names its class, its probability for that class, and its latent
    norm's rank within its class (0 smallest, 1 largest): what `selection_quality` averages over each selection."""
    lab = labels.numpy()
    norm_pct = np.empty(len(lab))
    for c in np.unique(lab):
        own = np.flatnonzero(lab == c)
        norm = latents[torch.from_numpy(own)].flatten(1).float().norm(dim=1).numpy()   # a class at a time, in fp32
        norm_pct[own] = np.argsort(np.argsort(norm)) / max(len(own) - 1, 1)
    return {"recognised": (proba.argmax(1) == labels).numpy(),
            "confidence": proba[torch.arange(len(lab)), labels].numpy(), "norm_pct": norm_pct}


QUALITY_HEADER = ["method", "VPC", "objective", "objective std", "recognised", "confidence", "latent norm percentile",
                  "diversity", "coverage distance"]


def quality_rows(quality: list[dict]) -> list[list]:
    """`selection_quality`'s summaries as table rows, by VPC then objective."""
    return [[q["method"], q["vpc"], f"{q['objective']:.4f}", f"{q['objective_std']:.4f}", f"{q['recognised']:.3f}",
             f"{q['confidence']:.3f}", f"{q['norm_pct']:.2f}", f"{q['diversity']:.3f}", f"{q['coverage_dist']:.3f}"]
            for q in sorted(quality, key=lambda q: (q["vpc"], q["objective"]))]


def class_picks(manifests: list[dict], labels: np.ndarray, cls: int, vpc: int, seed: int) -> dict[str, list[int]]:
    """Each method's picks in class `cls` at (vpc, seed), as positions within the class (for the projection figure)."""
    pos = {int(i): k for k, i in enumerate(np.flatnonzero(labels == cls))}
    return {m["method"]: [pos[int(i)] for i in m["indices"][cls]] for m in manifests
            if m["vpc"] == vpc and m["seed"] == seed}
