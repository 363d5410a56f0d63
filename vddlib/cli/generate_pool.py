"""Command line for `accelerate launch`: generate a pool on several processes, one per GPU.

    accelerate launch --multi_gpu --num_processes 8 -m vddlib.cli.generate_pool artifacts/pools/<dataset>/<pool>/launch.json

`vddlib.diffusion.generate.launch_pool` writes the launch file (the weights folder, the class names, the
GenerateConfig, the pool folder) and runs this; `vddlib generate` and notebook 02 call it when the profile's
`generate.processes` is above 1. Each process generates every `processes`-th shard; shards finished earlier are
kept, and rank 0 writes the manifest once all shards exist.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from vddlib.diffusion.generate import GenerateConfig, generate_pool
from vddlib.diffusion.stage import load_diffusion
from vddlib.diffusion.train import close_accelerator, make_accelerator
from vddlib.hardware import resolve_device


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("spec", help="the launch.json that launch_pool writes into the pool folder")
    a = ap.parse_args(argv)
    doc = json.loads(Path(a.spec).read_text())
    cfg = GenerateConfig(**doc["config"])
    acc = make_accelerator(cpu=resolve_device(cfg.device, "generate.device").type == "cpu")
    vae, latte = load_diffusion(doc["weights"])
    generate_pool(latte, vae, doc["class_names"], cfg, doc["out_dir"], accelerator=acc, settings=doc["settings"],
                  progress=acc.is_main_process)
    if acc.is_main_process:
        print(f"pool {doc['out_dir']} on {acc.num_processes} process(es) ({acc.device})", flush=True)
    close_accelerator(acc)


if __name__ == "__main__":
    main()
