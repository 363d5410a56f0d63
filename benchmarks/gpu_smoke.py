"""Paper-profile smoke on one GPU: each stage of a `paper_*` profile at full size, for a few steps.

No weights or data are needed (none can be downloaded here): the models have the paper's
shapes with random weights and the inputs are random videos / latents of the paper's
shapes. What is measured is speed and memory, through the same functions the notebooks use:

1. Latte-XL/2 fine-tuning steps in bf16 through `vddlib.diffusion.train_latte` (Accelerate,
   EMA, checkpoint), at the profile's batch;
2. one generation batch with the profile's sampler and guidance (steps capped by --gen-steps,
   so the report also gives the time per denoising step), decoded by an SD-VAE-shaped VAE;
3. one selection: VideoMAE-v2 ViT-g embeddings of one class's N_c videos, TAC-DT on them,
   and a VST-UNet training on two classes of N_c latent videos;
4. a few C3D training steps at 112² and its test throughput.

    python benchmarks/gpu_smoke.py --profile paper_ucf101 --out results/gpu_smoke
    python benchmarks/gpu_smoke.py --tiny --device cpu --out /tmp/smoke   # a CPU check of the script itself

Writes <out>.json and <out>.md. Each part is timed separately; a part that fails records its
error and the others still run.
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
import traceback
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch


def _sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def _peak(dev) -> float | None:
    return round(torch.cuda.max_memory_allocated() / 2**30, 2) if dev.type == "cuda" else None


def _reset(dev):
    if dev.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="paper_ucf101")
    ap.add_argument("--out", default="results/gpu_smoke")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--latte-steps", type=int, default=12)
    ap.add_argument("--gen-batch", type=int, default=16)
    ap.add_argument("--gen-steps", type=int, default=50)
    ap.add_argument("--vst-epochs", type=int, default=5)
    ap.add_argument("--c3d-steps", type=int, default=20)
    ap.add_argument("--work", default="artifacts/gpu_smoke")
    ap.add_argument("--tiny", action="store_true", help="shrink every model (a CPU check of this script)")
    ap.add_argument("--only", nargs="*", default=None, help="run only these parts (names as in the report)")
    a = ap.parse_args()

    from vddlib.profile import load_profile
    from vddlib.data.videoset import VideoSet
    from vddlib.diffusion.train import train_latte
    from vddlib.selection.embeddings import build_videomae, videomae_features, videomae_v2_giant_config, VideoMAETrainConfig
    from vddlib.evaluation.train import evaluate_runs
    from vddlib.diffusion.generate import GenerateConfig, sample_latents
    from vddlib.models.autoencoder import build_sd_vae_shape, build_small_vae, decode_latents
    from vddlib.experiments.plan import plan
    from vddlib.selection import select
    from vddlib.selection.vst import train_vst_unet

    dev = torch.device(a.device)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    prof = load_profile(a.profile)
    p = plan(prof)
    K, (T, C, h, _) = p["classes"], p["latent"]
    size, nc = p["diffusion_clip"][2], prof.generate.per_class
    ev_frames, ev_size = p["evaluator"]["input"][1], p["evaluator"]["input"][2]
    # one step more than is run, and no checkpoint: writing XL/2's 11 GB of state is not what is measured
    latte_cfg = replace(prof.diffusion.latte, steps=a.latte_steps + 1, checkpoint_every=a.latte_steps + 1)
    c3d_cfg = replace(prof.evaluation.train, min_steps=a.c3d_steps, max_steps=a.c3d_steps)
    vst_cfg = replace(prof.selection.vst_unet, epochs=a.vst_epochs)
    if a.tiny:
        K, T, h, size, nc, ev_frames, ev_size = 4, 4, 4, 32, 12, 4, 32
        latte_cfg = replace(latte_cfg, size="tiny", batch_size=4, mixed_precision="no")
        c3d_cfg = replace(c3d_cfg, model={"widths": [8, 8, 8], "convs_per_block": [1, 1, 1], "fc": 16}, batch_size=8)
        vst_cfg = replace(vst_cfg, widths=(8, 8), embed_dim=8)
    res = {"profile": prof.name, "device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu",
           "torch": torch.__version__, "plan": {k: p[k] for k in ("classes", "latent", "latte", "vae_params_M",
                                                                  "videomae", "evaluator", "pool_videos", "sampler")},
           "parts": {}}
    work = Path(a.work)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def save():
        out.with_suffix(".json").write_text(json.dumps(res, indent=2))
        out.with_suffix(".md").write_text(render(res))

    def part(name):
        def wrap(fn):
            if a.only and name not in a.only:
                return
            _reset(dev)
            t0 = time.perf_counter()
            try:
                r = fn() or {}
                _sync(dev)
                res["parts"][name] = {"ok": True, "wall_s": round(time.perf_counter() - t0, 2), **r,
                                      "peak_GiB": _peak(dev)}
            except Exception as e:                      # noqa: BLE001 - record and go on to the next part
                res["parts"][name] = {"ok": False, "error": f"{type(e).__name__}: {e}",
                                      "trace": traceback.format_exc()[-2000:]}
            print(name, json.dumps(res["parts"][name])[:600], flush=True)
            save()
        return wrap

    state = {}

    @part("latte_finetune")
    def _():
        g = torch.Generator().manual_seed(0)
        n = 4 * latte_cfg.batch_size
        lat, lab = torch.randn(n, T, C, h, h, generator=g), torch.randint(0, K, (n,), generator=g)
        run = work / "latte"
        if run.exists():
            shutil.rmtree(run)
        r = train_latte(lat, lab, K, latte_cfg, run, stop_after=a.latte_steps, progress=False)
        return {"size": latte_cfg.size, "batch": latte_cfg.batch_size, "mixed_precision": latte_cfg.mixed_precision,
                "steps": r["steps_run"], "mean_step_s": round(r["seconds"] / r["steps_run"], 4),
                "videos_per_s": round(latte_cfg.batch_size * r["steps_run"] / r["seconds"], 2),
                "loss_first_last": [round(r["losses"][0], 4), round(r["losses"][-1], 4)],
                "params_M": p["latte"]["params_M"] if not a.tiny else None}

    @part("generate_batch")
    def _():
        # a fresh model of the profile's shape (the fine-tuned weights are not saved above); same compute
        from vddlib.diffusion.train import build_latte

        torch.manual_seed(0)
        model = build_latte(K, T, h, C, latte_cfg).to(dev).eval()
        steps = min(prof.generate.steps, a.gen_steps)
        cfg = GenerateConfig(per_class=1, guidance_scale=prof.generate.guidance_scale, sampler=prof.generate.sampler,
                             steps=steps)
        labels = torch.arange(a.gen_batch) % K
        amp = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda")
        with amp:
            _sync(dev)
            t0 = time.perf_counter()
            z = sample_latents(model, labels, list(range(a.gen_batch)), cfg, dev)
            _sync(dev)
        sample_s = time.perf_counter() - t0
        del model
        vae = (build_small_vae() if a.tiny else build_sd_vae_shape()).to(dev).eval()
        with amp:
            t0 = time.perf_counter()
            vids = decode_latents(vae, z, batch_frames=32)
            _sync(dev)
        decode_s = time.perf_counter() - t0
        state["videos"] = vids
        per_step_video = sample_s / (steps * a.gen_batch)
        full = prof.generate.steps * per_step_video * p["pool_videos"] + decode_s / a.gen_batch * p["pool_videos"]
        return {"sampler": cfg.sampler, "steps": steps, "profile_steps": prof.generate.steps, "cfg": cfg.guidance_scale,
                "batch": a.gen_batch, "sample_s": round(sample_s, 2), "s_per_step_per_video": round(per_step_video, 5),
                "decode_s": round(decode_s, 2), "video_shape": list(vids.shape[1:]),
                "pool_hours_one_gpu_at_profile_steps": round(full / 3600, 2)}

    @part("videomae_embed_and_tac_dt")
    def _():
        g = torch.Generator().manual_seed(1)
        base = state.get("videos")
        vids = (base[torch.randint(0, len(base), (nc,), generator=g)] if base is not None
                else torch.randint(0, 256, (nc, T * 2, 3, size, size), dtype=torch.uint8, generator=g))
        from transformers import VideoMAEForVideoClassification

        if a.tiny:
            mae = build_videomae(K, vids.shape[1], vids.shape[-1], VideoMAETrainConfig(hidden_size=32, layers=1, heads=2))
        else:
            mae = VideoMAEForVideoClassification(videomae_v2_giant_config(K))
        mae = mae.to(dev, torch.bfloat16 if dev.type == "cuda" else torch.float32).eval()
        _sync(dev)
        t0 = time.perf_counter()
        emb, _ = videomae_features(mae, vids, batch_size=16)
        _sync(dev)
        embed_s = time.perf_counter() - t0
        del mae
        labels = torch.zeros(nc, dtype=torch.long)
        e = emb.numpy().astype(np.float64)
        e = e + 1e-3 * np.random.default_rng(0).standard_normal(e.shape)   # random weights give near-identical rows
        t0 = time.perf_counter()
        sel = select("tac_dt", labels, 10, seed=0, num_classes=1, embeddings=e)
        tac_s = time.perf_counter() - t0
        return {"videos": nc, "embedding_dim": int(emb.shape[1]), "embed_s": round(embed_s, 2),
                "videos_per_s": round(nc / embed_s, 2), "tac_dt_vpc10_s": round(tac_s, 3), "selected": len(sel[0])}

    @part("vst_unet")
    def _():
        g = torch.Generator().manual_seed(2)
        lat = torch.randn(2 * nc, T, C, h, h, generator=g)
        labels = torch.arange(2).repeat_interleave(nc)
        t0 = time.perf_counter()
        probs = train_vst_unet(lat, labels, 5, vst_cfg, seed=0, num_classes=2, device=dev)
        _sync(dev)
        s = time.perf_counter() - t0
        return {"classes": 2, "videos_per_class": nc, "epochs": vst_cfg.epochs, "widths": list(vst_cfg.widths),
                "seconds": round(s, 2), "s_per_class_epoch": round(s / (2 * vst_cfg.epochs), 3),
                "probs_sum_per_class": [round(float(probs[labels == c].sum()), 4) for c in range(2)]}

    @part("c3d")
    def _():
        g = torch.Generator().manual_seed(3)
        n_train = 4 * c3d_cfg.batch_size if not a.tiny else 16
        mk = lambda n: VideoSet(torch.randint(0, 256, (n, ev_frames, 3, ev_size, ev_size), dtype=torch.uint8,
                                              generator=g), torch.arange(n) % K, [str(i) for i in range(K)])
        train, test = mk(n_train), mk(256 if not a.tiny else 16)
        (r,) = evaluate_runs(train, test, c3d_cfg, [0], progress=False, device=dev)
        return {"input": [3, ev_frames, ev_size, ev_size], "batch": min(c3d_cfg.batch_size, n_train),
                "steps": c3d_cfg.min_steps, "train_s": r["train_s"],
                "train_videos_per_s": round(c3d_cfg.min_steps * min(c3d_cfg.batch_size, n_train) / r["train_s"], 1)}

    save()
    if work.exists():
        shutil.rmtree(work)


def render(res: dict) -> str:
    lines = [f"# Paper-profile smoke on {res['device']} ({res['profile']}, torch {res['torch']})", "",
             "Written by `benchmarks/gpu_smoke.py`: the paper's model shapes with random weights and random "
             "inputs (no weights or data exist on the lent machine), so the figures are speed and memory, "
             "not quality.", "",
             f"Plan: {json.dumps(res['plan'])}", "", "| part | ok | wall s | peak GiB | figures |", "|---|---|---|---|---|"]
    for name, r in res["parts"].items():
        figs = {k: v for k, v in r.items() if k not in ("ok", "wall_s", "peak_GiB", "error", "trace")}
        lines.append(f"| {name} | {'yes' if r['ok'] else 'no: ' + r.get('error', '')[:200]} | {r.get('wall_s', '')} | "
                     f"{r.get('peak_GiB', '')} | {json.dumps(figs)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
