"""Command line for `accelerate launch`: train Latte on a latent file on one or many processes.

    accelerate launch --num_processes 8 -m vddlib.cli.train_latte \\
        --latents artifacts/latents/train.safetensors --out artifacts/latte/run --config params/latte.json

The latent file holds `latents` (N, T, C, h, w) and `labels` (N,) of the training split
(written by notebooks/01_finetune.ipynb), with `split` = train in its metadata.
"""
from __future__ import annotations

import argparse
import json

from safetensors import safe_open
from safetensors.torch import load_file

from vddlib.diffusion.train import LatteTrainConfig, train_latte


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--latents", required=True, help="safetensors file with latents and labels of the train split")
    ap.add_argument("--out", required=True, help="run folder (checkpoints, weights, log); a rerun resumes it")
    ap.add_argument("--config", help="JSON of LatteTrainConfig fields")
    ap.add_argument("--init-from", default=None, help="our saved model folder or an original Latte .pt")
    ap.add_argument("--stop-after", type=int, default=None, help="end early at this step (as a kill would)")
    a = ap.parse_args(argv)
    cfg = LatteTrainConfig(**(json.load(open(a.config)) if a.config else {}))
    with safe_open(a.latents, framework="pt") as f:
        meta = f.metadata() or {}
    if meta.get("split") != "train":
        raise SystemExit(f"{a.latents} holds split {meta.get('split')!r}; the diffusion model trains on the train split only.")
    t = load_file(a.latents)
    train_latte(t["latents"], t["labels"], int(meta["num_classes"]), cfg, a.out, init_from=a.init_from,
                stop_after=a.stop_after)


if __name__ == "__main__":
    main()
