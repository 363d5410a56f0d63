"""Tables 1, 2 and 4 in the paper's own shape: the paper's rows and columns with ours beside them, rendered from
`results/eval_runs.csv` (never typed by hand). An entry is bold only when its lead over the column's runner-up has
a 95 % interval above 0 (paired by seed for ours, Welch from mean, std and n = 5 for the paper's); most columns
have no bold. A method whose selections are the same videos as an earlier method's is shown once ("= Herding").

- Table 1: each dataset's facts, the paper's five beside the dataset this run loaded.
- Table 2: methods as rows (the paper's, including prior work: DM, MTT, FRePo and their +VD variants), datasets ×
  VPC as columns (MiniUCF, HMDB51, Kinetics-400, SSv2 at VPC 1 and 5); our rows fill the columns of every dataset
  with runs, and a dataset the paper does not have (digits-motion) gets columns of its own.
- Table 4: both halves (MiniUCF and HMDB51: ACC / AUC / F1 per VPC and method) beside ours.
"""
from __future__ import annotations

from pathlib import Path

from ..files import write_text
from ..paper import MINIUCF, TABLE1, TABLE2, TABLE2_DATASETS, TABLE4_HMDB51, TABLE4_METHODS
from . import stats
from .results import PAPER_RUNS, cell, csv_text, entry, markdown_table, paper_cell, summarize_runs

PAPER_DATASET = {ours: paper for paper, ours, _ in TABLE2_DATASETS}


def _bold_significant(body: list[list], entries: dict[tuple[int, int], stats.Entry], cols, rows) -> list[list]:
    """Bold, in each of `cols` over `rows`, the entry whose lead over the runner-up is significant (if any)."""
    out = [list(r) for r in body]
    rows = list(rows)
    for c in cols:
        lead = stats.significant_lead([entries.get((i, c)) for i in rows])
        if lead is not None:
            i = rows[lead]
            out[i][c] = f"**{out[i][c]}**"
    return out


def _paper_entry(mean_std: tuple[float, float]) -> stats.Entry:
    return stats.Entry(stats.Summary(PAPER_RUNS, *mean_std))


def _write(stem: str | Path, header: list[str], body: list[list], preamble: str) -> str:
    stem = Path(stem)
    plain = [[str(c).replace("**", "") for c in r] for r in body]
    write_text(stem.with_suffix(".csv"), csv_text([header, *plain]))
    md = preamble + markdown_table(header, body)
    write_text(stem.with_suffix(".md"), md)
    return md


def table1(stem: str | Path, ours: dict[str, tuple]) -> str:
    """Table 1: {dataset name: (classes, train, test, generated)} of the data this run loaded, beside the paper's."""
    header = ["dataset", "source", "classes", "total", "train", "val/test", "generated"]
    body = [[name, "paper", f"{k:,}", f"{tot:,}", f"{tr:,}", f"{te:,}", f"{gen:,}"]
            for name, (k, tot, tr, te, gen) in TABLE1.items()]
    body += [[name, "ours (loaded)", f"{k:,}", f"{tr + te:,}", f"{tr:,}", f"{te:,}", f"{gen:,}"]
             for name, (k, tr, te, gen) in ours.items()]
    return _write(stem, header, body, "**Table 1** · datasets: the paper's, and the one this run loaded.\n\n")


def table2(rows: list[dict], stem: str | Path, classifier: str = "c3d", vpcs=(1, 5)) -> str:
    """Table 2 in the paper's shape from eval_runs rows (all datasets in them), paper rows first, ours after."""
    mine = summarize_runs([r for r in rows if r["classifier"] == classifier])
    have = sorted({s["dataset"] for s in mine})
    cols = [(paper, ours, metric) for paper, ours, metric in TABLE2_DATASETS]
    cols += [(d, d, "top1") for d in have if d not in PAPER_DATASET]
    header = ["method", "source"] + [f"{paper} {v}" for paper, _, _ in cols for v in vpcs]
    body, entries = [], {}
    for name, cells in TABLE2.items():
        line = [name, "paper"]
        for paper, _, _ in cols:
            for v in vpcs:
                key = (paper, 0) if name.startswith("Full") and v == vpcs[0] else (paper, v)
                if key in cells:
                    entries[len(body), len(line)] = _paper_entry(cells[key])
                line.append(paper_cell(*cells[key]) if key in cells else ("" if name.startswith("Full") else "-"))
        body.append(line)
    s = {(x["dataset"], x["pool"], x["method"], x["vpc"]): x for x in mine}
    ours = [("Full real", "real", "full"), ("Full syn", "synthetic", "full"), ("DM", "real", "dm"),
            ("Random", "synthetic", "random"), ("VST-UNet", "synthetic", "vst_unet"), ("TAC-DT", "synthetic", "tac_dt")]
    for name, pool, method in ours:
        line, any_cell = [name, "ours"], False
        for _, ds, metric in cols:
            for v in vpcs:
                key = (ds, pool, method, 0 if method == "full" else v)
                if method == "full" and v != vpcs[0]:
                    line.append("")
                elif key in s:
                    entries[len(body), len(line)] = entry(s[key], metric)
                    line.append(cell(s[key], metric))
                    any_cell = True
                else:
                    line.append("-")
        if any_cell:
            body.append(line)
    compared = [i for i, r in enumerate(body) if not r[0].startswith("Full")]
    body = _bold_significant(body, entries, range(2, len(header)), compared)
    metrics = ", ".join(f"{p}: {'top-5' if m == 'top5' else 'top-1'}" for p, _, m in cols)
    return _write(stem, header, body, f"**Table 2** · accuracy (%), mean ± sample std (n runs) ({metrics}); {classifier}. "
                  "Full real / Full syn under VPC 1. Bold: the column's best (Full rows aside) only where its lead over the "
                  "runner-up has a 95 % interval above 0 (paired by seed for ours; Welch, n = 5, for the paper's). Our rows fill the "
                  f"columns of the datasets this results file has runs for ({', '.join(have) or 'none'}).\n\n")


def table4(rows: list[dict], stem: str | Path, methods, vpcs, classifier: str = "c3d",
           same_as: dict[tuple[str, int], str] | None = None, names: dict[str, str] | None = None) -> str:
    """Table 4 in the paper's shape: per VPC and method, ACC / AUC / F1 for MiniUCF and HMDB51 (the paper's) and
    for each dataset with runs here (ours); Full syn last. `same_as` ({(method, VPC): earlier method}, from
    `vddlib.data.selections.identical_selections`) shows a repeated selection once: '= Herding'. `names`: {method:
    the name its row prints} (`vddlib.selection.display_names()`; else the method's own)."""
    same_as, names = same_as or {}, names or {}
    mine = summarize_runs([r for r in rows if r["classifier"] == classifier and r["pool"] == "synthetic"])
    have = sorted({s["dataset"] for s in mine})
    s = {(x["dataset"], x["method"], x["vpc"]): x for x in mine}
    halves = [("MiniUCF (paper)", None), ("HMDB51 (paper)", None)] + [(f"{d} (ours)", d) for d in have]
    header = ["VPC", "method"] + [f"{h} {m}" for h, _ in halves for m in ("ACC", "AUC", "F1")]
    order = list(dict.fromkeys([*TABLE4_METHODS, *methods]))
    body, blocks, entries = [], [], {}
    for v in [*vpcs, 0]:
        start = len(body)
        for m in (["full"] if v == 0 else order):
            line = ["all" if v == 0 else v, "Full syn" if v == 0 else names.get(m, m)]
            for h, ds in halves:
                if ds is None:
                    ref = (MINIUCF.get((m, v, "synthetic"), {}) if h.startswith("MiniUCF") else
                           dict(zip(("top1", "auc", "f1"), TABLE4_HMDB51.get(m, {}).get(v, ()))))
                    for k in ("top1", "auc", "f1"):
                        if k in ref:
                            entries[len(body), len(line)] = _paper_entry(ref[k])
                        line.append(paper_cell(*ref[k]) if k in ref else "-")
                elif (m, v) in same_as and s.get((ds, m, v)):
                    line += [f"= {names.get(same_as[m, v], same_as[m, v])}"] * 3
                else:
                    x = s.get((ds, m, v))
                    for k in ("top1", "auc", "f1"):
                        if x:
                            entries[len(body), len(line)] = entry(x, k)
                        line.append(cell(x, k) if x else "-")
            body.append(line)
        blocks.append(range(start, len(body)))
    for blk in blocks[:-1]:                               # within each VPC block
        body = _bold_significant(body, entries, range(2, len(header)), blk)
    return _write(stem, header, body, f"**Table 4** · selection methods on the synthetic pool, {classifier}, mean ± sample "
                  "std (n runs), %: the paper's MiniUCF and HMDB51 halves and ours. Bold: the best of a column within "
                  "a VPC only where its lead over the runner-up has a 95 % interval above 0 (paired by seed for ours; "
                  "Welch, n = 5, for the paper's). '= Herding': the same videos as that method's selections, seed by "
                  "seed (evaluated once).\n\n")
