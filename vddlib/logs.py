"""One switch for what long calls show: progress bars and log lines. A leaf: it imports no stage.

    import vddlib
    vddlib.set_verbose(True)    # every long call shows a progress bar and logs what it does (INFO, to stderr)
    vddlib.set_verbose(False)   # none at all (./run_all.sh runs the notebooks so: their saved outputs stay clean)
    vddlib.set_verbose(None)    # the default: each call's own `progress` argument decides; warnings are logged

The environment variable VDDLIB_VERBOSE=1 / 0 sets the switch when vddlib is imported.
Bars are plain text where ipywidgets is missing (no "IProgress not found" warning).
"""
from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager

log = logging.getLogger("vddlib")
_STATE: dict = {"verbose": None, "handler": None}


def set_verbose(on: bool | None) -> None:
    """True: progress bars on every long call and INFO log lines to stderr; False: neither; None: each call's own
    `progress` argument decides and only warnings are logged."""
    _STATE["verbose"] = on
    if on and _STATE["handler"] is None:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("%(asctime)s vddlib: %(message)s", "%H:%M:%S"))
        log.addHandler(h)
        _STATE["handler"] = h
    elif not on and _STATE["handler"] is not None:
        log.removeHandler(_STATE["handler"])
        _STATE["handler"] = None
    log.setLevel(logging.INFO if on else logging.WARNING)


def verbose() -> bool | None:
    return _STATE["verbose"]


@contextmanager
def verbosity(on: bool | None):
    """The switch set for a block, then restored."""
    before = _STATE["verbose"]
    set_verbose(on)
    try:
        yield
    finally:
        set_verbose(before)


def _tqdm():
    try:
        import ipywidgets  # noqa: F401
        from tqdm.auto import tqdm
    except ImportError:
        from tqdm.std import tqdm
    return tqdm


def bar(iterable=None, *, show: bool | None = None, **kwargs):
    """A tqdm progress bar, shown where the switch says so: forced on or off by `set_verbose`, else by `show`
    (None: off)."""
    forced = _STATE["verbose"]
    visible = forced if forced is not None else bool(show)
    return _tqdm()(iterable, disable=not visible, **kwargs)


_env = os.environ.get("VDDLIB_VERBOSE", "").strip().lower()
if _env in ("1", "true", "yes", "on"):
    set_verbose(True)
elif _env in ("0", "false", "no", "off"):
    set_verbose(False)
