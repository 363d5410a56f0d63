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
# Table 4 (selection methods on the MiniUCF pool): method → {vpc: (ACC, AUC, F1) as (mean, std) pairs}
_TABLE4 = {
    "mae_score": {1: ((23.21, 0.29), (78.80, 0.38), (22.01, 0.22)), 5: ((40.80, 0.59), (87.59, 0.24), (38.52, 0.55)),
                  10: ((49.04, 0.32), (90.58, 0.32), (46.55, 0.33))},
    "csta": {1: ((23.80, 0.79), (78.35, 0.90), (21.15, 0.91)), 5: ((41.77, 1.15), (88.51, 0.34), (39.93, 0.85)),
             10: ((49.43, 0.95), (91.25, 0.63), (47.62, 0.81))},
    "dm_mmd": {1: ((23.67, 0.45), (78.83, 0.51), (21.85, 0.40)), 5: ((40.25, 0.77), (87.48, 0.48), (38.31, 0.61)),
               10: ((49.31, 0.56), (90.27, 0.35), (47.02, 0.79))},
    "vst_unet": {1: ((26.28, 1.07), (80.30, 0.45), (24.68, 0.36)), 5: ((41.81, 0.99), (88.45, 0.54), (40.07, 0.95)),
                 10: ((49.72, 0.61), (90.96, 0.26), (48.67, 0.58))},
    "tac_dt": {1: ((25.20, 0.41), (79.94, 0.43), (23.59, 0.49)), 5: ((41.47, 0.32), (88.73, 0.12), (39.81, 0.47)),
               10: ((49.79, 0.68), (91.11, 0.37), (48.17, 0.69))},
}
for _m, _by in _TABLE4.items():
    for _v, (_a, _u, _f) in _by.items():
        MINIUCF[(_m, _v, "synthetic")] = {"top1": _a, "auc": _u, "f1": _f}


# Table 5 (MiniUCF): classifier trained on VST-UNet selections → {vpc: {metric: (mean, std)}}.
# "c3d" is C3D; the paper's "swin" (Video Swin) is stood in for here by "timesformer" (see models/video_transformer.py).
TABLE5_MINIUCF = {
    "c3d": {1: {"top1": (26.28, 1.07), "auc": (80.30, 0.45), "f1": (24.68, 0.36)},
            5: {"top1": (41.81, 0.99), "auc": (88.45, 0.54), "f1": (40.07, 0.95)},
            10: {"top1": (49.72, 0.61), "auc": (90.96, 0.26), "f1": (48.67, 0.58)}},
    "timesformer": {1: {"top1": (18.93, 0.85), "auc": (77.50, 0.83), "f1": (17.22, 0.54)},
                    5: {"top1": (33.21, 0.95), "auc": (85.70, 0.47), "f1": (31.90, 1.05)},
                    10: {"top1": (39.62, 1.59), "auc": (89.09, 0.50), "f1": (38.72, 1.64)}},
}
# Table 6 (MiniUCF, VPC 5): VST-UNet losses → {metric: (mean, std)}.
TABLE6_MINIUCF = {
    "CE": {"top1": (31.77, 0.50), "auc": (82.52, 0.35), "f1": (29.64, 0.49)},
    "CE+Div": {"top1": (40.18, 0.87), "auc": (87.37, 0.64), "f1": (38.12, 0.91)},
    "CE+Rep": {"top1": (39.80, 1.27), "auc": (87.80, 0.99), "f1": (37.81, 1.68)},
    "CE+Div+Rep": {"top1": (41.81, 0.99), "auc": (88.45, 0.54), "f1": (40.07, 0.95)},
}
# Table 2 (MiniUCF): DM (distribution matching, the prior video-distillation baseline) top-1 by VPC.
DM_MINIUCF = {1: {"top1": (15.3, 1.1)}, 5: {"top1": (25.7, 0.2)}}

# The paper's own two selectors (its Table 2 rows beside Full real / Full syn) and Table 2's VPCs.
PAPER_SELECTORS = ("vst_unet", "tac_dt")
TABLE2_VPCS = (1, 5)
