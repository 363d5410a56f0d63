"""Atomic writes (`vddlib.files.atomic_path`): whole files under concurrent writers, and no leftovers."""
from __future__ import annotations

import multiprocessing as mp
import os
import socket
import time

from vddlib.files import atomic_path, write_text

CHUNK, CHUNKS = 4096, 200


def _slow_writer(path: str, byte: int, go) -> None:
    go.wait()
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        for _ in range(CHUNKS):              # slow enough that the two writes overlap
            f.write(bytes([byte]) * CHUNK)
            f.flush()
            time.sleep(0.002)


def test_two_processes_writing_one_file_at_once_each_leave_it_whole(tmp_path):
    """Two notebooks that make the same cache at once: each write succeeds, and the file is one writer's whole,
    never one's name over the other's half-written bytes (with one shared temporary name, the first to finish
    moved the second's half file into place and the second then failed)."""
    target = tmp_path / "videos.u8"
    ctx = mp.get_context("spawn")
    go = ctx.Barrier(2)
    procs = [ctx.Process(target=_slow_writer, args=(str(target), b, go)) for b in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    data = target.read_bytes()
    assert len(data) == CHUNK * CHUNKS and len(set(data)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["videos.u8"]


def test_a_killed_writers_temporary_file_is_removed_and_a_running_ones_is_kept(tmp_path):
    target = tmp_path / "index.json"
    host = socket.gethostname().replace("~", "-")
    dead = _dead_pid()
    stale = [tmp_path / "index.json.tmp", tmp_path / f"index.json.~{host}~{dead}~00000000.tmp"]
    live = tmp_path / f"index.json.~{host}~{os.getppid()}~00000000.tmp"     # a writer still at work
    remote = tmp_path / "index.json.~another-host~1~00000000.tmp"           # cannot tell: kept
    for p in (*stale, live, remote):
        p.write_text("half")
    write_text(target, "{}")
    assert target.read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["index.json", live.name, remote.name])


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "a.txt"
    write_text(target, "old")
    try:
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_a_folder_replaces_a_folder_whole(tmp_path):
    target = tmp_path / "weights"
    for text in ("first", "second"):
        with atomic_path(target) as tmp:
            tmp.mkdir()
            (tmp / "w.txt").write_text(text)
    assert [p.name for p in target.iterdir()] == ["w.txt"] and (target / "w.txt").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights"]


def _dead_pid() -> int:
    """The pid of a process that has ended."""
    p = mp.get_context("spawn").Process(target=int)
    p.start()
    p.join()
    return p.pid


def test_stacked_tensors_are_a_safetensors_file_that_safetensors_reads(tmp_path):
    """`save_stacked_tensors` writes the parts one after another; safetensors reads back the stacked tensor, the
    small ones and the metadata, for each dtype the latents come in; a wrong row count writes nothing."""
    import pytest
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file

    from vddlib.files import save_stacked_tensors

    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        parts = [torch.randn(n, 2, 3).to(dtype) for n in (3, 0, 4)]
        labels = torch.tensor([4, 1, 1, 0, 2, 2, 3])
        path = tmp_path / f"{str(dtype)[6:]}.safetensors"
        save_stacked_tensors(path, "latents", iter(parts), dtype, (2, 3), 7, small={"labels": labels},
                             metadata={"split": "train", "ids": '["a"]'})
        back = load_file(str(path))
        assert torch.equal(back["latents"], torch.cat(parts)) and torch.equal(back["labels"], labels)
        with safe_open(str(path), framework="pt") as f:
            assert f.metadata() == {"split": "train", "ids": '["a"]'}
    with pytest.raises(ValueError, match="gave 2 rows, not the 3"):
        save_stacked_tensors(tmp_path / "short.safetensors", "x", [torch.zeros(2, 1)], torch.float32, (1,), 3)
    with pytest.raises(ValueError, match="every part must be"):
        save_stacked_tensors(tmp_path / "mixed.safetensors", "x", [torch.zeros(2, 2)], torch.float32, (1,), 2)
    assert not list(tmp_path.glob("short*")) and not list(tmp_path.glob("mixed*"))
