"""Kills: a Latte training and a pool generation killed (SIGKILL) at a random point in a subprocess, then rerun,
give exactly the artefacts of an uninterrupted run, with no step or video lost or doubled."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from vddlib.config import REPO_ROOT
from vddlib.diffusion.train import read_train_log
from vddlib.models.latte import LatteClassConditional

STEPS = 10
TRAIN = f"""
import sys, torch
from vddlib.diffusion.train import LatteTrainConfig, train_latte
torch.set_num_threads(1)
g = torch.Generator().manual_seed(0)
labels = torch.arange(24) % 3
x = torch.randn(3, 1, 4, 1, 1, generator=g)[labels] + 0.3 * torch.randn(24, 4, 4, 8, 8, generator=g)
cfg = LatteTrainConfig(size="tiny", steps={STEPS}, batch_size=8, checkpoint_every=2, learn_sigma=False, lr=1e-3,
                       ema_decay=0.9)
train_latte(x, labels, 3, cfg, sys.argv[1], progress=False)
"""

GENERATE = """
import sys, torch
from vddlib.diffusion.generate import GenerateConfig, generate_pool
from vddlib.models.autoencoder import load_vae
from vddlib.models.latte import LatteClassConditional
torch.set_num_threads(1)
pair = sys.argv[2]
vae, latte = load_vae(pair + "/vae").eval(), LatteClassConditional.from_pretrained(pair + "/latte").eval()
cfg = GenerateConfig(per_class=4, guidance_scale=2.0, steps=12, batch_size=2, shard_size=2, seed=5, autocast="no")
generate_pool(latte, vae, ["a", "b", "c"], cfg, sys.argv[1], progress=False)
"""


def _run(script: str, *args: str) -> None:
    subprocess.run([sys.executable, "-c", script, *args], check=True, cwd=REPO_ROOT, timeout=600,
                   env={**os.environ, "OMP_NUM_THREADS": "1"})


def _kill_when(script: str, args: list[str], ready, rng: np.random.Generator) -> None:
    """Start `script`, wait until `ready()` (a random point of progress the test chose), let it run a random
    further moment, and SIGKILL it (as a crash or an out-of-memory kill would)."""
    p = subprocess.Popen([sys.executable, "-c", script, *args], cwd=REPO_ROOT,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        t0 = time.time()
        while not ready():
            assert p.poll() is None, "the run ended before the chosen kill point"
            assert time.time() - t0 < 300, "the chosen kill point never came"
            time.sleep(0.01)
        time.sleep(float(rng.uniform(0, 0.05)))
        p.send_signal(signal.SIGKILL)
    finally:
        p.wait()


def test_a_training_killed_at_a_random_step_resumes_to_identical_weights(tmp_path):
    rng = np.random.default_rng(int(time.time()))          # a different kill point on every test run
    step = int(rng.choice(range(2, STEPS - 1, 2)))
    ref, run = tmp_path / "ref", tmp_path / "run"
    _run(TRAIN, str(ref))
    _kill_when(TRAIN, [str(run)], lambda: any((run / "checkpoints").glob(f"step_{step:07d}")), rng)
    assert not (run / "latte_ema").exists(), f"killed after step {step}: the run should not have finished"
    _run(TRAIN, str(run))
    for sub in ("latte", "latte_ema"):
        a = LatteClassConditional.from_pretrained(ref / sub).state_dict()
        b = LatteClassConditional.from_pretrained(run / sub).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), (sub, step)
    log, ref_log = read_train_log(run), read_train_log(ref)
    assert log[:, 0].tolist() == list(range(1, STEPS + 1)), step                 # every step once: none lost, none doubled
    assert np.array_equal(log[:, 1], ref_log[:, 1]), step


def test_a_generation_killed_at_a_random_shard_resumes_to_an_identical_pool(tmp_path):
    from vddlib.models.autoencoder import SmallVAEConfig, build_small_vae

    torch.manual_seed(0)
    pair = tmp_path / "pair"
    build_small_vae(SmallVAEConfig(block_out_channels=(8, 8, 8), norm_num_groups=4)).save_pretrained(pair / "vae")
    latte = LatteClassConditional(sample_size=8, num_frames=4, in_channels=4, num_classes=3, hidden_size=32, depth=2,
                                  num_heads=2, learn_sigma=False)
    with torch.no_grad():
        for p in latte.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    latte.save_pretrained(pair / "latte")
    rng = np.random.default_rng(int(time.time()))
    shard = int(rng.integers(0, 3))       # 6 shards of 2 videos; killed after shard 0-2, so 3 or more are left to kill into
    ref, run = tmp_path / "ref", tmp_path / "run"
    _run(GENERATE, str(ref), str(pair))
    _kill_when(GENERATE, [str(run), str(pair)], lambda: (run / f"shard_{shard:05d}.safetensors").is_file(), rng)
    assert not (run / "manifest.json").exists(), f"killed after shard {shard}: the pool should not be finished"
    _run(GENERATE, str(run), str(pair))
    assert (run / "manifest.json").read_text() == (ref / "manifest.json").read_text()
    doc = json.loads((run / "manifest.json").read_text())
    assert [e["index"] for e in doc["videos"]] == list(range(12))        # every video once
    assert sorted(p.name for p in run.iterdir()) == sorted(p.name for p in ref.iterdir())   # no leftovers
    for name in ("videos.u8", "videos.json", "latents.f16"):            # the assembled pool, byte for byte
        assert (run / name).read_bytes() == (ref / name).read_bytes(), (name, shard)
