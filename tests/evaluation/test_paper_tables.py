"""Tables 1, 2 and 4 in the paper's shape, and the figures' conventions (dpi, PDF, the paper's names)."""
from __future__ import annotations

from PIL import Image

from vddlib import figures
from vddlib.evaluation import paper_tables


def _row(ds, pool, method, vpc, seed, top1, auc=80.0, f1=30.0):
    return {"dataset": ds, "pool": pool, "method": method, "vpc": vpc, "classifier": "c3d", "seed": seed,
            "top1": top1, "top5": top1 + 20, "auc": auc, "f1": f1, "train_s": 1.0}


ROWS = ([_row("toy", "real", "full", 0, s, 90.0 + s) for s in range(2)]
        + [_row("toy", "synthetic", m, v, s, acc + s) for m, acc in (("random", 20.0), ("tac_dt", 30.0),
                                                                        ("vst_unet", 25.0))
           for v in (1, 5) for s in range(2)]
        + [_row("hmdb51", "synthetic", "tac_dt", 1, s, 14.0 + s) for s in range(2)])


def test_table2_has_the_papers_rows_and_ours_in_its_columns(tmp_path):
    md = paper_tables.table2(ROWS, tmp_path / "table2")
    lines = {line.split(" | ")[0].strip("| "): line for line in md.splitlines() if line.startswith("|")}
    for prior in ("MTT", "FRePo", "DM+VD", "MTT+VD", "FRePo+VD", "DM"):
        assert prior in lines                                         # the paper's prior-work rows
    header = md.splitlines()[2]
    assert "MiniUCF 1" in header and "SSv2 5" in header and "toy 1" in header and "toy 5" in header
    ours_tac = [line for line in md.splitlines() if line.startswith("| TAC-DT | ours")][0]
    assert "**30.50±0.50**" in ours_tac                               # best of the toy VPC-1 column, in bold
    assert "14.50±0.50" in ours_tac                                   # our HMDB51 run in the paper's HMDB51 column
    assert "**13.82±0.33**" not in md and "**14.50±0.50**" in md      # ours beats the paper's best there
    assert (tmp_path / "table2.csv").read_text().count("**") == 0


def test_table4_has_both_of_the_papers_halves_and_ours(tmp_path):
    md = paper_tables.table4(ROWS, tmp_path / "table4", ["random", "tac_dt", "vst_unet"], [1, 5])
    header = md.splitlines()[2]
    assert "MiniUCF (paper) ACC" in header and "HMDB51 (paper) F1" in header and "toy (ours) AUC" in header
    hmdb_random_1 = [line for line in md.splitlines() if line.startswith("| 1 | Random |")][0]
    assert "11.22±0.81" in hmdb_random_1 and "20.50±0.50" in hmdb_random_1


def test_table1_sets_the_loaded_dataset_beside_the_papers(tmp_path):
    md = paper_tables.table1(tmp_path / "table1", {"toy": (3, 12, 6, 18)})
    assert "| SSv2 | paper | 174 | 220,847" in md and "| toy | ours (loaded) | 3 | 18 | 12 | 6 | 18 |" in md


def test_figures_use_the_papers_names_150_dpi_and_pdf_for_the_papers_own(tmp_path):
    assert figures.pretty("vst_unet 5 vs tac_dt (kcenter)") == "VST-UNet 5 vs TAC-DT (K-Center)"
    figures.bar_plot([("vst_unet", 1.0, 0.1), ("random", 2.0, 0.2)], tmp_path / "table6_x.png", "top-1")
    figures.line_plot({"a": ([1, 2], [1.0, 2.0], [0.1, 0.2])}, tmp_path / "curve.png", "x", "y")
    assert (tmp_path / "table6_x.pdf").is_file() and not (tmp_path / "curve.pdf").exists()
    with Image.open(tmp_path / "table6_x.png") as im:
        assert round(im.info["dpi"][0]) == figures.DPI >= 150
