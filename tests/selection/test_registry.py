"""The registry is the one place that knows the selectors: a new selector with settings is its own module, and the
profile's `selection.<name>` section reaches it with no other edit."""
from __future__ import annotations

import dataclasses
import importlib.util
import sys
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from vddlib.selection import registry
from vddlib.selection.registry import SELECTORS, register, select
from vddlib.selection.stage import SelectionSettings

MODULE = '''
from dataclasses import dataclass

from vddlib.selection.registry import per_class, register


@dataclass
class EveryKthConfig:
    step: int = 1


@register("every_kth", settings=EveryKthConfig)
def select_every_kth(labels, vpc, seed=0, num_classes=None, *, config=None, **_):
    step = (config or EveryKthConfig()).step
    return per_class(labels, vpc, num_classes, lambda c, idx: [(i * step) % len(idx) for i in range(vpc)])
'''


@pytest.fixture
def new_selector(tmp_path, monkeypatch):
    """A selector module written as a user would write it, imported; the registry is restored afterwards."""
    monkeypatch.setattr(registry, "SELECTORS", dict(SELECTORS))
    monkeypatch.setattr(sys.modules["vddlib.selection.stage"], "SELECTORS", registry.SELECTORS)
    path = tmp_path / "every_kth.py"
    path.write_text(MODULE)
    spec = importlib.util.spec_from_file_location("every_kth", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_a_new_selector_module_reaches_select_and_the_profile(new_selector):
    labels = np.repeat(np.arange(3), 6)
    picks = select("every_kth", labels, 2, step=2)
    assert picks == {0: [0, 2], 1: [6, 8], 2: [12, 14]}
    sel = SelectionSettings.from_dict({"methods": ["random", "every_kth"], "every_kth": {"step": 3}}, "test.yaml")
    assert sel.methods == ("random", "every_kth") and sel.every_kth.step == 3
    assert sel.settings("every_kth") == {"config": new_selector.EveryKthConfig(step=3)}
    with pytest.raises(TypeError, match=r"test.yaml: selection.every_kth.step: expected an integer"):
        SelectionSettings.from_dict({"every_kth": {"step": "3"}}, "test.yaml")
    assert "every_kth" in SelectionSettings().methods           # empty methods: every registered selector


def test_settings_of_unknown_or_settingless_selectors_are_errors():
    with pytest.raises(ValueError, match="unknown"):
        SelectionSettings(methods=("random", "no_such_method"))
    with pytest.raises(ValueError, match="takes no settings"):
        SelectionSettings.from_dict({"random": {"x": 1}}, "test.yaml")
    with pytest.raises(ValueError, match="unknown setting"):
        SelectionSettings.from_dict({"tac_dt": {"treshold": 0.1}}, "test.yaml")


def test_two_selectors_cannot_share_a_name(monkeypatch):
    monkeypatch.setattr(registry, "SELECTORS", dict(SELECTORS))
    with pytest.raises(ValueError, match="Two selectors"):
        register("random")(lambda *a, **k: None)


def test_every_selector_with_settings_takes_one_config():
    """One convention: a selector with settings receives (and its manifest records) `config=`, an instance of its
    settings dataclass, whose defaults are the only ones; a config of another selector is refused by name."""
    sel = SelectionSettings()
    for name, s in SELECTORS.items():
        if s.settings is None:
            assert sel.settings(name) == {}
            continue
        st = sel.settings(name)
        assert set(st) == {"config"} and st["config"] == s.settings(), name
    from vddlib.selection.selectors.dm_mmd import DMMMDConfig

    emb = np.random.default_rng(0).normal(size=(8, 4))
    with pytest.raises(TypeError, match="config= must be a TacDTConfig; got DMMMDConfig"):
        select("tac_dt", np.repeat(np.arange(2), 4), 1, embeddings=emb, config=DMMMDConfig())


def test_the_device_reaches_the_selectors_that_train_and_stays_out_of_manifests(tmp_path, monkeypatch):
    """selection.device goes to a selector registered `on_device` (VST-UNet), as an argument the manifest does not
    record (a selection made on a GPU re-uses, and is re-used by, the same settings' manifest); others refuse it."""
    from vddlib.data.videoset import VideoSet
    from vddlib.profile import load_profile
    from vddlib.selection import stage

    labels = np.repeat(np.arange(2), 4)
    with pytest.raises(TypeError, match=r"unknown argument\(s\) \['device'\]"):
        select("random", labels, 1, device="cpu")
    assert SELECTORS["vst_unet"].on_device and not SELECTORS["tac_dt"].on_device
    monkeypatch.setattr(registry, "SELECTORS", dict(SELECTORS))
    seen = []

    @register("first_on", on_device=True)
    def first_on(labels, vpc, seed=0, num_classes=None, *, device="cpu", **_):
        seen.append(device)
        return registry.per_class(labels, vpc, num_classes, lambda c, idx: list(range(vpc)))

    prof = load_profile("default")
    prof = dataclasses.replace(prof, selection=dataclasses.replace(prof.selection, manifests=str(tmp_path)))
    pool = VideoSet(torch.zeros(8, 1, 3, 4, 4, dtype=torch.uint8), torch.from_numpy(labels), ["a", "b"])
    (man,) = stage.make_selections(prof.selection, prof.dataset.name, pool, {}, [1], [0], "p", methods=["first_on"], progress=False)
    assert [str(d) for d in seen] == ["cpu"] and man["settings"] == {} and not man["reused"]
    with pytest.raises(ValueError, match="selection.device must be one of"):
        dataclasses.replace(prof.selection, device="gpu")


@pytest.mark.parametrize("vpc", [2.5, "2", True, None])
def test_a_vpc_that_is_not_a_whole_number_is_refused_naming_it(vpc):
    labels = np.repeat(np.arange(3), 5)
    with pytest.raises(TypeError, match="vpc must be a whole number"):
        select("random", labels, vpc)


def test_embeddings_with_a_nan_row_are_refused_naming_the_row():
    labels = np.repeat(np.arange(3), 5)
    emb = np.random.default_rng(0).random((15, 4))
    emb[7, 1] = np.nan
    for method in ("kcenter", "herding", "tac_dt"):          # K-Center picked the NaN row before this check
        with pytest.raises(ValueError, match="embeddings row 7 holds NaN"):
            select(method, labels, 2, embeddings=emb)
    emb[7, 1] = np.inf
    with pytest.raises(ValueError, match="row 7"):
        select("kcenter", labels, 2, embeddings=emb)


def test_one_dimensional_embeddings_and_too_few_classes_are_refused():
    labels = np.repeat(np.arange(3), 5)
    with pytest.raises(ValueError, match="must be 2-D"):
        select("kcenter", labels, 2, embeddings=np.zeros(15))
    with pytest.raises(ValueError, match="num_classes=2, but the labels hold class 2"):   # was: class 2 dropped
        select("random", labels, 2, num_classes=2)
    assert sorted(select("random", labels, 2, num_classes=3)) == [0, 1, 2]
