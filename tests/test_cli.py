"""The `vddlib` command: every subcommand documents a working example, and the stages run end to end from the
command line on a tiny real-format dataset, writing where the notebooks would."""
from __future__ import annotations

import csv
import subprocess
import sys

import pytest

from tests import fixtures
from vddlib.cli.main import EXAMPLES, build_parser, main
from vddlib.config import REPO_ROOT


@pytest.mark.parametrize("module", ["vddlib", "vddlib.cli"])
def test_python_dash_m_shows_the_subcommands(module):
    out = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, cwd=REPO_ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    for name in EXAMPLES:
        assert name in out.stdout


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_subcommand_help_has_an_example_that_parses(name, capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args([name, "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert "example:" in text and EXAMPLES[name].split("\n")[0] in text
    args = build_parser().parse_args(EXAMPLES[name].split("\n")[0].split()[1:])     # the example is valid
    assert args.command == name


def test_the_stages_run_from_the_command_line(tmp_path):
    profile, _ = fixtures.tiny_real_profile(tmp_path, "cli_test")
    common = ["--profile", str(profile), "--quiet"]
    grid = ["--methods", "random", "tac_dt", "--vpcs", "1", "--runs", "1"]
    with pytest.warns(UserWarning, match="short clip"):
        main(["finetune", *common])
    main(["generate", *common])
    main(["select", *common, *grid])
    main(["evaluate", *common, *grid])
    results = tmp_path / "out" / "results"
    assert sorted(p.name for p in (results / "selections" / "ucf101").glob("*/*")) == ["random", "tac_dt"]
    with open(results / "eval_runs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["method"], r["vpc"]) for r in rows) == [("random", "1"), ("tac_dt", "1")]
    assert (results / "cli_ucf101_c3d.md").is_file()
    with pytest.raises(FileNotFoundError, match="selection manifests of pool"):
        main(["evaluate", *common, "--methods", "herding", "--vpcs", "1", "--runs", "1"])
