"""VST-UNet (§3.1): a spatio-temporal U-Net over a class's whole latent pool, trained on the paper's objective."""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..registry import as_numpy, check_vpc, per_class, register
from ..vst import VSTConfig, train_vst_unet


# The cost study times this many epochs (no early stop) and scales them to the epoch budget: an upper bound of a
# training, which early stopping may cut short by an amount that depends on the data.
TIMED_EPOCHS = 6


def _timing(settings: dict) -> tuple[dict, float]:
    full = settings["config"]
    timed = dataclasses.replace(full, epochs=min(TIMED_EPOCHS, full.epochs), patience=full.epochs)
    return {"config": timed}, full.epochs / timed.epochs


# version 2: the fixed-space objective. randomised from VPC 2: at VPC 1 (λ_d = 0) it minimises the mean distance to
# the class, and finds the same medoid from any seed.
@register("vst_unet", needs=("latents",), settings=VSTConfig, threaded=True, version=2, on_device=True,
          display="VST-UNet", randomised=2, timing=_timing)
def select_vst_unet(labels, vpc: int, seed: int = 0, num_classes: int | None = None, *, latents,
                    config=None, device="cpu", **_):
    """VST-UNet (§3.1): one network trained on all classes' latent pools (on `device`), then its decoded selection
    per class (`config.decode`: set-aware sequential pick, or the paper's top-VPC probabilities)."""
    labels_np = as_numpy(labels).astype(int)
    check_vpc(labels_np, vpc, num_classes)
    lat = latents if isinstance(latents, torch.Tensor) else torch.from_numpy(np.asarray(latents))
    res = train_vst_unet(lat.float(), torch.from_numpy(labels_np), vpc, config or VSTConfig(), seed,
                         num_classes=num_classes, device=device)
    chosen = per_class(labels_np, vpc, num_classes, lambda c, idx: np.searchsorted(idx, np.asarray(res.selection[int(c)])))
    return chosen, {"log": res.log, "best_epoch": res.best_epoch}      # the training log goes into the manifest
