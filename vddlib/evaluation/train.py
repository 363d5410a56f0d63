"""Train an evaluator from scratch on a set of videos and test it on the real test split.

This is the paper's evaluation protocol: whatever made the training set (the full real
split, a random subset, a synthetic pool, a selector), a fresh classifier is trained on
it and scored on the *real* test split; `runs` seeds give mean ± std.

Training length is a step budget that scales with the set size
(`epochs × N / batch`, clipped to [min_steps, max_steps]), so a VPC=1 set trains in
seconds and the full split does not run for hours on two CPU cores.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from ..logs import bar

from ..data.augment import augment, prepare_videos
from ..data.videoset import VideoSet
from ..models import EVALUATORS, build_evaluator
from .metrics import classification_metrics

_ADDED_LATER = {"warmup": 0.0, "average": 0.0}       # field → its neutral value (TrainConfig.key)


@dataclass
class TrainConfig:
    """How one evaluator is trained; `model` overrides the evaluator's own config fields."""

    classifier: str = "c3d"
    model: dict = field(default_factory=lambda: {"widths": [8, 16, 32, 64], "convs_per_block": [1, 1, 1, 1],
                                                  "fc": 128, "norm": "batch"})   # {}: the reference C3D (paper)
    optimizer: str = "adamw"        # "adamw" or "sgd" (the VD protocol: momentum 0.9, lr 0.01)
    lr: float = 1e-3
    weight_decay: float = 5e-4
    batch_size: int = 32
    epochs: float = 12.8            # passes over the set, before clipping to the step budget
    min_steps: int = 150
    max_steps: int = 400
    schedule: str = "cosine"        # "cosine" or "step" (×0.1 at half, as the VD protocol)
    warmup: float = 0.0             # fraction of the steps the learning rate rises linearly from 0 before the schedule
    average: float = 0.0            # >0: test the mean of the weights over this last fraction of the steps (SWA),
                                    # batch-norm statistics recomputed on the training set
    shift: int = 2                  # random translation (px) of the whole clip, train only
    flip: bool = False              # horizontal flip p=0.5; off where left/right is the class
    label_smoothing: float = 0.0
    eval_batch_size: int = 100
    labels: str = "hard"            # "hard": cross-entropy on the class labels (the paper); "soft": KL divergence to
                                    # the teacher logits the training set carries (VideoSet.soft), as image distillation
    temperature: float = 1.0        # soft labels: both distributions at this temperature, the loss scaled by its square

    def __post_init__(self) -> None:
        if self.classifier not in EVALUATORS:
            raise ValueError(f"TrainConfig.classifier must be one of {sorted(EVALUATORS)}; got {self.classifier!r}")
        if self.optimizer not in ("adamw", "sgd"):
            raise ValueError(f"TrainConfig.optimizer must be 'adamw' or 'sgd'; got {self.optimizer!r}")
        if self.schedule not in ("cosine", "step"):
            raise ValueError(f"TrainConfig.schedule must be 'cosine' or 'step'; got {self.schedule!r}")
        if not (1 <= self.min_steps <= self.max_steps):
            raise ValueError(f"TrainConfig needs 1 <= min_steps <= max_steps; got {self.min_steps}, {self.max_steps}")
        if self.batch_size < 1 or self.lr <= 0 or self.epochs <= 0:
            raise ValueError("TrainConfig.batch_size, lr and epochs must be positive")
        if self.labels not in ("hard", "soft"):
            raise ValueError(f"TrainConfig.labels must be 'hard' or 'soft'; got {self.labels!r}")
        if self.temperature <= 0:
            raise ValueError(f"TrainConfig.temperature must be positive; got {self.temperature}")
        if not (0 <= self.warmup < 1) or not (0 <= self.average < 1):
            raise ValueError(f"TrainConfig.warmup and average are fractions of the steps in [0, 1); got "
                             f"{self.warmup}, {self.average}")

    def key(self) -> dict:
        """The config as a dict for cache keys and saved metadata: fields added after weights were shipped are left
        out at their neutral value, so the shipped recogniser and earlier caches still match an unchanged recipe."""
        d = asdict(self)
        return {k: v for k, v in d.items() if not (k in _ADDED_LATER and v == _ADDED_LATER[k])}

    def steps_for(self, n_videos: int) -> int:
        """Step budget for a training set of n_videos."""
        batch = min(self.batch_size, max(n_videos, 1))       # a set smaller than a batch is one batch per epoch
        return int(min(self.max_steps, max(self.min_steps, math.ceil(self.epochs * n_videos / batch))))


def plateau_recipe() -> TrainConfig:
    """The default protocol's evaluator: lr 3e-3 with a 10 % linear warm-up, batch 16, cosine, 192 epochs of the
    set within [300, 800] steps: VPC 1 300 steps, VPC 5 600, VPC 10 and the full splits 800, where each VPC's top-1
    levels off on digits-motion. It trains a VPC 5 set to 56-60 % top-1, where TrainConfig's own short recipe
    (lr 1e-3, batch 32, 150 steps; the cross-architecture evaluators keep it) stopped at 40-42 % and lr 1e-3 was
    still rising after 2,400 steps (results/evaluator_plateau.md)."""
    return TrainConfig(lr=3e-3, warmup=0.1, batch_size=16, epochs=192, min_steps=300, max_steps=800)


@dataclass
class EvalProtocol:
    """How selections are scored: runs per setting, VPCs, the evaluator's training, the headline
    accuracy (top-1; the paper reports top-5 for Kinetics-400 and SSv2) and the device."""

    runs: int = 5
    vpcs: tuple[int, ...] = (1, 5, 10)
    train: TrainConfig = field(default_factory=lambda: plateau_recipe())
    accuracy: str = "top1"
    device: str = "cpu"                 # "cpu", "cuda" or "auto" (cuda when there is one)
    processes: int = 2                  # notebook 04's selection grid: >1 runs it under `accelerate launch`
    methods: tuple[str, ...] = ()       # notebook 04's grid: these of selection.methods (empty: all); the others are
                                        # selected by 03 and evaluated where a study names them (08's arms)

    def __post_init__(self) -> None:
        if self.accuracy not in ("top1", "top5"):
            raise ValueError(f"evaluation.accuracy must be 'top1' or 'top5'; got {self.accuracy!r}")
        if self.device not in ("cpu", "cuda", "auto"):
            raise ValueError(f"evaluation.device must be 'cpu', 'cuda' or 'auto'; got {self.device!r}")
        if self.runs < 1:
            raise ValueError(f"evaluation.runs must be >= 1; got {self.runs}")
        if self.processes < 1:
            raise ValueError(f"evaluation.processes must be >= 1; got {self.processes}")
        if not self.vpcs or min(self.vpcs) < 1:
            raise ValueError(f"evaluation.vpcs must be positive integers; got {self.vpcs}")
        self.methods = tuple(self.methods)

    def grid(self, methods) -> tuple[str, ...]:
        """Of the run's `methods`, those notebook 04 evaluates at every VPC (`evaluation.methods`; empty: all)."""
        return tuple(m for m in methods if not self.methods or m in self.methods)



# 3-D convolutions run 1.5-2x faster on CPU with channels-last tensors (benchmarks/bench_evaluator.py).
_CHANNELS_LAST = ("c3d", "convnet3d")


def _layout(x: torch.Tensor, model: torch.nn.Module) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last_3d) if getattr(model, "channels_last", False) else x


def model_inputs(videos_u8: torch.Tensor, model: torch.nn.Module) -> torch.Tensor:
    """uint8 videos → the normalised tensor, in the memory layout, that `model` was trained on."""
    return _layout(prepare_videos(videos_u8), model)


@torch.no_grad()
def predict_proba(model: torch.nn.Module, videos: torch.Tensor, batch_size: int = 100) -> torch.Tensor:
    """Softmax probabilities (N, classes) of a trained evaluator on uint8 videos."""
    model.eval()
    dev = next(model.parameters()).device
    out = [F.softmax(model(model_inputs(videos[i:i + batch_size].to(dev), model)).float(), dim=1).cpu()
           for i in range(0, len(videos), batch_size)]
    return torch.cat(out)


def new_evaluator(cfg: TrainConfig, num_classes: int, frames: int, size: int) -> torch.nn.Module:
    """An untrained evaluator of `cfg`, in the memory layout it trains and predicts in."""
    model = build_evaluator(cfg.classifier, num_classes, frames, size, **cfg.model)
    model.channels_last = cfg.classifier in _CHANNELS_LAST
    return model.to(memory_format=torch.channels_last_3d) if model.channels_last else model


def soft_label_loss(logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL(teacher ‖ student) with both softened at `temperature`, times temperature² (Hinton et al.), per video."""
    t = temperature
    return F.kl_div(F.log_softmax(logits / t, dim=1), F.log_softmax(teacher_logits / t, dim=1), reduction="batchmean",
                    log_target=True) * (t * t)


def set_storage_mb(train: VideoSet, labels: str = "hard") -> float:
    """Megabytes of a training set as stored: its uint8 pixels, plus its soft labels as fp16 when trained on them."""
    extra = train.soft.numel() * 2 if labels == "soft" and train.soft is not None else 0
    return (train.videos.numel() * train.videos.element_size() + extra) / 1e6


def train_evaluator(train: VideoSet, cfg: TrainConfig, seed: int, progress: bool = False,
                    device: str | torch.device = "cpu") -> torch.nn.Module:
    """Train a fresh evaluator on `train` (on `device`) with a seed that fixes init, batches and augmentation."""
    if len(train) == 0:
        raise ValueError("Cannot train an evaluator on an empty set of videos.")
    if cfg.labels == "soft" and train.soft is None:
        raise ValueError("TrainConfig.labels is 'soft' but the training set carries no teacher logits; give it "
                         "some with vddlib.evaluation.soft_labels.with_soft_labels(set, teacher).")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    _, T, _, H, W = train.videos.shape
    if H != W:
        raise ValueError(f"Evaluators take square frames; got {H}×{W}. Crop the videos first.")
    model = new_evaluator(cfg, train.num_classes, T, H).to(device)
    if cfg.optimizer == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    steps = cfg.steps_for(len(train))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(cfg, s, steps))
    avg_from = steps - int(round(cfg.average * steps)) if cfg.average > 0 else None
    averaged = None
    bs = min(cfg.batch_size, len(train))
    order = torch.randperm(len(train), generator=gen)
    pos = 0
    model.train()
    for step in bar(range(steps), desc=f"train {cfg.classifier} seed {seed}", show=progress, leave=False):
        if pos + bs > len(order):                          # reshuffle each epoch
            order, pos = torch.randperm(len(train), generator=gen), 0
        idx = order[pos:pos + bs]
        pos += bs
        x = _layout(augment(prepare_videos(train.videos[idx].to(device)), cfg.shift, cfg.flip, gen), model)
        if cfg.labels == "soft":
            loss = soft_label_loss(model(x), train.soft[idx].to(device), cfg.temperature)
        else:
            loss = F.cross_entropy(model(x), train.labels[idx].to(device), label_smoothing=cfg.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if avg_from is not None and step + 1 >= avg_from:
            if averaged is None:
                averaged = torch.optim.swa_utils.AveragedModel(model)
            else:
                averaged.update_parameters(model)
    if averaged is not None:
        model = _with_averaged_weights(model, averaged, train, bs, device)
    model.eval()
    return model


def lr_factor(cfg: TrainConfig, step: int, steps: int) -> float:
    """The learning rate at `step` of `steps` as a fraction of `cfg.lr`: linear warm-up, then the schedule."""
    warm = int(round(cfg.warmup * steps))
    if step < warm:
        return (step + 1) / warm
    s, n = step - warm, max(steps - warm, 1)
    if cfg.schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * s / n))
    return 1.0 if s < n // 2 else 0.1


@torch.no_grad()
def _with_averaged_weights(model: torch.nn.Module, averaged, train: VideoSet, bs: int,
                           device) -> torch.nn.Module:
    """`model` holding the averaged weights, its batch-norm statistics recomputed over the training set (the
    averaged weights never ran a batch, so the running statistics of the last weights do not fit them)."""
    model.load_state_dict(averaged.module.state_dict())
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if norms:
        for m in norms:
            m.reset_running_stats()
            m.momentum = None                     # a plain mean over the pass
        model.train()
        for i in range(0, len(train), bs):
            model(_layout(prepare_videos(train.videos[i:i + bs].to(device)), model))
    return model


def evaluate_runs(train: VideoSet, test: VideoSet, cfg: TrainConfig, seeds: list[int] | range,
                  progress: bool = True, device: str | torch.device = "cpu") -> list[dict]:
    """Train one evaluator per seed on `train`, test each on `test`; one metrics dict per run."""
    if train.class_names != test.class_names:
        raise ValueError("Train and test sets index different class lists; build both from the same dataset.")
    if train.videos.shape[1:] != test.videos.shape[1:]:
        raise ValueError(f"Train videos {tuple(train.videos.shape[1:])} and test videos "
                         f"{tuple(test.videos.shape[1:])} differ in (T, C, H, W).")
    rows = []
    for seed in bar(list(seeds), desc=f"{cfg.classifier} on {len(train)} videos", show=progress):
        t0 = time.perf_counter()
        model = train_evaluator(train, cfg, seed, device=device)
        train_s = time.perf_counter() - t0
        probs = predict_proba(model, test.videos, cfg.eval_batch_size)
        rows.append({"seed": int(seed), **classification_metrics(probs.numpy(), test.labels.numpy()),
                     "train_s": round(train_s, 3), "steps": cfg.steps_for(len(train)), "labels": cfg.labels,
                     "storage_mb": set_storage_mb(train, cfg.labels),
                     "pred": probs.argmax(1).tolist(), "truth": test.labels.tolist()})
    return rows


def result_row(dataset: str, pool: str, method: str, vpc: int, classifier: str, run: dict) -> dict:
    """One row of results/eval_runs.csv from a run of `evaluate_runs` (with its per-video predictions, which
    `upsert_runs` stores beside the CSV)."""
    return {"dataset": dataset, "pool": pool, "method": method, "vpc": vpc, "classifier": classifier,
            "labels": run.get("labels", "hard"), "storage_mb": run.get("storage_mb", float("nan")),
            **{k: run[k] for k in ("seed", "top1", "top5", "auc", "f1", "train_s")},
            **{k: run[k] for k in ("pred", "truth") if k in run}}
