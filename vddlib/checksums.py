"""Checksums of weight folders: a `SHA256SUMS` file beside the weights, checked before they are loaded.

The shipped checkpoints (`checkpoints/<dataset>/`) and every weight folder vddlib writes carry
one, in the format `sha256sum` reads (`sha256sum -c SHA256SUMS` checks them by hand). A
truncated or altered file (a half-finished download, a flipped byte) is then an error that
names the file and how to get a good copy, instead of an obscure loader error or, worse, weights
that load and are wrong. Safetensors files read with `read_tensors` fail with their own name.
A leaf: it imports no stage.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

SUMS = "SHA256SUMS"
_verified: dict[tuple, str] = {}           # (path, size, mtime_ns) -> sha256, so a file is hashed once per process


class CheckpointError(RuntimeError):
    """A weight file that is missing, truncated or altered (its checksum differs from the one recorded)."""


def sha256(path: str | os.PathLike) -> str:
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _verified:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _verified[key] = h.hexdigest()
    return _verified[key]


def write_sums(folder: str | os.PathLike, files: list[str | os.PathLike] | None = None) -> Path:
    """Record the sha256 of `files` (default: every file under `folder` but the sums file) in folder/SHA256SUMS,
    paths relative to `folder`, sorted; written atomically."""
    from .files import write_text

    folder = Path(folder)
    if files is None:
        rel = sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                     if p.is_file() and p.name != SUMS and not p.name.endswith(".tmp"))
    else:
        rel = sorted(str(Path(f).relative_to(folder) if Path(f).is_absolute() else Path(f)) for f in files)
    write_text(folder / SUMS, "".join(f"{sha256(folder / r)}  {r}\n" for r in rel))
    return folder / SUMS


def read_sums(folder: str | os.PathLike) -> dict[str, str]:
    """{relative path: sha256} from folder/SHA256SUMS ({} if there is none)."""
    f = Path(folder) / SUMS
    if not f.is_file():
        return {}
    out = {}
    for n, line in enumerate(f.read_text().splitlines(), 1):
        if not line.strip():
            continue
        digest, _, rel = line.partition("  ")
        if len(digest) != 64 or not rel:
            raise CheckpointError(f"{f}:{n} should read '<sha256>  <path>' (as sha256sum writes it); got {line!r}")
        out[rel.lstrip("*")] = digest
    return out


def _sums_folder(path: Path) -> Path | None:
    """The nearest folder at or above `path` (three levels at most) whose SHA256SUMS lists something under it."""
    start = path if path.is_dir() else path.parent
    for folder in (start, *list(start.parents)[:3]):
        sums = read_sums(folder)
        if sums and any((folder / r) == path or (folder / r).is_relative_to(path) for r in sums):
            return folder
    return None


def verify(path: str | os.PathLike, how: str = "") -> int:
    """Check every file under `path` (a file or a folder) that a SHA256SUMS at or above it lists; returns how many
    were checked (0: no sums recorded, nothing to check). A missing or differing file is a CheckpointError naming
    it and `how` to get a good copy."""
    path = Path(path)
    folder = _sums_folder(path)
    if folder is None:
        return 0
    how = how or good_copy_hint(folder)
    checked = 0
    for rel, digest in read_sums(folder).items():
        f = folder / rel
        if not (f == path or f.is_relative_to(path)):
            continue
        if not f.is_file():
            raise CheckpointError(f"{f} is missing; {folder / SUMS} lists it. {how}")
        got = sha256(f)
        if got != digest:
            raise CheckpointError(f"{f} is damaged: its sha256 is {got[:12]}…, {folder / SUMS} records "
                                  f"{digest[:12]}… (a truncated download or altered bytes). {how}")
        checked += 1
    return checked


def good_copy_hint(folder: Path) -> str:
    """How to get a good copy of a checkpoint folder: git for the shipped ones, a rerun for the ones written here."""
    try:
        from .config import REPO_ROOT

        inside_repo = folder.resolve().is_relative_to(REPO_ROOT / "checkpoints")
    except Exception:
        inside_repo = False
    if inside_repo:
        rel = folder.resolve().relative_to(REPO_ROOT)
        return (f"Restore the shipped copy with `git checkout -- {rel}` (or a fresh clone), or set "
                "diffusion.retrain: true to train new weights.")
    return ("Delete the folder and rerun the stage that wrote it, or copy the file again from where you got it "
            "(`sha256sum -c SHA256SUMS` in its folder checks a copy).")


def read_tensors(path: str | os.PathLike) -> tuple[dict, dict]:
    """(tensors, metadata) of a safetensors file, checked against a SHA256SUMS above it where there is one; an
    unreadable file is a CheckpointError that names it."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} not found.")
    verify(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        return load_file(str(path)), meta
    except Exception as e:
        raise CheckpointError(f"{path} is not a readable safetensors file ({type(e).__name__}: {e}); it is probably "
                              f"truncated. {good_copy_hint(path.parent)}") from e


STRICT = False        # a strict profile (`strict: true`) refuses weights no SHA256SUMS lists; set by the entry points


def set_strict(strict: bool) -> None:
    """Refuse (True) or only warn about (False) weight folders without a SHA256SUMS: a profile's `strict`."""
    global STRICT
    STRICT = bool(strict)


def load_checked(loader, path: str | os.PathLike, what: str):
    """`loader(path)` for a weight folder or file, after `verify`, and the model it returns checked whole.

    - No SHA256SUMS lists the weights: a loud warning (nothing can tell a damaged or mixed-up file), an error under
      a strict profile.
    - A loader error names `what` and the path, and says whether the weights are of another shape than the
      folder's config describes (another model's, or an edited config) or the file is damaged.
    - A model with any parameter or buffer left unset (on the meta device: the file's tensors are another model's,
      under other names) is refused, instead of failing later at its first use."""
    import warnings

    path = Path(path)
    if verify(path) == 0:
        message = (f"The {what} at {path} has no SHA256SUMS listing its files, so nothing checks that they are whole "
                   f"and this model's. Record them once: `sha256sum <its files> > SHA256SUMS` in {path if path.is_dir() else path.parent} "
                   "(or vddlib.checksums.write_sums).")
        if STRICT:
            raise CheckpointError(message + " This profile is strict (`strict: true`) and loads no unchecked weights.")
        warnings.warn("UNCHECKED WEIGHTS: " + message, stacklevel=2)
    try:
        model = loader(path)
    except CheckpointError:
        raise
    except Exception as e:
        text = str(e)
        if any(k in text.lower() for k in ("size mismatch", "shape", "does not match")):
            raise CheckpointError(f"The {what} at {path} holds tensors of other shapes than its config describes "
                                  f"({type(e).__name__}: {text[:300]}): the weights are another model's, or its "
                                  f"config was edited. {good_copy_hint(path)}") from e
        raise CheckpointError(f"Cannot load the {what} at {path} ({type(e).__name__}: {text[:300]}); a weight file "
                              f"there is probably truncated or damaged. {good_copy_hint(path)}") from e
    _check_whole(model, path, what)
    return model


def _check_whole(model, path: Path, what: str) -> None:
    """Refuse a module with parameters or buffers the weight file did not set (left on the meta device)."""
    named = getattr(model, "named_parameters", None)
    if named is None:
        return
    tensors = [*model.named_parameters(), *model.named_buffers()]
    unset = [n for n, t in tensors if t.is_meta]
    if unset:
        raise CheckpointError(f"The {what} at {path} left {len(unset)} of {len(tensors)} weights unset (e.g. "
                              f"{', '.join(unset[:3])}): its weight file holds tensors under other names, another "
                              f"model's weights. {good_copy_hint(path)}")
