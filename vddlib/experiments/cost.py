"""What each stage costs (notebook 06, Table 7): wall time, FLOPs, peak memory, and how selection scales.

- **Wall time** comes from the run itself: papermill records each cell's duration in the
  executed notebooks, and cells that run a stage carry a `stage-*` tag; selection and
  evaluation seconds per (method, VPC) come from the manifests and `results/eval_runs.csv`.
- **FLOPs** are counted with PyTorch's `FlopCounterMode` on one step of each model at the
  profile's shapes, times the number of such steps the stage runs (matrix products and
  convolutions; element-wise work is not counted, as is usual).
- **Peak memory** is a fresh process's peak RSS (`ru_maxrss`) while it runs one unit of the
  stage on the CPU, or `torch.cuda.max_memory_allocated` on a GPU.
- **Scaling**: selection time of every method against N_c and against the number of
  classes, on random inputs of the profile's shapes, with the slope of a log-log fit.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode


# ----------------------------------------------------------------------------- wall time
def stage_seconds(notebooks: list[str | Path]) -> dict[str, float]:
    """Seconds per `stage-*` cell tag (summed) and per notebook (`notebook:<name>`), from papermill's metadata."""
    out: dict[str, float] = {}
    for path in notebooks:
        path = Path(path)
        if not path.is_file():
            continue
        nb = json.loads(path.read_text())
        total = nb.get("metadata", {}).get("papermill", {}).get("duration")
        if total is not None:
            out[f"notebook:{path.stem}"] = float(total)
        for cell in nb["cells"]:
            dur = cell.get("metadata", {}).get("papermill", {}).get("duration")
            for tag in cell.get("metadata", {}).get("tags", []):
                if tag.startswith("stage-") and dur is not None:
                    out[tag] = out.get(tag, 0.0) + float(dur)
    return out


# ----------------------------------------------------------------------------- FLOPs
def count_flops(fn) -> int:
    """FLOPs of running `fn()` once (forward, and backward if `fn` calls it)."""
    with FlopCounterMode(display=False) as fc:
        fn()
    return int(fc.get_total_flops())


@dataclass
class StageFlops:
    stage: str
    unit: str              # what one counted unit is
    unit_flops: int
    units: float           # how many units the stage runs
    @property
    def total(self) -> float:
        return self.unit_flops * self.units


def stage_flops(prof, latte_steps: int, n_train: int, n_test: int, grid: dict[int, int],
                full_runs: int) -> list[StageFlops]:
    """FLOPs per stage of the default pipeline at the shapes of `prof` (every stage's settings, a
    `vddlib.profile.Profile`).

    latte_steps: Latte training steps behind the weights used; n_train / n_test: real split sizes;
    grid: {vpc: evaluator runs at that VPC}; full_runs: runs of Full real + Full syn.
    """
    from .plan import RunModels

    torch.manual_seed(0)
    m = RunModels(prof)
    return [*_diffusion_flops(m, prof.diffusion, prof.generate, latte_steps),
            *_selection_flops(m, prof.selection, prof.generate.per_class, prof.evaluation),
            *_evaluation_flops(m, prof.evaluation.train, n_train, n_test, grid, full_runs)]


def _diffusion_flops(m, d, g, latte_steps: int) -> list[StageFlops]:
    """Latte's training steps, the autoencoder's, and generating the pool (sampler steps with CFG, decode)."""
    from ..diffusion.train import diffusion_loss, make_scheduler

    K, T, S, h = m.classes, m.frames, m.size, m.h
    vae, latte, sch = m.small_vae(), m.latte(), make_scheduler()
    gen = torch.Generator().manual_seed(0)
    B = d.latte.batch_size
    b0 = min(B, 8)            # Latte's FLOPs are linear in the batch (attention stays within a video): count 8, scale
    z, y = m.latents(b0), torch.randint(0, K, (b0,))
    latte_step = count_flops(lambda: diffusion_loss(latte, sch, z, y, gen).backward())
    v = torch.rand(1, T, 3, S, S)
    vae_step = count_flops(lambda: vae(v.flatten(0, 1) * 2 - 1).sample.mean().backward())
    one = m.latents(1)
    with torch.no_grad():
        per_eval = count_flops(lambda: latte.forward_with_cfg(one, torch.tensor(500), torch.tensor([0]),
                                                              g.guidance_scale))
        dec = count_flops(lambda: vae.decode(torch.randn(T, m.channels, h, h)))
    return [StageFlops("diffusion fine-tune (Latte)", f"step, batch {B}", latte_step * B // b0, latte_steps),
            StageFlops("diffusion fine-tune (autoencoder)", f"step, batch {d.vae_batch} frames",
                       vae_step * d.vae_batch // T, d.vae_steps),
            StageFlops("generate pool", f"video ({g.steps} sampler steps with CFG, decode)", per_eval * g.steps + dec,
                       K * g.per_class)]


def _selection_flops(m, sel, per_class: int, ev) -> list[StageFlops]:
    """The small VideoMAE's training steps and pool embeddings (at the diffusion clip), and VST-UNet's epochs."""
    K, T, S = m.classes, m.frames, m.size
    mae = m.videomae(T, S)
    xb = torch.randn(sel.videomae.batch_size, T, 3, S, S)
    mae_step = count_flops(lambda: F.cross_entropy(mae(pixel_values=xb).logits,
                                                   torch.zeros(len(xb), dtype=torch.long)).backward())
    with torch.no_grad():
        emb1 = count_flops(lambda: mae(pixel_values=torch.randn(1, T, 3, S, S)))
    net, zz = m.vst_unet(), m.latents(per_class)             # each class's whole pool is one input

    def vst_step():
        s, logits, e = net(zz)
        (s.sum() + logits.sum() + e.sum()).backward()
    return [StageFlops("embed (VideoMAE training)", f"step, batch {sel.videomae.batch_size}", mae_step,
                       sel.videomae.steps),
            StageFlops("embed (pool embeddings)", "video", emb1, K * per_class),
            StageFlops("select (VST-UNet training)", f"epoch ({K} classes × {per_class} videos; at most)",
                       count_flops(vst_step) * K, sel.vst_unet.epochs * len(ev.vpcs) * ev.runs)]


def _evaluation_flops(m, tc, n_train: int, n_test: int, grid: dict[int, int], full_runs: int) -> list[StageFlops]:
    """The evaluators' trainings at each VPC of `grid` and on the whole sets, and their test passes."""
    K, T, S = m.classes, m.frames, m.size
    c3d, out = m.evaluator(T, S), []
    for vpc, runs in sorted(grid.items()):
        n = vpc * K
        bs = min(tc.batch_size, n)
        xb = torch.randn(bs, 3, T, S, S)
        step = count_flops(lambda: F.cross_entropy(c3d(xb), torch.zeros(bs, dtype=torch.long)).backward())
        out.append(StageFlops(f"evaluate (VPC {vpc})", f"run: {tc.steps_for(n)} steps of batch {bs}",
                              step * tc.steps_for(n), runs))
    with torch.no_grad():
        test_f = count_flops(lambda: c3d(torch.randn(1, 3, T, S, S))) * n_test
    bs = tc.batch_size
    xb = torch.randn(bs, 3, T, S, S)
    full = count_flops(lambda: F.cross_entropy(c3d(xb), torch.zeros(bs, dtype=torch.long)).backward())
    out.append(StageFlops("evaluate (Full real / Full syn)", f"run: {tc.steps_for(n_train)} steps of batch {bs}",
                          full * tc.steps_for(n_train), full_runs))
    out.append(StageFlops("evaluate (test passes)", f"pass over {n_test} test videos", test_f,
                          sum(grid.values()) + full_runs))
    return out


# ----------------------------------------------------------------------------- peak memory
_UNITS = ("latte_train", "generate", "videomae_train", "vst_network", "evaluator")


def _run_unit(prof, unit: str) -> float:
    """One unit of a stage at the shapes of `prof` (a `vddlib.profile.Profile`), in this process (called by
    `peak_memory` in a fresh one). Returns MiB to add to the unit's measured peak for what it leaves out (0 unless
    said below)."""
    from ..diffusion.generate import GenerateConfig, sample_latents
    from ..diffusion.train import diffusion_loss, make_scheduler
    from ..models.autoencoder import decode_latents
    from ..selection.vst import train_vst_unet
    from .plan import RunModels

    m = RunModels(prof)
    K, T, S = m.classes, m.frames, m.size
    d, g, sel, ev = prof.diffusion, prof.generate, prof.selection, prof.evaluation
    if unit == "latte_train":
        net = m.latte()
        opt = torch.optim.AdamW(net.parameters())
        diffusion_loss(net, make_scheduler(), m.latents(d.latte.batch_size),
                       torch.randint(0, K, (d.latte.batch_size,)), torch.Generator().manual_seed(0)).backward()
        opt.step()
        # One step, not two (a batch-512 step is 17 s here). A later step also holds, through its forward pass,
        # the gradients and AdamW's two moments, all allocated by now: at most 3 × the parameters' bytes more.
        return 3 * sum(p.numel() * p.element_size() for p in net.parameters()) / 2 ** 20
    elif unit == "generate":
        net = m.latte().eval()
        cfg = GenerateConfig(per_class=1, guidance_scale=g.guidance_scale, sampler=g.sampler, steps=2)
        z = sample_latents(net, torch.arange(g.batch_size) % K, list(range(g.batch_size)), cfg)
        with torch.no_grad():
            decode_latents(m.small_vae(), z)
    elif unit == "videomae_train":
        x = torch.randn(sel.videomae.batch_size, T, 3, S, S)
        F.cross_entropy(m.videomae(T, S)(pixel_values=x).logits, torch.zeros(len(x), dtype=torch.long)).backward()
    elif unit == "vst_network":
        n = K * g.per_class
        train_vst_unet(m.latents(n), torch.arange(K).repeat_interleave(g.per_class),
                       min(prof.ablation.vpc, g.per_class),
                       replace(sel.vst_unet, epochs=2), seed=0, num_classes=K)
    elif unit == "evaluator":
        bs = ev.train.batch_size
        F.cross_entropy(m.evaluator(T, S)(torch.randn(bs, 3, T, S, S)), torch.zeros(bs, dtype=torch.long)).backward()
    else:
        raise ValueError(f"unknown unit {unit!r}; one of {_UNITS}")
    return 0.0


def peak_memory(profile: str, units=_UNITS, workers: int | None = None) -> dict[str, dict[str, float]]:
    """Memory (MiB) of a fresh Python process running one unit of each stage on the CPU: its RSS after the
    imports (`base`) and its peak RSS while the unit runs (`peak`; the kernel's high-water mark, reset after
    the imports so that their transient use does not hide the unit's).

    Each unit is its own process, so `workers` of them (default: one per CPU core) run at once without
    touching each other's figures; only the wall time changes.
    """
    from concurrent.futures import ThreadPoolExecutor

    code = ("import sys; from vddlib.experiments.cost import _run_unit, _rss; from vddlib.profile import load_profile\n"
            "base = _rss('VmRSS'); open('/proc/self/clear_refs', 'w').write('5')\n"
            "extra = _run_unit(load_profile(sys.argv[1]), sys.argv[2]); print(base, _rss('VmHWM') + extra)")

    def one(u: str) -> tuple[float, float]:
        r = subprocess.run([sys.executable, "-c", code, profile, u], capture_output=True, text=True, timeout=600)
        if r.returncode:
            raise RuntimeError(f"peak-memory run of {u!r} failed:\n{r.stderr[-2000:]}")
        base, peak = map(float, r.stdout.strip().splitlines()[-1].split())
        return base, peak

    units = list(units)
    with ThreadPoolExecutor(max_workers=max(1, workers or os.cpu_count() or 1)) as ex:
        results = list(ex.map(one, units))
    return {u: {"base": b, "peak": p} for u, (b, p) in zip(units, results)}


def _rss(field: str) -> float:
    """A memory field of /proc/self/status (VmRSS, VmHWM) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


# ----------------------------------------------------------------------------- scaling of selection
def selection_scaling(prof, n_cs=(100, 250, 500, 1000), classes=(10, 20, 40, 80), vpc: int | None = None,
                      base_classes: int = 10, base_nc: int = 100, methods=None, progress: bool = True) -> list[dict]:
    """Seconds of each method on random inputs of the shapes of `prof` (a `vddlib.profile.Profile`): against N_c (at `base_classes`)
    and against the number of classes (at `base_nc`). One row per (method, axis, value); the point both
    axes share is timed once. A selector with a `timing` hook (VST-UNet: its epoch budget from a few epochs) is timed
    on the shortened run the hook gives and scaled by its factor. `vpc`: the
    profile's one-VPC setting (`ablation.vpc`) unless given, at most the smallest N_c timed."""
    from ..logs import bar

    from ..selection import select
    from ..selection.embeddings import VIDEOMAE_V2_GIANT
    from ..selection.registry import get
    from .plan import latent_shape

    T, C, h = latent_shape(prof.dataset, prof.diffusion)
    D = VIDEOMAE_V2_GIANT["hidden_size"] if prof.selection.videomae_path else prof.selection.videomae.hidden_size
    methods = list(methods or prof.selection.methods)
    vpc = min(vpc or prof.ablation.vpc, *n_cs, base_nc)
    jobs = [("n_c", n, base_classes) for n in n_cs] + [("classes", k, base_nc) for k in classes]
    rows, seen = [], {}
    for axis, value, other in bar(jobs, desc="selection scaling", show=progress):
        K, nc = (base_classes, value) if axis == "n_c" else (value, other)
        if (K, nc) in seen:                              # the shared point: the same inputs, timed once
            rows += [{**r, "axis": axis, "value": value} for r in seen[(K, nc)]]
            continue
        rng = np.random.default_rng(0)
        labels = np.repeat(np.arange(K), nc)
        inputs = {"embeddings": rng.normal(size=(len(labels), D)).astype(np.float32),
                  "scores": rng.dirichlet(np.ones(K), size=len(labels)),
                  "teacher": rng.dirichlet(np.ones(K), size=len(labels)),
                  "latents": torch.randn(len(labels), T, C, h, h, generator=torch.Generator().manual_seed(0))}
        here = []
        for m in methods:
            st, scale = get(m).timed(prof.selection.settings(m))
            t0 = time.perf_counter()
            select(m, labels, vpc, seed=0, num_classes=K, **inputs, **st)
            here.append({"method": m, "axis": axis, "value": value, "classes": K, "n_c": nc,
                         "seconds": (time.perf_counter() - t0) * scale})
        seen[(K, nc)] = here
        rows += here
    return rows


def loglog_slope(x, y, floor: float = 1e-3) -> float:
    """Slope of log y against log x (least squares); times under `floor` s are clipped to it
    (they are timer noise), so a method that costs nothing has slope ~0."""
    x, y = np.log(np.asarray(x, float)), np.log(np.maximum(np.asarray(y, float), floor))
    return float(np.polyfit(x, y, 1)[0])


# ----------------------------------------------------------------------------- Table 7 and the cost tables
def evaluator_seconds(results_csv: str | Path, dataset: str, classifier: str, runs: int) -> dict[tuple, list[float]]:
    """Training seconds of each evaluator run, by (pool, method, VPC), from results/eval_runs.csv (seeds < runs)."""
    from ..evaluation.results import read_runs

    ev: dict[tuple, list[float]] = {}
    for r in read_runs(results_csv):
        if r["dataset"] == dataset and r["classifier"] == classifier and r["seed"] < runs:
            ev.setdefault((r["pool"], r["method"], r["vpc"]), []).append(r["train_s"])
    return ev


def shipped_latte_log(d) -> np.ndarray | None:
    """The shipped Latte's training log (step, loss, seconds) when the diffusion settings `d` use it, else None."""
    if not d.shipped or d.retrain:
        return None
    return np.loadtxt(Path(d.shipped) / "latte_train_log.csv", delimiter=",", ndmin=2)


def table7_rows(prof, secs: dict[str, float], ev: dict[tuple, list[float]], pool_name: str,
                notebooks) -> tuple[list[list], list[dict]]:
    """Table 7's rows (stage, VPC, seconds, what) from what the run recorded: the notebooks' stage timings
    (`stage_seconds`), the selection manifests and the evaluators' training seconds (`evaluator_seconds`); and
    per (method, VPC) the select and evaluate seconds summed over the runs, as the paper's Table 7 does. `prof`:
    the run's settings, every stage's (a `vddlib.profile.Profile`): the table accounts for them all."""
    from ..data.selections import manifest_path

    ds, runs = prof.dataset.name, prof.evaluation.runs
    rows = []
    log = shipped_latte_log(prof.diffusion)
    if log is not None:
        seg_ends = np.append(log[np.flatnonzero(np.diff(log[:, 2]) < 0), 2], log[-1, 2])   # one segment per resume
        lt = prof.diffusion.latte                                       # measured by benchmarks/diffusion_curve.py
        cpu_step = json.loads(Path(f"results/diffusion/cpu_step_time_{lt.size}_bs{lt.batch_size}/step_time.json")
                              .read_text())["s_per_step"][lt.size]
        rows.append(["diffusion fine-tune (shipped Latte, GPU)", "-", f"{seg_ends.sum():.0f}",
                     f"{len(log)} steps on the GPU of checkpoints/{ds}/TRAINING.md; "
                     f"≈ {len(log) * cpu_step / 3600:.1f} h on this CPU at {cpu_step:.3f} s/step"])
    rows.append(["diffusion fine-tune (notebook 01)", "-", f"{secs.get('stage-finetune', float('nan')):.0f}",
                 "autoencoder + Latte (shipped: copy, encode, short real training)"])
    rows.append(["generate pool", "-", f"{secs.get('stage-generate', float('nan')):.0f}",
                 f"{prof.generate.per_class} videos per class, {prof.generate.sampler} {prof.generate.steps} steps"])
    rows.append(["embed (VideoMAE)", "-", f"{secs.get('stage-embed', float('nan')):.0f}",
                 "embedder training (if any) + pool embeddings"])
    vm_info = Path(prof.selection.videomae_shipped or "-") / "vddlib_train_info.json"
    if vm_info.is_file():                 # the embedder 03 copied instead of training (when its data and settings match)
        rows.append(["embedder training (shipped VideoMAE, CPU)", "-", f"{json.loads(vm_info.read_text())['seconds']:.0f}",
                     f"{prof.selection.videomae.steps} steps on the real train split, once, by the same function; "
                     f"{prof.selection.videomae_shipped}"])
    for label, key in (("evaluate Full real", ("real", "full", 0)), ("evaluate Full syn", ("synthetic", "full", 0))):
        if key in ev:
            rows.append([label, "all", f"{sum(ev[key]):.0f}", f"{len(ev[key])} runs"])
    by_method = []
    for m in prof.selection.methods:
        for v in prof.evaluation.vpcs:
            sel_s = [json.loads(p.read_text())["seconds"] for s in range(runs)
                     if (p := manifest_path(prof.selection.manifests, ds, pool_name, m, v, s)).is_file()]
            ev_s = ev.get(("synthetic", m, v), [])
            if sel_s or ev_s:
                by_method.append({"method": m, "vpc": v, "select_s": sum(sel_s), "evaluate_s": sum(ev_s),
                                  "runs": max(len(sel_s), len(ev_s))})
                rows.append([f"{m} (select + evaluate)", v, f"{sum(sel_s) + sum(ev_s):.0f}",
                             f"select {sum(sel_s):.1f} s + evaluate {sum(ev_s):.1f} s over {len(ev_s)} runs"])
    for nb in notebooks:
        if f"notebook:{Path(nb).stem}" in secs:
            rows.append([f"notebook {Path(nb).stem} (whole)", "-", f"{secs[f'notebook:{Path(nb).stem}']:.0f}",
                         "papermill wall time"])
    return rows, by_method


_UNIT_OF = {"diffusion fine-tune (Latte)": "latte_train", "generate pool": "generate",
            "embed (VideoMAE training)": "videomae_train", "select (VST-UNet training)": "vst_network",
            "evaluate": "evaluator"}
FLOPS_HEADER = ["stage", "unit", "GFLOP per unit", "units", "TFLOP", "peak RSS MiB"]


def flops_memory_rows(prof, profile: str, ev: dict[tuple, list[float]], n_train: int, n_test: int
                      ) -> tuple[list[list], float]:
    """FLOPs (`stage_flops`, with the evaluator runs the results record) and peak memory (`peak_memory`) per
    stage as table rows, and the pipeline's total TFLOP."""
    vpcs = prof.evaluation.vpcs
    grid_runs = {v: sum(len(s) for (p, m, vv), s in ev.items() if p == "synthetic" and m != "full" and vv == v)
                 for v in vpcs}
    full_runs = sum(len(ev.get(k, [])) for k in (("real", "full", 0), ("synthetic", "full", 0)))
    log = shipped_latte_log(prof.diffusion)
    latte_steps = len(log) if log is not None else prof.diffusion.latte.steps
    fl = stage_flops(prof, latte_steps, n_train, n_test, grid_runs, full_runs)
    mem = peak_memory(profile)
    body = []
    for s in fl:
        u = _UNIT_OF.get(s.stage.split(" (VPC")[0])          # every evaluate (VPC k) row: the evaluator's peak
        body.append([s.stage, s.unit, f"{s.unit_flops / 1e9:.2f}", f"{s.units:g}", f"{s.total / 1e12:.2f}",
                     f"{mem[u]['peak']:.0f} ({mem[u]['base']:.0f} after imports)" if u else "-"])
    return body, sum(s.total for s in fl) / 1e12


def scaling_series(rows: list[dict], methods, axis: str) -> tuple[dict, dict[str, float]]:
    """Per method, (values, seconds) along one axis of `selection_scaling` for a log-log plot (times floored at
    1 ms), and each method's log-log slope."""
    series, slopes = {}, {}
    for m in methods:
        pts = sorted((r["value"], r["seconds"]) for r in rows if r["method"] == m and r["axis"] == axis)
        x, y = [p[0] for p in pts], [p[1] for p in pts]
        slopes[m] = loglog_slope(x, y)
        series[f"{m} (slope {slopes[m]:.2f})"] = (x, np.maximum(y, 1e-3))
    return series, slopes
