"""Classification metrics as the paper reports them (percent).

The paper gives no code for AUC and F1; the most plausible reading, used here, is
scikit-learn's `roc_auc_score(multi_class="ovr", average="macro")` on softmax
probabilities and `f1_score(average="macro")` on the arg-max predictions.
"""
from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import f1_score, roc_auc_score


def topk_accuracy(probs: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Percent of rows whose label is among the k highest scores."""
    k = min(k, probs.shape[1])
    topk = np.argpartition(-probs, kth=k - 1, axis=1)[:, :k]
    return float(100.0 * np.mean(np.any(topk == labels[:, None], axis=1)))


def macro_auc(probs: np.ndarray, labels: np.ndarray) -> float:
    """Macro one-vs-rest ROC AUC (percent) over the classes present in `labels`."""
    present = np.unique(labels)
    if len(present) < 2:
        return float("nan")
    if len(present) == probs.shape[1]:
        return float(100.0 * roc_auc_score(labels, probs, multi_class="ovr", average="macro"))
    # sklearn's multi-class path needs every column's class in y_true; average the
    # one-vs-rest AUCs of the classes that are there instead.
    return float(100.0 * np.mean([roc_auc_score(labels == c, probs[:, c]) for c in present]))


def classification_metrics(probs: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor) -> dict[str, float]:
    """top1, top5, auc (macro OvR) and f1 (macro), all in percent."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if probs.ndim != 2 or probs.shape[0] != labels.shape[0]:
        raise ValueError(f"probs must be (N, classes) with N = len(labels) = {labels.shape[0]}; got {probs.shape}")
    probs = probs / probs.sum(axis=1, keepdims=True)      # float32 softmax rows drift from 1 by ~1e-7
    pred = probs.argmax(axis=1)
    return {
        "top1": topk_accuracy(probs, labels, 1),
        "top5": topk_accuracy(probs, labels, 5),
        "auc": macro_auc(probs, labels),
        "f1": float(100.0 * f1_score(labels, pred, average="macro", zero_division=0)),
    }
