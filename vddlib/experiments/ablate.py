"""Ablations (notebook 05): selector variants, other embeddings, pool sizes, the real pool and DM.

Every ablation is a *named variant* of a registered selector: its manifests live in
results/selections/<dataset>/<pool>/<name>/ (re-used like notebook 03's), and its rows go
to results/ablation_runs.csv with `method = name`, so the main tables never mix with them.
Rows that notebook 04 already made (the same selector, settings, pool, evaluator and seed)
are read from results/eval_runs.csv instead of being trained again.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..data.videoset import VideoSet
from ..diffusion.generate import GenerateConfig
from ..diffusion.stage import DiffusionSettings, diffusion_dir, generate, load_diffusion, pool_dir
from ..evaluation import stats
from ..evaluation.results import (METRICS, by_seed, cell, csv_text, markdown_table, paper_cell, read_runs,
                                  summarize_runs, upsert_runs)
from ..evaluation.train import TrainConfig
from ..files import write_text
from ..models.autoencoder import encode_videos
from ..paper import ABLATED, BASELINE, CLUSTERING, COMPARED
from ..selection.manifests import manifest_indices, manifest_path
from ..selection.objective import class_space, selection_objective
from ..selection.registry import SELECTORS
from ..selection.selectors.teacher import most_confident, own_class_confidence
from ..selection.stage import SelectionSettings, make_selections, selection_inputs, selection_quality, videomae_inputs
from .dm import DMConfig

def _transformer_eval() -> TrainConfig:
    return TrainConfig(classifier="timesformer", model={"patch_size": 8, "hidden_size": 64, "depth": 2, "heads": 4},
                       epochs=12.8, min_steps=150, max_steps=400, shift=2)


@dataclass
class AblationSettings:
    """Notebook 05: what each ablation varies, and how many runs it takes (fewer than the main tables)."""

    runs: int = 1                       # seeds per setting (selection and evaluator, as in the main grid): exploratory
    vpc: int = 5                        # the VPC of the one-VPC ablations (Table 6's)
    vpcs: tuple[int, ...] = (5,)        # Table 5 and the real-pool coreset table (params/extended.yaml: 1, 5, 10)
    transformer: TrainConfig = field(default_factory=_transformer_eval)   # Table 5's video transformer
    lambda_d: tuple[float, ...] = (0.0, 1.0)
    lambda_r: tuple[float, ...] = (0.0, 10.0)
    n_cs: tuple[int, ...] = (50, 100, 200)
    nc_methods: tuple[str, ...] = ()    # the methods of these two studies; empty: paper.COMPARED
    real_methods: tuple[str, ...] = ()
    dm: DMConfig = field(default_factory=DMConfig)
    dm_vpcs: tuple[int, ...] = (1, 5)
    guidance_scales: tuple[float, ...] = (1.0, 4.0)   # the pool study's other scales, beside generate.guidance_scale
    fidelity_methods: tuple[str, ...] = ()   # its selectors at `vpc` on each pool; empty: paper.COMPARED
    studies: tuple[str, ...] = ()       # the beyond-the-paper studies run besides Tables 5 and 6 and DM (STUDIES)
    work_dir: str = "artifacts/ablation"

    def __post_init__(self) -> None:
        self.nc_methods, self.real_methods = tuple(self.nc_methods) or COMPARED, tuple(self.real_methods) or COMPARED
        self.fidelity_methods = tuple(self.fidelity_methods) or COMPARED
        if not self.guidance_scales or min(self.guidance_scales) < 0:
            raise ValueError(f"ablation.guidance_scales must be >= 0 (1: no guidance); got {self.guidance_scales}")
        if self.runs < 1 or self.vpc < 1 or not self.vpcs or min(self.vpcs) < 1:
            raise ValueError("ablation.runs, ablation.vpc and ablation.vpcs must be >= 1")
        if not self.n_cs or min(self.n_cs) < self.vpc:
            raise ValueError(f"ablation.n_cs must all be >= ablation.vpc ({self.vpc}); got {self.n_cs}")
        bad = [m for m in (*self.nc_methods, *self.real_methods, *self.fidelity_methods) if m not in SELECTORS]
        if bad:
            raise ValueError(f"ablation: unknown selector(s) {bad}; registered: {sorted(SELECTORS)}")
        if min(self.lambda_d + self.lambda_r, default=0) < 0:
            raise ValueError("ablation.lambda_d and lambda_r must be >= 0")
        unknown = sorted(set(self.studies) - set(STUDIES))
        if unknown:
            raise ValueError(f"ablation.studies: unknown {unknown}; the studies are {list(STUDIES)}")


# The beyond-the-paper studies of notebook 05 (`ablation.studies` picks them) → the stems of the tables and
# figures each writes. A study a profile does not run has its earlier outputs removed (`results.study_not_run`), so a
# results/ folder never shows a table the run that wrote its neighbours did not make.
STUDIES = {"vst_choices": ("ablation_vst_gradient_mixing",), "lambda": ("ablation_lambda_sweep",),
           "embedding": ("ablation_tac_dt_embedding",), "pool_size": ("ablation_pool_size",),
           "real_pool": ("ablation_real_pool", "ablation_pool_contrast"),
           "pool_fidelity": ("ablation_pool_fidelity",)}


ABLATION_CSV = "results/ablation_runs.csv"


def vst_variant(sel: SelectionSettings, **changes) -> dict:
    """The selector settings of VST-UNet with some fields changed (e.g. gradient="relaxed", lambda_d=0)."""
    return {"config": dataclasses.replace(sel.configs[ABLATED], **changes)}


def variant_manifests(sel: SelectionSettings, dataset: str, pool: VideoSet, inputs: dict, pool_name: str, name: str,
                      method: str, vpcs, seeds, settings: dict | None = None) -> list[dict]:
    """Selections of one variant (method + settings + inputs) for every VPC and seed; saved ones are re-used."""
    return make_selections(sel, dataset, pool, inputs, vpcs, seeds, pool_name, methods=[method], progress=False,
                           name=name, settings=settings)


def known_rows(csvs, dataset: str, pool: str, method: str, classifier: str, vpcs, seeds) -> list[dict] | None:
    """Rows for every (vpc, seed) from the first CSV that has them all, else None."""
    want = {(int(v), int(s)) for v in vpcs for s in seeds}
    for path in csvs:
        rows = [r for r in read_runs(path) if r["dataset"] == dataset and r["pool"] == pool and r["method"] == method
                and r["classifier"] == classifier and (r["vpc"], r["seed"]) in want]
        if {(r["vpc"], r["seed"]) for r in rows} == want:
            return sorted(rows, key=lambda r: (r["vpc"], r["seed"]))
    return None


def queue_variant(jobs, sel: SelectionSettings, pool: VideoSet, inputs: dict, *, dataset: str, pool_name: str,
                  pool_label: str, name: str, method: str, vpcs, seeds, cfg: TrainConfig, settings: dict | None = None,
                  reuse_from=()) -> list:
    """Select with a variant and queue one evaluation per selection on `jobs` (an `EvalJobs`).

    Returns the rows already known (`reuse_from`: CSVs whose rows for exactly this variant,
    e.g. notebook 04's default selectors, are taken as they are) or the queued job ids;
    `jobs.resolve` turns the list into rows once `jobs.run()` has run.
    """
    rows = known_rows(reuse_from, dataset, pool_label, name, cfg.classifier, vpcs, seeds)
    if rows is not None:
        return rows
    return [jobs.add(pool.subset(manifest_indices(m)), cfg, m["seed"],
                     pool=pool_label, method=name, vpc=m["vpc"])
            for m in variant_manifests(sel, dataset, pool, inputs, pool_name, name, method, vpcs, seeds, settings)]


def collect(jobs, items: list, results_csv: str | Path = ABLATION_CSV) -> list[dict]:
    """The rows of `queue_variant`'s items after `jobs.run()`, also written to results_csv."""
    rows = jobs.resolve(items)
    upsert_runs(results_csv, rows)
    return rows


def per_class_prefix(pool: VideoSet, inputs: dict, n_c: int) -> tuple[VideoSet, dict]:
    """The first n_c videos of each class (pool order), with the matching rows of every input array."""
    labels = pool.labels.numpy()
    counts = np.bincount(labels, minlength=pool.num_classes)
    if counts.min() < n_c:
        raise ValueError(f"N_c={n_c} exceeds the smallest class of the pool ({counts.min()} videos); "
                         "generate a larger pool first (ablation.n_cs).")
    idx = np.concatenate([np.flatnonzero(labels == c)[:n_c] for c in range(pool.num_classes)])
    return pool.subset(idx), input_rows(inputs, idx)


def input_rows(inputs: dict, idx: np.ndarray) -> dict:
    """The rows `idx` of every selector input array (tensors and arrays alike)."""
    return {k: (v[torch.as_tensor(idx)] if isinstance(v, torch.Tensor) else np.asarray(v)[idx]) for k, v in inputs.items()}


def join_pools(a: VideoSet, a_inputs: dict, b: VideoSet, b_inputs: dict) -> tuple[VideoSet, dict]:
    """Two pools of the same classes as one, ordered by class (a's videos of a class before b's)."""
    if a.class_names != b.class_names:
        raise ValueError("The pools index different class lists; generate both from the same model and dataset.")
    labels = torch.cat([a.labels, b.labels])
    order = torch.argsort(labels, stable=True)
    vs = VideoSet(torch.cat([a.videos, b.videos])[order], labels[order], list(a.class_names),
                  [(a.ids + b.ids)[i] for i in order.tolist()])
    inputs = {}
    for k in a_inputs:
        x, y = a_inputs[k], b_inputs[k]
        inputs[k] = torch.cat([x, y])[order] if isinstance(x, torch.Tensor) else np.concatenate([x, y])[order.numpy()]
    return vs, inputs


def flat_latents(latents: torch.Tensor) -> np.ndarray:
    """Autoencoder latents (N, T, C, h, w) as one vector per video: TAC-DT's alternative embedding. As stored: a
    pool's fp16 latents stay mapped (Kinetics-400's would be 9.8 GiB as fp32), and TAC-DT reads them a class at a
    time in float64, so its selections are those of the fp32 copy."""
    x = latents.flatten(1)
    return (x.float() if x.dtype == torch.bfloat16 else x).numpy()          # numpy has no bf16


RESOLVING_RUNS = 5       # fewer runs per setting: the table is exploratory


def comparison_table(rows: list[dict], stem: str | Path, label, reference=None, first: str = "setting",
                     extra: dict | None = None, exploratory: bool | None = None) -> tuple[str, list[dict]]:
    """Mean ± std (n) per (pool, method, VPC, classifier) as `<stem>.csv/.md`, one line per group in row order.

    `exploratory` (default: when some setting has fewer than `RESOLVING_RUNS` runs) labels the table as such and
    shows means with their n and no ±: a std of 2 runs says nothing, and such a table cannot resolve its question.

    `label(summary)` names the line; `reference(summary)` gives the paper's {metric: (mean, std)} or None;
    `extra` {column: fn(summary) -> str} adds columns (e.g. the selection objective).
    Returns the Markdown and the summaries (each with its `label`), for the plot beside the table.
    """
    summary = summarize_runs(rows)
    extra = extra or {}
    if exploratory is None:
        exploratory = any(s["runs"] < RESOLVING_RUNS for s in summary)
    show = (lambda s, m: f"{s[m]:.2f} (n={s['runs']})") if exploratory else cell   # exploratory: no ± at all
    header = [first, "pool", "VPC", "classifier", "top-1", "AUC", "F1", "runs", *extra]
    if reference is not None:
        header += ["paper top-1", "paper AUC", "paper F1"]
    body, csv_rows = [], [["label", "pool", "vpc", "classifier", "runs"] +
                          [c for m in METRICS for c in (m, m + "_std")] + list(extra)]
    for s in summary:
        s["label"] = label(s)
        line = [s["label"], s["pool"], s["vpc"], s["classifier"]] + [show(s, m) for m in ("top1", "auc", "f1")]
        line.append(s["runs"])
        line += [fn(s) for fn in extra.values()]
        if reference is not None:
            ref = reference(s) or {}
            line += [paper_cell(*ref[m]) if m in ref else "-" for m in ("top1", "auc", "f1")]
        body.append(line)
        csv_rows.append([s["label"], s["pool"], s["vpc"], s["classifier"], s["runs"]] +
                        [f"{s[c]:.4f}" for m in METRICS for c in (m, m + "_std")] + [fn(s) for fn in extra.values()])
    stem = Path(stem)
    write_text(stem.with_suffix(".csv"), csv_text(csv_rows))              # a label may hold commas: quoted
    md = markdown_table(header, body)
    if exploratory:
        n = sorted({s["runs"] for s in summary})
        md = (f"*Exploratory*: {'/'.join(map(str, n))} run(s) per setting, means only (no ±, no verdicts); these runs "
              "cannot resolve differences of a few points.\n\n" + md)
    write_text(stem.with_suffix(".md"), md)
    return md, summary


def variant_objectives(sel: SelectionSettings, dataset: str, pool: VideoSet, inputs: dict, pool_name: str, names,
                       vpc: int, seeds) -> dict[str, tuple[float, float]]:
    """{variant name: (mean, sample std) over seeds} of the paper's selection objective of its saved selections, in
    the fixed latent space with the settings' λ for the VPC (one yardstick for every variant, whatever it trained on).
    One seed has no std (NaN); `objective_cell` prints either."""
    import json

    lam = sel.configs[ABLATED].lambdas(vpc)
    out = {}
    for name in names:
        vals = []
        for seed in seeds:
            man = json.loads(manifest_path(sel.manifests, dataset, pool_name, name, vpc, seed).read_text())
            vals.append(selection_objective(inputs["latents"], pool.labels.numpy(), man["indices"], *lam))
        s = stats.summary(vals)
        out[name] = (s.mean, s.std)
    return out


def objective_cell(mean_std: tuple[float, float], n: int) -> str:
    """A variant's objective as a table shows it: mean ± sample std (n) over its seeds, or the mean and n alone
    below `RESOLVING_RUNS` seeds (one seed has no spread)."""
    return stats.pm(*mean_std, n, digits=4, min_runs=RESOLVING_RUNS)


def pool_contrast(sel: SelectionSettings, dataset: str, pools: dict[str, tuple[VideoSet, dict, str]], methods, vpc: int,
                  seeds) -> list[dict]:
    """Why a selector helps on one pool and not on another, before any evaluator: per pool label
    ({label: (pool, inputs, pool_name)}), the within-class spread of the VideoMAE embeddings (mean pairwise
    cosine distance) and of the latents (mean pairwise squared error per element), and per method the mean
    objective and coverage distance of its saved selections (`stages.selection_quality`)."""
    out = []
    for label, (pool, inputs, pool_name) in pools.items():
        cos, mse = pool_spread(pool, inputs)
        mans = [m for meth in methods for m in variant_manifests(sel, dataset, pool, inputs, pool_name, meth, meth, [vpc],
                                                                 seeds)]
        for q in selection_quality(mans, pool, inputs["embeddings"], {}, inputs["latents"], sel.configs[ABLATED].lambdas):
            out.append({"pool": label, "spread_videomae": cos, "spread_latents": mse,
                        "method": q["method"], "vpc": vpc, "objective": q["objective"], "coverage_dist": q["coverage_dist"]})
    return out


def pool_spread(pool: VideoSet, inputs: dict) -> tuple[float, float]:
    """The within-class spread of a pool, averaged over classes: mean pairwise cosine distance of its VideoMAE
    embeddings, and mean pairwise squared error per element of its latents."""
    labels = pool.labels.numpy()
    z = inputs["embeddings"] / np.maximum(np.linalg.norm(inputs["embeddings"], axis=1, keepdims=True), 1e-12)
    cos, mse = [], []
    for c in range(pool.num_classes):
        zc = z[labels == c]
        n = len(zc)
        cos.append(float(1.0 - ((zc @ zc.T).sum() - n) / max(n * (n - 1), 1)))
        mse.append(float(class_space(inputs["latents"][pool.labels == c]).mse.sum()) / max(n * (n - 1), 1))
    return float(np.mean(cos)), float(np.mean(mse))


def real_pool_inputs(sel: SelectionSettings, dataset: str, train: VideoSet, diffusion_work: str | Path) -> dict:
    """What the selectors read, for the *real* train split as the pool: VideoMAE features and the latents of the
    autoencoder in `diffusion_work` (notebook 01's)."""
    _, feats, _ = videomae_inputs(sel, dataset, train, train, "real-train")
    vae, _ = load_diffusion(diffusion_work)
    latents = encode_videos(vae, train.videos)
    return {"embeddings": feats["embeddings"], "scores": feats["scores"], "latents": latents}


def lambda_variant(sel: SelectionSettings, lambda_d: float, lambda_r: float, vpc: int) -> tuple[str, dict]:
    """(name, settings) of VST-UNet with these loss weights; the settings' own weights keep its registry name
    (so notebook 03/04's selections and rows are re-used)."""
    cfg = sel.configs[ABLATED]
    if tuple(float(x) for x in cfg.lambdas(vpc)) == (float(lambda_d), float(lambda_r)):
        return ABLATED, sel.settings(ABLATED)
    return f"{ABLATED}-ld{lambda_d:g}-lr{lambda_r:g}", vst_variant(sel, lambda_d=lambda_d, lambda_r=lambda_r)


def next_seed_pool(d: DiffusionSettings, g: GenerateConfig, dataset: str) -> tuple[GenerateConfig, Path]:
    """The generate settings of the pool with the next seed, and its folder."""
    nxt = dataclasses.replace(g, seed=g.seed + 1)
    return nxt, pool_dir(d, nxt, dataset)


def extra_pool(d: DiffusionSettings, g: GenerateConfig, sel: SelectionSettings, dataset: str, train: VideoSet,
               recogniser=None) -> tuple[VideoSet, dict]:
    """A second pool from the same model and settings with the next seed (generated once, then re-used), and
    its selector inputs (`recogniser`: as `selection_inputs`'s): what N_c beyond the main pool joins onto it."""
    nxt, path = next_seed_pool(d, g, dataset)
    if not (path / "manifest.json").is_file():             # as notebook 02's pool: its device and processes
        generate(nxt, diffusion_dir(d, dataset), path, train.class_names, progress=False)
    pool, inputs, _ = selection_inputs(sel, dataset, train, path, recogniser=recogniser)
    return pool, inputs


def guided_pool(d: DiffusionSettings, g: GenerateConfig, sel: SelectionSettings, dataset: str, train: VideoSet,
                scale: float, recogniser=None) -> tuple[VideoSet, dict, str]:
    """The pool of the profile's generate settings but guidance `scale` (generated once, then re-used), its selector
    inputs (`recogniser`: as `selection_inputs`'s) and its folder name."""
    gs = dataclasses.replace(g, guidance_scale=float(scale))
    path = pool_dir(d, gs, dataset)
    if not (path / "manifest.json").is_file():
        generate(gs, diffusion_dir(d, dataset), path, train.class_names, progress=False)
    pool, inputs, _ = selection_inputs(sel, dataset, train, path, recogniser=recogniser)
    return pool, inputs, path.name


def recognised_part(pool: VideoSet, inputs: dict, n_c: int) -> tuple[VideoSet, dict]:
    """Of each class, the n_c videos the teacher (`inputs["teacher"]`, (N, K) probabilities) is most confident belong
    to it, in pool order: "generate more and keep the recognised"."""
    labels = pool.labels.numpy()
    if inputs.get("teacher") is None:
        raise ValueError("recognised_part needs the teacher's probabilities (selection_inputs(..., recogniser=...))")
    counts = np.bincount(labels, minlength=pool.num_classes)
    if counts.min() < n_c:
        raise ValueError(f"Keeping {n_c} per class needs at least that many; the smallest class has {counts.min()}.")
    idx = most_confident(labels, own_class_confidence(inputs["teacher"], labels), lambda n: n_c)
    return pool.subset(idx), input_rows(inputs, idx)


def pool_of_size(pool: VideoSet, inputs: dict, extra: tuple[VideoSet, dict] | None, n_c: int) -> tuple[VideoSet, dict]:
    """The pool with N_c videos per class: a per-class prefix of `pool`, or of `pool` joined with `extra`."""
    have = int(np.bincount(pool.labels.numpy()).min())
    if n_c > have:
        if extra is None:
            raise ValueError(f"N_c={n_c} exceeds the pool's {have} videos per class; pass the extra pool "
                             "(ablate.extra_pool) to go beyond it.")
        pool, inputs = join_pools(pool, inputs, *extra)
    return per_class_prefix(pool, inputs, n_c)


# ----------------------------------------------------------------------------- what notebook 05 reports
def lambda_grid(jobs, cells: dict[tuple[int, int], list], lambda_d, lambda_r, results_csv: str | Path = ABLATION_CSV
                ) -> tuple[np.ndarray, np.ndarray, list[dict], list[list]]:
    """The λ_d × λ_r study after `jobs.run()`: mean and std of top-1 per cell, its rows, and the table body."""
    grid = np.zeros((len(lambda_d), len(lambda_r)))
    std, rows, shown = np.zeros_like(grid), [], {}
    for (i, j), items in cells.items():
        got = collect(jobs, items, results_csv)
        rows += got
        s = stats.summary([x["top1"] for x in got])
        grid[i, j], std[i, j] = s.mean, s.std
        # fewer runs than resolve a difference: the mean with its n, no ± (an exploratory cell)
        shown[i, j] = s.cell(min_runs=RESOLVING_RUNS)
    body = [[f"{d:g}"] + [shown.get((i, j), "-") for j in range(len(lambda_r))] for i, d in enumerate(lambda_d)]
    return grid, std, rows, body


def pool_size_of(summary: dict, per_class: int) -> int:
    """N_c of a pool-size row: from its pool label (`synthetic-nc<k>`), else the main pool's."""
    return int(summary["pool"].split("nc")[1]) if "nc" in summary["pool"] else per_class


CONTRAST_HEADER = ["pool", "spread (VideoMAE)", "spread (latents)", "method", "objective", "coverage distance", "top-1"]


def contrast_rows(contrast: list[dict], summaries: list[dict], vpc: int, method: str) -> tuple[list[list], list[str]]:
    """`pool_contrast` as table rows with each method's top-1 at `vpc`, and per pool a sentence on `method` against
    the baseline (coverage and top-1) with the pool's spread."""
    top1 = {(s["pool"], s["method"]): s for s in summaries if s["vpc"] == vpc}
    body = [[c["pool"], f"{c['spread_videomae']:.3f}", f"{c['spread_latents']:.3f}", c["method"], f"{c['objective']:.4f}",
             f"{c['coverage_dist']:.3f}",
             f"{top1[c['pool'], c['method']]['top1']:.1f}" if (c["pool"], c["method"]) in top1 else "-"] for c in contrast]
    lines = []
    for p in dict.fromkeys(c["pool"] for c in contrast):
        r = {c["method"]: c for c in contrast if c["pool"] == p}
        m, b = method, BASELINE
        if b in r and m in r and (p, m) in top1 and (p, b) in top1:
            lines.append(f"{p}: {SELECTORS[m].label}'s coverage {r[m]['coverage_dist']:.3f} vs "
                         f"{SELECTORS[b].label}'s {r[b]['coverage_dist']:.3f}; "
                         f"top-1 {top1[p, m]['top1']:.1f} vs {top1[p, b]['top1']:.1f}; within-class spread (VideoMAE) "
                         f"{r[b]['spread_videomae']:.3f}")
    return body, lines


# ----------------------------------------------------------------------------- notebook 05's studies, queued
@dataclass
class Study:
    """One ablation study queued on an `EvalJobs`: its items (job ids, or rows already known) and how its rows are
    labelled in its table (`label_of`: row method name → label; empty: the method name)."""

    items: list
    label_of: dict = field(default_factory=dict)
    first: str = "method"

    def label(self, summary: dict) -> str:
        return self.label_of.get(summary["method"], summary["method"])


def queue_table5(jobs, abl: AblationSettings, sel: SelectionSettings, syn: dict, common: dict) -> Study:
    """Table 5: VST-UNet's selections evaluated by C3D and by the video transformer, at every ablation VPC.

    `syn`: the pool (pool, inputs, pool_name, pool_label); `common`: what every queued variant shares (dataset,
    cfg: the evaluator, seeds, reuse_from: CSVs of rows already made)."""
    items = []
    for cfg in (common["cfg"], abl.transformer):
        items += queue_variant(jobs, sel, **syn, name=ABLATED, method=ABLATED, vpcs=abl.vpcs,
                               **{**common, "cfg": cfg})
    return Study(items, first="evaluator")


CLASSIFIER_NAMES = {"c3d": "C3D", "timesformer": "TimeSformer (for Video Swin)"}


def queue_table6(jobs, abl: AblationSettings, sel: SelectionSettings, syn: dict, common: dict) -> Study:
    """Table 6: VST-UNet trained with CE alone, CE+Div, CE+Rep and all three (the paper's λ at the ablation VPC)."""
    vpc = abl.vpc
    ld, lr = sel.configs[ABLATED].lambdas(vpc)
    study = Study([], first="losses")
    for label, (d, r) in {"CE": (0.0, 0.0), "CE+Div": (ld, 0.0), "CE+Rep": (0.0, lr), "CE+Div+Rep": (ld, lr)}.items():
        name, settings = lambda_variant(sel, d, r, vpc)
        study.label_of[name] = label
        study.items += queue_variant(jobs, sel, **syn, name=name, method=ABLATED, settings=settings, vpcs=[vpc],
                                     **common)
    return study


VST_CHOICES = (("gradient", "relaxed"), ("decode", "topk"), ("ce_logit", True), ("mixing", "conv"))


def queue_vst_choices(jobs, abl: AblationSettings, sel: SelectionSettings, syn: dict, common: dict,
                      choices=VST_CHOICES) -> Study:
    """VST-UNet's open choices: the settings', and each `choices` (field, value) switched alone."""
    base = sel.configs[ABLATED]
    variants = {ABLATED: (f"default ({base.gradient}, {base.decode}, {base.mixing})", sel.settings(ABLATED))}
    for f, value in choices:
        if getattr(base, f) != value:
            variants[f"{ABLATED}-{f}-{value}"] = (f"{f}={value}", vst_variant(sel, **{f: value}))
    study = Study([], first="VST-UNet")
    for name, (label, settings) in variants.items():
        study.label_of[name] = label
        study.items += queue_variant(jobs, sel, **syn, name=name, method=ABLATED, settings=settings,
                                     vpcs=[abl.vpc], **common)
    return study


def queue_lambda_grid(jobs, abl: AblationSettings, sel: SelectionSettings, syn: dict, common: dict
                      ) -> dict[tuple[int, int], list]:
    """VST-UNet over the λ_d × λ_r grid at the ablation VPC (cells shared with Table 6 are one job)."""
    cells = {}
    for i, d in enumerate(abl.lambda_d):
        for j, r in enumerate(abl.lambda_r):
            name, settings = lambda_variant(sel, d, r, abl.vpc)
            cells[i, j] = queue_variant(jobs, sel, **syn, name=name, method=ABLATED, settings=settings,
                                        vpcs=[abl.vpc], **common)
    return cells


def queue_tac_dt_embeddings(jobs, abl: AblationSettings, sel: SelectionSettings, syn: dict, common: dict,
                            evaluator_features: np.ndarray) -> Study:
    """TAC-DT on three embeddings of the pool: VideoMAE's (the paper's), the autoencoder latents flattened, and
    the Full-real evaluator's penultimate features."""
    inputs = syn["inputs"]
    embeds = {CLUSTERING: ("VideoMAE", inputs["embeddings"]),
              f"{CLUSTERING}-latents": ("autoencoder latents", flat_latents(inputs["latents"])),
              f"{CLUSTERING}-evaluator": ("evaluator features", evaluator_features)}
    study = Study([], first="embedding")
    for name, (label, emb) in embeds.items():
        study.label_of[name] = label
        study.items += queue_variant(jobs, sel, **{**syn, "inputs": {**inputs, "embeddings": emb}}, name=name,
                                     method=CLUSTERING, vpcs=[abl.vpc], **common)
    return study


def queue_pool_sizes(jobs, abl: AblationSettings, sel: SelectionSettings, syn: dict, common: dict,
                     extra: Callable[[], tuple[VideoSet, dict]]) -> Study:
    """The ablation's selectors at the ablation VPC on pools of N_c per class (`ablation.n_cs`); N_c beyond the
    pool joins a second pool, `extra()` (e.g. `extra_pool`), called only then."""
    pool, inputs = syn["pool"], syn["inputs"]
    have = len(pool) // pool.num_classes
    second = extra() if max(abl.n_cs) > have else None
    study = Study([])
    for n_c in abl.n_cs:
        p, inp = pool_of_size(pool, inputs, second, n_c)
        label = "synthetic" if n_c == have else f"synthetic-nc{n_c}"
        name = syn["pool_name"] if n_c == have else f"{syn['pool_name']}_nc{n_c}"
        for m in abl.nc_methods:
            study.items += queue_variant(jobs, sel, pool=p, inputs=inp, pool_name=name, pool_label=label, name=m,
                                         method=m, vpcs=[abl.vpc], **common)
    return study


@dataclass
class FidelityPool:
    """One pool of the pool study: how it was made, and what a selector reads from it."""

    label: str                          # its rows' pool name ("synthetic" for the main one)
    pool: VideoSet
    inputs: dict
    name: str                           # its manifests' folder
    guidance: float
    generated: int                      # videos generated per class
    full_items: list = field(default_factory=list)


def queue_pool_fidelity(jobs, abl: AblationSettings, sel: SelectionSettings, syn: dict, common: dict, guidance: float,
                        guided: Callable[[float], tuple[VideoSet, dict, str]],
                        extra: Callable[[], tuple[VideoSet, dict]]) -> tuple[Study, list[FidelityPool]]:
    """A pool made for selection: the main pool (guidance `guidance`), pools at `ablation.guidance_scales`
    (`guided(scale)`), and twice N_c generated (the main pool and `extra()`, the next seed's) keeping each class's N_c
    most recognised. On each, Full syn and `ablation.fidelity_methods` at `ablation.vpc`."""
    pool, inputs = syn["pool"], syn["inputs"]
    n_c = len(pool) // pool.num_classes
    pools = [FidelityPool(syn["pool_label"], pool, inputs, syn["pool_name"], guidance, n_c)]
    for s in abl.guidance_scales:
        if s != guidance:
            p, inp, name = guided(s)
            pools.append(FidelityPool(f"synthetic-cfg{s:g}", p, inp, name, s, n_c))
    p, inp = recognised_part(*join_pools(pool, inputs, *extra()), n_c)
    pools.append(FidelityPool("synthetic-recognised", p, inp, f"{syn['pool_name']}_x2_recognised{n_c}", guidance, 2 * n_c))
    study = Study([])
    ds, cfg, seeds = common["dataset"], common["cfg"], common["seeds"]
    for fp in pools:
        known = known_rows(common.get("reuse_from", ()), ds, fp.label, "full", cfg.classifier, [0], seeds)
        fp.full_items = known if known is not None else [jobs.add(fp.pool, cfg, s, pool=fp.label, method="full", vpc=0)
                                                         for s in seeds]
        for m in abl.fidelity_methods:
            study.items += queue_variant(jobs, sel, pool=fp.pool, inputs=fp.inputs, pool_name=fp.name,
                                         pool_label=fp.label, name=m, method=m, vpcs=[abl.vpc], **common)
    return study, pools


FIDELITY_HEADER = ["pool", "guidance", "generated per class", "teacher agreement (%)", "teacher confidence",
                   "spread (VideoMAE)", "spread (latents)", "Full syn top-1"]


def pool_fidelity_rows(pools: list[FidelityPool], full_rows: list[dict], rows: list[dict], methods, vpc: int,
                       baseline: str = BASELINE) -> tuple[list[str], list[list], list[str]]:
    """The pool study's table (header, body): per pool its teacher agreement and confidence, spread, Full syn and each
    method's top-1 at `vpc` (mean ± std, n); and one sentence per pool: its best method against `baseline`, paired
    by seed."""
    s = {(x["pool"], x["method"]): x for x in summarize_runs(full_rows + rows)}
    header = [*FIDELITY_HEADER, *[f"{m} VPC {vpc}" for m in methods]]
    body, lines = [], []
    for fp in pools:
        lab, t = fp.pool.labels.numpy(), np.asarray(fp.inputs["teacher"])
        cos, mse = pool_spread(fp.pool, fp.inputs)
        full = s.get((fp.label, "full"))
        body.append([fp.label, f"{fp.guidance:g}", fp.generated, f"{100 * (t.argmax(1) == lab).mean():.1f}",
                     f"{t[np.arange(len(lab)), lab].mean():.3f}", f"{cos:.3f}", f"{mse:.3f}",
                     cell(full, "top1") if full else "-",
                     *[cell(s[(fp.label, m)], "top1") if (fp.label, m) in s else "-" for m in methods]])
        have = [m for m in methods if m != baseline and (fp.label, m) in s]
        if have and (fp.label, baseline) in s:
            best = max(have, key=lambda m: s[(fp.label, m)]["top1"])
            c = stats.paired(by_seed(s[(fp.label, best)]), by_seed(s[(fp.label, baseline)]), names=(best, baseline))
            lines.append(f"{fp.label}: best {best} − {baseline} at VPC {vpc}: {c.sentence()}")
    return header, body, lines


def queue_real_pool(jobs, abl: AblationSettings, sel: SelectionSettings, train: VideoSet, syn: dict, common: dict,
                    diffusion_work: str | Path) -> tuple[Study, dict]:
    """The ablation's real-pool selectors on the real train split (latents by the autoencoder in `diffusion_work`)
    and on the synthetic pool, at every ablation VPC; returns the study and the real split's selector inputs."""
    real_inputs = real_pool_inputs(sel, common["dataset"], train, diffusion_work)
    study = Study([])
    for m in abl.real_methods:
        study.items += queue_variant(jobs, sel, pool=train, inputs=real_inputs, pool_name="real-train",
                                     pool_label="real", name=m, method=m, vpcs=abl.vpcs, **common)
        study.items += queue_variant(jobs, sel, **syn, name=m, method=m, vpcs=abl.vpcs, **common)
    return study, real_inputs


def queue_dm(jobs, abl: AblationSettings, cfg: TrainConfig, dataset: str, train: VideoSet, seeds,
             progress: bool = False) -> tuple[list, list[VideoSet]]:
    """DM sets (`experiments.dm.dm_set`, cached) for every DM VPC and seed, each queued as method `dm` on the real
    pool with the evaluator `cfg`; returns the job ids and the sets."""
    from .dm import dm_set

    items, sets = [], []
    for v in abl.dm_vpcs:
        for s in seeds:
            sets.append(dm_set(train, v, s, abl.dm, Path(abl.work_dir) / dataset, progress=progress))
            items.append(jobs.add(sets[-1], cfg, s, pool="real", method="dm", vpc=v))
    return items, sets


def table2_rows(eval_csv: str | Path, ds: str, clf: str, runs: int, dm_seeds) -> list[dict]:
    """Table 2's rows on dataset `ds` by evaluator `clf`: Full real and Full syn, the paper's selectors at Table 2's
    VPCs on the pool (the main protocol's `runs`), and the measured DM rows of this notebook's seeds."""
    from ..paper import COMPARED, TABLE2_VPCS

    return [r for r in read_runs(eval_csv) if r["dataset"] == ds and r["classifier"] == clf and r["seed"] < runs
            and (r["method"] == "full"
                 or (r["method"] in COMPARED and r["vpc"] in TABLE2_VPCS and r["pool"] == "synthetic")
                 or (r["method"] == "dm" and r["seed"] in set(dm_seeds)))]
