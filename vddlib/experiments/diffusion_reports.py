"""The diffusion benchmarks as notebooks 01 and 02 show them: tables and curves read from `results/diffusion/`.

Each function reads one JSON a benchmark script wrote (`benchmarks/diffusion_curve.py`,
`full_syn_checkpoints.py`, `full_syn_guidance.py`) and returns a table (header, body) or
the series of a line plot, so the notebooks only draw them.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from ..config import REPO_ROOT

RESULTS = REPO_ROOT / "results" / "diffusion"


def _read(name: str) -> dict:
    path = RESULTS / name
    if not path.is_file():
        raise FileNotFoundError(f"No {path}: the benchmark that writes it (benchmarks/) has not run here.")
    return json.loads(path.read_text())


def feasibility_curve(curve: str = "curve_gpu_tiny_bs128.json",
                      cpu_steps: str = "cpu_step_time_bs128/step_time.json") -> tuple[dict, str, str]:
    """Recognition of generated videos against Latte's training time on this CPU (from its measured s/step), per
    guidance scale: (series, the plot's title, a line comparing CPU and GPU step times)."""
    doc, cpu = _read(curve), _read(cpu_steps)["s_per_step"]["tiny"]
    series: dict[str, tuple[list, list]] = {}
    for r in doc["rows"]:
        s = series.setdefault(f"CFG {r['guidance']:g}", ([], []))
        s[0].append(r["steps"] * cpu / 3600)
        s[1].append(r["recognised"])
    title = f"tiny Latte, batch 128 (recogniser: {doc['info']['recogniser_real_test']:.1f} % on real test)"
    line = f"CPU: {cpu:.3f} s/step at batch 128; GPU ({doc['info']['device']}): {doc['info']['s_per_step']['tiny']:.4f} s/step"
    return series, title, line


def checkpoints_table(name: str = "full_syn_checkpoints.json") -> tuple[list[str], list[list], dict, int]:
    """Full syn by Latte checkpoint, guidance and sampler steps: the table, the guidance sweep's series (at the
    most common step count) and that step count."""
    doc = _read(name)
    header = ["Latte", "CFG", "sampler steps", "recognised %", "Fréchet to real test", "Full syn top-1 (5 runs)",
              "CPU s / 1,000 videos"]
    body = [[r["label"], f"{r['guidance']:g}", r["sampler_steps"], f"{r['recognised']:.1f}", f"{r['frechet_to_real_test']:.1f}",
             f"{r['full_syn_mean']:.2f}±{r['full_syn_std']:.2f}", f"{r['generate_s']:.0f}"] for r in doc["rows"]]
    steps = Counter(r["sampler_steps"] for r in doc["rows"]).most_common(1)[0][0]
    series: dict[str, tuple[list, list, list]] = {}
    for r in doc["rows"]:
        if r["sampler_steps"] == steps:
            s = series.setdefault(r["label"], ([], [], []))
            s[0].append(r["guidance"])
            s[1].append(r["full_syn_mean"])
            s[2].append(r["full_syn_std"])                  # mean ± std over the benchmark's C3D runs
    return header, body, series, steps


def full_syn_findings(eval_csv: str | Path, dataset: str, classifier: str, guidance: float, steps: int,
                      name: str = "full_syn_checkpoints.json") -> list[str]:
    """What limits Full syn, as sentences computed from results (never typed by hand): Full syn against Full real
    from `eval_csv` (notebook 04's rows), and from the checkpoint benchmark the best setting, the recognition
    without guidance, the cost of the sampler steps and of the model size."""
    import csv

    from ..paper import MINIUCF

    out = []
    rows = []
    if Path(eval_csv).is_file():
        with open(eval_csv, newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["dataset"] == dataset and r["method"] == "full"
                    and r["classifier"] == classifier]
    top = {p: [float(r["top1"]) for r in rows if r["pool"] == p] for p in ("real", "synthetic")}
    if top["real"] and top["synthetic"]:
        syn, real = sum(top["synthetic"]) / len(top["synthetic"]), sum(top["real"]) / len(top["real"])
        paper = MINIUCF[("full", 0, "synthetic")]["top1"][0] / MINIUCF[("full", 0, "real")]["top1"][0]
        out.append(f"Full syn / Full real = {syn / real:.2f} ({syn:.1f} against {real:.1f} % top-1, "
                   f"{len(top['synthetic'])} runs, {eval_csv}); the paper's MiniUCF: {paper:.2f}.")
    else:
        out.append(f"Full syn / Full real: not measured yet ({eval_csv} has no Full rows for {dataset}; "
                   "notebook 04 makes them).")
    doc = _read(name)
    best = max(doc["rows"], key=lambda r: r["full_syn_mean"])
    out.append(f"Best measured setting: {best['label']} at CFG {best['guidance']:g}, {best['sampler_steps']} sampler "
               f"steps: Full syn {best['full_syn_mean']:.1f}±{best['full_syn_std']:.1f} (results/diffusion/{name}).")
    shipped = [r for r in doc["rows"] if "checkpoints/" in r["weights"]]
    no_cfg = [r for r in shipped if r["guidance"] == 1.0]
    if no_cfg:
        out.append(f"Without guidance (CFG 1) the recogniser names the conditioning class of "
                   f"{no_cfg[0]['recognised']:.0f} % of the shipped model's videos; at CFG "
                   f"{best['guidance']:g}, {best['recognised']:.0f} %.")
    same = {r["sampler_steps"]: r for r in shipped if r["guidance"] == guidance}
    if steps in same and len(same) > 1:
        other = max(k for k in same if k != steps)
        a, b = same[steps], same[other]
        out.append(f"{steps} sampler steps at CFG {guidance:g}: Full syn {a['full_syn_mean']:.1f}±{a['full_syn_std']:.1f} "
                   f"in {a['generate_s'] / b['generate_s']:.2f}× the CPU time of {other} steps "
                   f"({b['full_syn_mean']:.1f}±{b['full_syn_std']:.1f}).")
    pairs = [(r, t) for r in shipped for t in doc["rows"] if t is not r and t["label"] != r["label"]
             and (t["guidance"], t["sampler_steps"]) == (r["guidance"], r["sampler_steps"])]
    if pairs:
        r, t = pairs[0]
        out.append(f"Sampling cost of {r['label']} ({r['params_M']:.1f} M parameters) against {t['label']} "
                   f"({t['params_M']:.1f} M) at CFG {r['guidance']:g}: {r['generate_s'] / t['generate_s']:.1f}× "
                   "(guidance doubles either: two passes per step).")
    return out


def guidance_sweep(name: str = "full_syn_vs_guidance.json") -> tuple[list[str], list[list], dict]:
    """The earlier guidance sweep on the `tiny` model: table and series (recognised, Full syn against CFG)."""
    rows = _read(name)["rows"]
    header = ["CFG", "recognised %", "Fréchet to real test", "Full syn top-1 (50/class, 1 seed)"]
    body = [[f"{r['guidance']:g}", f"{r['recognised']:.1f}", f"{r['frechet_to_real_test']:.1f}", f"{r['full_syn_top1']:.1f}"]
            for r in rows]
    g = [r["guidance"] for r in rows]
    return header, body, {"recognised (%)": (g, [r["recognised"] for r in rows]),
                          "Full syn top-1 (%)": (g, [r["full_syn_top1"] for r in rows])}


def model_sizes(name: str = "curve_gpu_sizes_fullsyn.json") -> tuple[list[str], list[list], dict]:
    """Recognition and Full syn by model size against training steps: table and series."""
    rows = _read(name)["rows"]
    header = ["size", "steps", "CFG", "recognised %", "Full syn top-1 %"]
    body = [[r["size"], r["steps"], f"{r['guidance']:g}", f"{r['recognised']:.1f}", f"{r['full_syn_top1']:.1f}"]
            for r in rows]
    series: dict[str, tuple[list, list]] = {}
    for r in rows:
        for key, metric in (("recognised", "recognised"), ("Full syn", "full_syn_top1")):
            s = series.setdefault(f"{r['size']} CFG {r['guidance']:g} {key}", ([], []))
            s[0].append(r["steps"])
            s[1].append(r[metric])
    return header, body, series
