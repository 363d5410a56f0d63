"""Decoding one clip: only the frames it needs (`decode_clip`: seek, stop after its last frame) against decoding
every frame and picking (what the loaders did before), on videos shaped like each dataset's.

Writes results/decode_clip.{csv,md}; rows are kept per CPU.

    python benchmarks/decode_clip.py
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from vddlib.data.video_io import ClipSpec, decode_clip, decode_frames, frame_indices, write_video
from vddlib.evaluation.results import keep_other_rows, write_table
from vddlib.hardware import cpu_label

# (name, codec, container, frames, width, height, fps, options): UCF101/HMDB51 (XviD AVI, 320×240, 25 fps, ~7 s),
# Kinetics-400 (H.264 MP4, 340×256 as commonly resized, 30 fps, 10 s), SSv2 (VP9 WebM, 427×240, 12 fps, ~4 s)
KINDS = [("UCF101-like", "mpeg4", "avi", 175, 320, 240, 25, None),
         ("Kinetics-400-like", "libx264", "mp4", 300, 340, 256, 30, {"movflags": "faststart"}),
         ("SSv2-like", "libvpx-vp9", "webm", 48, 428, 240, 12, None)]


def frames(n: int, w: int, h: int) -> np.ndarray:
    """A textured scene panning and a square moving: compresses like real footage, unlike noise."""
    rng = np.random.default_rng(0)
    scene = (rng.integers(0, 256, (h // 8 + 1, (w + 2 * n) // 8 + 1, 3)).repeat(8, 0).repeat(8, 1)).astype(np.uint8)
    out = np.stack([scene[:h, 2 * t:2 * t + w] for t in range(n)])
    for t in range(n):
        y, x = (t * 3) % (h - 32), (t * 5) % (w - 32)
        out[t, y:y + 32, x:x + 32] = 255
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default="results/decode_clip")
    a = ap.parse_args()
    spec = ClipSpec()                                    # the protocol: 16 frames, gap 4, 160×120, crop 112
    body = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, codec, ext, n, w, h, fps, opts in KINDS:
            path = Path(tmp) / f"v.{ext}"
            write_video(path, frames(n, w, h), codec, fps=fps, options=opts)
            t_clip, t_all = [], []
            for _ in range(a.repeats):
                t0 = time.perf_counter()
                clip = decode_clip(path, spec).frames
                t_clip.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                every = decode_frames(path, spec.resize)
                picked = every[frame_indices(len(every), spec.frames, spec.gap)]
                t_all.append(time.perf_counter() - t0)
            top, left = (picked.shape[1] - spec.crop) // 2, (picked.shape[2] - spec.crop) // 2
            same = np.array_equal(clip, picked[:, top:top + spec.crop, left:left + spec.crop].transpose(0, 3, 1, 2))
            body.append([cpu_label(), name, f"{codec}/{ext}", n, f"{w}x{h}", f"{np.median(t_all) * 1000:.1f}",
                         f"{np.median(t_clip) * 1000:.1f}", f"{np.median(t_all) / np.median(t_clip):.1f}", same])
    header = ["cpu", "video", "codec", "frames", "size", "every frame (ms)", "clip only (ms)", "speed-up", "same clip"]
    print(write_table(a.out, header, keep_other_rows(a.out, header, body),
                      preamble="One 16-frame clip (gap 4, centre start, 160×120 then a 112² crop) decoded from one "
                               "video: every frame decoded and the clip picked, against `decode_clip`. Median of "
                               f"{a.repeats}. `python benchmarks/decode_clip.py`\n\n"))


if __name__ == "__main__":
    main()
