"""Profiles validate on load; environment.yml and pyproject.toml list the same dependencies."""
from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest
import torch
import yaml

from vddlib.config import REPO_ROOT
from vddlib.profile import load_profile
from vddlib.data.videoset import VideoSet


def test_default_profile_loads():
    p = load_profile("default")
    assert p.dataset.name == "digits-motion" and p.evaluation.runs == 5 and p.evaluation.vpcs == (1, 5, 10)
    assert p.evaluation.train.classifier == "c3d"


@pytest.mark.parametrize("text,match", [
    ("dataset: {name: cifar}", "dataset.name must be one of"),
    ("dataset: {name: ucf101}", "dataset.root must name"),
    ("evaluation: {runs: 0}", "runs must be >= 1"),
    ("evaluation: {train: {optimizer: lbfgs}}", "optimizer"),
    ("evaluation: {train: {learning_rate: 1}}", r"unknown setting\(s\) \['learning_rate'\]"),
    ("dataset: {digits_motion: {frames: 2}}", "frames must be >= 4"),
    ("extra: 1", "unknown section"),
    ("diffusion: {latte: {size: huge}}", "size must be one of"),
    ("diffusion: {vae_steps: 0}", "vae_steps"),
    ("generate: {per_class: 0}", "N_c"),
])
def test_bad_profile_names_the_problem(tmp_path, text, match):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_profile(str(p))


def test_missing_profile_lists_the_known_ones():
    with pytest.raises(FileNotFoundError, match="default"):
        load_profile("no_such_profile")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def test_packaging_ranges_and_the_lock_agree():
    """pyproject.toml states ranges (vddlib joins other environments); constraints.txt pins the tested versions,
    each inside its range; environment.yml and scripts/ensure_venv.sh install torch first, then under the pins."""
    from packaging.requirements import Requirement

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["notebooks"]
            + project["optional-dependencies"]["test"]]
    pins = {}
    for line in (REPO_ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[_norm(name)] = version
    for r in reqs:
        assert not any(sp.operator == "==" for sp in r.specifier), f"{r}: a range, not a pin, in pyproject.toml"
        assert _norm(r.name) in pins, f"{r.name} is not pinned in constraints.txt"
        assert r.specifier.contains(pins[_norm(r.name)]), f"{r.name}=={pins[_norm(r.name)]} is outside {r.specifier}"
    assert pins["torch"] == "2.13.0"
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == ["torch==2.13.0", "-c constraints.txt", "-e .[notebooks,test]"]     # torch first, then pinned
    script = (REPO_ROOT / "scripts" / "ensure_venv.sh").read_text()
    assert script.index('"torch==2.13.0"') < script.index('-c constraints.txt -e ".[notebooks,test]"')
    assert not any(r.name in ("timm", "torchvision") for r in reqs)
    assert project["scripts"]["vddlib"] == "vddlib.cli.main:main"


def test_videoset_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="uint8 tensor shaped"):
        VideoSet(torch.zeros(2, 3, 8, 8), torch.zeros(2), ["a"])
    with pytest.raises(ValueError, match="labels must have shape"):
        VideoSet(torch.zeros(2, 1, 3, 8, 8, dtype=torch.uint8), torch.zeros(3), ["a"])
    with pytest.raises(ValueError, match="labels must lie in"):
        VideoSet(torch.zeros(2, 1, 3, 8, 8, dtype=torch.uint8), torch.tensor([0, 2]), ["a", "b"])


def test_videoset_save_load_roundtrip(tmp_path):
    vs = VideoSet(torch.randint(0, 255, (3, 2, 3, 4, 4), dtype=torch.uint8), torch.tensor([0, 1, 1]), ["a", "b"],
                  ["x", "y", "z"], {"k": 1})
    vs.save(tmp_path / "v.safetensors")
    back = VideoSet.load(tmp_path / "v.safetensors")
    assert torch.equal(back.videos, vs.videos) and back.ids == vs.ids and back.meta == vs.meta
    with pytest.raises(FileNotFoundError, match="has not run yet"):
        VideoSet.load(tmp_path / "missing.safetensors")


def test_a_profile_holds_only_what_differs_from_its_base(tmp_path):
    (tmp_path / "small.yaml").write_text("base: default\nname: small\nevaluation: {runs: 2}\n"
                                         "ablation: {dm: {iterations: 7}}\n")
    p, d = load_profile(str(tmp_path / "small.yaml")), load_profile("default")
    assert p.name == "small" and p.evaluation.runs == 2 and p.ablation.dm.iterations == 7
    assert p.evaluation.vpcs == d.evaluation.vpcs and p.evaluation.train == d.evaluation.train   # merged, not replaced
    assert p.ablation.dm.width == d.ablation.dm.width and p.generate == d.generate
    (tmp_path / "a.yaml").write_text(f"base: {tmp_path / 'b.yaml'}\n")
    (tmp_path / "b.yaml").write_text(f"base: {tmp_path / 'a.yaml'}\n")
    with pytest.raises(ValueError, match="cycle"):
        load_profile(str(tmp_path / "a.yaml"))
    (tmp_path / "orphan.yaml").write_text("base: nosuchprofile\n")
    with pytest.raises(FileNotFoundError, match="base profile 'nosuchprofile'"):
        load_profile(str(tmp_path / "orphan.yaml"))


def test_ci_profile_is_the_default_made_smaller_on_the_same_paths():
    """CI re-runs every notebook on params/ci.yaml: fewer runs, VPCs and ablation points, the same code paths
    (N_c beyond the pool joins a second pool, as in the default's grid) and outputs kept out of results/; it runs
    every study of 05 and 07, those the default leaves to the extended profile too."""
    from vddlib.experiments import ablate, beyond

    ci, d, ext = load_profile("ci"), load_profile("default"), load_profile("extended")
    for p in (ci, ext):
        assert set(p.ablation.studies) == set(ablate.STUDIES) and set(p.beyond.studies) == set(beyond.STUDIES)
    assert set(d.ablation.studies) < set(ablate.STUDIES) and set(d.beyond.studies) < set(beyond.STUDIES)
    assert ci.evaluation.runs < d.evaluation.runs and set(ci.evaluation.vpcs) < set(d.evaluation.vpcs)
    assert ci.generate.per_class < d.generate.per_class and ci.ablation.runs <= d.ablation.runs
    assert max(ci.ablation.n_cs) > ci.generate.per_class and max(d.ablation.n_cs) > d.generate.per_class
    assert ci.selection.methods == d.selection.methods and ci.ablation.real_methods == d.ablation.real_methods
    assert ci.dataset == d.dataset and ci.diffusion == d.diffusion
    # the default's evaluator recipe at fewer steps (smoke numbers, not results)
    ct, dt = ci.evaluation.train, d.evaluation.train
    assert ct.min_steps < dt.min_steps and ct.max_steps <= dt.max_steps
    assert dataclasses.replace(ct, min_steps=dt.min_steps, max_steps=dt.max_steps) == dt
    for path in (ci.selection.manifests, ci.selection.work_dir, ci.ablation.work_dir, ci.results_dir, ci.figures_dir):
        assert path.startswith(("artifacts/", "runs/ci/")), path


def test_only_the_default_profile_writes_the_committed_outputs(tmp_path):
    """default.yaml's `outputs: .` is its own: a profile built on it writes to runs/<name>/, manifests included."""
    d = load_profile("default")
    assert (d.results_dir, d.figures_dir, d.selection.manifests) == ("results", "figures", "results/selections")
    assert d.notebooks_dir == Path("notebooks")
    mine = tmp_path / "mine.yaml"
    mine.write_text("base: default\nname: mine\nevaluation: {runs: 2}\n")
    p = load_profile(str(mine))
    assert p.outputs == "runs/mine" and p.results_dir == "runs/mine/results" and p.figures_dir == "runs/mine/figures"
    assert p.selection.manifests == "runs/mine/results/selections" and p.notebooks_dir == Path("runs/mine/notebooks")
    for name in ("ci", "paper_ucf101", "paper_base"):
        assert load_profile(name).results_dir == f"runs/{name}/results"
    p.set_output_dirs(str(tmp_path / "r"), str(tmp_path / "f"))       # a notebook's results_dir parameter
    assert p.selection.manifests == str(tmp_path / "r" / "selections")
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text("base: default\nname: fixed\nselection: {manifests: /data/sel}\noutputs: /data/out\n")
    p = load_profile(str(fixed))
    p.set_output_dirs(str(tmp_path / "r"))
    assert p.selection.manifests == "/data/sel" and p.figures_dir == "/data/out/figures"


def test_every_notebook_takes_the_profile_and_output_folders_as_parameters():
    """run_tests.sh points each notebook at a profile and at folders outside results/ through these three."""
    import json

    for nb in sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        params = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(params) == 1, nb.name
        names = {line.split("=")[0].strip() for line in "".join(params[0]["source"]).splitlines() if "=" in line}
        assert {"profile", "results_dir", "figures_dir"} <= names, nb.name


def test_code_defaults_are_the_default_profile():
    """A library user who builds a settings class with no arguments gets the embedded default profile's values
    (the paper's live in params/paper_base.yaml). Exempt: paths into this repository, and which methods a run and its
    studies compare: the profile names them, the library names none (left empty, a study compares Random and the
    paper's selectors, 08 every other selector as baselines, 03 every registered one)."""
    import dataclasses

    from vddlib.profile import SECTIONS
    from vddlib.selection.stage import SelectionSettings

    exempt = {"diffusion.shipped", "selection.videomae_shipped", "selection.manifests", "selection.methods",
              "evaluation.methods", "resolution.methods", "ablation.fidelity_methods",
              "ablation.nc_methods", "ablation.real_methods", "beyond.methods", "beyond.cross_methods",
              "beyond.control_methods", "resolution.baselines"}
    prof, differ = load_profile("default"), []

    def walk(a, b, path):
        if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
            for f in dataclasses.fields(a):
                walk(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
        elif path not in exempt and a != b:
            differ.append(f"{path}: profile {a!r}, code {b!r}")

    for name, cls in SECTIONS.items():
        walk(getattr(prof, name), SelectionSettings.from_dict({}, "code") if name == "selection" else cls(), name)
    assert not differ, "\n".join(differ)
    assert set(prof.selection.methods) == set(SelectionSettings.from_dict({}, "code").methods)


def test_a_study_left_without_methods_compares_random_and_the_papers_selectors():
    from vddlib.experiments.ablate import AblationSettings
    from vddlib.experiments.beyond import BeyondSettings
    from vddlib.experiments.resolution import ResolutionSettings
    from vddlib.paper import BASELINE, PAPER_SELECTORS
    from vddlib.selection import SELECTORS

    abl, bey, res = AblationSettings(), BeyondSettings(), ResolutionSettings()
    assert abl.nc_methods == abl.real_methods == bey.methods == bey.cross_methods == (BASELINE, *PAPER_SELECTORS)
    assert bey.control_methods == PAPER_SELECTORS
    assert set(res.baselines) == set(SELECTORS) - {BASELINE, *PAPER_SELECTORS} and len(res.baselines) >= 5
    assert ResolutionSettings(baselines=("herding",)).baselines == ("herding",)


def test_committed_notebooks_carry_no_injected_parameters():
    """./run_all.sh runs the default profile in place with no parameters given, so a reader's edit to the
    parameters cell is what runs: no papermill `injected-parameters` cell overrides it."""
    import json

    for nb in sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        tags = [c.get("metadata", {}).get("tags", []) for c in json.loads(nb.read_text())["cells"]]
        assert not any("injected-parameters" in t for t in tags), nb.name
