"""The `vddlib` command: every subcommand documents a working example, and the stages run end to end from the
command line on a tiny real-format dataset, writing where the notebooks would."""
from __future__ import annotations

import csv
import json
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


def test_the_stages_run_from_the_command_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("VDDLIB_DEBUG", raising=False)
    profile, _ = fixtures.tiny_real_profile(tmp_path, "cli_test")
    common = ["--profile", str(profile), "--quiet"]
    grid = ["--methods", "random", "tac_dt", "teacher_conf", "--vpcs", "1", "--runs", "1"]   # teacher_conf: the recogniser
    with pytest.warns(UserWarning, match="short clip"):
        main(["finetune", *common])
    main(["generate", *common])
    main(["select", *common, *grid])
    main(["evaluate", *common, *grid])
    results = tmp_path / "out" / "results"
    assert sorted(p.name for p in (results / "selections" / "ucf101").glob("*/*")) == ["random", "tac_dt", "teacher_conf"]
    with open(results / "eval_runs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["method"], r["vpc"]) for r in rows) == [("random", "1"), ("tac_dt", "1"), ("teacher_conf", "1")]
    assert (results / "cli_ucf101_c3d.md").is_file()
    with pytest.raises(FileNotFoundError, match="selection manifests of pool"):
        main(["evaluate", *common, "--debug", "--methods", "herding", "--vpcs", "1", "--runs", "1"])
    # the attack, end to end: a hand-edited manifest is refused by evaluate, made again by select
    (man,) = (results / "selections" / "ucf101").glob("*/random/vpc1_seed0.json")
    doc = json.loads(man.read_text())
    man.write_text(json.dumps({**doc, "indices": {"0": [5], "1": [5], "2": [-1]}}))
    capsys.readouterr()
    err = _error(capsys, ["evaluate", *common, *grid])
    assert str(man) in err and "Traceback" not in err and "vddlib select" in err
    with pytest.warns(UserWarning, match="Making it again"):
        main(["select", *common, *grid])
    assert "(2 re-used)" in capsys.readouterr().out      # tac_dt and teacher_conf re-used, random made again
    main(["evaluate", *common, *grid])


def _error(capsys, argv, status=1) -> str:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == status
    return capsys.readouterr().err


def test_an_error_is_one_line_naming_the_problem_and_the_traceback_needs_debug(capsys, monkeypatch):
    monkeypatch.delenv("VDDLIB_DEBUG", raising=False)
    err = _error(capsys, ["select", "--profile", "no_such_profile", "--quiet"])
    assert "Traceback" not in err and len(err.strip().splitlines()) == 2
    assert err.startswith("vddlib select: error: No profile at") and "default" in err and "--debug" in err
    with pytest.raises(FileNotFoundError, match="No profile at"):                 # --debug: the exception itself
        main(["select", "--profile", "no_such_profile", "--quiet", "--debug"])
    monkeypatch.setenv("VDDLIB_DEBUG", "1")
    with pytest.raises(FileNotFoundError):
        main(["select", "--profile", "no_such_profile", "--quiet"])


@pytest.mark.parametrize("flag,value", [("--runs", "0"), ("--runs", "-1"), ("--processes", "0"), ("--vpcs", "2.5"),
                                        ("--vpcs", "0")])
def test_counts_below_one_or_not_whole_are_refused_at_the_edge(capsys, flag, value):
    err = _error(capsys, ["evaluate", flag, value], status=2)
    assert flag in err and "whole number of at least 1" in err


def test_paths_typed_on_the_command_line_are_read_from_the_current_folder(tmp_path, monkeypatch):
    from vddlib.cli.main import _start

    (tmp_path / "mine.yaml").write_text("base: default\nname: mine\n")
    monkeypatch.chdir(tmp_path)
    a = build_parser().parse_args(["select", "--profile", "./mine.yaml", "--results-dir", "myres", "--quiet"])
    prof, run = _start(a)
    assert prof.name == "mine" and prof.results_dir == str(tmp_path / "myres") and run.results == tmp_path / "myres"
    assert (tmp_path / "myres").is_dir() and not (REPO_ROOT / "myres").exists()


def test_a_results_folder_that_cannot_be_written_fails_before_any_work(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("VDDLIB_DEBUG", raising=False)
    (tmp_path / "a_file").write_text("")
    err = _error(capsys, ["evaluate", "--results-dir", str(tmp_path / "a_file" / "res"), "--quiet"])
    assert "Cannot write to the results folder" in err and "nothing was run" in err
