"""VideoMAE video embeddings and class scores: what TAC-DT, MAE-Score, CSTA, DM-MMD, Herding
and K-Center select on.

One code path, two sources of weights (transformers' `VideoMAEForVideoClassification`):
- the `paper` profile loads VideoMAE-v2 from a local folder (`from_pretrained`, no
  download; D = 1408 for the giant model);
- the default profile trains a small VideoMAE classifier on the *real train split* here
  (no weights exist offline) and saves it with `save_pretrained` (safetensors).

The embedding is the model's own video representation: the mean of the last hidden
states through `fc_norm` (VideoMAE's `use_mean_pooling`), or the first token when the
model has no `fc_norm`. Class scores are the classifier's softmax; a loaded model whose
head does not cover the dataset's classes gets a logistic-regression probe fitted on
the real train embeddings instead (what a linear evaluation of a frozen backbone does).
"""
from __future__ import annotations

import json
import math
import shutil
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from ..logs import bar
from transformers import VideoMAEConfig, VideoMAEForVideoClassification

from ..data.augment import augment
from ..data.hashing import data_hash, settings_hash, weights_hash
from ..data.videoset import VideoSet
from ..checksums import CheckpointError, load_checked, read_tensors, write_sums
from ..files import atomic_path, copy_tree, save_tensors

# VideoMAE's image processor normalises with the ImageNet statistics.
_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 1, 3, 1, 1)
_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 1, 3, 1, 1)


@dataclass
class VideoMAETrainConfig:
    """A small VideoMAE classifier trained from scratch (the default profile's embedder)."""

    patch_size: int = 8
    tubelet_size: int = 2
    hidden_size: int = 128
    layers: int = 4
    heads: int = 4
    intermediate_size: int = 256
    steps: int = 1000
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.05
    shift: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        if self.hidden_size % self.heads:
            raise ValueError(f"VideoMAETrainConfig.hidden_size ({self.hidden_size}) must divide by heads ({self.heads})")
        if min(self.patch_size, self.tubelet_size, self.layers, self.steps, self.batch_size) < 1 or self.lr <= 0:
            raise ValueError("VideoMAETrainConfig: sizes, steps, batch_size and lr must be positive")


# VideoMAE-v2 ViT-g/14 (the paper's embedder, D = 1408), as a transformers VideoMAEConfig: its shape
# for dry runs and GPU smokes without weights. The weights themselves come from a local folder.
VIDEOMAE_V2_GIANT = dict(image_size=224, patch_size=14, num_channels=3, num_frames=16, tubelet_size=2,
                         hidden_size=1408, num_hidden_layers=40, num_attention_heads=16, intermediate_size=6144,
                         use_mean_pooling=True, qkv_bias=True)


def videomae_v2_giant_config(num_labels: int) -> VideoMAEConfig:
    return VideoMAEConfig(**VIDEOMAE_V2_GIANT, num_labels=num_labels)


def _pixels(videos_u8: torch.Tensor) -> torch.Tensor:
    """uint8 (N, T, C, H, W) → VideoMAE's pixel_values (N, T, C, H, W), ImageNet-normalised."""
    return (videos_u8.float() / 255.0 - _MEAN.to(videos_u8.device)) / _STD.to(videos_u8.device)


def build_videomae(num_classes: int, frames: int, size: int, cfg: VideoMAETrainConfig,
                   class_names: list[str] | None = None) -> VideoMAEForVideoClassification:
    """An untrained VideoMAE classifier for (frames, 3, size, size) videos; `class_names` label its outputs."""
    if size % cfg.patch_size or frames % cfg.tubelet_size:
        raise ValueError(f"VideoMAE needs size % patch_size == 0 and frames % tubelet_size == 0; got size {size}, "
                         f"patch {cfg.patch_size}, frames {frames}, tubelet {cfg.tubelet_size}")
    conf = VideoMAEConfig(image_size=size, patch_size=cfg.patch_size, num_channels=3, num_frames=frames,
                          tubelet_size=cfg.tubelet_size, hidden_size=cfg.hidden_size, num_hidden_layers=cfg.layers,
                          num_attention_heads=cfg.heads, intermediate_size=cfg.intermediate_size,
                          use_mean_pooling=True, num_labels=num_classes, hidden_dropout_prob=0.0,
                          attention_probs_dropout_prob=0.0,
                          **({"id2label": dict(enumerate(class_names)),
                              "label2id": {c: i for i, c in enumerate(class_names)}} if class_names else {}))
    return VideoMAEForVideoClassification(conf)


def train_videomae(train: VideoSet, cfg: VideoMAETrainConfig, progress: bool = True) -> VideoMAEForVideoClassification:
    """Train the small VideoMAE classifier on a (real) training split; seeded, cosine schedule."""
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = build_videomae(train.num_classes, train.frames, train.videos.shape[-1], cfg, train.class_names).train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    warm = max(1, cfg.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * s / cfg.steps)))
    bs = min(cfg.batch_size, len(train))
    for _ in bar(range(cfg.steps), desc="train VideoMAE", show=progress):
        idx = torch.randint(0, len(train), (bs,), generator=gen)
        # augment works on (N, C, T, H, W); VideoMAE takes (N, T, C, H, W)
        x = augment(_pixels(train.videos[idx]).transpose(1, 2), cfg.shift, False, gen).transpose(1, 2)
        loss = F.cross_entropy(model(pixel_values=x).logits, train.labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
    return model.eval()


def load_videomae(path: str | Path) -> VideoMAEForVideoClassification:
    """A VideoMAE (e.g. VideoMAE-v2) from a local transformers folder; never downloads."""
    path = Path(path)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"No VideoMAE weights at {path} (config.json missing). Put a transformers-format VideoMAE folder there "
            "(config.json + model.safetensors, e.g. VideoMAE-v2 converted with save_pretrained), or set "
            "selection.videomae_path to \"\" to train the small embedder on the real train split.")
    from transformers.utils import logging as hf_logging

    from ..logs import verbose

    was_on = hf_logging.is_progress_bar_enabled()
    if not verbose():
        hf_logging.disable_progress_bar()       # its per-tensor "Loading weights" bar, unless vddlib is verbose
    try:
        return load_checked(lambda p: VideoMAEForVideoClassification.from_pretrained(
            str(p), local_files_only=True, use_safetensors=True), path, "VideoMAE").eval()
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


@torch.no_grad()
def videomae_features(model: VideoMAEForVideoClassification, videos_u8: torch.Tensor, batch_size: int = 64,
                      progress: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(embeddings (N, D), class probabilities (N, K)) of uint8 videos (N, T, C, H, W)."""
    model.eval()
    dev = next(model.parameters()).device
    embs, probs = [], []
    for i in bar(range(0, len(videos_u8), batch_size), desc="VideoMAE embeddings", show=progress):
        x = fit_to_model(_pixels(videos_u8[i:i + batch_size].to(dev)), model.config)
        seq = model.videomae(pixel_values=x.to(model.dtype)).last_hidden_state
        e = model.fc_norm(seq.mean(1)) if model.fc_norm is not None else seq[:, 0]
        embs.append(e.float().cpu())
        probs.append(F.softmax(model.classifier(e).float(), dim=1).cpu())
    return torch.cat(embs), torch.cat(probs)


def fit_to_model(x: torch.Tensor, config: VideoMAEConfig) -> torch.Tensor:
    """Pixel values (N, T, C, H, W) resampled to the model's frames and image size (VideoMAE-v2: 16 × 224²):
    frames evenly spaced in time, each frame resized bilinearly."""
    n, t, c, h, w = x.shape
    if t != config.num_frames:
        x = x[:, torch.linspace(0, t - 1, config.num_frames).round().long().to(x.device)]
    if (h, w) != (config.image_size, config.image_size):
        x = F.interpolate(x.flatten(0, 1), size=(config.image_size,) * 2, mode="bilinear", align_corners=False,
                          antialias=h > config.image_size).unflatten(0, (n, config.num_frames))
    return x


def probe_scores(train_emb: np.ndarray, train_labels: np.ndarray, emb: np.ndarray, seed: int = 0) -> np.ndarray:
    """Class probabilities of a logistic-regression probe fitted on real train embeddings."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    sc = StandardScaler().fit(train_emb)
    clf = LogisticRegression(max_iter=2000, random_state=seed).fit(sc.transform(train_emb), train_labels)
    return clf.predict_proba(sc.transform(emb))


def embedder(train: VideoSet, cfg: VideoMAETrainConfig, work_dir: str | Path, data_id: str,
             path: str | Path | None = None, shipped: str | Path | None = None) -> VideoMAEForVideoClassification:
    """The profile's VideoMAE: loaded from `path`, else trained once on `train` and cached in `work_dir`.

    `shipped`: a folder this function wrote earlier (e.g. `checkpoints/digits-motion/videomae`). It is taken as
    the cache only if it was trained with exactly `cfg` on data hashing to `data_id` (its `vddlib_train_info.json`
    says so); otherwise the embedder is trained here as if there were none.
    """
    if path is not None:
        return load_videomae(path)
    folder = Path(work_dir) / f"videomae_{data_id}_{settings_hash(cfg)}"
    if (folder / "config.json").is_file():
        try:
            return load_videomae(folder)
        except CheckpointError as e:            # a damaged cache entry is dropped and made again, never kept
            warnings.warn(f"{e} Dropping that cached copy and making it again.", stacklevel=2)
            shutil.rmtree(folder)
    if shipped is not None and shipped_matches(shipped, cfg, data_id):
        model = load_videomae(shipped)          # checked and loaded before anything is cached from it
        copy_tree(shipped, folder)
        return model
    t0 = time.perf_counter()
    model = train_videomae(train, cfg)
    seconds = time.perf_counter() - t0
    with atomic_path(folder) as tmp:
        model.save_pretrained(str(tmp), safe_serialization=True)
        (tmp / "vddlib_train_config.json").write_text(json.dumps(asdict(cfg), indent=1))
        (tmp / "vddlib_train_info.json").write_text(json.dumps(
            {"data_id": data_id, "cfg_id": settings_hash(cfg), "seconds": round(seconds, 1), "torch": torch.__version__,
             "threads": torch.get_num_threads()}, indent=1))
        write_sums(tmp)
    return model.eval()


def shipped_matches(shipped: str | Path, cfg: VideoMAETrainConfig, data_id: str) -> bool:
    """Whether a shipped embedder folder was trained with `cfg` on the data that hashes to `data_id`."""
    info = Path(shipped) / "vddlib_train_info.json"
    if not (Path(shipped) / "config.json").is_file() or not info.is_file():
        return False
    doc = json.loads(info.read_text())
    return doc.get("data_id") == data_id and doc.get("cfg_id") == settings_hash(cfg)


def pool_features(model: VideoMAEForVideoClassification, pool: VideoSet, path: str | Path,
                  train: VideoSet | None = None) -> dict[str, np.ndarray]:
    """Embeddings and class scores of a pool, cached in one safetensors file (recomputed if the pool changed).

    If the model's head has another number of classes than the pool (a pretrained
    VideoMAE-v2), scores come from a probe fitted on `train`'s embeddings.
    """
    path = Path(path)
    key = {"pool": data_hash(pool), "model": weights_hash(model)}
    if path.is_file():
        try:
            t, meta = read_tensors(path)
        except CheckpointError as e:            # a damaged cache file is computed again
            warnings.warn(f"{e} Computing it again.", stacklevel=2)
            t, meta = {}, {}
        if all(meta.get(k) == v for k, v in key.items()):
            return {k: v.numpy() for k, v in t.items()}
    t0 = time.perf_counter()
    emb, probs = videomae_features(model, pool.videos, progress=True)
    if probs.shape[1] != pool.num_classes:
        if train is None:
            raise ValueError(f"The VideoMAE head has {probs.shape[1]} classes, the pool {pool.num_classes}: pass the "
                             "real train split so that a probe gives class scores.")
        tr_emb, _ = videomae_features(model, train.videos)
        probs = torch.from_numpy(probe_scores(tr_emb.numpy(), train.labels.numpy(), emb.numpy())).float()
    key["seconds"] = f"{time.perf_counter() - t0:.2f}"
    save_tensors(path, {"embeddings": emb, "scores": probs}, metadata=key)
    return {"embeddings": emb.numpy(), "scores": probs.numpy()}
