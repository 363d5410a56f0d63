"""Notebook 07: the questions the paper leaves open, as studies over the main protocol's selections.

Every study queues evaluator trainings on one `EvalJobs` queue (so the whole notebook is one
resumable grid on `evaluation.processes` processes) and every table is rendered from
`results/eval_runs.csv`:

- **labels**: the selections evaluated with a teacher's soft labels (`labels = soft` rows) beside
  the paper's hard labels (notebook 04's rows); the label-robust score of a method is its gain over
  Random at the same VPC under soft labels;
- **storage**: the megabytes of each evaluated set (`storage_mb`), stored as uint8 pixels or as
  autoencoder latents (plus the decoder once) decoded on use;
- **larger sets**: VPC 20 and 50;
- **evaluators**: the same selections through ConvNet3D (the prior video-distillation protocol) and
  TimeSformer; does the order of the methods hold?
- **motion**: each set as is, with its frames shuffled in time and as one frame repeated (pools
  `<pool>/shuffled`, `<pool>/still`, so no paper table ever reads them);
- **memorisation**: each selected video's distance to its nearest real training video against the
  real test videos' (`vddlib.evaluation.memorisation`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.selections import manifest_indices
from ..data.videoset import VideoSet
from ..evaluation.memorisation import audit
from ..evaluation.motion import control
from ..evaluation import stats
from ..evaluation.results import by_seed as _runs, cell, summarize_runs, write_table
from ..evaluation.train import TrainConfig
from ..paper import BASELINE, COMPARED, PAPER_SELECTORS
from ..selection.registry import SELECTORS


def _convnet3d_eval() -> TrainConfig:
    # the VD protocol's ConvNet3D at width 32 without dropout, lr 3e-3 (AdamW), batch 16, C3D's step budget: at width
    # 128 with dropout it costs ~7.5x C3D's time a run; batch 16 halves batch 32's time at about the same top-1
    # (results/beyond_choices.md)
    return TrainConfig(classifier="convnet3d", model={"width": 32, "dropout": 0.0}, lr=3e-3, batch_size=16)


def _timesformer_eval() -> TrainConfig:
    # Table 5's TimeSformer at half its width and batch 16: the same top-1 at this budget at a quarter of the time
    return TrainConfig(classifier="timesformer", model={"patch_size": 8, "hidden_size": 32, "depth": 2, "heads": 2},
                       batch_size=16)


@dataclass
class BeyondSettings:
    """Notebook 07: which selections each study evaluates, with which evaluators and labels."""

    runs: int = 3                                   # seeds per setting (params/extended.yaml: 5, the paper's)
    methods: tuple[str, ...] = ()                   # soft labels and the larger VPCs; empty: paper.COMPARED
    soft_vpcs: tuple[int, ...] = (5,)              # soft-label runs beside notebook 04's hard ones
    large_vpcs: tuple[int, ...] = (50,)
    large_labels: tuple[str, ...] = ("hard",)
    temperature: float = 1.0                        # the soft labels' temperature
    cross_methods: tuple[str, ...] = ()             # empty: paper.COMPARED
    cross_vpcs: tuple[int, ...] = (5,)
    cross_labels: tuple[str, ...] = ("hard", "soft")
    convnet3d: TrainConfig = field(default_factory=_convnet3d_eval)
    timesformer: TrainConfig = field(default_factory=_timesformer_eval)
    control_methods: tuple[str, ...] = ()           # empty: paper.PAPER_SELECTORS
    control_vpc: int = 5
    control_full_real: bool = False                 # Full real shuffled and still too: how much of the data is motion
    copy_quantile: float = 0.05                     # near-copy: closer to the training set than this share of test
    studies: tuple[str, ...] = ("labels",)          # which of STUDIES run (storage and memorisation always do)
    work_dir: str = "artifacts/beyond"

    def __post_init__(self) -> None:
        self.methods, self.cross_methods = tuple(self.methods) or COMPARED, tuple(self.cross_methods) or COMPARED
        self.control_methods = tuple(self.control_methods) or PAPER_SELECTORS
        if self.runs < 1 or self.control_vpc < 1 or self.temperature <= 0:
            raise ValueError("beyond.runs, beyond.control_vpc and beyond.temperature must be positive")
        for name in ("soft_vpcs", "large_vpcs", "cross_vpcs"):
            if min(getattr(self, name), default=1) < 1:
                raise ValueError(f"beyond.{name} must be positive integers; got {getattr(self, name)}")
        bad = [m for m in (*self.methods, *self.cross_methods, *self.control_methods) if m not in SELECTORS]
        if bad:
            raise ValueError(f"beyond: unknown selector(s) {bad}; registered: {sorted(SELECTORS)}")
        for name in ("large_labels", "cross_labels"):
            if set(getattr(self, name)) - {"hard", "soft"}:
                raise ValueError(f"beyond.{name} must hold 'hard' and/or 'soft'; got {getattr(self, name)}")
        if BASELINE not in self.methods or BASELINE not in self.cross_methods:
            raise ValueError("beyond.methods and beyond.cross_methods must include 'random': every score is a "
                             "gain over Random")
        if not 0 < self.copy_quantile < 1:
            raise ValueError(f"beyond.copy_quantile must lie in (0, 1); got {self.copy_quantile}")
        unknown = sorted(set(self.studies) - set(STUDIES))
        if unknown:
            raise ValueError(f"beyond.studies: unknown {unknown}; the studies are {list(STUDIES)}")

    def selections(self) -> tuple[list[str], list[int]]:
        """The methods and VPCs whose selections the studies this profile runs evaluate."""
        on = set(self.studies)
        methods = {*(self.methods if on & {"labels", "large"} else ()), *(self.cross_methods if "evaluators" in on else ()),
                   *(self.control_methods if "motion" in on else ())}
        vpcs = {*(self.soft_vpcs if "labels" in on else ()), *(self.large_vpcs if "large" in on else ()),
                *(self.cross_vpcs if "evaluators" in on else ()), *((self.control_vpc,) if "motion" in on else ())}
        return sorted(methods), sorted(vpcs)

    def evaluator(self, main: TrainConfig, name: str, labels: str) -> TrainConfig:
        """The training config of evaluator `name` ('c3d': the main protocol's) under `labels`."""
        cfg = {"c3d": main, "convnet3d": self.convnet3d, "timesformer": self.timesformer}[name]
        return dataclasses.replace(cfg, labels=labels, **({"temperature": self.temperature} if labels == "soft" else {}))


# Notebook 07's studies (`beyond.studies` picks them) → the stems of the tables and figures each writes ({dataset}
# filled in); the larger VPCs join the storage table, which is always written.
STUDIES = {"labels": ("beyond_labels_{dataset}",), "large": (), "evaluators": ("beyond_evaluators_{dataset}",),
           "motion": ("motion_control_{dataset}",)}


# ----------------------------------------------------------------------------------------------- queueing
def queue_selections(jobs, pool: VideoSet, manifests: list[dict], cfg: TrainConfig, pool_name: str) -> list[int]:
    """One evaluation per manifest (seeded by its seed) under `cfg` (its labels: hard or soft)."""
    return [jobs.add(pool.subset(manifest_indices(m)), cfg, int(m["seed"]), pool=pool_name, method=m["method"],
                     vpc=int(m["vpc"])) for m in manifests]


def without_rows(rows: list[dict], manifests: list[dict], pool_name: str, classifier: str, labels: str) -> list[dict]:
    """The manifests whose (method, VPC, seed) has no row of this evaluator and labels yet (e.g. notebook 04's hard
    C3D rows, which 07 reuses rather than trains again)."""
    have = {(r["method"], r["vpc"], r["seed"]) for r in rows
            if r["pool"] == pool_name and r["classifier"] == classifier and r["labels"] == labels}
    return [m for m in manifests if (m["method"], int(m["vpc"]), int(m["seed"])) not in have]


def controlled(videos: VideoSet, kind: str, seed: int) -> VideoSet:
    """The set with its videos under a motion control ('shuffled' or 'still'), labels unchanged."""
    return dataclasses.replace(videos, videos=control(videos.videos, kind, seed))


def queue_controls(jobs, pool: VideoSet, manifests: list[dict], cfg: TrainConfig, pool_name: str,
                   kinds=("shuffled", "still")) -> list[int]:
    """Each manifest's set under each motion control, as pool `<pool_name>/<kind>` (hard labels)."""
    return [jobs.add(controlled(pool.subset(manifest_indices(m)), k, int(m["seed"])), cfg, int(m["seed"]),
                     pool=f"{pool_name}/{k}", method=m["method"], vpc=int(m["vpc"]))
            for m in manifests for k in kinds]


def queue_full_controls(jobs, train: VideoSet, cfg: TrainConfig, seeds, pool_name: str = "real",
                        kinds=("shuffled", "still")) -> list[int]:
    """The whole split under each motion control, once per seed (method `full`, VPC 0)."""
    return [jobs.add(controlled(train, k, s), cfg, s, pool=f"{pool_name}/{k}", method="full", vpc=0)
            for k in kinds for s in seeds]


# ----------------------------------------------------------------------------------------------- tables
def _summary(rows: list[dict]) -> dict[tuple, dict]:
    """Mean ± std per (pool, method, vpc, classifier, labels)."""
    return {(s["pool"], s["method"], s["vpc"], s["classifier"], s["labels"]): s
            for s in summarize_runs(rows, by=("pool", "method", "vpc", "classifier", "labels"))}


def _against(a: dict, b: dict, names=("method", BASELINE)) -> stats.Comparison:
    """a − b in top-1, paired by seed."""
    return stats.paired(_runs(a), _runs(b), names=names)


def label_table(rows: list[dict], stem: str | Path, methods, vpcs, classifier: str = "c3d") -> str:
    """Hard against soft labels per (VPC, method) on the pool, each method's gain over Random under each, and the
    label-robust score (the soft-label gain) with its paired verdict against Random."""
    s = _summary(rows)
    body = []
    for v in vpcs:
        rnd = {lab: s.get(("synthetic", BASELINE, v, classifier, lab)) for lab in ("hard", "soft")}
        for m in methods:
            cells = {lab: s.get(("synthetic", m, v, classifier, lab)) for lab in ("hard", "soft")}
            if not any(cells.values()):
                continue
            line = [v, m] + [cell(c) if c else "-" for c in cells.values()]
            line.append(f"{cells['soft']['top1'] - cells['hard']['top1']:+.2f}" if all(cells.values()) else "-")
            for lab in ("hard", "soft"):
                ok = cells[lab] and rnd[lab]
                line.append(f"{cells[lab]['top1'] - rnd[lab]['top1']:+.2f}" if ok and m != BASELINE else "-")
            ok = cells["soft"] and rnd["soft"] and m != BASELINE
            line.append(_against(cells["soft"], rnd["soft"]).verdict if ok else "-")
            body.append(line)
    header = ["VPC", "method", "hard labels top-1", "soft labels top-1", "soft − hard", "gain over Random (hard)",
              "label-robust score (gain over Random, soft)", "against Random (soft), paired by seed"]
    return write_table(stem, header, body, preamble=f"{classifier}, top-1 (%), mean ± sample std (n runs); the same "
                       "selections and seeds under the paper's hard labels and under the Full-real teacher's soft "
                       "labels. The last column: the paired difference's verdict (95 % t interval).\n\n")


def storage_points(rows: list[dict], classes: int, latent_mb_per_video: float | None = None, decoder_mb: float = 0.0,
                   classifier: str = "c3d", labels: str = "hard") -> dict[str, tuple]:
    """Top-1 against megabytes per method: {name: (MB, top-1, std)}; with `latent_mb_per_video`, each synthetic
    selector once more as stored latents (+ the decoder's megabytes once) under '<method> (latents)'."""
    s = summarize_runs([r for r in rows if r["classifier"] == classifier and r["labels"] == labels
                        and r["pool"] in ("synthetic", "real")], by=("pool", "method", "vpc"))
    out: dict[str, tuple] = {}
    for pool in ("synthetic", "real"):
        for m in sorted({r["method"] for r in s if r["pool"] == pool}):
            pts = sorted((r for r in s if r["pool"] == pool and r["method"] == m), key=lambda r: r["storage_mb"])
            name = ("Full syn" if pool == "synthetic" else "Full real") if m == "full" else (
                m if pool == "synthetic" else f"{m} (real videos)")
            out[name] = ([r["storage_mb"] for r in pts], [r["top1"] for r in pts], [r["top1_std"] for r in pts])
            if pool == "synthetic" and latent_mb_per_video and m != "full":
                out[f"{m} (latents)"] = ([r["vpc"] * classes * latent_mb_per_video + decoder_mb for r in pts],
                                         out[name][1], out[name][2])
    return out


def storage_table(rows: list[dict], stem: str | Path, classes: int, latent_mb_per_video: float, decoder_mb: float,
                  classifier: str = "c3d") -> str:
    """Megabytes and top-1 of every evaluated set (pool or real, each label kind): as uint8 pixels and, for
    selections from the pool, as latents (+ decoder)."""
    s = _summary([r for r in rows if r["classifier"] == classifier and r["pool"] in ("synthetic", "real")])
    body = []
    for (pool, m, v, _, lab), r in sorted(s.items(), key=lambda kv: (kv[0][0], kv[0][1] != "full", kv[0][1],
                                                                    kv[0][2], kv[0][4])):
        latents = f"{v * classes * latent_mb_per_video + decoder_mb:.3f}" if pool == "synthetic" and v else "-"
        body.append([pool, m, "all" if v == 0 else v, lab, f"{r['storage_mb']:.3f}", latents,
                     cell(r), r["runs"]])
    header = ["pool", "method", "VPC", "labels", "MB as uint8 pixels", "MB as latents + decoder", "top-1", "runs"]
    return write_table(stem, header, body, preamble=(
        f"{classifier}; megabytes (10^6 bytes) of each training set as stored. Latents: fp16, "
        f"{latent_mb_per_video * 1e3:.2f} kB a video, decoded on use by the autoencoder's decoder "
        f"({decoder_mb:.3f} MB in fp16, counted once). Soft labels add one fp16 logit per class and video.\n\n"))


def cross_table(rows: list[dict], stem: str | Path, evaluators, methods, vpcs, labels=("hard", "soft")) -> str:
    """Top-1 of each method under each evaluator and label kind, with the methods' order and whether it is
    C3D's (hard labels) order at the same VPC."""
    s = _summary([r for r in rows if r["pool"] == "synthetic"])
    body, order = [], {}
    for clf in evaluators:
        for lab in labels:
            for v in vpcs:
                cells = {m: s.get(("synthetic", m, v, clf, lab)) for m in methods}
                have = {m: c for m, c in cells.items() if c}
                if not have:
                    continue
                ranked = sorted(have, key=lambda m: -have[m]["top1"])
                order[(clf, lab, v)] = ranked
                ref = order.get(("c3d", "hard", v))
                body.append([clf, lab, v] + [cell(c) if c else "-" for c in cells.values()]
                            + [" > ".join(ranked), "-" if ref is None else ("yes" if ranked == ref else "no")])
    header = ["evaluator", "labels", "VPC"] + list(methods) + ["order by top-1", "same order as C3D (hard)"]
    return write_table(stem, header, body, preamble="top-1 (%), mean ± sample std (n runs); the same selections and seeds "
                       "through each evaluator.\n\n")


def motion_table(rows: list[dict], stem: str | Path, sets: list[tuple[str, str, int]], classifier: str,
                 chance: float) -> str:
    """Top-1 of each (pool, method, VPC) set as is, shuffled in time and still, and the share of its top-1 above
    chance that each control keeps."""
    s = _summary([r for r in rows if r["classifier"] == classifier and r["labels"] == "hard"])
    body = []
    for pool, m, v in sets:
        cells = {k: s.get((pool if k == "as_is" else f"{pool}/{k}", m, v, classifier, "hard"))
                 for k in ("as_is", "shuffled", "still")}
        if not cells["as_is"]:
            continue
        name = ("Full real" if pool == "real" else "Full syn") if m == "full" else m
        kept = []
        for k in ("shuffled", "still"):
            c = cells[k]
            kept.append(f"{(c['top1'] - chance) / (cells['as_is']['top1'] - chance):.2f}" if c else "-")
        body.append([name, pool, "all" if v == 0 else v] + [cell(c) if c else "-"
                                                             for c in cells.values()] + kept)
    header = ["set", "pool", "VPC", "as is", "frames shuffled", "one frame repeated", "shuffled keeps",
              "still keeps"]
    return write_table(stem, header, body, preamble=(
        f"{classifier}, hard labels, top-1 (%), mean ± sample std (n runs), tested on the unchanged real test split. "
        f"'keeps': (control − chance) / (as is − chance), chance = {chance:.1f} %; 0 means the set's value above "
        "chance is all motion, 1 that none of it is.\n\n"))


def memorisation_rows(pool_x, train_x, test_x, manifests: list[dict], quantile: float) -> list[dict]:
    """The audit of every (method, VPC) selection, its seeds pooled, against the whole pool and the real test split."""
    sel: dict[str, list[int]] = {}
    for m in sorted(manifests, key=lambda m: (m["vpc"], m["method"], m["seed"])):
        sel.setdefault(f"{m['method']} VPC {m['vpc']}", []).extend(manifest_indices(m))
    return audit(pool_x, train_x, test_x, sel, quantile)


def memorisation_table(audit_rows: list[dict], stem: str | Path, space: str) -> str:
    """The audit as a table: distances, near-copy shares (and against the whole pool's), train/test ratios."""
    pool = next(r for r in audit_rows if r["set"] == "whole pool")
    body = []
    for r in audit_rows:
        ref = r["set"] == "real test (reference)"
        body.append([r["set"], r["videos"], f"{r['median_distance']:.3f}", f"{100 * r['near_copies']:.1f}",
                     "-" if ref or not pool["near_copies"] else f"{r['near_copies'] / pool['near_copies']:.2f}",
                     "-" if ref else f"{r['train_test_ratio']:.3f}"])
    header = ["set", "videos", "median distance to nearest real training video", "near-copies (%)",
              "near-copies / whole pool's", "median nearest-train / nearest-test distance"]
    return write_table(stem, header, body, preamble=(
        f"Distances in {space}. A near-copy is closer to its nearest real training video than all but the nearest "
        f"{100 * audit_rows[0]['near_copies']:.0f} % of real test videos are to theirs (threshold "
        f"{audit_rows[0]['threshold']:.3f}). The last column is about 1 where a synthetic video is no closer to the "
        "training videos than to unseen test videos, and well under 1 for a copy. Selections pool their seeds (a "
        "video picked by two seeds counts twice).\n\n"))


# ----------------------------------------------------------------------------------------------- the goal
def goal_lines(rows: list[dict], evaluators, vpcs, methods, full_real_top1: float, soft_vpc: int = 10) -> list[str]:
    """Issue 20's goal, checked: at each VPC, under each label kind and evaluator, does the best selection beat
    Random (paired by seed, 95 % interval); and does the best soft-label set at `soft_vpc` reach 90 % of Full real?"""
    s = _summary([r for r in rows if r["pool"] == "synthetic"])
    lines = []
    for clf in evaluators:
        for lab in ("hard", "soft"):
            for v in vpcs:
                rnd = s.get(("synthetic", BASELINE, v, clf, lab))
                cand = {m: s[("synthetic", m, v, clf, lab)] for m in methods
                        if m != BASELINE and ("synthetic", m, v, clf, lab) in s}
                if not rnd or not cand:
                    lines.append(f"{clf}, {lab} labels, VPC {v}: not measured")
                    continue
                best = max(cand, key=lambda m: cand[m]["top1"])
                c = _against(cand[best], rnd, (best, BASELINE))
                lines.append(f"{clf}, {lab} labels, VPC {v}: the best, {best} ({cell(cand[best])}), against Random "
                             f"({cell(rnd)}): {c.interval(2)} (n={c.n}): {c.verdict} (the best of {len(cand)} picked "
                             "after the fact, so a 'better' here is optimistic)")
    soft = {m: s[("synthetic", m, soft_vpc, "c3d", "soft")] for m in methods if ("synthetic", m, soft_vpc, "c3d", "soft") in s}
    if soft:
        best = max(soft, key=lambda m: soft[m]["top1"])
        r = soft[best]["top1"] / full_real_top1
        lines.append(f"best soft-label VPC {soft_vpc} set: {best}, {cell(soft[best])} = "
                     f"{100 * r:.0f} % of Full real ({full_real_top1:.2f}); goal 90 %: {'met' if r >= 0.9 else 'not met'}")
    return lines


def ranking_agreement(rows: list[dict], evaluators, methods, vpcs, labels=("hard", "soft")) -> list[str]:
    """Kendall's tau between each evaluator's order of the methods and C3D's (hard labels), per VPC."""
    from scipy.stats import kendalltau

    s = _summary([r for r in rows if r["pool"] == "synthetic"])
    out = []
    for v in vpcs:
        ref = [s.get(("synthetic", m, v, "c3d", "hard")) for m in methods]
        if not all(ref):
            continue
        for clf in evaluators:
            for lab in labels:
                if (clf, lab) == ("c3d", "hard"):
                    continue
                cur = [s.get(("synthetic", m, v, clf, lab)) for m in methods]
                if not all(cur):
                    continue
                if len(methods) < 3:
                    same = (ref[0]["top1"] > ref[1]["top1"]) == (cur[0]["top1"] > cur[1]["top1"])
                    out.append(f"VPC {v}, {clf} ({lab}): {'same' if same else 'reversed'} order of {methods[0]} and "
                               f"{methods[1]} as C3D (hard)")
                else:
                    tau = kendalltau([r["top1"] for r in ref], [c["top1"] for c in cur]).statistic
                    out.append(f"VPC {v}, {clf} ({lab}): Kendall's tau with C3D (hard) = {tau:+.2f}")
    return out


def findings(rows: list[dict], audit_rows: list[dict], methods, vpcs, classes: int, latent_mb_per_video: float,
             decoder_mb: float, classifier: str = "c3d", chance: float = 10.0) -> list[str]:
    """What notebook 07 found, one sentence per question, computed from its tables' rows."""
    s = _summary(rows)
    out = []
    gains = {v: [s[("synthetic", m, v, classifier, "soft")]["top1"] - s[("synthetic", m, v, classifier, "hard")]["top1"]
                 for m in methods if ("synthetic", m, v, classifier, "soft") in s and ("synthetic", m, v, classifier, "hard") in s]
             for v in vpcs}
    if any(gains.values()):
        out.append("Labels: soft minus hard top-1, averaged over the methods: " + ", ".join(
            f"VPC {v} {np.mean(g):+.1f}" for v, g in gains.items() if g) + " points.")
    full = s.get(("real", "full", 0, classifier, "hard"))
    for k in ("shuffled", "still"):
        c = s.get((f"real/{k}", "full", 0, classifier, "hard"))
        if full and c:
            out.append(f"Motion: Full real trained on {'frames shuffled in time' if k == 'shuffled' else 'one frame repeated'} "
                       f"reaches {c['top1']:.1f} % against {full['top1']:.1f} % as is: it keeps "
                       f"{(c['top1'] - chance) / (full['top1'] - chance):.0%} of its value above chance.")
    px = 0.0
    for r in rows:
        if r["pool"] == "synthetic" and r["vpc"] and r["storage_mb"] == r["storage_mb"] and r["labels"] == "hard":
            px = r["storage_mb"] / (r["vpc"] * classes)
            break
    if px and latent_mb_per_video < px:
        cross = decoder_mb / (classes * (px - latent_mb_per_video))
        out.append(f"Storage: a video is {px * 1e3:.1f} kB as uint8 pixels and {latent_mb_per_video * 1e3:.1f} kB as "
                   f"fp16 latents; with the decoder's {decoder_mb:.2f} MB counted once, latents are the smaller store "
                   f"from about VPC {cross:.0f} up.")
    pool = next((a for a in audit_rows if a["set"] == "whole pool"), None)
    ref = next((a for a in audit_rows if a["set"] == "real test (reference)"), None)
    sel = [a for a in audit_rows if a["set"] not in ("whole pool", "real test (reference)")]
    if pool and ref and sel:
        top = max(sel, key=lambda a: a["near_copies"])
        out.append(f"Memorisation: the pool's median nearest-train / nearest-test distance ratio is "
                   f"{pool['train_test_ratio']:.3f} ({'no sign of copying' if pool['train_test_ratio'] > 0.9 else 'closer to the training videos than to unseen ones'}); "
                   f"{100 * pool['near_copies']:.0f} % of pool videos are nearer a training video than all but the "
                   f"nearest {100 * ref['near_copies']:.0f} % of real test videos are; the most such picks: {top['set']} "
                   f"({100 * top['near_copies']:.0f} %, ratio {top['train_test_ratio']:.3f}).")
    return out
