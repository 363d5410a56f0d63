"""Metrics against scikit-learn on random predictions."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score, top_k_accuracy_score

from vddlib.evaluation.metrics import classification_metrics


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    n, c = 300, 7
    labels = rng.integers(0, c, n)
    logits = rng.normal(size=(n, c)) + 1.5 * np.eye(c)[labels] * rng.uniform(0, 1, (n, 1))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    m = classification_metrics(probs, labels)
    assert m["top1"] == pytest.approx(100 * accuracy_score(labels, probs.argmax(1)))
    assert m["top5"] == pytest.approx(100 * top_k_accuracy_score(labels, probs, k=5, labels=range(c)))
    assert m["auc"] == pytest.approx(100 * roc_auc_score(labels, probs, multi_class="ovr", average="macro"))
    assert m["f1"] == pytest.approx(100 * f1_score(labels, probs.argmax(1), average="macro"))


def test_perfect_and_fewer_than_five_classes():
    labels = np.array([0, 1, 2, 0])
    probs = np.eye(3)[labels] * 0.85 + 0.05
    m = classification_metrics(probs, labels)
    assert m == {"top1": 100.0, "top5": 100.0, "auc": 100.0, "f1": 100.0}


def test_auc_with_a_class_absent_from_labels():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 50)                          # class 3 never occurs
    probs = rng.dirichlet(np.ones(4), 50)
    expected = np.mean([roc_auc_score(labels == k, probs[:, k]) for k in range(3)])
    assert classification_metrics(probs, labels)["auc"] == pytest.approx(100 * expected)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="probs must be"):
        classification_metrics(np.zeros((3, 2)), np.zeros(4, dtype=int))
