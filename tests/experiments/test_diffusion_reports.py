"""The diffusion benchmarks' tables and curves, read from the JSON the benchmark scripts wrote."""
from __future__ import annotations

import json

import pytest

from vddlib.experiments import diffusion_reports as reports


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setattr(reports, "RESULTS", tmp_path)
    return tmp_path


def test_checkpoints_table_and_the_guidance_sweep_at_the_common_step_count(results):
    rows = [{"label": "small", "guidance": g, "sampler_steps": s, "recognised": 70.0, "frechet_to_real_test": 16.0,
             "full_syn_mean": m, "full_syn_std": 1.0, "generate_s": 60.0}
            for g, s, m in ((1.0, 20, 53.0), (2.0, 20, 75.0), (2.0, 10, 74.7))]
    (results / "c.json").write_text(json.dumps({"rows": rows}))
    header, body, series, steps = reports.checkpoints_table("c.json")
    assert len(header) == len(body[0]) == 7 and body[1][5] == "75.00±1.00"
    assert steps == 20 and series == {"small": ([1.0, 2.0], [53.0, 75.0], [1.0, 1.0])}      # with the std


def test_full_syn_findings_are_computed_from_the_results(results, tmp_path):
    rows = [{"label": "small", "weights": "checkpoints/x", "guidance": g, "sampler_steps": s, "recognised": r,
             "frechet_to_real_test": 16.0, "full_syn_mean": m, "full_syn_std": 1.0, "generate_s": t, "params_M": 4.2}
            for g, s, m, r, t in ((1.0, 20, 53.0, 56.0, 60.0), (2.0, 20, 75.0, 78.0, 100.0), (2.0, 10, 74.7, 78.0, 55.0))]
    (results / "c.json").write_text(json.dumps({"rows": rows}))
    csv_path = tmp_path / "eval_runs.csv"
    csv_path.write_text("dataset,pool,method,vpc,classifier,seed,top1\n"
                        "dm,real,full,0,c3d,0,90.0\ndm,synthetic,full,0,c3d,0,72.0\n")
    lines = reports.full_syn_findings(csv_path, "dm", "c3d", 2.0, 10, "c.json")
    assert lines[0].startswith("Full syn / Full real = 0.80 (72.0 against 90.0 % top-1, 1 runs")
    assert "CFG 2, 20 sampler steps: Full syn 75.0±1.0" in lines[1] and "56 %" in lines[2]
    assert "in 0.55× the CPU time of 20 steps" in lines[3]
    assert "not measured yet" in reports.full_syn_findings(tmp_path / "none.csv", "dm", "c3d", 2.0, 10, "c.json")[0]


def test_feasibility_curve_converts_steps_to_cpu_hours(results):
    (results / "curve.json").write_text(json.dumps({"rows": [{"guidance": 6, "steps": 3600, "recognised": 45.0}],
                                                     "info": {"recogniser_real_test": 89.5, "device": "H100",
                                                              "s_per_step": {"tiny": 0.01}}}))
    (results / "cpu").mkdir()
    (results / "cpu" / "s.json").write_text(json.dumps({"s_per_step": {"tiny": 0.5}}))
    series, title, line = reports.feasibility_curve("curve.json", "cpu/s.json")
    assert series == {"CFG 6": ([0.5], [45.0])} and "89.5" in title and "0.500 s/step" in line


def test_a_missing_benchmark_file_names_the_benchmarks(results):
    with pytest.raises(FileNotFoundError, match="benchmark"):
        reports.model_sizes("absent.json")


def test_the_committed_benchmark_files_render():
    """The files notebooks 01 and 02 read are in the repository and have the fields the tables use."""
    assert reports.checkpoints_table()[1] and reports.guidance_sweep()[1] and reports.model_sizes()[1]
    assert reports.feasibility_curve()[0]
