"""Host memory of encoding Latte's train split: the split collected in memory at once against shard by shard.

    .venv/bin/python benchmarks/stream_encode_memory.py        # → results/stream_encode_memory.{csv,md}

A real-format dataset (vddlib.data.tiny's UCF101 layout, 3 classes × `--per-class` videos) is read at the paper
profile's diffusion clip, 16 frames at 256² (3 MiB a video), and encoded by the small autoencoder. Each way runs in a
fresh process: peak resident memory above what the process held just before the encoding call (imports, the
autoencoder, the listing), from the kernel's high-water mark (VmHWM, reset through /proc/self/clear_refs). The same
latents come out either way (their sha1 is in the table).

  collected     `encode_training_split(vae, stream.collect(), ...)`: the split in memory, as finetune did
  by shard      `encode_training_split(vae, stream, ..., shards_dir=...)`: one shard of `--shard` videos at a time,
                each shard's latents kept, the latent file written a shard at a time and mapped (what finetune
                does now)
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._child import run_child, write_results  # noqa: E402

CHILD = r"""
import hashlib, json, sys, time
from pathlib import Path
import torch
from vddlib.data.real import stream_real
from vddlib.data.video_io import ClipSpec
from vddlib.diffusion.latents import encode_training_split
from vddlib.models.autoencoder import build_small_vae

root, work, mode, shard, frames = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
torch.manual_seed(0)
vae = build_small_vae().eval()
stream = stream_real("ucf101", root, "train", ClipSpec(frames=16, gap=1, resize=(341, 256), crop=256),
                     cache_dir=None, shard_size=shard, workers=1)

reset_peak()                                      # the high-water mark: what is resident now
before = kib("VmRSS")
t0 = time.perf_counter()
if mode == "collected":
    lat = encode_training_split(vae, stream.collect(), work / "lat.safetensors", batch_frames=frames)
else:
    lat = encode_training_split(vae, stream, work / "lat.safetensors", batch_frames=frames,
                               shards_dir=work / "shards")
seconds = time.perf_counter() - t0
print(json.dumps({"peak_mib": (kib("VmHWM") - before) / 1024, "seconds": seconds, "videos": len(lat["labels"]),
                  "latents_mib": lat["latents"].nbytes / 2**20,
                  "latents_sha1": hashlib.sha1(lat["latents"].numpy().tobytes()).hexdigest()[:12]}))
"""

COLS = ["way", "videos", "shard", "batch_frames", "split_mib", "latents_mib", "peak_mib_above_start", "seconds",
        "latents_sha1"]


def main(argv=None) -> None:
    from vddlib.data.tiny import write_tiny

    ap = argparse.ArgumentParser()
    ap.add_argument("--per-class", type=int, default=48, help="train videos per class (3 classes)")
    ap.add_argument("--shard", type=int, default=16, help="videos per shard")
    ap.add_argument("--batch-frames", type=int, default=4, help="frames per autoencoder call (small: the autoencoder's "
                    "own activations at 256² would hide the split's memory)")
    ap.add_argument("--out", default=str(ROOT / "results" / "stream_encode_memory"))
    a = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = write_tiny(Path(tmp) / "ucf101", "ucf101", train_per_class=a.per_class, test_per_class=1,
                          faults=False)["root"]
        for way in ("collected", "by shard"):
            work = Path(tmp) / way.replace(" ", "_")
            work.mkdir()
            args = [str(root), str(work), way, str(a.shard), str(a.batch_frames)]
            m = run_child(CHILD, args)
            split_mib = m["videos"] * 16 * 3 * 256 * 256 / 2**20
            rows.append([way, m["videos"], a.shard if way == "by shard" else "-", a.batch_frames, round(split_mib, 1),
                         round(m["latents_mib"], 1), round(m["peak_mib"], 1), round(m["seconds"], 1),
                         m["latents_sha1"]])
            print(rows[-1], flush=True)
    write_results(a.out, COLS, rows, "stream_encode_memory.py",
                  "Torch's default threads. Latte's train split at the paper's diffusion clip (16 × 256²) encoded by "
                  "the small autoencoder: peak resident memory above the process's just before the call. The split's "
                  "frames and its latents are given for scale; the same latents come out either way.")

if __name__ == "__main__":
    main()
