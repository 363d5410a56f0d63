"""Tiny real-format datasets: a few clips written with PyAV in each real dataset's own layout and container.

They let the whole pipeline run on real-format files in minutes, on any machine: CI runs
every notebook on one (`tests/test_real_format_chain.py`), and `python -m vddlib.data.tiny
<folder>` writes all four for a user to try a real-dataset profile (`params/tiny_real.yaml`)
before downloading anything. Each class is a square of its own colour moving in its own
direction over noise, so the classes can be learned. One training video is cut short (its
container states more frames than it holds, as an interrupted download) and one is shorter
than the clip, so the loaders' short-clip flags show in every run.

UCF101        UCF-101/<Class>/v_<Class>_gXX_c01.avi (MPEG-4), ucfTrainTestlist/{classInd,trainlist01,testlist01}.txt
HMDB51        hmdb51/<class>/<name>.avi, testTrainMulti_7030_splits/<class>_test_split1.txt (marks 0/1/2)
Kinetics-400  annotations/{train,validate}.csv, {train,val}/<label>/<ytid>_<start>_<end>.mp4 (H.264)
SSv2          labels/{labels,train,validation}.json, 20bn-something-something-v2/<id>.webm (VP9)
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

from .video_io import decode_frames, write_video

LAYOUTS = ("ucf101", "hmdb51", "kinetics400", "ssv2")
CLASS_NAMES = {
    "ucf101": ["ApplyEyeMakeup", "Biking", "YoYo"],
    "hmdb51": ["brush_hair", "cartwheel", "wave"],
    "kinetics400": ["abseiling", "air drumming", "yoga"],
    "ssv2": ["Pushing [something] from left to right", "Putting [something] on a surface",
             "Moving [something] up"],
}
W, H = 64, 48
_MOVES = [(0, 1), (1, 0), (-1, -1), (1, 1), (0, -1)]


def class_frames(c: int, k: int, n: int = 20) -> np.ndarray:
    """Video k of class c: uint8 (n, H, W, 3), a square of the class's colour moving in the class's direction."""
    rng = np.random.default_rng([c, k])
    f = rng.integers(0, 70, (n, H, W, 3), dtype=np.uint8)
    colour = np.array([[230, 60, 60], [60, 230, 60], [60, 60, 230], [230, 230, 60], [60, 230, 230]][c % 5], np.uint8)
    dy, dx = _MOVES[c % len(_MOVES)]
    y0, x0 = int(rng.integers(12, H - 24)), int(rng.integers(12, W - 24))
    for t in range(n):
        y = int(np.clip(y0 + dy * t, 0, H - 12))
        x = int(np.clip(x0 + dx * t * 2, 0, W - 12))
        f[t, y:y + 12, x:x + 12] = colour
    return f


def cut_short(path: Path, at: float = 0.5) -> int:
    """Cut a video file's bytes so that it still opens but holds at most `at` of its frames (a download cut
    short); returns the frames it still holds. The header's share of a tiny file varies by codec, so the cut is
    searched for."""
    data = path.read_bytes()
    n = len(decode_frames(path, (16, 16)))
    for keep in np.linspace(0.95, 0.05, 37):
        path.write_bytes(data[: int(len(data) * keep)])
        try:
            got = len(decode_frames(path, (16, 16)))
        except Exception:
            continue
        if 1 <= got <= at * n:
            return got
    raise RuntimeError(f"{path}: no cut leaves between 1 and {at:.0%} of its {n} frames decodable")


def write_tiny(root: str | Path, layout: str, train_per_class: int = 4, test_per_class: int = 2, frames: int = 20,
               faults: bool = True) -> dict:
    """Write a 3-class dataset in `layout`'s own files under root; returns {"root", "cut", "short"} (the faulty
    training videos, None without `faults`)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}; got {layout!r}")
    root = Path(root)
    names = CLASS_NAMES[layout]
    codec, ext = {"ucf101": ("mpeg4", "avi"), "hmdb51": ("mpeg4", "avi"), "kinetics400": ("libx264", "mp4"),
                  "ssv2": ("libvpx-vp9", "webm")}[layout]
    opts = {"movflags": "faststart"} if ext == "mp4" else None
    videos = {"train": [], "test": []}                        # (class, k, path)
    for split, per in (("train", train_per_class), ("test", test_per_class)):
        for c, name in enumerate(names):
            for k in range(per):
                kk = k if split == "train" else 100 + k
                if layout == "ucf101":
                    rel = Path("UCF-101") / name / f"v_{name}_g{kk + 1:02d}_c01.avi"
                elif layout == "hmdb51":
                    rel = Path("hmdb51") / name / f"{name}_clip{kk}.avi"
                elif layout == "kinetics400":
                    rel = Path("train" if split == "train" else "val") / name / f"yt{c}{kk:03d}abcde_{kk:06d}_{kk + 10:06d}.mp4"
                else:
                    rel = Path("20bn-something-something-v2") / f"{1000 * (c + 1) + kk}.{ext}"
                write_video(root / rel, class_frames(c, kk, frames), codec, options=opts)
                videos[split].append((c, kk, root / rel))
    out = {"root": root, "cut": None, "short": None}
    if faults:
        out["cut"] = videos["train"][train_per_class][2]              # class 1's first: cut short
        cut_short(out["cut"])
        out["short"] = videos["train"][2 * train_per_class][2]        # class 2's first: fewer frames than a clip
        write_video(out["short"], class_frames(2, 0, 3), codec, options=opts)
    _write_splits(root, layout, names, videos)
    return out


def _write_splits(root: Path, layout: str, names: list[str], videos: dict) -> None:
    if layout == "ucf101":
        lists = root / "ucfTrainTestlist"
        lists.mkdir(parents=True, exist_ok=True)
        (lists / "classInd.txt").write_text("".join(f"{i + 1} {c}\r\n" for i, c in enumerate(names)))
        (lists / "trainlist01.txt").write_text("".join(f"{p.relative_to(root / 'UCF-101').as_posix()} {c + 1}\r\n"
                                                       for c, _, p in videos["train"]))
        (lists / "testlist01.txt").write_text("".join(f"{p.relative_to(root / 'UCF-101').as_posix()}\r\n"
                                                      for _, _, p in videos["test"]))
    elif layout == "hmdb51":
        sd = root / "testTrainMulti_7030_splits"
        sd.mkdir(parents=True, exist_ok=True)
        for c, name in enumerate(names):
            lines = [f"{p.name} {1 if split == 'train' else 2} \n" for split in ("train", "test")
                     for cc, _, p in videos[split] if cc == c]
            (sd / f"{name}_test_split1.txt").write_text("".join(lines))
    elif layout == "kinetics400":
        ann = root / "annotations"
        ann.mkdir(parents=True, exist_ok=True)
        for split, fname in (("train", "train.csv"), ("test", "validate.csv")):
            with open(ann / fname, "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=["label", "youtube_id", "time_start", "time_end", "split"])
                w.writeheader()
                for c, kk, p in videos[split]:
                    w.writerow({"label": names[c], "youtube_id": p.name[:11], "time_start": kk, "time_end": kk + 10,
                                "split": "train" if split == "train" else "val"})
    else:
        lab = root / "labels"
        lab.mkdir(parents=True, exist_ok=True)
        classes = [t.replace("[", "").replace("]", "") for t in names]
        (lab / "labels.json").write_text(json.dumps({c: str(i) for i, c in enumerate(classes)}))
        for split, fname in (("train", "train.json"), ("test", "validation.json")):
            (lab / fname).write_text(json.dumps([
                {"id": p.stem, "label": names[c].replace("[something]", "a cup"), "template": names[c],
                 "placeholders": ["a cup"]} for c, _, p in videos[split]]))


if __name__ == "__main__":            # python -m vddlib.data.tiny <folder>: all four layouts under <folder>/<layout>
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "artifacts/tiny_real")
    for layout in LAYOUTS:
        info = write_tiny(target / layout, layout)
        print(f"{layout}: {info['root']} (cut short: {info['cut'].name}, short: {info['short'].name})")
