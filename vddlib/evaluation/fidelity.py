"""Fidelity of generated videos, judged by a trained evaluator: the recogniser, recognition rate, Fréchet distance.

The recogniser is the Full-real evaluator (seed 0): notebooks 01-03 ask it whether the
autoencoder's reconstructions and the generated videos are recognised as their class,
and its penultimate features give a Fréchet distance (as FID/FVD, on our evaluator).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch

from ..data.hashing import data_hash
from ..data.videoset import VideoSet
from ..checksums import CheckpointError, read_tensors
from ..files import copy_file, save_tensors
from .train import TrainConfig, model_inputs, new_evaluator, predict_proba, train_evaluator


def recogniser_meta(train: VideoSet, cfg: TrainConfig, seed: int = 0) -> dict[str, str]:
    """What a saved recogniser must record to be used for `train`, `cfg` and `seed` (its safetensors metadata)."""
    return {"cfg": json.dumps(cfg.key()), "data": data_hash(train), "seed": str(seed),
            "num_classes": str(train.num_classes), "frames": str(train.frames), "size": str(train.videos.shape[-1])}


def recogniser(train: VideoSet, cfg: TrainConfig, path: str | Path, seed: int = 0,
               shipped: str | Path | None = None) -> torch.nn.Module:
    """The Full-real evaluator (seed 0) that judges generated videos; trained once, saved with safetensors.

    `shipped`: a file this function saved earlier (e.g. `checkpoints/digits-motion/recogniser.safetensors`),
    copied to `path` and used only if its metadata (settings, data hash, seed, shapes) match; else trained here.
    """
    path = Path(path)
    meta = recogniser_meta(train, cfg, seed)

    def matching(f: Path) -> dict | None:
        """The weights in `f` if it was saved with these settings on this data; a damaged cache file: None."""
        if not f.is_file():
            return None
        try:
            tensors, saved = read_tensors(f)
        except CheckpointError:
            if f != path:
                raise                               # a damaged shipped file: an error naming it, never copied
            return None                             # a damaged cache file is trained again
        return tensors if all(saved.get(k) == v for k, v in meta.items()) else None

    weights = matching(path)
    if weights is None and shipped is not None and (weights := matching(Path(shipped))) is not None:
        copy_file(shipped, path)
    if weights is not None:
        model = new_evaluator(cfg, train.num_classes, train.frames, train.videos.shape[-1])
        model.load_state_dict(weights)
        return model.eval()
    model = train_evaluator(train, cfg, seed)
    save_tensors(path, model.state_dict(), metadata=meta)
    return model


@torch.no_grad()
def embed(model: torch.nn.Module, videos: torch.Tensor, batch_size: int = 100) -> torch.Tensor:
    """Penultimate features of an evaluator (for the Fréchet distance)."""
    model.eval()
    return torch.cat([model.embed(model_inputs(videos[i:i + batch_size], model))
                      for i in range(0, len(videos), batch_size)])


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (as FID/FVD, on our evaluator's features)."""
    from scipy import linalg

    a, b = a.double().numpy(), b.double().numpy()
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():       # a rank-deficient covariance (features that never fire) is expected here:
        warnings.simplefilter("ignore", linalg.LinAlgWarning)      # its square root is still the one FID uses
        covmean = linalg.sqrtm(s1 @ s2)
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def teacher_of(model: torch.nn.Module):
    """`videos (a VideoSet) -> (N, K) class probabilities` of `model`: the recogniser as the selectors' teacher
    (`selection_inputs(recogniser=...)`)."""
    return lambda vs: predict_proba(model, vs.videos).numpy()


def predict(model: torch.nn.Module, videos: torch.Tensor) -> torch.Tensor:
    """The class the evaluator assigns to each of `videos` (uint8)."""
    return predict_proba(model, videos).argmax(1)


def recognition(model: torch.nn.Module, vs: VideoSet) -> float:
    """Percent of videos the evaluator assigns to their (conditioning) class."""
    return float((predict(model, vs.videos) == vs.labels).float().mean() * 100)


def pool_fidelity(model: torch.nn.Module, train: VideoSet, test: VideoSet, pool: VideoSet) -> dict[str, float]:
    """How real the pool looks to the recogniser: the share of pool and real test videos it recognises, and the
    Fréchet distance of its features from the pool to real test, beside real train to real test."""
    f_test, f_train, f_pool = (embed(model, v.videos) for v in (test, train, pool))
    return {"recognised_pool": recognition(model, pool), "recognised_real_test": recognition(model, test),
            "frechet_pool_vs_real_test": frechet_distance(f_pool, f_test),
            "frechet_real_train_vs_real_test": frechet_distance(f_train, f_test)}
