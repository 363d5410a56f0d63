"""The tidy results file (`results/eval_runs.csv`) and the tables rendered from it.

One row per evaluator run: dataset, pool, method, vpc, classifier, the labels it was trained on
(`hard`: the paper's class labels; `soft`: a teacher's logits, notebook 07), seed, then metrics,
the megabytes of the training set as stored (`storage_mb`) and the training seconds.
A rerun replaces the rows with the same key instead of adding duplicates, every
write goes to a temporary file first, so a crash never leaves half a CSV, and a writer holds the file's lock
(`<file>.lock`, filelock) from reading the rows to replacing the file, so two processes adding rows at once
lose none.

`read_runs` returns the hard-label rows unless asked for others, so the paper's tables (and every
reader written before soft labels existed) see exactly the paper's protocol.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
from filelock import FileLock

from ..files import atomic_path, write_text
from ..paper import BASELINE
from . import predictions, stats

COLUMNS = ["dataset", "pool", "method", "vpc", "classifier", "labels", "seed", "top1", "top5", "auc", "f1",
           "storage_mb", "train_s"]
KEY = ["dataset", "pool", "method", "vpc", "classifier", "labels", "seed"]
METRICS = ["top1", "top5", "auc", "f1"]
LABELS = ("hard", "soft")
PAPER_RUNS = 5          # the paper's tables: mean ± std over 5 runs
# columns a file written before they existed may lack: every such row was trained on hard labels, its size unknown
_LATER = {"labels": "hard", "storage_mb": float("nan")}


def _typed(row: dict) -> dict:
    out = {c: row.get(c, _LATER.get(c)) for c in COLUMNS}
    out["vpc"], out["seed"] = int(out["vpc"]), int(out["seed"])
    for c in METRICS + ["storage_mb", "train_s"]:
        out[c] = float(out[c]) if out[c] not in ("", None) else float("nan")
    if out["labels"] not in LABELS:
        raise ValueError(f"a result row's labels must be one of {LABELS}; got {out['labels']!r}")
    return out


def read_runs(path: str | Path, labels: str | None = "hard", controls: bool = False) -> list[dict]:
    """The rows of a results CSV trained on `labels` ('hard', the paper's protocol; 'soft'; None: all), typed; an
    absent file has no rows. Rows of motion-controlled sets (pool `<pool>/<control>`, notebook 07) only with
    `controls`."""
    path = Path(path)
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or []) and c not in _LATER]
        if missing:
            raise ValueError(f"{path} lacks the columns {missing}; it was not written by vddlib.evaluation.results.")
        rows = []
        for r in reader:
            try:
                rows.append(_typed(r))
            except (TypeError, ValueError) as e:
                raise ValueError(f"{path}, line {reader.line_num}: not a result row ({e}). Fix or delete that line; "
                                 "every other row is kept.") from None
    return [r for r in rows if (labels is None or r["labels"] == labels) and (controls or "/" not in r["pool"])]


def upsert_runs(path: str | Path, rows: list[dict], replaces=None) -> list[dict]:
    """Add rows to the CSV, replacing any existing row with the same key. Returns the file's rows.

    Rows that carry `pred` (predicted class per test video) and `truth` (the test labels), as `evaluate_runs`
    gives them, have those stored beside the CSV (`vddlib.evaluation.predictions`).

    `replaces(row) -> bool`: existing rows this batch supersedes as a whole (e.g. a study rerun with fewer seeds
    drops its old extra seeds instead of leaving them beside the new ones)."""
    path = Path(path)
    for r in rows:
        missing = [c for c in COLUMNS if c not in r and c not in _LATER]
        if missing:
            raise ValueError(f"result row lacks {missing}: {r}")
    new = {tuple(str(r[k]) for k in KEY): r for r in map(_typed, rows)}
    path.parent.mkdir(parents=True, exist_ok=True)
    with lock(path):                                  # read, merge and replace as one step: no writer's rows lost
        kept = [r for r in read_runs(path, labels=None, controls=True) if tuple(str(r[k]) for k in KEY) not in new
                and not (replaces is not None and replaces(r))]
        merged = kept + list(new.values())
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS)
            w.writeheader()
            for r in merged:
                w.writerow({**r, **{c: f"{r[c]:.4f}" for c in METRICS}, "storage_mb": f"{r['storage_mb']:.4f}",
                            "train_s": f"{r['train_s']:.3f}"})
        keys = {predictions.row_key(r, KEY) for r in merged}
        predictions.write_predictions(path, [{**r, **_typed(r)} for r in rows], KEY, keys)
    return merged


def lock(path: str | Path) -> FileLock:
    """The lock every writer of a results file holds (`<file>.lock` beside it)."""
    return FileLock(str(path) + ".lock")


def summarize_runs(rows: list[dict], by=("dataset", "pool", "method", "vpc", "classifier")) -> list[dict]:
    """Mean, sample std (ddof = 1; NaN for one run) and the runs (n) of each metric per group, in the order groups
    first appear; `seeds` maps each run's seed to its row, for paired comparisons."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in by), []).append(r)
    out = []
    for key, rs in groups.items():
        row = dict(zip(by, key))
        row["runs"] = len(rs)
        row["seeds"] = {r["seed"]: r for r in rs if "seed" in r}
        for m in METRICS + ["storage_mb", "train_s"]:
            v = np.array([r.get(m, np.nan) for r in rs], dtype=float)
            row[m] = float(v.mean())
            row[m + "_std"] = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
        out.append(row)
    return out


def pm(mean: float, std: float, n: int) -> str:
    """'44.10±3.91 (n=5)': mean, sample std and n (one run: '44.10 (n=1)')."""
    return stats.pm(mean, std, n)


def _published_decimals(x: float) -> int:
    text = repr(float(x))
    return 2 if "e" in text else min(len(text.split(".")[1].rstrip("0")), 4)


def paper_cell(mean: float, std: float, n: int = PAPER_RUNS) -> str:
    """The paper's mean ± std (n) at the precision it was published with ('6.3±0.0 (n=5)', '60.14±0.95 (n=5)'),
    never padded with digits the paper did not give; at least one decimal, as every cell of the paper has one
    (its '22.0±1.0' is the float 22.0)."""
    return stats.pm(mean, std, n, digits=max(1, _published_decimals(mean), _published_decimals(std)))


def cell(s: dict, metric: str = "top1") -> str:
    """A `summarize_runs` group's cell for `metric`, with its n."""
    return pm(s[metric], s[metric + "_std"], s["runs"])


def by_seed(s: dict, metric: str = "top1") -> dict[int, float]:
    """A `summarize_runs` group's runs as {seed: metric}, for paired comparisons."""
    return {seed: r[metric] for seed, r in s.get("seeds", {}).items()}


def entry(s: dict | None, metric: str = "top1") -> stats.Entry | None:
    """A `summarize_runs` group as a table entry that may be bolded (its runs by seed, for a paired test)."""
    if s is None:
        return None
    return stats.Entry(stats.Summary(s["runs"], s[metric], s[metric + "_std"]), by_seed(s, metric))


def markdown_table(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def write_summary_table(rows: list[dict], stem: str | Path, reference: dict | None = None,
                        reference_name: str = "paper") -> str:
    """Mean ± std per (pool, method, vpc, classifier) as `<stem>.csv` and `<stem>.md`; returns the Markdown.

    `reference` maps (method, vpc, pool) to the paper's {metric: (mean, std)}, shown beside ours.
    """
    summary = sorted(summarize_runs(rows), key=lambda r: (r["dataset"], r["pool"], r["method"] != "full",
                                                          r["method"], r["vpc"], r["classifier"]))
    stem = Path(stem)
    cols = ["dataset", "pool", "method", "vpc", "classifier", "runs"] + [
        c for m in METRICS + ["train_s"] for c in (m, m + "_std")]
    write_text(stem.with_suffix(".csv"), csv_text([cols] + [[f"{r[c]:.4f}" if isinstance(r[c], float) else r[c]
                                                              for c in cols] for r in summary]))
    header = ["pool", "method", "VPC", "classifier", "top-1", "top-5", "AUC", "F1", "runs", "train s/run"]
    if reference is not None:
        header += [f"{reference_name} top-1", f"{reference_name} AUC", f"{reference_name} F1"]
    body = []
    for r in summary:
        line = [r["pool"], r["method"], "all" if r["vpc"] == 0 else r["vpc"], r["classifier"]] + [
            cell(r, m) for m in METRICS] + [r["runs"], f"{r['train_s']:.1f}"]
        if reference is not None:
            ref = reference.get((r["method"], r["vpc"], r["pool"]), {})
            line += [paper_cell(*ref[m]) if m in ref else "-" for m in ("top1", "auc", "f1")]
        body.append(line)
    md = markdown_table(header, body)
    write_text(stem.with_suffix(".md"), md)
    return md


def csv_text(rows: list[list]) -> str:
    """Rows as CSV text, a cell quoted where it holds a comma, quote or line break (an interval '[-4.90, +2.58]')."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([[str(c) for c in row] for row in rows])
    return buf.getvalue()


def write_table(stem: str | Path, header: list[str], body: list[list], preamble: str = "") -> str:
    """One table as `<stem>.csv` and `<stem>.md` (the Markdown after an optional preamble); returns the Markdown."""
    stem = Path(stem)
    write_text(stem.with_suffix(".csv"), csv_text([header, *body]))
    md = markdown_table(header, body)
    write_text(stem.with_suffix(".md"), preamble + md)
    return md


def study_not_run(results_dir: str | Path, figures_dir: str | Path, stems, setting: str, study: str) -> str:
    """A study the profile does not run: its tables (`<stem>.md`/`.csv` in results_dir) and figures (`<stem>.png`)
    from an earlier run are removed, so an output folder never holds a table its own run did not make beside the
    ones it did; returns the Markdown line a notebook shows in the study's place."""
    for stem in stems:
        for path in (Path(results_dir) / f"{stem}.md", Path(results_dir) / f"{stem}.csv", Path(figures_dir) / f"{stem}.png"):
            path.unlink(missing_ok=True)
    return (f"*Not run in this profile: `{setting}` does not list `{study}` "
            f"(`PROFILE=extended ./run_all.sh` runs every study).*")


def keep_other_rows(stem: str | Path, header: list[str], body: list[list]) -> list[list]:
    """`body` plus the rows already in `<stem>.csv` whose first column (e.g. the CPU a benchmark ran on) none of
    `body`'s rows has, so one table can hold the measurements of several machines; a file with another header
    is ignored."""
    path = Path(stem).with_suffix(".csv")
    if not path.is_file():
        return body
    with path.open(newline="") as f:
        old = list(csv.reader(f))
    if not old or old[0] != [str(h) for h in header]:
        return body
    mine = {str(r[0]) for r in body}
    return [r for r in old[1:] if r and r[0] not in mine] + body


def write_dataset_table(rows: list[dict], dataset: str, stem: str | Path, metric: str = "top1",
                        classifier: str = "c3d", vpcs=(1, 5, 10), how_to: str = "") -> str:
    """The paper's per-dataset layout (Table 3 for UCF101): Full real, Full syn, then each method on the
    synthetic pool, with one column per VPC; mean ± std of `metric` over runs.

    With no rows for `dataset` the table says so and how to make them (`how_to`), rather than showing nothing.
    """
    mine = [r for r in rows if r["dataset"] == dataset and r["classifier"] == classifier]
    stem = Path(stem)
    if not mine:
        msg = (f"No runs for {dataset} ({classifier}) in results/eval_runs.csv yet. {how_to}".strip() + "\n")
        write_text(stem.with_suffix(".md"), msg)
        write_text(stem.with_suffix(".csv"), "method,pool," + ",".join(f"vpc{v}" for v in vpcs) + "\n")
        return msg
    s = {(r["pool"], r["method"], r["vpc"]): r for r in summarize_runs(mine)}
    body = []
    for pool, method, label in [("real", "full", "Full real"), ("synthetic", "full", "Full syn")]:
        if (pool, method, 0) in s:
            r = s[(pool, method, 0)]
            body.append([label, cell(r, metric)] + [""] * (len(vpcs) - 1))
    methods = sorted({m for (p, m, v) in s if p == "synthetic" and m != "full"}, key=lambda m: (m != BASELINE, m))
    for m in methods:
        body.append([m] + [cell(s[("synthetic", m, v)], metric) if ("synthetic", m, v) in s else "-" for v in vpcs])
    header = ["method"] + [f"VPC {v}" for v in vpcs]
    return write_table(stem, header, body, preamble=f"{dataset}, {classifier}, {metric} (%), mean ± sample std (n runs)\n\n")
