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


def ensure_writable(folder: str | os.PathLike, what: str = "the output folder") -> Path:
    """Make `folder` if needed and check a file can be written there, before a stage spends time on work it could not
    save; an error names the folder, the reason and the fix. Returns the folder."""
    folder = Path(folder)
    probe = folder / f".vddlib-write-check~{_HOST}~{os.getpid()}~{uuid.uuid4().hex[:8]}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise PermissionError(f"Cannot write to {what}, {folder.absolute()} ({e.strerror or e}); nothing was run. "
                              "Give a folder you can write to, or make this one writable.") from None
    return folder


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


_SAFETENSORS_DTYPES = {"float32": "F32", "float16": "F16", "bfloat16": "BF16", "float64": "F64", "int64": "I64",
                       "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL"}


def save_stacked_tensors(path: str | os.PathLike, key: str, parts, dtype, tail_shape: tuple[int, ...], rows: int,
                         small: dict | None = None, metadata: dict | None = None) -> None:
    """Save a safetensors file whose tensor `key` (`rows` × `tail_shape`, `dtype`) is the tensors that the iterable
    `parts` yields, stacked along dim 0, one part in memory at a time (Kinetics-400's training latents are 57 GiB;
    `save_file` needs them whole), beside the `small` tensors; atomically. The file is the safetensors format as
    `safe_open` and `load_file` read it (header length, JSON header with each tensor's dtype, shape and byte range,
    then the bytes); the parts must fill exactly `rows` rows, else nothing is written."""
    import json
    import struct

    import torch

    small = {k: v.contiguous() for k, v in (small or {}).items()}
    name = lambda dt: _SAFETENSORS_DTYPES[str(dt).removeprefix("torch.")]
    row_bytes = int(torch.tensor([], dtype=dtype).element_size()) * int(torch.Size(tail_shape).numel())
    header, at = {}, 0
    for k, shape, dt, nbytes in [(key, (rows, *tail_shape), dtype, rows * row_bytes)] + \
            [(k, tuple(v.shape), v.dtype, v.numel() * v.element_size()) for k, v in small.items()]:
        header[k] = {"dtype": name(dt), "shape": list(shape), "data_offsets": [at, at + nbytes]}
        at += nbytes
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)                          # the data starts 8-byte aligned, as safetensors writes
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        written = 0
        for part in parts:
            if part.dtype != dtype or tuple(part.shape[1:]) != tuple(tail_shape):
                raise ValueError(f"A part of {key} is {part.dtype} {tuple(part.shape)}; every part must be {dtype} "
                                 f"(n, {', '.join(map(str, tail_shape))}).")
            f.write(part.contiguous().view(torch.uint8).numpy().tobytes())
            written += len(part)
        if written != rows:
            raise ValueError(f"The parts of {key} gave {written} rows, not the {rows} announced.")
        for v in small.values():
            f.write(v.view(torch.uint8).numpy().tobytes() if v.numel() else b"")


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
