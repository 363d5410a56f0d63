"""results/eval_runs.csv: columns, upsert without duplicates, tables rendered from it."""
from __future__ import annotations

import csv

import pytest

from vddlib.evaluation.results import COLUMNS, read_runs, summarize_runs, upsert_runs, write_summary_table


def row(method="random", vpc=1, seed=0, top1=50.0, **kw):
    return {"dataset": "d", "pool": "real", "method": method, "vpc": vpc, "classifier": "c3d", "seed": seed,
            "top1": top1, "top5": 90.0, "auc": 80.0, "f1": 45.0, "train_s": 1.5, **kw}


def test_upsert_replaces_rows_with_the_same_key(tmp_path):
    p = tmp_path / "r.csv"
    upsert_runs(p, [row(seed=0), row(seed=1)])
    upsert_runs(p, [row(seed=1, top1=70.0), row(vpc=5)])
    rows = read_runs(p)
    assert len(rows) == 3
    assert {(r["vpc"], r["seed"]): r["top1"] for r in rows} == {(1, 0): 50.0, (1, 1): 70.0, (5, 0): 50.0}
    with open(p) as f:
        assert next(csv.reader(f)) == COLUMNS
    assert not list(tmp_path.glob("*.tmp"))


def test_incomplete_row_and_foreign_csv_are_errors(tmp_path):
    r = row()
    del r["f1"]
    with pytest.raises(ValueError, match="f1"):
        upsert_runs(tmp_path / "r.csv", [r])
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="lacks the columns"):
        read_runs(tmp_path / "x.csv")


def test_summary_mean_and_std(tmp_path):
    rows = [row(seed=s, top1=t) for s, t in enumerate([40.0, 50.0, 60.0])]
    (s,) = summarize_runs(rows)
    assert s["runs"] == 3 and s["top1"] == pytest.approx(50.0) and s["top1_std"] == pytest.approx(10.0)   # ddof = 1
    md = write_summary_table(rows + [row(method="full", vpc=0)], tmp_path / "t",
                             reference={("full", 0, "real"): {"top1": (60.14, 0.95)}})
    lines = md.splitlines()
    assert "| real | full | all | c3d |" in lines[2] and "60.14±0.95 (n=5)" in lines[2]     # full first
    assert "50.00±10.00 (n=3)" in lines[3]
    (one,) = summarize_runs(rows[:1])
    assert one["runs"] == 1 and "±" not in write_summary_table(rows[:1], tmp_path / "u").splitlines()[2]
    assert (tmp_path / "t.csv").read_text().count("\n") == 3


def test_dataset_table_says_when_there_are_no_rows(tmp_path):
    from vddlib.evaluation.results import write_dataset_table

    md = write_dataset_table([], "ucf101", tmp_path / "table3", how_to="Run PROFILE=paper_ucf101 ./run_all.sh.")
    assert "No runs for ucf101" in md and "paper_ucf101" in md
    assert (tmp_path / "table3.md").read_text() == md


def test_dataset_table_lays_out_methods_by_vpc(tmp_path):
    from vddlib.evaluation.results import write_dataset_table

    def row(pool, method, vpc, seed, top1):
        return {"dataset": "ucf101", "pool": pool, "method": method, "vpc": vpc, "classifier": "c3d", "seed": seed,
                "top1": top1, "top5": top1, "auc": 50.0, "f1": 10.0, "train_s": 1.0}
    rows = [row("real", "full", 0, s, 50 + s) for s in (0, 1)] + [row("synthetic", "random", v, s, v + s)
                                                                  for v in (1, 5) for s in (0, 1)]
    rows.append(row("synthetic", "tac_dt", 1, 0, 7.0))
    md = write_dataset_table(rows, "ucf101", tmp_path / "t", vpcs=(1, 5))
    lines = md.strip().splitlines()
    assert lines[2].startswith("| Full real | 50.50±0.71 (n=2)")
    assert lines[3] == "| random | 1.50±0.71 (n=2) | 5.50±0.71 (n=2) |"
    assert lines[4] == "| tac_dt | 7.00 (n=1) | - |"                 # one run: no std
    assert (tmp_path / "t.md").read_text().startswith("ucf101, c3d, top1")


def test_a_benchmark_table_keeps_the_other_machines_rows(tmp_path):
    from vddlib.evaluation.results import keep_other_rows, write_table

    head = ["cpu", "ms"]
    write_table(tmp_path / "t", head, [["AVX512", "1.0"], ["AVX2", "4.0"]])
    rows = keep_other_rows(tmp_path / "t", head, [["AVX512", "2.0"]])
    assert rows == [["AVX2", "4.0"], ["AVX512", "2.0"]]                      # this machine's row replaced, the other kept
    assert keep_other_rows(tmp_path / "t", ["cpu", "seconds"], [["x", "1"]]) == [["x", "1"]]   # another table: ignored
    assert keep_other_rows(tmp_path / "none", head, [["x", "1"]]) == [["x", "1"]]


def test_labels_column_keeps_hard_and_soft_rows_apart_and_readers_see_hard_by_default(tmp_path):
    p = tmp_path / "r.csv"
    upsert_runs(p, [row(labels="hard", storage_mb=0.5), row(labels="soft", top1=70.0, storage_mb=0.5)])
    assert [r["top1"] for r in read_runs(p)] == [50.0]                     # the paper's tables: hard rows only
    assert sorted(r["labels"] for r in read_runs(p, labels=None)) == ["hard", "soft"]
    assert [r["top1"] for r in read_runs(p, labels="soft")] == [70.0]
    with pytest.raises(ValueError, match="labels must be one of"):
        upsert_runs(p, [row(labels="fuzzy")])


def test_a_file_written_before_the_labels_and_storage_columns_reads_as_hard_labels(tmp_path):
    p = tmp_path / "old.csv"
    old = [c for c in COLUMNS if c not in ("labels", "storage_mb")]
    p.write_text(",".join(old) + "\n" + "d,real,random,1,c3d,0,50,90,80,45,1.5\n")
    (r,) = read_runs(p)
    assert r["labels"] == "hard" and r["storage_mb"] != r["storage_mb"]     # NaN: not recorded then
    upsert_runs(p, [row(seed=1, storage_mb=0.2)])
    with open(p) as f:
        assert next(csv.reader(f)) == COLUMNS
    assert len(read_runs(p)) == 2


def test_motion_control_rows_are_kept_from_readers_that_do_not_ask_for_them(tmp_path):
    p = tmp_path / "r.csv"
    upsert_runs(p, [row(method="full", vpc=0), row(method="full", vpc=0, pool="real/shuffled", top1=30.0)])
    assert [r["pool"] for r in read_runs(p)] == ["real"]
    assert sorted(r["pool"] for r in read_runs(p, controls=True)) == ["real", "real/shuffled"]
    upsert_runs(p, [row(seed=3)])                                          # an upsert keeps them
    assert len(read_runs(p, labels=None, controls=True)) == 3


def test_per_video_predictions_are_stored_beside_the_csv_keyed_by_row(tmp_path):
    from vddlib.evaluation import findings
    from vddlib.evaluation.predictions import correct_by_seed, preds_path, read_predictions
    from vddlib.evaluation.results import KEY

    truth = [0, 1, 2, 1]
    rows = [{**row(seed=s, top1=t, labels="hard"), "pred": p, "truth": truth}
            for s, t, p in ((0, 75.0, [0, 1, 2, 2]), (1, 50.0, [0, 0, 2, 0]))]
    csv = tmp_path / "eval_runs.csv"
    upsert_runs(csv, rows)
    assert "pred" not in csv.read_text()                                   # the CSV stays tidy
    preds = read_predictions(csv)
    assert preds_path(csv).stat().st_size < 2000 and preds[f"truth|{rows[0]['dataset']}"].tolist() == truth
    got = correct_by_seed(preds, KEY, **{k: rows[0][k] for k in KEY if k != "seed"})
    assert {s: c.tolist() for s, c in got.items()} == {0: [True, True, True, False], 1: [True, False, True, False]}
    for s, c in got.items():                                               # the CSV's top-1 is their mean
        assert 100 * c.mean() == [r["top1"] for r in rows if r["seed"] == s][0]
    assert set(findings.stored_correct(csv, rows[0]["dataset"], "c3d", pool=rows[0]["pool"])(
        rows[0]["method"], rows[0]["vpc"])) == {0, 1}
    # a row replaced as a whole takes its predictions with it; a row without predictions keeps none
    upsert_runs(csv, [row(seed=2, top1=1.0)], replaces=lambda r: r["seed"] == 1)
    assert set(correct_by_seed(read_predictions(csv), KEY, **{k: rows[0][k] for k in KEY if k != "seed"})) == {0}


def test_a_table_cell_holding_a_comma_stays_one_csv_cell(tmp_path):
    import csv

    from vddlib.evaluation.results import write_table

    header = ["comparison", "Δ top-1 [95 % CI]", "test s (1,000 videos)"]
    body = [["tac_dt − random", "+4.00 [-0.90, +8.90]", 'say "cannot tell", n=5']]
    write_table(tmp_path / "t", header, body)
    with open(tmp_path / "t.csv", newline="") as f:
        assert list(csv.reader(f)) == [header, body[0]]


def test_every_committed_results_csv_has_one_cell_per_column():
    import csv

    from vddlib.config import REPO_ROOT

    for path in sorted((REPO_ROOT / "results").rglob("*.csv")):
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        assert all(len(r) == len(rows[0]) for r in rows), path
