"""VST-UNet (§3.1): a spatio-temporal U-Net over a class's whole latent pool, trained on the paper's objective."""
from __future__ import annotations

import numpy as np
import torch

from ..registry import as_numpy, check_vpc, per_class, register
from ..vst import VSTConfig, train_vst_unet


@register("vst_unet", needs=("latents",), settings=VSTConfig, threaded=True, version=2,   # 2: the fixed-space objective
          on_device=True)
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
