"""Class-faithful selection: a teacher judges every pool video, and selection keeps to those it takes for their class.

A generator's pool holds videos that do not look like the class they were conditioned on (on digits-motion the
Full-real recogniser names the conditioning class of about four pool videos in five). A teacher, a classifier
trained on the real train split, scores them: the `teacher` input, (N, K) class probabilities (the profile's
`selection.teacher` names which: the Full-real recogniser, or VideoMAE's own head). Image distillation scores
candidates the same way (the "realism" of RDED, the teacher of SRe2L).

- `teacher_conf`: the VPC videos of each class the teacher is most confident belong to it.
- `<base>_faithful` (TAC-DT, VST-UNet, Herding): the base selector, unchanged, run on the `keep` share of each
  class's pool that the teacher is most confident in; its settings are the base's, under `base`. In a profile they
  follow the base's own section (`selection.vst_unet`), with anything under `<base>_faithful.base` put on top.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, make_dataclass

import numpy as np
import torch

from ..registry import SELECTORS, as_numpy, check_vpc, per_class, register
from . import herding, tac_dt, vst_unet  # noqa: F401  (the bases register first)


def own_class_confidence(teacher, labels: np.ndarray) -> np.ndarray:
    """Per pool video, the teacher's probability for the class it was generated for."""
    t = as_numpy(teacher)
    if t.ndim != 2 or int(labels.max(initial=-1)) >= t.shape[1]:
        raise ValueError(f"teacher must be (videos, classes) probabilities covering every label; got shape {t.shape} "
                         f"for labels up to {int(labels.max(initial=-1))}")
    return t[np.arange(len(labels)), labels].astype(np.float64)


@register("teacher_conf", needs=("teacher",), display="Teacher-Conf")
def select_teacher_conf(labels, vpc: int, seed: int = 0, num_classes: int | None = None, *, teacher, **_):
    """The VPC videos with the teacher's highest probability for their class (ties: lower index)."""
    labels = as_numpy(labels).astype(int)
    conf = own_class_confidence(teacher, labels)
    return per_class(labels, vpc, num_classes, lambda c, idx: np.argsort(-conf[idx], kind="stable")[:vpc])


def most_confident(labels: np.ndarray, conf: np.ndarray, count) -> np.ndarray:
    """Sorted pool indices of each class's `count(class size)` most teacher-confident videos (ties: lower index)."""
    out = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        out.append(idx[np.argsort(-conf[idx], kind="stable")[:count(len(idx))]])
    return np.sort(np.concatenate(out)) if out else np.array([], dtype=int)


def faithful_part(labels: np.ndarray, conf: np.ndarray, keep: float, vpc: int) -> np.ndarray:
    """Sorted pool indices of each class's `keep` share most teacher-confident videos (at least VPC, ties: lower
    index); every class keeps the same count when the classes are the same size."""
    return most_confident(labels, conf, lambda n: min(n, max(vpc, math.ceil(keep * n - 1e-9))))


def _faithful(base: str, display: str):
    """Register `<base>_faithful`: `base` run on the teacher's faithful part of each class's pool."""
    b = SELECTORS[base]
    fields = [("keep", float, field(default=0.5))]
    if b.settings is not None:
        fields.append(("base", b.settings, field(default_factory=b.settings)))
    settings = make_dataclass(f"{b.settings.__name__ if b.settings else base.title()}Faithful", fields,
                              namespace={"__post_init__": _check_keep, "__module__": __name__, "BASE": base})
    globals()[settings.__name__] = settings           # picklable and findable by name, as any settings class

    def select_faithful(labels, vpc: int, seed: int = 0, num_classes: int | None = None, *, teacher,
                        config=None, device="cpu", **inputs):
        cfg = config or settings()
        labels = as_numpy(labels).astype(int)
        check_vpc(labels, vpc, num_classes)
        kept = faithful_part(labels, own_class_confidence(teacher, labels), cfg.keep, vpc)
        part = {k: (v[torch.from_numpy(kept)] if isinstance(v, torch.Tensor) else as_numpy(v)[kept])
                for k, v in inputs.items() if k in b.needs}
        out = b.fn(labels[kept], vpc, seed=seed, num_classes=num_classes, **part,
                   **({"config": cfg.base} if b.settings is not None else {}),
                   **({"device": device} if b.on_device else {}))
        chosen, info = out if isinstance(out, tuple) else (out, {})
        back = {int(c): sorted(int(kept[i]) for i in v) for c, v in chosen.items()}
        return (back, info) if info else back

    register(f"{base}_faithful", needs=(*b.needs, "teacher"), settings=settings, threaded=b.threaded,
             version=b.version, on_device=b.on_device, display=display, randomised=b.randomised,
             timing=_timing_of(b))(select_faithful)


def _check_keep(self) -> None:
    if not 0 < self.keep <= 1:
        raise ValueError(f"keep is the share of each class's pool kept, in (0, 1]; got {self.keep}")


def _timing_of(b):
    if b.timing is None:
        return None

    def timing(settings: dict) -> tuple[dict, float]:
        cfg = settings["config"]
        timed, factor = b.timing({"config": cfg.base})
        return {"config": type(cfg)(keep=cfg.keep, base=timed["config"])}, factor
    return timing


for _base, _display in (("tac_dt", "TAC-DT (faithful)"), ("vst_unet", "VST-UNet (faithful)"),
                        ("herding", "Herding (faithful)")):
    _faithful(_base, _display)
