"""A new selector is one module: registered with a display name, a randomised flag and a cost hook, it reaches
notebook 03's checks, the paper-shaped tables, the figures' names and notebook 06's cost study with no other edit."""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch

from vddlib import figures
from vddlib.data.videoset import VideoSet
from vddlib.evaluation import paper_tables
from vddlib.experiments import cost
from vddlib.profile import load_profile
from vddlib.selection import SELECTORS, display_names
from vddlib.selection import stage
from vddlib.selection.stage import SelectionSettings, make_selections, selection_checks

MODULE = '''
from vddlib.selection.registry import method_rng, per_class, register

TIMED = []


def _timing(settings):
    TIMED.append(settings)
    return settings, 3.0


@register("first_then_drawn", display="First-Then-Drawn", randomised=2, timing=_timing)
def select_first_then_drawn(labels, vpc, seed=0, num_classes=None, **_):
    """Each class's first video, then VPC - 1 drawn by the seed: at VPC 1 every seed agrees, above it they differ."""
    rng = method_rng("first_then_drawn", seed)
    return per_class(labels, vpc, num_classes,
                     lambda c, idx: [0, *(1 + rng.choice(len(idx) - 1, vpc - 1, replace=False))])
'''


@pytest.fixture
def new_selector(tmp_path):
    path = tmp_path / "first_then_drawn.py"
    path.write_text(MODULE)
    spec = importlib.util.spec_from_file_location("first_then_drawn", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)                     # as selectors/__init__.py imports a file dropped there
    yield module
    SELECTORS.pop("first_then_drawn", None)


def _row(method, vpc, seed, top1):
    return {"dataset": "toy", "pool": "synthetic", "method": method, "vpc": vpc, "classifier": "c3d", "seed": seed,
            "top1": top1, "top5": 90.0, "auc": 80.0, "f1": 30.0, "train_s": 1.0}


def test_a_new_selector_module_reaches_the_checks_tables_figures_and_cost_study(tmp_path, new_selector):
    labels = np.repeat(np.arange(3), 6)
    pool = VideoSet(torch.zeros(len(labels), 1, 3, 4, 4, dtype=torch.uint8), torch.from_numpy(labels), ["a", "b", "c"])
    sel = SelectionSettings(methods=("random", "first_then_drawn"), manifests=str(tmp_path / "sel"))
    seeds, vpcs = [0, 1, 2], [1, 2]

    # notebook 03: selected like any selector, and its randomised flag decides which of its selections must differ
    mans = make_selections(sel, "toy", pool, {}, vpcs, seeds, "p", progress=False)
    assert stage.randomised(sel.methods, vpcs) == [("random", 1), ("random", 2), ("first_then_drawn", 2)]
    checks = selection_checks(mans, labels, sel.methods, vpcs, seeds, 3)
    assert all(checks.values()), checks
    fixed = [dict(m, indices=next(x["indices"] for x in mans if x["method"] == m["method"] and x["vpc"] == 2
                                  and x["seed"] == 0)) if m["method"] == "first_then_drawn" and m["vpc"] == 2 else m
             for m in mans]                             # the same picks from every seed: the check must catch it
    assert not selection_checks(fixed, labels, sel.methods, vpcs, seeds, 3)[
        "every randomised selector's selections differ across seeds"]
    assert json.loads((tmp_path / "sel" / "toy" / "p" / "first_then_drawn" / "vpc2_seed1.json").read_text())[
        "method"] == "first_then_drawn"

    # the tables and figures print its own name
    rows = [_row(m, 1, s, 20.0 + s) for m in ("random", "first_then_drawn") for s in range(3)]
    md = paper_tables.table4(rows, tmp_path / "table4", list(sel.methods), [1], names=display_names())
    assert "| 1 | First-Then-Drawn |" in md and "| 1 | Random |" in md
    assert figures.pretty("first_then_drawn 2 vs random") == "First-Then-Drawn 2 vs Random"

    # notebook 06's cost study times it through its own hook and scales by the hook's factor
    scal = cost.selection_scaling(load_profile("default"), n_cs=(4, 6), classes=(2,), vpc=1, base_classes=2,
                                  base_nc=4, methods=["first_then_drawn"], progress=False)
    assert [(r["axis"], r["value"]) for r in scal] == [("n_c", 4), ("n_c", 6), ("classes", 2)]
    assert len(new_selector.TIMED) == 2 and all(r["seconds"] > 0 for r in scal)   # the shared point timed once
