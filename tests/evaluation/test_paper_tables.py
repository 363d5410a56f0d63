"""Tables 1, 2 and 4 in the paper's shape, and the figures' conventions (dpi, PDF, the paper's names)."""
from __future__ import annotations

from PIL import Image

from vddlib import figures
from vddlib.evaluation import paper_tables
from vddlib.selection import display_names


def _row(ds, pool, method, vpc, seed, top1, auc=80.0, f1=30.0):
    return {"dataset": ds, "pool": pool, "method": method, "vpc": vpc, "classifier": "c3d", "seed": seed,
            "top1": top1, "top5": top1 + 20, "auc": auc, "f1": f1, "train_s": 1.0}


NOISE = {"random": (0.0, 1.0, -1.0, 0.5), "tac_dt": (0.5, -0.5, 1.0, 0.0), "vst_unet": (-1.0, 0.0, 0.5, 1.5)}
MEANS = {("random", 1): 20.0, ("tac_dt", 1): 30.0, ("vst_unet", 1): 25.0,    # VPC 1: TAC-DT leads by 5 ± 2
         ("random", 5): 30.0, ("tac_dt", 5): 31.0, ("vst_unet", 5): 31.0}    # VPC 5: no lead an interval shows
ROWS = ([_row("toy", "real", "full", 0, s, 90.0 + s) for s in range(2)]
        + [_row("toy", "synthetic", m, v, s, acc + NOISE[m][s]) for (m, v), acc in MEANS.items() for s in range(4)]
        + [_row("hmdb51", "synthetic", "tac_dt", 1, s, 14.0 + s) for s in range(2)])


def test_table2_has_the_papers_rows_and_ours_in_its_columns(tmp_path):
    md = paper_tables.table2(ROWS, tmp_path / "table2")
    lines = {line.split(" | ")[0].strip("| "): line for line in md.splitlines() if line.startswith("|")}
    for prior in ("MTT", "FRePo", "DM+VD", "MTT+VD", "FRePo+VD", "DM"):
        assert prior in lines                                         # the paper's prior-work rows
    header = md.splitlines()[2]
    assert "MiniUCF 1" in header and "SSv2 5" in header and "toy 1" in header and "toy 5" in header
    ours_tac = [line for line in md.splitlines() if line.startswith("| TAC-DT | ours")][0]
    assert "**30.25±0.65 (n=4)**" in ours_tac                         # a lead whose paired interval is above 0
    assert "31.25±0.65 (n=4)" in ours_tac and "**31.25" not in md     # VPC 5: best mean, but no significant lead
    assert "14.50±0.71 (n=2)" in ours_tac                             # our HMDB51 run in the paper's HMDB51 column
    assert "**13.82" not in md and "**14.50" not in md                # 2 runs cannot show a lead over the paper's
    assert "MTT | paper | **" not in md and "**" in md
    assert (tmp_path / "table2.csv").read_text().count("**") == 0


def test_table4_has_both_of_the_papers_halves_and_ours(tmp_path):
    md = paper_tables.table4(ROWS, tmp_path / "table4", ["random", "tac_dt", "vst_unet"], [1, 5], names=display_names())
    header = md.splitlines()[2]
    assert "MiniUCF (paper) ACC" in header and "HMDB51 (paper) F1" in header and "toy (ours) AUC" in header
    hmdb_random_1 = [line for line in md.splitlines() if line.startswith("| 1 | Random |")][0]
    assert "11.22±0.81 (n=5)" in hmdb_random_1 and "20.12±0.85 (n=4)" in hmdb_random_1
    bold = [c for line in md.splitlines()[2:] for c in line.split(" | ") if c.startswith("**")]
    # ours: TAC-DT's VPC 1 ACC only (AUC and F1 tie); the paper's: its two leads that Welch (n = 5) shows
    assert bold == ["**24.68±0.36 (n=5)**", "**66.83±0.19 (n=5)**", "**30.25±0.65 (n=4)**"]
    same = paper_tables.table4(ROWS, tmp_path / "t4", ["random", "tac_dt", "vst_unet"], [1, 5],
                               same_as={("vst_unet", 5): "tac_dt"}, names=display_names())
    assert "| 5 | VST-UNet |" in same and "= TAC-DT | = TAC-DT | = TAC-DT |" in same


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


def test_the_papers_cells_keep_their_published_precision(tmp_path):
    from vddlib.evaluation.paper_tables import table2

    md = table2([], tmp_path / "table2")
    assert "6.3±0.0 (n=5)" in md and "60.14±0.95 (n=5)" in md     # as published: one decimal there, two here
    assert "22.0±1.0 (n=5)" in md                                    # FRePo+VD: the paper's one decimal, not "22±1"
    assert "±0.00" not in md
