"""Selection manifests are checked where they enter (issue 38): a hand-edited, cut-short or stale manifest is refused
by evaluation with its path and the fix, and made again (never re-used) by selection."""
from __future__ import annotations

import json

import pytest

from tests.fixtures import grid_inputs, toy_videos
from vddlib.data.selections import ManifestError, load_manifests, manifest_path, read_manifest
from vddlib.evaluation.jobs import EvalJobs, queue_manifests
from vddlib.selection.manifests import selection_manifest

POOL = toy_videos(6)             # 3 classes, 6 videos each: class c holds pool videos 6c..6c+5


def _saved(tmp_path, vpc=1):
    man = selection_manifest(tmp_path, "toy", "pool", "random", POOL.labels, vpc, 0, num_classes=3)
    return manifest_path(tmp_path, "toy", "pool", "random", vpc, 0), man


ATTACKS = {                              # the edits, and what each one breaks
    "an index of -1": ({"0": [0], "1": [6], "2": [-1]}, "outside the pool"),
    "an index past the pool": ({"0": [0], "1": [6], "2": [999]}, "outside the pool"),
    "a class missing": ({"0": [0], "1": [6]}, "have no picks"),
    "4 picks at VPC 1": ({"0": [0, 1, 2, 3], "1": [6], "2": [12]}, "exactly 1 per class"),
    "every class picks video 5": ({"0": [5], "1": [5], "2": [5]}, "picked twice"),
    "a pick of another class": ({"0": [0], "1": [6], "2": [1]}, "of class 0"),
    "an index that is not an integer": ({"0": [0.5], "1": [6], "2": [12]}, "must be an integer"),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_an_edited_manifest_is_refused_by_evaluation_and_made_again_by_selection(tmp_path, attack):
    indices, problem = ATTACKS[attack]
    path, _ = _saved(tmp_path)
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "indices": indices}))
    with pytest.raises(ManifestError) as e:                                  # evaluate: refused, path and fix named
        load_manifests(tmp_path, "toy", "pool", ["random"], [1], [0], labels=POOL.labels.tolist())
    assert str(path) in str(e.value) and problem in str(e.value) and "vddlib select" in str(e.value)
    with pytest.warns(UserWarning, match="Making it again"):                 # select: made again, not re-used
        man = selection_manifest(tmp_path, "toy", "pool", "random", POOL.labels, 1, 0, num_classes=3)
    assert not man["reused"]
    assert read_manifest(path, POOL.labels.tolist())["indices"] == {str(c): v for c, v in man["indices"].items()}


def test_a_manifest_cut_short_is_named_and_made_again(tmp_path):
    path, _ = _saved(tmp_path)
    path.write_text(path.read_text()[:40])
    with pytest.raises(ManifestError, match="not a JSON manifest"):
        load_manifests(tmp_path, "toy", "pool", ["random"], [1], [0])
    with pytest.warns(UserWarning, match="Making it again"):
        assert not selection_manifest(tmp_path, "toy", "pool", "random", POOL.labels, 1, 0, num_classes=3)["reused"]


def test_a_manifest_whose_name_and_fields_disagree_is_refused(tmp_path):
    path, _ = _saved(tmp_path, vpc=2)
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "vpc": 1, "indices": {"0": [0], "1": [6], "2": [12]}}))
    with pytest.raises(ManifestError, match="file name says vpc2_seed0"):
        read_manifest(path)


def test_a_good_manifest_is_re_used_and_passes(tmp_path):
    path, first = _saved(tmp_path, vpc=2)
    again = selection_manifest(tmp_path, "toy", "pool", "random", POOL.labels, 2, 0, num_classes=3)
    assert again["reused"] and again["indices"] == first["indices"]
    assert load_manifests(tmp_path, "toy", "pool", ["random"], [2], [0], labels=POOL.labels.tolist())


def test_the_queue_refuses_a_manifest_that_does_not_fit_its_pool():
    pool, test, cfg, manifests = grid_inputs()
    bad = {**manifests[0], "indices": {0: [-1], 1: [pool.labels.tolist().index(1)]}}
    with pytest.raises(ManifestError, match="outside the pool"):
        queue_manifests(EvalJobs(test, "toy"), pool, [bad], cfg, "synthetic")
    q = EvalJobs(test, "toy")
    assert len(queue_manifests(q, pool, manifests, cfg, "synthetic")) == len(manifests)


def test_a_manifest_copied_from_another_pool_is_refused(tmp_path):
    import shutil

    path, _ = _saved(tmp_path)
    other = manifest_path(tmp_path, "toy", "pool2", "random", 1, 0)
    other.parent.mkdir(parents=True)
    shutil.copy(path, other)
    with pytest.raises(ManifestError, match="records pool 'pool'.*folder of pool 'pool2'"):
        load_manifests(tmp_path, "toy", "pool2", ["random"], [1], [0])


def test_a_count_parameter_below_one_is_refused_by_the_notebooks_start():
    from vddlib.profile import check_counts

    for bad in ({"runs": 0}, {"runs": -1}, {"processes": 0}, {"vpcs": [1, 2.5]}, {"max_runs": True}):
        with pytest.raises(ValueError, match="whole numbers of at least 1"):
            check_counts(bad)
    check_counts({"runs": None, "vpcs": [1, 5], "processes": 2})
