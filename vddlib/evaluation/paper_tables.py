"""Tables 1, 2 and 4 in the paper's own shape: the paper's rows and columns with ours beside them, rendered from
`results/eval_runs.csv` (never typed by hand), the best entry of each column in bold.

- Table 1: each dataset's facts, the paper's five beside the dataset this run loaded.
- Table 2: methods as rows (the paper's, including prior work: DM, MTT, FRePo and their +VD variants), datasets ×
  VPC as columns (MiniUCF, HMDB51, Kinetics-400, SSv2 at VPC 1 and 5); our rows fill the columns of every dataset
  with runs, and a dataset the paper does not have (digits-motion) gets columns of its own.
- Table 4: both halves (MiniUCF and HMDB51: ACC / AUC / F1 per VPC and method) beside ours.
"""
from __future__ import annotations

from pathlib import Path

from ..files import write_text
from ..paper import METHOD_NAMES as NAMES, MINIUCF, TABLE1, TABLE2, TABLE2_DATASETS, TABLE4_HMDB51, TABLE4_METHODS
from .results import markdown_table, pm, summarize_runs

PAPER_DATASET = {ours: paper for paper, ours, _ in TABLE2_DATASETS}


def _bold_best(body: list[list], cols: list[int], skip_rows=()) -> list[list]:
    """Bold the highest mean in each of `cols` (cells 'mean±std'), over the rows not in `skip_rows`."""
    out = [list(r) for r in body]
    for c in cols:
        vals = [(float(str(r[c]).split("±")[0]), i) for i, r in enumerate(out)
                if i not in skip_rows and str(r[c]).replace(".", "", 1)[:1].isdigit()]
        if vals:
            best = max(vals)[0]
            for v, i in vals:
                if v == best:
                    out[i][c] = f"**{out[i][c]}**"
    return out


def _write(stem: str | Path, header: list[str], body: list[list], preamble: str) -> str:
    stem = Path(stem)
    plain = [[str(c).replace("**", "") for c in r] for r in body]
    write_text(stem.with_suffix(".csv"), "\n".join(",".join(f'"{c}"' if "," in c else c for c in r)
                                                   for r in [header, *plain]) + "\n")
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
    body = []
    for name, cells in TABLE2.items():
        line = [name, "paper"]
        for paper, _, _ in cols:
            for v in vpcs:
                key = (paper, 0) if name.startswith("Full") and v == vpcs[0] else (paper, v)
                line.append(pm(*cells[key]) if key in cells else ("" if name.startswith("Full") else "-"))
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
                    line.append(pm(s[key][metric], s[key][metric + "_std"]))
                    any_cell = True
                else:
                    line.append("-")
        if any_cell:
            body.append(line)
    full_rows = {i for i, r in enumerate(body) if r[0].startswith("Full")}
    body = _bold_best(body, list(range(2, len(header))), skip_rows=full_rows)
    metrics = ", ".join(f"{p}: {'top-5' if m == 'top5' else 'top-1'}" for p, _, m in cols)
    return _write(stem, header, body, f"**Table 2** · accuracy (%), mean ± std over runs ({metrics}); {classifier}. "
                  "Full real / Full syn under VPC 1. Best per column (Full rows aside) in bold. Our rows fill the "
                  f"columns of the datasets this results file has runs for ({', '.join(have) or 'none'}).\n\n")


def table4(rows: list[dict], stem: str | Path, methods, vpcs, classifier: str = "c3d") -> str:
    """Table 4 in the paper's shape: per VPC and method, ACC / AUC / F1 for MiniUCF and HMDB51 (the paper's) and
    for each dataset with runs here (ours); Full syn last."""
    mine = summarize_runs([r for r in rows if r["classifier"] == classifier and r["pool"] == "synthetic"])
    have = sorted({s["dataset"] for s in mine})
    s = {(x["dataset"], x["method"], x["vpc"]): x for x in mine}
    halves = [("MiniUCF (paper)", None), ("HMDB51 (paper)", None)] + [(f"{d} (ours)", d) for d in have]
    header = ["VPC", "method"] + [f"{h} {m}" for h, _ in halves for m in ("ACC", "AUC", "F1")]
    names = list(dict.fromkeys([*TABLE4_METHODS, *methods]))
    body, blocks = [], []
    for v in [*vpcs, 0]:
        start = len(body)
        for m in (["full"] if v == 0 else names):
            line = ["all" if v == 0 else v, "Full syn" if v == 0 else NAMES.get(m, m)]
            for h, ds in halves:
                if ds is None:
                    ref = (MINIUCF.get((m, v, "synthetic"), {}) if h.startswith("MiniUCF") else
                           dict(zip(("top1", "auc", "f1"), TABLE4_HMDB51.get(m, {}).get(v, ()))))
                    line += [pm(*ref[k]) if k in ref else "-" for k in ("top1", "auc", "f1")]
                else:
                    x = s.get((ds, m, v))
                    line += [pm(x[k], x[k + "_std"]) if x else "-" for k in ("top1", "auc", "f1")]
            body.append(line)
        blocks.append(range(start, len(body)))
    for blk in blocks[:-1]:                               # bold the best per column within each VPC block
        part = _bold_best([body[i] for i in blk], list(range(2, len(header))))
        for i, row in zip(blk, part):
            body[i] = row
    return _write(stem, header, body, f"**Table 4** · selection methods on the synthetic pool, {classifier}, mean ± std "
                  "over runs (%): the paper's MiniUCF and HMDB51 halves and ours. Best per column within each VPC in "
                  "bold.\n\n")
