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

# The rows that are not selectors, and the evaluators → the names the paper (and our tables and figures) print. A
# selector's printed name is its own (`display=` where it registers; vddlib.selection.display_names).
ROW_NAMES = {"full": "Full", "dm": "DM", "c3d": "C3D", "timesformer": "TimeSformer", "convnet3d": "ConvNet3D"}

# The protocol's reference row: every selection is compared with Random from the same pool.
BASELINE = "random"

# The paper's own two selectors (its Table 2 rows beside Full real / Full syn) and Table 2's VPCs.
PAPER_SELECTORS = ("vst_unet", "tac_dt")
COMPARED = (BASELINE, *PAPER_SELECTORS)   # what a study compares unless its profile names the methods
# Tables 5 and 6 ablate VST-UNet (its evaluator, its losses); TAC-DT is the selector that clusters VideoMAE
# embeddings (§3.2). Notebook 05's further studies of each vary the same selector's settings or inputs.
ABLATED, CLUSTERING = PAPER_SELECTORS
TABLE2_VPCS = (1, 5)

# ----------------------------------------------------------------------------- the tables in the paper's shape
# Table 1: dataset → (classes, total videos, train, val/test, generated at 100 per class)
TABLE1 = {
    "UCF101": (101, 13320, 9537, 3783, 10100),
    "MiniUCF": (50, 6523, 4662, 1861, 5000),
    "HMDB51": (51, 6766, 5236, 1530, 5100),
    "Kinetics-400": (400, 254379, 234619, 19760, 40000),
    "SSv2": (174, 220847, 168913, 24777, 17400),
}
# Table 2's columns: (paper's dataset name, our profile's dataset name, its accuracy metric)
TABLE2_DATASETS = (("MiniUCF", "miniucf", "top1"), ("HMDB51", "hmdb51", "top1"),
                   ("K400", "kinetics400", "top5"), ("SSv2", "ssv2", "top5"))
# Table 2: row → {(paper dataset, vpc): (mean, std)}; vpc 0 is the whole set (Full real / Full syn, shown under VPC 1)
TABLE2 = {
    "Full real": {("MiniUCF", 0): (60.14, 0.95), ("HMDB51", 0): (36.24, 0.83), ("K400", 0): (34.6, 0.5),
                  ("SSv2", 0): (29.0, 0.6)},
    "Full syn (100)": {("MiniUCF", 0): (56.22, 0.44), ("HMDB51", 0): (31.05, 0.30), ("SSv2", 0): (14.56, 0.15)},
    "DM": {("MiniUCF", 1): (15.3, 1.1), ("MiniUCF", 5): (25.7, 0.2), ("HMDB51", 1): (6.1, 0.2), ("HMDB51", 5): (8.0, 0.2),
           ("K400", 1): (6.3, 0.0), ("K400", 5): (9.1, 0.9), ("SSv2", 1): (3.6, 0.0), ("SSv2", 5): (4.1, 0.0)},
    "MTT": {("MiniUCF", 1): (19.0, 0.1), ("MiniUCF", 5): (28.4, 0.7), ("HMDB51", 1): (6.6, 0.5), ("HMDB51", 5): (8.4, 0.6),
            ("K400", 1): (3.8, 0.2), ("K400", 5): (9.1, 0.3), ("SSv2", 1): (3.9, 0.1), ("SSv2", 5): (6.3, 0.3)},
    "FRePo": {("MiniUCF", 1): (20.3, 0.5), ("MiniUCF", 5): (30.2, 1.7), ("HMDB51", 1): (7.2, 0.8),
              ("HMDB51", 5): (9.6, 0.7)},
    "DM+VD": {("MiniUCF", 1): (17.5, 0.1), ("MiniUCF", 5): (27.2, 0.4), ("HMDB51", 1): (6.0, 0.4),
              ("HMDB51", 5): (8.2, 0.1), ("K400", 1): (6.3, 0.2), ("K400", 5): (7.0, 0.1), ("SSv2", 1): (4.0, 0.1),
              ("SSv2", 5): (3.8, 0.1)},
    "MTT+VD": {("MiniUCF", 1): (23.3, 0.6), ("MiniUCF", 5): (28.3, 0.0), ("HMDB51", 1): (6.5, 0.1),
               ("HMDB51", 5): (8.9, 0.6), ("K400", 1): (6.3, 0.1), ("K400", 5): (11.5, 0.5), ("SSv2", 1): (5.5, 0.1),
               ("SSv2", 5): (8.3, 0.2)},
    "FRePo+VD": {("MiniUCF", 1): (22.0, 1.0), ("MiniUCF", 5): (31.2, 0.7), ("HMDB51", 1): (8.6, 0.5),
                 ("HMDB51", 5): (10.3, 0.6)},
    "VST-UNet": {("MiniUCF", 1): (26.28, 1.07), ("MiniUCF", 5): (41.81, 0.99), ("HMDB51", 1): (13.59, 0.33),
                 ("HMDB51", 5): (18.05, 0.75), ("K400", 1): (6.67, 0.11), ("K400", 5): (11.82, 0.10),
                 ("SSv2", 1): (5.25, 0.16), ("SSv2", 5): (8.22, 0.14)},
    "TAC-DT": {("MiniUCF", 1): (25.20, 0.41), ("MiniUCF", 5): (41.47, 0.32), ("HMDB51", 1): (13.82, 0.33),
               ("HMDB51", 5): (19.62, 0.28), ("K400", 1): (6.50, 0.19), ("K400", 5): (11.72, 0.35),
               ("SSv2", 1): (5.54, 0.19), ("SSv2", 5): (8.06, 0.17)},
}
# Table 4's HMDB51 half: method → {vpc: (ACC, AUC, F1) as (mean, std)}; vpc 0: Full syn
TABLE4_HMDB51 = {
    "random": {1: ((11.22, 0.81), (64.78, 1.37), (9.69, 0.84)), 5: ((18.81, 0.79), (71.69, 0.42), (17.23, 0.92)),
               10: ((21.83, 0.64), (74.42, 0.86), (20.41, 0.87))},
    "mae_score": {1: ((10.72, 0.89), (64.93, 0.58), (10.05, 0.95)), 5: ((18.86, 0.68), (70.67, 0.47), (17.35, 0.91)),
                  10: ((22.90, 0.28), (74.95, 0.25), (21.50, 0.38))},
    "csta": {1: ((11.92, 2.05), (64.37, 1.93), (10.58, 2.15)), 5: ((19.57, 0.89), (72.85, 0.76), (18.42, 0.80)),
             10: ((21.96, 0.59), (74.86, 0.92), (21.00, 0.53))},
    "dm_mmd": {1: ((11.97, 0.93), (64.97, 1.02), (10.86, 0.98)), 5: ((19.07, 0.81), (71.82, 0.59), (17.49, 0.95)),
               10: ((22.41, 0.69), (74.87, 0.81), (20.93, 0.40))},
    "vst_unet": {1: ((13.59, 0.26), (65.53, 0.45), (11.80, 0.37)), 5: ((18.05, 0.75), (71.87, 0.78), (17.15, 0.80)),
                 10: ((21.58, 1.25), (73.69, 0.74), (20.60, 1.57))},
    "tac_dt": {1: ((13.82, 0.33), (66.83, 0.19), (12.23, 0.41)), 5: ((19.62, 0.28), (72.37, 0.11), (18.61, 0.24)),
               10: ((22.48, 0.99), (74.85, 0.64), (21.57, 1.11))},
    "full": {0: ((31.05, 0.30), (79.76, 0.28), (29.54, 0.34))},
}
TABLE4_METHODS = ("random", "mae_score", "csta", "dm_mmd", "vst_unet", "tac_dt")
