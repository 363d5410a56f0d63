"""Test data: tiny real-layout dataset folders (written with PyAV, for the loader tests), toy videos and pools.

Every video of class c is a flat colour whose red channel encodes c (and whose green
channel ramps over time), so a test can read back from decoded pixels which class and
which frames a loader produced.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import torch

from vddlib.data.tiny import cut_short  # noqa: F401  (the tests' name for it)
from vddlib.data.video_io import write_video
from vddlib.data.videoset import VideoSet
from vddlib.evaluation.train import TrainConfig
from vddlib.selection import select

W, H, N_FRAMES = 64, 48, 12


def class_red(c: int) -> int:
    return (40 + 40 * c) % 256


def make_frames(c: int, n: int = N_FRAMES) -> np.ndarray:
    f = np.zeros((n, H, W, 3), dtype=np.uint8)
    f[..., 0] = class_red(c)
    f[..., 1] = (np.arange(n) * 255 // max(n - 1, 1))[:, None, None]
    f[..., 2] = 128
    return f


def ucf101(root: Path, classes=("ApplyEyeMakeup", "Biking", "YoYo"), per_split=2) -> Path:
    """root/UCF-101/<Class>/*.avi (MPEG-4) + root/ucfTrainTestlist/{classInd,trainlist01,testlist01}.txt"""
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True, exist_ok=True)
    (lists / "classInd.txt").write_text("".join(f"{i + 1} {c}\n" for i, c in enumerate(classes)))
    train, test = [], []
    for i, c in enumerate(classes):
        for g in range(2 * per_split):
            rel = f"{c}/v_{c}_g{g + 1:02d}_c01.avi"
            write_video(root / "UCF-101" / rel, make_frames(i), "mpeg4")
            (train if g < per_split else test).append((rel, i + 1))
    (lists / "trainlist01.txt").write_text("".join(f"{r} {k}\r\n" for r, k in train))   # official files use CRLF
    (lists / "testlist01.txt").write_text("".join(f"{r}\r\n" for r, _ in test))
    return root


def hmdb51(root: Path, classes=("brush_hair", "cartwheel"), per_split=2) -> Path:
    """root/hmdb51/<class>/*.avi + root/testTrainMulti_7030_splits/<class>_test_split1.txt (0/1/2 marks)"""
    sd = root / "testTrainMulti_7030_splits"
    sd.mkdir(parents=True, exist_ok=True)
    for i, c in enumerate(classes):
        lines = []
        for k in range(2 * per_split + 1):
            name = f"{c}_clip{k}.avi"
            write_video(root / "hmdb51" / c / name, make_frames(i), "mpeg4")
            mark = 0 if k == 2 * per_split else (1 if k < per_split else 2)
            lines.append(f"{name} {mark} \n")
        (sd / f"{c}_test_split1.txt").write_text("".join(lines))
    return root


def kinetics400(root: Path, classes=("abseiling", "air drumming"), per_split=2) -> Path:
    """root/annotations/{train,validate}.csv + root/{train,val}/<label>/<ytid>_<start>_<end>.mp4 (H.264)"""
    ann = root / "annotations"
    ann.mkdir(parents=True, exist_ok=True)
    for split, folder, csvname in (("train", "train", "train.csv"), ("val", "val", "validate.csv")):
        rows = []
        for i, c in enumerate(classes):
            for k in range(per_split):
                yt = f"{split[:2]}{i}{k}abcdefg"[:11]
                rows.append({"label": c, "youtube_id": yt, "time_start": 10 * k, "time_end": 10 * k + 10,
                             "split": split})
                write_video(root / folder / c / f"{yt}_{10 * k:06d}_{10 * k + 10:06d}.mp4", make_frames(i), "libx264")
        with open(ann / csvname, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["label", "youtube_id", "time_start", "time_end", "split"])
            w.writeheader()
            w.writerows(rows)
    return root


def ssv2(root: Path, per_split=2) -> Path:
    """root/labels/{labels,train,validation}.json + root/20bn-something-something-v2/<id>.webm (VP9)"""
    templates = ["Pushing [something] from left to right", "Putting [something] on a surface"]
    lab = root / "labels"
    lab.mkdir(parents=True, exist_ok=True)
    classes = [t.replace("[", "").replace("]", "") for t in templates]
    (lab / "labels.json").write_text(json.dumps({c: str(i) for i, c in enumerate(classes)}))
    vid = 1000
    for fname in ("train.json", "validation.json"):
        entries = []
        for i, t in enumerate(templates):
            for _ in range(per_split):
                vid += 1
                entries.append({"id": str(vid), "label": t.replace("[something]", "a cup"), "template": t,
                                "placeholders": ["a cup"]})
                write_video(root / "20bn-something-something-v2" / f"{vid}.webm", make_frames(i), "libvpx-vp9")
        (lab / fname).write_text(json.dumps(entries))
    return root


def blob_pool(classes: int = 4, blobs: int = 5, per_blob: int = 8, dim: int = 8, seed: int = 0) -> dict:
    """A pool with known structure: per class, `blobs` tight Gaussian blobs of `per_blob` points (blobs <= dim).

    Returns labels (N,), blob ids (N,), the points as embeddings (N, dim) and as latent videos
    (N, 2, 4, 4, 4): the points through one fixed orthonormal map, scaled so that two blobs
    are ~1-2 apart in mean squared error and a blob's points ~0.15 (a selector's fixed space)."""
    rng = np.random.default_rng(seed)
    centre = rng.normal(size=(classes, dim))
    centre *= 6.0 / np.linalg.norm(centre, axis=1, keepdims=True)
    # the blob centres: a regular simplex around the class centre (all blobs alike, none at the class mean),
    # turned by a random rotation per class
    simplex = np.eye(blobs) - 1.0 / blobs
    simplex *= 2.5 / np.linalg.norm(simplex, axis=1, keepdims=True)
    offset = np.stack([simplex @ np.linalg.qr(rng.normal(size=(dim, blobs)))[0].T for _ in range(classes)])
    labels = np.repeat(np.arange(classes), blobs * per_blob)
    blob = np.tile(np.repeat(np.arange(blobs), per_blob), classes)
    points = centre[labels] + offset[labels, blob] + 0.25 * rng.normal(size=(len(labels), dim))
    q, _ = np.linalg.qr(rng.normal(size=(128, dim)))
    latents = (points @ q.T) * (np.sqrt(128) / 2.5)
    return {"labels": labels, "blob": blob, "embeddings": points,
            "latents": torch.from_numpy(latents.reshape(-1, 2, 4, 4, 4).astype(np.float32))}


def toy_videos(n_per_class: int = 6, classes: int = 3, seed: int = 0) -> VideoSet:
    """Class c: a bright square that moves right (0), down (1) or stays (2), on noise."""
    g = torch.Generator().manual_seed(seed)
    v = (torch.rand(n_per_class * classes, 4, 3, 16, 16, generator=g) * 60).to(torch.uint8)
    labels = torch.arange(classes).repeat_interleave(n_per_class)
    for i, c in enumerate(labels.tolist()):
        y, x = torch.randint(0, 4, (2,), generator=g).tolist()
        for t in range(4):
            dy, dx = [(0, 3 * t), (3 * t, 0), (0, 0)][c]
            v[i, t, :, y + dy:y + dy + 4, x + dx:x + dx + 4] = 255
    return VideoSet(v, labels, [f"c{k}" for k in range(classes)], [f"v{i}" for i in range(len(v))], {"split": "train"})


def grid_inputs():
    pool, test = toy_videos(6, seed=2), toy_videos(4, seed=3)
    cfg = TrainConfig(classifier="c3d", model={"widths": [4, 4, 8, 8], "convs_per_block": [1, 1, 1, 1], "fc": 8,
                                               "norm": "batch"}, min_steps=3, max_steps=3,
                      batch_size=4)
    manifests = [{"method": m, "vpc": v, "seed": s,
                  "indices": select(m, pool.labels, v, seed=s, embeddings=pool.videos.flatten(1).float().numpy())}
                 for m in ("random", "herding") for v in (1, 2) for s in (0, 1)]
    return pool, test, cfg, manifests


def tiny_real_profile(tmp_path: Path, name: str) -> tuple[Path, dict]:
    """A profile on params/tiny_real.yaml whose data (the UCF101 layout of vddlib.data.tiny), caches, work folders
    and outputs all live under tmp_path (outputs: tmp_path/out). Returns (its path, write_tiny's info)."""
    from vddlib.data.tiny import write_tiny

    info = write_tiny(tmp_path / "ucf101", "ucf101")
    work = tmp_path / "work"
    profile = tmp_path / f"{name}.yaml"
    profile.write_text(f"""base: tiny_real
name: {name}
outputs: {tmp_path / 'out'}
dataset: {{root: {info['root']}, cache_dir: {work / 'cache'}}}
diffusion: {{work_dir: {work / 'diffusion'}, pools_dir: {work / 'pools'}}}
selection: {{work_dir: {work / 'selection'}}}
ablation: {{work_dir: {work / 'ablation'}}}
""")
    return profile, info
