"""Feasibility curve of the diffusion stage on digits-motion: recognition of generated videos vs training.

For each Latte size, train on the autoencoder latents of the train split and, at each
milestone, generate `--per-class` videos per class at several guidance scales and ask
the Full-real evaluator (C3D, default profile) what class each shows. Also records the
autoencoder's test PSNR, the evaluator's accuracy on decoded test videos, and seconds
per training step on this device (so a curve in steps measured on a GPU converts to CPU
minutes with the CPU's s/step: `--time-steps-only` measures just that, quickly).

    python benchmarks/diffusion_curve.py --out results/diffusion_curve        # CPU or GPU
    python benchmarks/diffusion_curve.py --time-steps-only --out results/diffusion_step_time
    python benchmarks/diffusion_curve.py --sizes small --per-class 100 --full-syn ...   # + Full syn per milestone
    python benchmarks/diffusion_curve.py --vae checkpoints/digits-motion/vae --sizes small --guidance \
        --milestones 2000 4000 ... --export $OUT --tag small_bs512     # train only; EMA weights out at each milestone
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from vddlib.data.datasets import load_dataset
from vddlib.profile import load_profile
from vddlib.diffusion.train import LatteTrainConfig, train_latte
from vddlib.evaluation.train import predict_proba, train_evaluator
from vddlib.diffusion.generate import GenerateConfig, sample_latents
from vddlib.models.autoencoder import (SmallVAEConfig, build_small_vae, decode_latents, encode_videos,
                                       fit_latent_stats, psnr, train_vae)
from vddlib.models.latte import LATTE_SIZES, LatteClassConditional


def time_latte_steps(size: str, latents, labels, device, steps: int = 20, batch: int = 64) -> float:
    m = LatteClassConditional(sample_size=latents.shape[3], num_frames=latents.shape[1], in_channels=latents.shape[2],
                              num_classes=10, learn_sigma=False, **LATTE_SIZES[size]).to(device).train()
    opt = torch.optim.AdamW(m.parameters(), 3e-4)
    from vddlib.diffusion.train import diffusion_loss, make_scheduler
    sch = make_scheduler()
    g = torch.Generator().manual_seed(0)
    for i in range(steps + 3):
        if i == 3:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
        idx = torch.randint(0, len(latents), (batch,), generator=g)
        loss = diffusion_loss(m, sch, latents[idx].to(device), labels[idx].to(device), g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t) / steps


def train_only(a, vae, train, device, info: dict, work: Path) -> None:
    """Train each size through the milestones, exporting the EMA weights after each one (no sampling)."""
    import shutil

    from vddlib.data.hashing import data_hash

    lat = encode_videos(vae.to(device), train.videos.to(device) if device.type == "cuda" else train.videos).cpu()
    vae.cpu()
    info["data_hash"] = data_hash(train)
    export = Path(a.export) if a.export else None
    for size in a.sizes:
        run = work / f"latte_{size}"
        for ms in a.milestones:
            cfg = LatteTrainConfig(size=size, steps=ms, batch_size=a.batch, lr=a.lr, ema_decay=a.ema,
                                   learn_sigma=False, checkpoint_every=1000, keep_checkpoints=1)
            r = train_latte(lat, train.labels, train.num_classes, cfg, run, progress=False)
            log = (run / "train_log.csv").read_text()
            print(json.dumps({"size": size, "steps": ms, "seconds": r["seconds"],
                              "loss_last_100": sum(r["losses"][-100:]) / max(1, len(r["losses"][-100:]))}), flush=True)
            if export:
                export.mkdir(parents=True, exist_ok=True)
                tag = a.tag if len(a.sizes) == 1 else f"{a.tag}_{size}"
                tmp = export / f".{tag}.tmp"
                shutil.copyfile(run / "latte_ema" / "diffusion_pytorch_model.safetensors", tmp)
                os.replace(tmp, export / f"{tag}.safetensors")
                meta = {"info": info, "size": size, "steps": ms, "batch": a.batch, "lr": a.lr, "ema": a.ema,
                        "config": json.loads((run / "latte_ema" / "config.json").read_text()),
                        "train_log_csv": log}
                (export / f".{tag}.json").write_text(json.dumps(meta))
                os.replace(export / f".{tag}.json", export / f"{tag}.json")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="results/diffusion_curve")
    ap.add_argument("--sizes", nargs="+", default=["tiny", "small"])
    ap.add_argument("--milestones", nargs="+", type=int, default=[500, 1000, 2000, 4000, 8000])
    ap.add_argument("--guidance", nargs="*", type=float, default=[1.0, 3.0, 6.0],
                    help="guidance scales to sample at each milestone; none: train only (no recogniser either)")
    ap.add_argument("--per-class", type=int, default=20)
    ap.add_argument("--vae-steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--work", default="artifacts/diffusion_curve")
    ap.add_argument("--time-steps-only", action="store_true")
    ap.add_argument("--vae", default="",
                    help="a trained autoencoder folder (e.g. checkpoints/digits-motion/vae, the pipeline's own) "
                         "instead of training one here")
    ap.add_argument("--full-syn", action="store_true",
                    help="also train the default C3D on each milestone's generated videos (per class × classes) "
                         "and test it on the real test split (seed 0): Full syn along the curve")
    ap.add_argument("--export", default="",
                    help="at each milestone copy the EMA weights to EXPORT/TAG.safetensors and the run's "
                         "settings and loss log to EXPORT/TAG.json (the latest milestone wins)")
    ap.add_argument("--tag", default="latte")
    ap.add_argument("--timing-steps", type=int, default=20, help="steps timed by --time-steps-only (after 3 warm-up)")
    a = ap.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    out, work = Path(a.out), Path(a.work)
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    prof = load_profile("default")
    splits = load_dataset(prof.dataset)
    train, test = splits["train"], splits["test"]
    info = {"device": torch.cuda.get_device_name() if device.type == "cuda" else f"CPU x{os.cpu_count()}",
            "torch": torch.__version__, "threads": torch.get_num_threads()}

    if a.time_steps_only:
        lat = torch.randn(len(train), train.frames, 4, 8, 8)
        info["batch"] = a.batch
        info["s_per_step"] = {s: time_latte_steps(s, lat, train.labels, device, steps=a.timing_steps, batch=a.batch)
                              for s in a.sizes}
        import resource
        info["peak_rss_MiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if device.type == "cuda":
            info["peak_gpu_GiB"] = torch.cuda.max_memory_allocated() / 2**30
        (out / "step_time.json").write_text(json.dumps(info, indent=2))
        print(json.dumps(info, indent=2))
        return

    # 1. autoencoder
    t0 = time.perf_counter()
    if a.vae:
        from vddlib.models.autoencoder import load_vae

        vae = load_vae(a.vae)
        info["vae"] = a.vae
    else:
        vae = build_small_vae(SmallVAEConfig()).to(device)
        train_vae(vae, train.videos.to(device) if device.type == "cuda" else train.videos, a.vae_steps,
                  batch_size=64, lr=1e-3, progress=False)
        vae.cpu()
        fit_latent_stats(vae, train.videos)
    info["vae_seconds"] = time.perf_counter() - t0
    rec = decode_latents(vae, encode_videos(vae, test.videos))
    info["vae_test_psnr"] = psnr(rec, test.videos)
    vae.save_pretrained(work / "vae")

    # 2. the Full-real recogniser, and how it sees decoded test videos
    if not a.guidance:
        train_only(a, vae, train, device, info, work)
        return
    cfg_eval = prof.evaluation.train
    rec_model = train_evaluator(train, cfg_eval, seed=0, device=device)
    acc = lambda vids, labels: float((predict_proba(rec_model, vids).argmax(1) == labels).float().mean() * 100)
    info["recogniser_real_test"] = acc(test.videos, test.labels)
    info["recogniser_decoded_test"] = acc(rec, test.labels)
    print(json.dumps(info, indent=2), flush=True)

    # 3. Latte curves
    lat = encode_videos(vae.to(device), train.videos.to(device) if device.type == "cuda" else train.videos).cpu()
    vae.cpu()
    rows = []
    for size in a.sizes:
        run = work / f"latte_{size}"
        for ms in a.milestones:
            cfg = LatteTrainConfig(size=size, steps=ms, batch_size=a.batch, lr=a.lr, ema_decay=a.ema,
                                   learn_sigma=False, checkpoint_every=10**9, keep_checkpoints=1)
            r = train_latte(lat, train.labels, train.num_classes, cfg, run, progress=False)
            model = LatteClassConditional.from_pretrained(run / "latte_ema").to(device)
            for w in a.guidance:
                g = GenerateConfig(per_class=a.per_class, guidance_scale=w, sampler="dpmsolver++", steps=20, seed=1)
                labels = torch.arange(10).repeat_interleave(a.per_class)
                z = sample_latents(model, labels, list(range(len(labels))), g, device)
                vids = decode_latents(vae, z)
                row = {"size": size, "steps": ms, "guidance": w, "recognised": acc(vids, labels),
                       "train_s": r["seconds"]}
                if a.full_syn:
                    from vddlib.data.videoset import VideoSet
                    from vddlib.evaluation.train import evaluate_runs

                    (run_,) = evaluate_runs(VideoSet(vids, labels, train.class_names), test, cfg_eval, [0],
                                            progress=False, device=device)
                    row["full_syn_top1"] = run_["top1"]
                rows.append(row)
                print(rows[-1], flush=True)
                (out / "curve.json").write_text(json.dumps({"info": info, "rows": rows}, indent=2))
    info["s_per_step"] = {s: time_latte_steps(s, lat, train.labels, device, batch=a.batch) for s in a.sizes}
    (out / "curve.json").write_text(json.dumps({"info": info, "rows": rows}, indent=2))
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
