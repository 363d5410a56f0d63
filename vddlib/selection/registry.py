"""The selector registry: choose VPC videos per class from a pool, by name, one interface.

A selector is a function registered with `@register(name, needs=..., settings=...)` in its
own module under `vddlib/selection/selectors/` (found there automatically). It is called as
`select(method, labels, vpc, seed=..., num_classes=..., **inputs, **settings)` and returns,
per class, the indices (into the pool) of the chosen videos: unique, within their class,
exactly VPC per class. `inputs` are plain arrays, so a selector works on any user's pool
(synthetic or real) and embedding matrix, scikit-learn style:

- `embeddings` (N, D): video embeddings (VideoMAE here) - tac_dt, herding, kcenter, dm_mmd, csta;
- `scores` (N, K): class probabilities (VideoMAE's head or a probe) - mae_score, csta;
- `latents` (N, T, C, h, w): autoencoder latents of the videos - vst_unet;
- `teacher` (N, K): a teacher's class probabilities (the Full-real recogniser, or VideoMAE's head) - teacher_conf
  and the `_faithful` selectors.

A selector with settings declares their dataclass (`settings=`), whose defaults are the only ones: the
profile's `selection.<name>` section is read into it, the selector receives it as `config=` and its
manifest records it. Registry names are the `method` column of results/eval_runs.csv.

A selector also describes itself, so that no other module keeps a list of methods: `display` (the name tables
and figures print), `randomised` (the smallest VPC from which its selection changes with the seed; 0: never;
notebook 03 checks that it does) and `timing` (a hook for the cost study that times a shortened run and scales
it, for a selector whose full run is too long to time at every scale).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..data.selections import flat_indices  # noqa: F401  (re-exported)


@dataclass(frozen=True)
class Selector:
    """A registered selection method."""

    name: str
    fn: Callable[..., "dict[int, list[int]] | tuple[dict[int, list[int]], dict]"]
    needs: tuple[str, ...] = ()          # what it reads from `inputs` (checked before running)
    settings: type | None = None         # its settings dataclass (profile: selection.<name>); None: no settings
    threaded: bool = False               # runs on a fixed torch thread count of its own: several may run at once
    on_device: bool = False              # takes `device=` (the profile's selection.device): trains there
    version: int = 1                     # raised when the same settings select differently: saved manifests are redone
    display: str = ""                    # the name tables and figures print ("": the registry name)
    randomised: int = 0                  # the smallest VPC from which its selection changes with the seed; 0: never
    timing: Callable[[dict], tuple[dict, float]] | None = None   # settings -> (settings timed, factor to scale by)

    @property
    def label(self) -> str:
        return self.display or self.name

    def varies_with_seed(self, vpc: int) -> bool:
        return 0 < self.randomised <= vpc

    def timed(self, settings: dict) -> tuple[dict, float]:
        """The settings to time for the cost study and the factor its seconds are scaled by (as they are, 1)."""
        return self.timing(settings) if self.timing else (settings, 1.0)

    def kwargs(self, config=None) -> dict:
        """The keyword settings the selector takes: {"config": `config`, else its defaults}; {} if it has none."""
        if self.settings is None:
            return {}
        if config is not None and not isinstance(config, self.settings):
            raise TypeError(f"select({self.name!r}): config= must be a {self.settings.__name__}; "
                            f"got {type(config).__name__}")
        return {"config": self.settings() if config is None else config}


SELECTORS: dict[str, Selector] = {}


def register(name: str, needs: tuple[str, ...] = (), settings: type | None = None, threaded: bool = False,
             version: int = 1, on_device: bool = False, display: str = "", randomised: int = 0,
             timing: Callable[[dict], tuple[dict, float]] | None = None):
    """Register a selector function under `name` (see the module docstring)."""
    if isinstance(randomised, bool) or not isinstance(randomised, int) or randomised < 0:
        raise ValueError(f"register({name!r}): randomised is the smallest VPC from which the selection changes with "
                         f"the seed (1: every VPC; 0: never); got {randomised!r}")

    def deco(fn):
        if name in SELECTORS and SELECTORS[name].fn is not fn:
            raise ValueError(f"Two selectors are registered as {name!r}; pick another name.")
        SELECTORS[name] = Selector(name, fn, tuple(needs), settings, threaded, on_device, version, display,
                                   randomised, timing)
        return fn
    return deco


def display_names() -> dict[str, str]:
    """{registry name: the name tables and figures print} of every registered selector."""
    return {name: sel.label for name, sel in SELECTORS.items()}


def get(method: str) -> Selector:
    """The registered selector `method`, with an error listing the registered names."""
    if method not in SELECTORS:
        raise KeyError(f"Unknown selection method {method!r}; choose one of {sorted(SELECTORS)}")
    return SELECTORS[method]


def as_numpy(a) -> np.ndarray:
    return np.asarray(a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else a)


def check_vpc(labels: np.ndarray, vpc: int, num_classes: int | None = None) -> None:
    """A clear error when VPC is not positive or exceeds some class's pool."""
    if vpc < 1:
        raise ValueError(f"VPC must be >= 1; got {vpc}")
    counts = np.bincount(labels, minlength=num_classes or 0)
    short = [(c, int(n)) for c, n in enumerate(counts) if n < vpc]
    if short:
        c, n = short[0]
        raise ValueError(f"VPC={vpc} exceeds the pool of class {c}, which has only {n} videos "
                         f"({len(short)} class(es) too small); choose VPC <= {int(counts.min())} "
                         "or generate a larger pool.")


def _classes(labels: np.ndarray, num_classes: int | None):
    return range(num_classes) if num_classes else [int(c) for c in np.unique(labels)]


def per_class(labels, vpc: int, num_classes: int | None, pick: Callable[[int, np.ndarray], np.ndarray]
              ) -> dict[int, list[int]]:
    """Apply `pick(c, idx_c) -> local positions` class by class; check and map back to pool indices."""
    labels = as_numpy(labels).astype(int)
    check_vpc(labels, vpc, num_classes)
    out = {}
    for c in _classes(labels, num_classes):
        idx = np.flatnonzero(labels == c)
        local = np.asarray(pick(c, idx), dtype=int)
        if len(local) != vpc or len(set(local.tolist())) != vpc:
            raise RuntimeError(f"selector returned {len(local)} positions ({len(set(local.tolist()))} unique) "
                               f"for class {c}; expected {vpc}")
        out[int(c)] = sorted(idx[local].tolist())
    return out


def method_rng(method: str, seed: int) -> np.random.Generator:
    """A seeded generator of one method's own: two methods with the same seed draw independently."""
    import zlib

    return np.random.default_rng([seed, zlib.crc32(method.encode())])


INPUTS = ("embeddings", "scores", "latents", "teacher")


def select(method: str, labels, vpc: int, seed: int = 0, **kwargs) -> dict:
    """Run a registered selector by name: {class: pool indices}. See `select_with_info`."""
    return select_with_info(method, labels, vpc, seed, **kwargs)[0]


def _encode_labels(labels, num_classes: int | None) -> tuple[np.ndarray, list | None]:
    """Integer class indices as they are; any other hashable labels (strings, tuples, floats) as indices into
    their sorted distinct values (first-seen order where they do not sort), returned beside the codes."""
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    arr = np.asarray(labels)
    if arr.ndim == 1 and arr.dtype.kind in "iu":
        return arr, None
    values = list(labels)
    try:
        names = sorted(set(values))
    except TypeError:
        names = list(dict.fromkeys(values))
    if num_classes is not None and num_classes != len(names):
        raise ValueError(f"num_classes={num_classes}, but the labels hold {len(names)} distinct values "
                         f"({names[:5]}{'…' if len(names) > 5 else ''}); drop num_classes or pass integer labels")
    index = {v: i for i, v in enumerate(names)}
    return np.array([index[v] for v in values], dtype=np.int64), names


def _whole(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_arguments(method: str, vpc, seed, num_classes, inputs: dict) -> None:
    """Refuse, with what was given and what is expected, a VPC, seed or class count that is not a whole number, and
    embeddings or scores that are not one finite row per pool video (the row is named). The latents are the pool's
    own, read as stored (they are not scanned here: a paper pool's are gigabytes)."""
    for name, value, least in (("vpc", vpc, 1), ("seed", seed, 0), ("num_classes", num_classes, 1)):
        if value is None and name == "num_classes":
            continue
        if not _whole(value):
            raise TypeError(f"select({method!r}): {name} must be a whole number; got {value!r} "
                            f"({type(value).__name__})" + (" — e.g. vpc=2, not 2.5 or '2'" if name == "vpc" else ""))
        if value < least:
            raise ValueError(f"select({method!r}): {name} must be at least {least}; got {value}")
    for k in ("embeddings", "scores", "teacher"):
        v = inputs.get(k)
        if v is None:
            continue
        arr = v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
        if arr.ndim != 2:
            raise ValueError(f"select({method!r}): {k} must be 2-D, one row per pool video; got shape {arr.shape}"
                             + (" (reshape a single vector per video with .reshape(len(labels), -1))" if arr.ndim == 1
                                else ""))
        if arr.dtype.kind not in "fiu":
            raise TypeError(f"select({method!r}): {k} must be numbers; got dtype {arr.dtype}")
        bad = np.flatnonzero(~np.isfinite(arr).all(axis=1))
        if len(bad):
            raise ValueError(f"select({method!r}): {k} row {int(bad[0])} holds NaN or infinite values ({len(bad)} "
                             "such row(s)); recompute the features of those pool videos (a corrupt video or a "
                             "diverged embedder) before selecting.")


def _settings(sel: Selector, kwargs: dict) -> dict:
    """`kwargs` with the selector's settings as one `config=` (the given one, else its defaults, with any of its
    fields given by name put in); a clear error for anything the selector does not take."""
    import dataclasses

    fields = [f.name for f in dataclasses.fields(sel.settings)] if sel.settings else []
    allowed = {"num_classes", *INPUTS, *fields, *(["config"] if fields else []), *(["device"] if sel.on_device else [])}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise TypeError(f"select({sel.name!r}): unknown argument(s) {unknown}. It takes num_classes, the inputs "
                        f"{list(INPUTS)}" + (f", config= (a {sel.settings.__name__}) and its fields {fields}"
                                             if sel.settings else " and no settings")
                        + (", device=" if sel.on_device else "") + ".")
    rest = {k: v for k, v in kwargs.items() if k not in fields and k != "config"}
    if sel.settings is None:
        return rest
    config = sel.kwargs(kwargs.get("config"))["config"]
    return {**rest, "config": dataclasses.replace(config, **{k: kwargs[k] for k in fields if k in kwargs})}


def select_with_info(method: str, labels, vpc: int, seed: int = 0, **kwargs) -> tuple[dict, dict]:
    """Run a registered selector by name: its selection {class: sorted pool indices} and what it reports about
    it (e.g. VST-UNet's training log; {} for most).

    `labels`: one per pool video, integer class indices or any hashable values (e.g. class names; the selection
    is then keyed by them). Keywords: `num_classes`, the inputs the selector needs (`embeddings`, `scores`,
    `latents`), and its settings: `config=` (its settings dataclass) and/or any of that dataclass's fields by
    name (`threshold=0.3` for TAC-DT), which override `config` or the defaults. Anything else is an error
    listing what the selector takes."""
    import time

    from ..logs import log

    sel = get(method)
    kwargs = _settings(sel, kwargs)
    num_classes = kwargs.pop("num_classes", None)
    inputs = {k: kwargs.pop(k) for k in INPUTS if k in kwargs}
    missing = [k for k in sel.needs if inputs.get(k) is None]
    if missing:
        raise ValueError(f"Selector {method!r} needs {missing}; pass them as keyword arrays (embeddings/scores: "
                         "vddlib.selection.embeddings.pool_features; latents: load_pool(with_latents=True); teacher: "
                         "a classifier's class probabilities on the pool, e.g. predict_proba of the Full-real recogniser)")
    n = len(labels)
    for k, v in inputs.items():
        if v is not None and len(v) != n:
            raise ValueError(f"{k} has {len(v)} rows but there are {n} labels: they must index the same pool")
    check_arguments(method, vpc, seed, num_classes, inputs)
    codes, names = _encode_labels(labels, num_classes)
    if names is not None:
        num_classes = len(names)
    elif num_classes is not None and n and int(codes.max()) >= num_classes:
        raise ValueError(f"select({method!r}): num_classes={num_classes}, but the labels hold class {int(codes.max())}; "
                         f"give num_classes={int(codes.max()) + 1} (or leave it out) so that no class is dropped.")
    log.info("select %s: %d videos, VPC %d, seed %d", method, n, vpc, seed)
    t0 = time.perf_counter()
    out = sel.fn(codes, vpc, seed=seed, num_classes=num_classes,
                 **{k: v for k, v in inputs.items() if k in sel.needs}, **kwargs)
    chosen, info = out if isinstance(out, tuple) else (out, {})
    log.info("select %s: done in %.1f s", method, time.perf_counter() - t0)
    if names is not None:
        chosen = {names[int(c)]: idx for c, idx in chosen.items()}
    return chosen, info


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float64)."""
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
