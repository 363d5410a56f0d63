"""Atomic writes: every file vddlib writes goes to a temporary name first, then replaces the target.

A crash or a kill therefore leaves either the old file or the new one, never half of one, and
a long stage that is rerun skips exactly what it finished. The one place for this rule.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; when the block ends without error, it replaces `path`.

    Works for a file or a folder (a folder replaces an existing one as a whole). The temporary name is this
    writer's own (host, process and a random part), so two processes writing the same target at once (two notebooks
    making one cache) each replace it with a whole file of their own, never with the other's half. Temporary files
    left by a killed writer on this host (its process gone) are removed here.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_tmp(path)
    tmp = path.with_name(f"{path.name}.~{_HOST}~{os.getpid()}~{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
    except BaseException:
        _remove(tmp)
        raise
    if not tmp.is_dir():
        os.replace(tmp, path)
        return
    for attempt in range(3):        # a folder cannot replace a folder: remove it first (another writer may put one back)
        _remove(path)
        try:
            os.replace(tmp, path)
            return
        except OSError:
            if attempt == 2 or not path.is_dir():
                _remove(tmp)
                raise


_HOST = socket.gethostname().replace("~", "-")


def _remove_stale_tmp(path: Path) -> None:
    """Remove `path`'s temporary files whose writer is gone: this host's, of a process no longer running (and the
    plain `<name>.tmp` of versions before writers had names of their own)."""
    for p in path.parent.glob(glob.escape(path.name) + ".*tmp"):
        parts = p.name[len(path.name):].split("~")
        if p.name == path.name + ".tmp":
            _remove(p)
        elif len(parts) == 4 and parts[1] == _HOST and parts[2].isdigit() and not _running(int(parts[2])):
            _remove(p)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:          # someone else's process
        return True
    return True


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    elif p.exists() or p.is_symlink():
        p.unlink()


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def save_tensors(path: str | os.PathLike, tensors: dict, metadata: dict | None = None) -> None:
    """Save a dict of tensors as safetensors, atomically (tensors are made contiguous)."""
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp), metadata=metadata)


def copy_file(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Copy a file atomically."""
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


def copy_tree(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Copy a folder atomically (the destination is replaced as a whole)."""
    with atomic_path(dst) as tmp:
        shutil.copytree(src, tmp)


def map_raw(path: str | os.PathLike, shape: tuple[int, ...], dtype: str = "uint8"):
    """A raw file of `dtype` values (a numpy name: uint8, float16, ...) as a tensor of `shape`, memory-mapped
    copy-on-write: its pages are read when touched and belong to the page cache (the OS drops them under pressure,
    so a file larger than host memory can be held), and writing to the tensor changes this process's copy only,
    never the file. A file of another size is an error that names it (a truncated or foreign file)."""
    import numpy as np
    import torch

    path, shape, dtype = Path(path), tuple(int(s) for s in shape), np.dtype(dtype)
    need = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    size = path.stat().st_size
    if size != need:
        raise ValueError(f"{path} holds {size} bytes, but {shape} {dtype} needs {need}: the file is truncated or "
                         "not the one its index describes. Delete it (and the index beside it) to rebuild it.")
    if need == 0:
        return torch.from_numpy(np.zeros(shape, dtype=dtype))
    return torch.from_numpy(np.memmap(path, dtype=dtype, mode="c", shape=shape))
