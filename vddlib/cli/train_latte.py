"""Command line for `accelerate launch`: train Latte on a latent file on one or many processes.

    accelerate launch --multi_gpu --num_processes 8 -m vddlib.cli.train_latte \\
        --latents artifacts/diffusion/<dataset>/train_latents.safetensors --out artifacts/latte/run --config latte.json

The latent file holds `latents` (N, T, C, h, w) and `labels` (N,) of the training split
(written by notebooks/01_finetune.ipynb), with `split` = train in its metadata. Notebook 01 runs this itself
when the profile's `diffusion.processes` is above 1 (`vddlib.diffusion.train.launch_train_latte`).
"""
from __future__ import annotations

import argparse
import json

from safetensors import safe_open
from safetensors.torch import load_file

from vddlib.diffusion.train import LatteTrainConfig, close_accelerator, make_accelerator, train_latte
from vddlib.hardware import DEVICES, resolve_device


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--latents", required=True, help="safetensors file with latents and labels of the train split")
    ap.add_argument("--out", required=True, help="run folder (checkpoints, weights, log); a rerun resumes it")
    ap.add_argument("--config", help="JSON of LatteTrainConfig fields")
    ap.add_argument("--init-from", default=None, help="our saved model folder or an original Latte .pt")
    ap.add_argument("--stop-after", type=int, default=None, help="end early at this step (as a kill would)")
    ap.add_argument("--device", default="auto", choices=DEVICES, help="auto: one GPU per process where there are GPUs")
    a = ap.parse_args(argv)
    cfg = LatteTrainConfig(**(json.load(open(a.config)) if a.config else {}))
    with safe_open(a.latents, framework="pt") as f:
        meta = f.metadata() or {}
    if meta.get("split") != "train":
        raise SystemExit(f"{a.latents} holds split {meta.get('split')!r}; the diffusion model trains on the train split only.")
    t = load_file(a.latents)
    acc = make_accelerator(cfg.mixed_precision, cpu=resolve_device(a.device, "--device").type == "cpu")
    names = json.loads(meta["class_names"]) if meta.get("class_names") else None
    train_latte(t["latents"], t["labels"], int(meta["num_classes"]), cfg, a.out, init_from=a.init_from,
                stop_after=a.stop_after, accelerator=acc, class_names=names)
    close_accelerator(acc)


if __name__ == "__main__":
    main()
