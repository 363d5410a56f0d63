"""The paper's reference figures that our tables sit beside (mean, std over 5 runs; C3D).

From Tables 2-4 of the paper (MiniUCF, top-1 accuracy / macro AUC / macro F1, percent).
"""
from __future__ import annotations

# (method, vpc) → {metric: (mean, std)}; vpc 0 is the whole set.
MINIUCF = {
    ("full", 0, "real"): {"top1": (60.14, 0.95)},
    ("full", 0, "synthetic"): {"top1": (56.22, 0.44), "auc": (92.99, 0.15), "f1": (54.66, 0.36)},
    ("random", 1, "synthetic"): {"top1": (23.42, 1.23), "auc": (77.73, 0.91), "f1": (21.29, 1.14)},
    ("random", 5, "synthetic"): {"top1": (38.00, 1.07), "auc": (87.31, 0.47), "f1": (35.52, 0.96)},
    ("random", 10, "synthetic"): {"top1": (45.72, 0.78), "auc": (90.05, 0.38), "f1": (43.29, 1.08)},
}
