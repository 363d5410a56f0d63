"""Latte training and sampling throughput, each switch on and off: step time, videos/s, TFLOP/s, MFU, peak memory.

    python benchmarks/latte_throughput.py                    # a GPU: Latte-XL/2 at the paper's latent shape
    python benchmarks/latte_throughput.py --smoke            # CPU: the tiny model, to check the script runs

On a GPU image that has torch (2.11 or newer) but not diffusers, which is pure Python, carry it as a zip:
`cd <site-packages> && zip -qr diffusers.zip diffusers -x '*__pycache__*'`, then `PYTHONPATH=diffusers.zip:.`
(checked with torch 2.11, huggingface_hub 1.33 and accelerate 1.15: --smoke and tests/benchmarks/test_throughput.py).

Random weights and latents of the paper's shape (16 frames × 4 × 32 × 32, 101 classes): speed does
not depend on the weights. FLOPs are counted by PyTorch (benchmarks/throughput.py); MFU is
against the chip's dense bf16 peak. Training settings, in the order they run (the issue's goal
first, so a call cut short keeps the rows that matter most):

  compile+ckpt   bf16 autocast, fused AdamW/EMA, checkpointing 24 of 28 blocks, compiled blocks (the paper profile)
  ckpt           ... without compilation
  compile+ckpt-20  ... 20 of 28 blocks checkpointed (est. 35.9 GiB at batch 16 compiled, results/latte_memory.md)
  compile+ckpt-all  ... every block checkpointed
  compile        ... without checkpointing (memory-bound at larger batches)
  fused          bf16, fused updates, nothing else
  eager          bf16 autocast only: how training ran before these switches

A batch that does not fit is a row marked OOM; a row that fails otherwise records the error and the next one
runs. The issue's goal rows run first (compile+ckpt training at batch 16, compiled sampling at the largest
batch, decoding), then the rest in the order above; `--budget-s` starts no row after that many seconds.
Sampling: DPM-Solver++ with batched CFG (guidance 7), bf16, compiled blocks on and off, and the GPU-hours for the
101 × 100 pool at 250 steps (the paper's DDPM) and at the fast solver's steps. Decoding: the SD autoencoder
(random weights) turning 256 latent frames into 256² frames as the pool does (bf16 autocast, uint8 back on the
host), in the default layout and channels-last, then resampled to the evaluators' 112² on the host (`--resize`), as
the pool does while the GPU waits. The pool's hours are the fastest sampling row's plus the fastest decoding row's
(resizing included).
Rows are written after each measurement to `<out>.csv/.md`; rows of other devices are kept. The .md's head checks
issue 21's goal (`GOAL`) against this run's rows: met, missed, or why a figure is missing.
"""
from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.throughput import (latte_flops, measure_decoding, measure_sampling,  # noqa: E402
                                   measure_training, vae_decode_flops)
from vddlib.diffusion.train import LatteTrainConfig  # noqa: E402
from vddlib.evaluation.results import keep_other_rows, write_table  # noqa: E402
from vddlib.models.autoencoder import SD_VAE_CONFIG, build_small_vae  # noqa: E402
from vddlib.models.latte import LATTE_SIZES  # noqa: E402

SETTINGS = {                       # ckpt: the paper profile's 24 of 28 blocks; ckpt-all: every block
    "compile+ckpt": dict(fused="yes", gradient_checkpointing=True, checkpoint_ratio=0.86, compile=True),
    "ckpt": dict(fused="yes", gradient_checkpointing=True, checkpoint_ratio=0.86),
    "compile+ckpt-20": dict(fused="yes", gradient_checkpointing=True, checkpoint_ratio=0.71, compile=True),
    "compile+ckpt-all": dict(fused="yes", gradient_checkpointing=True, compile=True),
    "compile": dict(fused="yes", compile=True),
    "fused": dict(fused="yes"),
    "eager": dict(fused="no"),
}
# (setting, batches): every batch for the paper profile's setting, the batches that tell each switch's worth for
# the rest; about 7 minutes on an H100-class GPU. --settings / --batches ask for a full cross product instead.
GRID = [("compile+ckpt", [8, 16, 32, 64]), ("ckpt", [16, 32]), ("compile+ckpt-20", [16]), ("compile+ckpt-all", [16, 64]),
        ("compile", [8, 16]),
        ("fused", [16]), ("eager", [8, 16])]
# Issue 21's goal: the paper profile's setting at batch 16, and the whole pool
GOAL = {"setting": "compile+ckpt", "batch": 16, "mfu_pct": 40.0, "peak_gib": 40.0, "pool_hours": 2.0}
TRAIN_COLS = ["device", "part", "setting", "batch", "step_s", "videos_per_s", "tflops", "mfu_pct", "peak_gib",
              "attention", "note"]


def _fmt(x, nd=3):
    return "-" if x is None else round(x, nd) if isinstance(x, float) else x


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true", help="CPU, the tiny model at a small shape, 1 step per row")
    ap.add_argument("--size", default="XL/2")
    ap.add_argument("--batches", type=int, nargs="+", help="these batches for every setting (default: GRID's)")
    ap.add_argument("--settings", nargs="+", choices=list(SETTINGS))
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--sample-batches", type=int, nargs="+", default=[32, 128])
    ap.add_argument("--fast-steps", type=int, default=25, help="the fast solver's steps, for the pool's GPU-hours")
    ap.add_argument("--decode-frames", type=int, default=256, help="latent frames per autoencoder call (the pool's)")
    ap.add_argument("--resize", type=int, default=112, help="the pool's frames are resampled to this size on the host "
                    "(the paper profiles' evaluator clip), timed with decoding; 0: not")
    ap.add_argument("--attention", default="auto")
    ap.add_argument("--budget-s", type=float, default=0, help="start no row after this many seconds (0: no limit)")
    ap.add_argument("--out", default="", help="default: results/latte_throughput (GPU), a temp folder (--smoke)")
    a = ap.parse_args(argv)
    device = "cpu" if a.smoke else "cuda"
    a.out = a.out or ("/tmp/latte_throughput_smoke" if a.smoke else "results/latte_throughput")
    grid = ([(name, a.batches or [8, 16, 32, 64]) for name in a.settings] if a.settings else
            [(name, a.batches or batches) for name, batches in GRID])
    if a.smoke:
        a.size, a.steps, a.warmup, a.sample_batches, a.decode_frames = "tiny", 1, 1, a.sample_batches[:1], 8
        a.resize = min(a.resize, 16)
        grid = [(name, batches[:1]) for name, batches in grid]
        shape = dict(sample_size=8, num_frames=4)
        vae = {k: v for k, v in dict(build_small_vae().config).items() if not k.startswith("_")}
    else:
        if not torch.cuda.is_available():
            raise SystemExit("no GPU: run with --smoke on a CPU")
        torch.backends.cuda.matmul.allow_tf32 = True
        shape = dict(sample_size=32, num_frames=16)
        vae = dict(SD_VAE_CONFIG)
    model = dict(in_channels=4, num_classes=101, learn_sigma=True, **shape, **LATTE_SIZES[a.size])
    train = [("train", name, batch) for name, batches in grid for batch in batches]
    sample = [("sample", compile_, batch) for compile_ in (True, False) for batch in sorted(a.sample_batches)[::-1]]
    decode = [("decode", layout, a.decode_frames) for layout in (False, True)]
    goal = [job for job in train if job[1:] == (GOAL["setting"], GOAL["batch"])][:1] + sample[:1] + decode[:1]
    jobs = goal + [job for job in train + sample + decode if job not in goal]
    rows, pool, t_start = [], {"sample": [], "decode": []}, time.perf_counter()
    for part, setting, batch in jobs:
        if a.budget_s and time.perf_counter() - t_start > a.budget_s:
            print(f"budget of {a.budget_s:.0f} s spent: {part} {setting} {batch} and the rows after it not run")
            break
        try:
            if part == "train":
                rows.append(_train_row(a, model, setting, batch, device))
            else:
                row, hours = (_sample_row(a, model, setting, batch, device) if part == "sample" else
                              _decode_row(a, vae, model, setting, batch, device))
                rows.append(row)
                pool[part].append(hours)
        except Exception as e:          # OOM or a failed kernel: a row saying so, and the next row runs
            oom = isinstance(e, torch.OutOfMemoryError)
            name = setting if part == "train" else _layout(part, setting)
            rows.append([_device_name(device), part, name, batch, "-", "-", "-", "-", "-", a.attention,
                         "OOM" if oom else f"error: {type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''}"])
        _free()
        print(rows[-1], flush=True)
        _write(a, rows, model, vae, pool, t_start)


def _train_row(a, model: dict, name: str, batch: int, device: str) -> list:
    cfg = LatteTrainConfig(size=a.size, mixed_precision="no" if a.smoke else "bf16", attention=a.attention,
                           **SETTINGS[name])
    r = measure_training(model, cfg, batch, steps=a.steps, warmup=a.warmup, device=device)
    return [r["device"], "train", name, batch, _fmt(r["step_s"]), _fmt(r["videos_per_s"], 2), _fmt(r["tflops"], 1),
            _fmt(r["mfu"] and 100 * r["mfu"], 1), _fmt(r["peak_gib"], 1), r["attention"], ""]


def _sample_row(a, model: dict, compile_: bool, batch: int, device: str) -> list:
    r = measure_sampling(model, batch, steps=2 if a.smoke else 5, guidance_scale=7.0,
                         precision="no" if a.smoke else "bf16", attention=a.attention, compile=compile_,
                         device=device, pool_steps=a.fast_steps)
    return [r["device"], "sample", _layout("sample", compile_), batch,
            _fmt(r["s_per_step_per_video"] * batch, 4), _fmt(1 / r["s_per_step_per_video"], 1), _fmt(r["tflops"], 1),
            _fmt(r["mfu"] and 100 * r["mfu"], 1), _fmt(r["peak_gib"], 1), r["attention"],
            f"pool {_fmt(r['pool_gpu_hours'] * 250 / a.fast_steps, 2)} {device.upper()}-h at 250 steps, "
            f"{_fmt(r['pool_gpu_hours'], 2)} at {a.fast_steps}"], r["pool_gpu_hours"]


def _decode_row(a, vae: dict, model: dict, channels_last: bool, frames: int, device: str) -> tuple[list, float]:
    r = measure_decoding(vae, model["sample_size"], batch_frames=frames, reps=1 if a.smoke else 2,
                         precision="no" if a.smoke else "bf16", device=device, channels_last=channels_last,
                         frames_per_video=model["num_frames"], resize_to=a.resize)
    resize = (f" (resizing to {a.resize}² on the host: {_fmt(r['resize_s_per_video'] * 1000, 1)} ms/video of it)"
              if a.resize else "")
    return [r["device"], "decode", _layout("decode", channels_last), frames,
            _fmt(r["s_per_video"] * frames / model["num_frames"], 4), _fmt(1 / r["s_per_video"], 1),
            _fmt(r["tflops"], 1), _fmt(r["mfu"] and 100 * r["mfu"], 1), _fmt(r["peak_gib"], 1), "-",
            f"pool {_fmt(r['pool_gpu_hours'], 2)} {device.upper()}-h to decode{resize}"], r["pool_gpu_hours"]


def _layout(part: str, switch: bool) -> str:
    """A sampling or decoding row's setting: compiled blocks (sampling), channels-last weights (decoding)."""
    return ("compile" if part == "sample" else "channels_last") if switch else "eager"


def _device_name(device: str) -> str:
    return torch.cuda.get_device_name() if device == "cuda" else "cpu"


def _free() -> None:
    # compiled blocks are kept: a new model of the same shapes reuses them (weights are graph inputs), so only the
    # first row of a block shape and batch pays for compilation, in its warm-up steps
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def goal_text(rows: list, pool_hours: float | None, stand_in: str = "") -> str:
    """The goal checked against this run's rows: MFU and peak memory of the goal setting at its batch, the pool's
    hours (sampling + decoding); a figure this run did not measure says so. `stand_in`: what this run measured
    instead of Latte-XL/2 on a GPU (the smoke), said first so its verdicts are not read as the goal's."""
    row = next((r for r in rows if r[1:4] == ["train", GOAL["setting"], GOAL["batch"]]), None)
    row = dict(zip(TRAIN_COLS, row)) if row else {}

    missing = (f"not measured ({row['note']})" if row.get("note") else "not measured on this device") if row \
        else "no row in this run"

    def check(name: str, value, goal: float, unit: str, at_most: bool, absent: str = missing) -> str:
        if not isinstance(value, (int, float)):
            return f"{name} {absent}"
        met = value <= goal if at_most else value >= goal
        return f"{name} {value:g}{unit} ({'met' if met else 'missed'}: {'≤' if at_most else '≥'} {goal:g}{unit})"

    return (f"**Goal** (`{GOAL['setting']}` at batch {GOAL['batch']}, and the pool"
            + (f"; this run measured {stand_in}, not Latte-XL/2 on a GPU" if stand_in else "") + "): "
            + "; ".join([check("MFU", row.get("mfu_pct"), GOAL["mfu_pct"], " %", False),
                         check("peak", row.get("peak_gib"), GOAL["peak_gib"], " GiB", True),
                         check("pool", None if pool_hours is None else round(pool_hours, 2), GOAL["pool_hours"],
                               " h", True, "not measured (no sampling or no decoding row)")]) + ".\n\n")


def _write(a, rows, model, vae, pool, t_start) -> None:
    body = keep_other_rows(a.out, TRAIN_COLS, rows)
    unit = "GPU" if torch.cuda.is_available() and not a.smoke else "CPU"
    hours = {part: min(h) for part, h in pool.items() if h}
    total = (f"**Pool of 101 × 100 videos at {a.fast_steps} steps on this {unit}: {hours.get('sample', 0):.2f} h "
             f"sampling + {hours.get('decode', 0):.2f} h decoding = {sum(hours.values()):.2f} {unit}-hours** "
             "(fastest rows of this run).\n\n" if len(hours) == 2 else "")
    pre = (f"Written by `python benchmarks/latte_throughput.py {' '.join(sys.argv[1:])}` ({time.perf_counter() - t_start:.0f} s; "
           f"torch {torch.__version__}). Latte-{a.size}, latents {model['num_frames']}×4×{model['sample_size']}², "
           f"{latte_flops(model, train=True) / 1e12:.3g} TFLOP per video trained and "
           f"{latte_flops(model, guidance=True) / 1e12:.3g} per video and sampler step with CFG, "
           f"{vae_decode_flops(vae, model['sample_size'], model['num_frames']) / 1e12:.3g} to decode a video "
           "(counted). "
           "Train rows: one optimisation step (bf16 autocast, fp32 master weights); `videos_per_s` trained. Sample rows: "
           "`step_s` is one DPM-Solver++ step of the batch with CFG; `videos_per_s` is video-steps per second. "
           "Decode rows: `step_s` is one autoencoder call on `batch` frames; `videos_per_s` is videos decoded; the "
           "pool's hours add the host's resizing to the evaluators' clip (the GPU waits for it). "
           "MFU: model FLOPs against the dense bf16 peak (recomputation not counted). "
           "Settings: the script's docstring.\n\n"
           + total + goal_text(rows, sum(hours.values()) if len(hours) == 2 else None,
                                 "" if unit == "GPU" and a.size == "XL/2" else f"Latte-{a.size} on the {unit}"))
    write_table(a.out, TRAIN_COLS, body, pre)


if __name__ == "__main__":
    main()
