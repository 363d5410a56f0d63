"""The profile loader: `base:` composition, and every value type-checked with an error naming field and file."""
from __future__ import annotations

import pytest
import yaml

from vddlib.config import build, read_profile
from vddlib.profile import load_profile


def write(tmp_path, name, doc) -> str:
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(doc))
    return str(p)


@pytest.mark.parametrize("section, values, message", [
    ("dataset", {"digits_motion": {"frames": "16"}}, r"dataset.digits_motion.frames: expected an integer; got '16'"),
    ("evaluation", {"train": {"flip": "no"}}, r"evaluation.train.flip: expected true or false; got 'no'"),
    ("evaluation", {"train": "c3d"}, r"evaluation.train: expected a mapping of TrainConfig settings"),
    ("evaluation", {"vpcs": 5}, r"evaluation.vpcs: expected a list"),
    ("selection", {"tac_dt": {"threshold": "half"}}, r"selection.tac_dt.threshold: expected a number"),
])
def test_a_wrongly_typed_value_names_its_field_and_file(tmp_path, section, values, message):
    path = write(tmp_path, "bad", {"base": "default", section: values})
    with pytest.raises(TypeError, match=message) as e:
        load_profile(path)
    assert "bad.yaml" in str(e.value)


def test_profiles_compose_through_base(tmp_path):
    path = write(tmp_path, "mine", {"base": "default", "generate": {"per_class": 7}})
    _, raw = read_profile(path)
    prof = load_profile(path)
    assert prof.name == "mine" and prof.generate.per_class == 7
    assert prof.generate.guidance_scale == load_profile("default").generate.guidance_scale   # the rest is the base's
    assert raw["evaluation"]["runs"] == 5


def test_the_paper_profiles_are_their_differences_from_one_base():
    from vddlib.config import PARAMS_DIR

    for p in PARAMS_DIR.glob("paper_*.yaml"):
        if p.stem != "paper_base":
            assert yaml.safe_load(p.read_text())["base"] == "paper_base"
            assert len(p.read_text().splitlines()) <= 20, p.name


def test_build_fills_nested_settings_from_their_defaults():
    from vddlib.experiments.ablate import AblationSettings

    a = build(AblationSettings, {"transformer": {"depth": 3} and {"lr": 0.5}}, "x")
    assert a.transformer.classifier == "timesformer" and a.transformer.lr == 0.5   # over the field's own default


def test_config_is_a_leaf():
    import ast
    from pathlib import Path

    import vddlib.config as config

    tree = ast.parse(Path(config.__file__).read_text())
    own = [(n.level, n.module) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
           and (n.level > 0 or (n.module or "").startswith("vddlib"))]
    assert own == [(1, "files")], own          # the atomic-write helper only; no stage


def test_a_base_path_is_read_relative_to_the_profile_that_names_it(tmp_path):
    from vddlib.profile import load_profile

    (tmp_path / "parent.yaml").write_text("base: default\nevaluation: {runs: 2}\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "child.yaml").write_text("base: ../parent.yaml\nname: child\n")
    prof = load_profile(str(tmp_path / "sub" / "child.yaml"))
    assert prof.name == "child" and prof.evaluation.runs == 2


def test_a_yaml_syntax_error_names_the_file_and_line(tmp_path):
    from vddlib.profile import load_profile

    bad = tmp_path / "bad.yaml"
    bad.write_text("base: default\nevaluation:\n  runs: [1, 2\n  vpcs: 3\n")
    with pytest.raises(ValueError) as e:
        load_profile(str(bad))
    assert str(bad) in str(e.value) and "line" in str(e.value) and "not valid YAML" in str(e.value)


def test_notebook_04_grid_is_evaluation_methods_of_the_selections_made(tmp_path):
    from vddlib.profile import load_profile

    prof = load_profile("default")        # the teacher-guided selectors: selected by 03, evaluated as 08's arms
    assert "teacher_conf" in prof.selection.methods and "teacher_conf" not in prof.evaluation.grid(prof.selection.methods)
    assert set(prof.resolution.methods) - set(prof.evaluation.grid(prof.selection.methods)) <= set(prof.selection.methods)
    p = tmp_path / "stray.yaml"
    p.write_text("base: default\nname: stray\nselection: {methods: [random, tac_dt]}\n"
                 "evaluation: {methods: [random, herding]}\n")
    with pytest.raises(ValueError, match=r"evaluation.methods names \['herding'\].*selection.methods"):
        load_profile(str(p))
    p.write_text("base: default\nname: all\nevaluation: {methods: []}\n")
    prof = load_profile(str(p))
    assert prof.evaluation.grid(prof.selection.methods) == prof.selection.methods
