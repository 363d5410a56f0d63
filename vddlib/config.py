"""Profiles: reading the YAML files in params/ into typed settings. A leaf: it imports no stage.

A profile is a mapping of sections (dataset, diffusion, generate, selection, evaluation,
ablation); a profile may name a `base:` profile and hold only what differs from it
(nanoGPT's override files). `build` turns a mapping into a settings dataclass, checking
every key and every value's type, with an error naming the field, the file and the
expected type. Each stage owns its settings dataclass; `vddlib.profile` puts them together.
"""
from __future__ import annotations

import dataclasses
import json
import subprocess
import types
import typing
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
PARAMS_DIR = REPO_ROOT / "params"


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value, tp, where: str):
    """`value` checked against the annotation `tp` (YAML lists become tuples; mappings become nested settings)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, where)
            except (TypeError, ValueError) as e:
                errors.append(str(e))
        raise TypeError(errors[0] if len(errors) == 1 else f"{where}: expected {_type_name(tp)}; got {value!r}")
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if isinstance(value, dict):
            return build(tp, value, where)
        raise TypeError(f"{where}: expected a mapping of {tp.__name__} settings; got {value!r} ({type(value).__name__})")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"{where}: expected a list; got {value!r} ({type(value).__name__})")
        args = typing.get_args(tp)
        item = args[0] if args else typing.Any
        return tuple(_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise TypeError(f"{where}: expected a mapping; got {value!r} ({type(value).__name__})")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise TypeError(f"{where}: expected true or false; got {value!r} ({type(value).__name__})")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{where}: expected an integer; got {value!r} ({type(value).__name__})")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{where}: expected a number; got {value!r} ({type(value).__name__})")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise TypeError(f"{where}: expected a string; got {value!r} ({type(value).__name__})")
        return value
    return value                                      # Any, or a type we do not check


def build(cls, values: dict | None, where: str):
    """The settings dataclass `cls` from a mapping: unknown keys and wrongly typed values are errors naming the
    field and `where` (the file and section). A nested settings field starts from its default and takes the
    mapping's values over it."""
    if values is not None and not isinstance(values, dict):
        raise TypeError(f"{where}: expected a mapping of settings; got {values!r} ({type(values).__name__})")
    values = dict(values or {})
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown setting(s) {unknown}; allowed: {sorted(fields)}")
    try:
        hints = typing.get_type_hints(cls)
    except Exception:                                 # an annotation that does not resolve: take values as given
        hints = {}
    for name, value in values.items():
        tp = hints.get(name)
        if tp is None:
            continue
        f = fields[name]
        if dataclasses.is_dataclass(tp) and isinstance(value, dict) and f.default_factory is not dataclasses.MISSING:
            value = {**dataclasses.asdict(f.default_factory()), **value}     # over the field's own default
        values[name] = _coerce(value, tp, f"{where}.{name}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{where}: {e}") from None


def _merge(base: dict, over: dict) -> dict:
    """`over` on top of `base`: mappings merge key by key, anything else (lists included) is replaced."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _load_yaml(path: Path):
    """A YAML file's content; a syntax error names the file, line and column."""
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ValueError(f"{path}{where}: not valid YAML ({problem}); fix the file (indentation, a missing ':' or "
                         "an unclosed bracket or quote).") from None


def _read_raw(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """A profile's YAML with its `base:` profile (a name in params/ or a path) merged underneath, recursively."""
    if path in seen:
        raise ValueError(f"{path}: profiles form a cycle through `base:` ({' → '.join(map(str, (*seen, path)))})")
    raw = _load_yaml(path) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a profile is a mapping of sections; got {type(raw).__name__}")
    base = raw.pop("base", None)
    if base is None:
        return raw
    if not isinstance(base, str) or not base:
        raise ValueError(f"{path}: base: expected a profile name (params/<name>.yaml) or a path; got {base!r}")
    # a name is one of params/; a path is relative to the profile that names it (absolute paths as they are)
    bpath = path.parent / base if Path(base).suffix else PARAMS_DIR / f"{base}.yaml"
    if not bpath.is_file():
        raise FileNotFoundError(f"{path}: base profile {base!r} not found at {bpath} (a path is read relative to "
                                f"the profile's own folder, {path.parent})")
    return _merge(_read_raw(bpath, (*seen, path)), raw)


def profile_path(name_or_path: str) -> Path:
    """params/<name>.yaml, or the path given; an error lists the profiles there when there is none."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PARAMS_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        have = sorted(p.stem for p in PARAMS_DIR.glob("*.yaml"))
        raise FileNotFoundError(f"No profile at {path.absolute()}; give a name from {PARAMS_DIR} ({', '.join(have)}) "
                                "or the path of a .yaml file.")
    return path.absolute()


def read_profile(name_or_path: str) -> tuple[Path, dict]:
    """(path, raw mapping) of a profile with its `base:` chain merged in. Its name is its own `name:` (never the
    base's), else the file's stem; likewise its `outputs:` (never the base's, so a profile built on `default`
    does not write over the default's committed outputs), else "" (runs/<name>)."""
    path = profile_path(name_or_path)
    raw = _read_raw(path)
    own = _load_yaml(path) or {}
    own = own if isinstance(own, dict) else {}
    raw["name"] = own.get("name", path.stem)
    raw["outputs"] = own.get("outputs", "")
    return path, raw


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=REPO_ROOT, timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def write_run_config(path: str | Path, profile, **parameters) -> None:
    """The resolved profile (a dataclass), the notebook's parameters and the git commit, beside a run's outputs."""
    from .files import write_text

    doc = dataclasses.asdict(profile) if dataclasses.is_dataclass(profile) else profile
    write_text(path, json.dumps({"profile": doc, "parameters": parameters, "git_commit": git_commit()},
                                indent=2, default=str))
