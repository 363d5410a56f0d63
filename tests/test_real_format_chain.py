"""Every notebook, in order, on a tiny dataset in UCF101's own files (params/tiny_real.yaml): real-format loading
with a clip cut short and one shorter than the clip, diffusion trained here, generation, every selector,
evaluation, the ablations and the cost notebook, all with class counts, VPCs and indices from the profile and the
data. The run writes only to its own folders, never to the committed results, figures or notebooks."""
from __future__ import annotations

import csv
import subprocess

import pytest

from tests import fixtures
from vddlib.config import REPO_ROOT
from vddlib.data.datasets import DatasetConfig, load_dataset, load_summary
from vddlib.data.tiny import LAYOUTS, write_tiny
from vddlib.data.video_io import ClipSpec

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_loads_with_its_faults_flagged(tmp_path, layout):
    info = write_tiny(tmp_path / layout, layout)
    cfg = DatasetConfig(name=layout, root=str(info["root"]), cache_dir=str(tmp_path / "cache"),
                        clip=ClipSpec(frames=8, gap=2, resize=(48, 36), crop=32))
    with pytest.warns(UserWarning, match="2 short clip"):
        splits = load_dataset(cfg)
    assert [len(splits[s]) for s in ("train", "test")] == [12, 6] and splits["train"].num_classes == 3
    text = load_summary(splits)
    assert f"{layout}/train: 12 of 12 videos loaded, 0 skipped, 2 short" in text
    assert info["cut"].name in text and info["short"].name in text and "frames its container states" in text


def _tracked_changes() -> list[str]:
    if not (REPO_ROOT / ".git").exists():
        return []
    out = subprocess.run(["git", "status", "--porcelain", "--", "results", "figures", "notebooks", "checkpoints"],
                         cwd=REPO_ROOT, capture_output=True, text=True).stdout
    return sorted(out.splitlines())


def test_the_notebook_chain_runs_on_real_format_files(tmp_path):
    import papermill as pm

    profile, _ = fixtures.tiny_real_profile(tmp_path, "tiny_chain")
    before = _tracked_changes()
    out = tmp_path / "out" / "notebooks"
    out.mkdir(parents=True)
    for nb in NOTEBOOKS:
        pm.execute_notebook(str(nb), str(out / nb.name), parameters={"profile": str(profile)}, cwd=str(REPO_ROOT),
                            kernel_name="python3", progress_bar=False, log_output=False)
    res, fig = tmp_path / "out" / "results", tmp_path / "out" / "figures"
    with open(res / "eval_runs.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["dataset"] == "ucf101"]
    methods = {r["method"] for r in rows if r["pool"] == "synthetic"}
    assert {"full", "random", "vst_unet", "tac_dt"} <= methods
    hard = [r for r in rows if r["labels"] == "hard" and r["pool"] == "synthetic" and r["classifier"] == "c3d"]
    assert {int(r["vpc"]) for r in hard if r["method"] == "tac_dt"} == {1, 2, 3}   # the profile's VPCs + 07's larger
    assert {(int(r["vpc"]), r["classifier"]) for r in rows if r["labels"] == "soft" and r["method"] == "tac_dt"} == {
        (1, "c3d"), (2, "c3d"), (1, "convnet3d"), (1, "timesformer")}                 # 07's soft-label runs
    assert {r["pool"] for r in rows} >= {"synthetic/shuffled", "synthetic/still"}     # 07's motion controls
    for name in ("table2.md", "table4.md", "table7.md", "ablation_runs.csv", "selection_scaling.csv",
                 "beyond_labels_ucf101.md", "beyond_storage_ucf101.md", "beyond_evaluators_ucf101.md",
                 "motion_control_ucf101.md", "memorisation_ucf101.md"):
        assert (res / name).is_file(), name
    assert (res / "selections" / "ucf101").is_dir()                   # manifests follow the profile's outputs
    assert (fig / "fig2_synthetic_frames.png").is_file() and (fig / "ucf101_samples_per_class.png").is_file()
    first = (out / "01_finetune.ipynb").read_text()
    assert "ucf101/train: 12 of 12 videos loaded, 0 skipped, 2 short" in first       # the load report is shown
    assert "v_Biking_g01_c01.avi" in first                                             # naming the cut-short file
    assert _tracked_changes() == before                # nothing written over the committed outputs
