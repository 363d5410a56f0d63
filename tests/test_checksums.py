"""Checked weights: the shipped files match their recorded sha256; damaged or truncated weights are errors that
name the file and how to get a good copy; nothing is cached from a file that failed its check."""
from __future__ import annotations

import json
import shutil
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import torch

from vddlib.checksums import CheckpointError, good_copy_hint, read_sums, read_tensors, verify, write_sums
from vddlib.config import REPO_ROOT
from vddlib.files import save_tensors

SHIPPED = REPO_ROOT / "checkpoints" / "digits-motion"


def _flip(path: Path, n: int = 2000, seed: int = 0) -> None:
    """Flip `n` bytes in the second half of a file (its weights, past the safetensors header)."""
    data = bytearray(path.read_bytes())
    at = np.random.default_rng(seed).choice(np.arange(len(data) // 2, len(data)), n, replace=False)
    for i in at:
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("sub,files", [("vae", 2), ("latte_ema", 2), ("videomae", 4), (".", 3)])
def test_every_shipped_file_matches_its_recorded_sha256(sub, files):
    folder = SHIPPED / sub
    assert len(read_sums(folder)) == files and verify(folder if sub != "." else SHIPPED / "recogniser.safetensors") >= 1
    if sub != ".":
        listed = set(read_sums(folder))
        assert listed == {p.name for p in folder.iterdir() if p.is_file() and p.name != "SHA256SUMS"}


def test_flipped_bytes_in_weights_are_refused_naming_the_file(tmp_path):
    from vddlib.models.autoencoder import load_vae

    ck = shutil.copytree(SHIPPED, tmp_path / "ck")
    load_vae(ck / "vae")                                               # intact: loads
    _flip(ck / "vae" / "diffusion_pytorch_model.safetensors")
    with pytest.raises(CheckpointError, match=r"vae/diffusion_pytorch_model\.safetensors is damaged") as e:
        load_vae(ck / "vae")
    assert "rerun the stage" in str(e.value) or "copy the file again" in str(e.value)


def test_the_hint_for_a_shipped_file_is_git():
    assert "git checkout -- checkpoints/digits-motion/vae" in good_copy_hint(SHIPPED / "vae")


def test_a_truncated_safetensors_file_names_itself(tmp_path):
    f = tmp_path / "w.safetensors"
    save_tensors(f, {"w": torch.ones(1000)})
    f.write_bytes(f.read_bytes()[:500])
    with pytest.raises(CheckpointError, match=r"w\.safetensors is not a readable safetensors file.*truncated"):
        read_tensors(f)


def test_a_missing_listed_file_is_named(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"x")
    write_sums(tmp_path)
    (tmp_path / "a.bin").unlink()
    with pytest.raises(CheckpointError, match=r"a\.bin is missing"):
        verify(tmp_path)


def test_a_damaged_shipped_pair_is_never_copied(tmp_path):
    from vddlib.diffusion.stage import _copy_pair

    ck = shutil.copytree(SHIPPED, tmp_path / "ck")
    _flip(ck / "latte_ema" / "diffusion_pytorch_model.safetensors")
    with pytest.raises(CheckpointError, match="latte_ema"):
        _copy_pair(ck, tmp_path / "work")
    assert not (tmp_path / "work" / "latte_ema").exists()
    shutil.copy(SHIPPED / "latte_ema" / "diffusion_pytorch_model.safetensors", ck / "latte_ema")   # restored
    _copy_pair(ck, tmp_path / "work")
    assert verify(tmp_path / "work" / "latte_ema") == 2                # the copy carries its sums


def test_a_truncated_videomae_is_not_cached_and_a_restored_one_works(tmp_path):
    from vddlib.selection.embeddings import VideoMAETrainConfig, embedder

    ck = shutil.copytree(SHIPPED / "videomae", tmp_path / "videomae")
    info = json.loads((ck / "vddlib_train_info.json").read_text())
    saved = json.loads((ck / "vddlib_train_config.json").read_text())
    cfg = VideoMAETrainConfig(**{f.name: saved[f.name] for f in fields(VideoMAETrainConfig) if f.name in saved})
    weights = ck / "model.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])
    work = tmp_path / "work"
    with pytest.raises(CheckpointError, match=r"model\.safetensors is damaged"):
        embedder(None, cfg, work, info["data_id"], shipped=ck)
    assert not any(work.glob("videomae_*")) if work.exists() else True     # nothing cached from it
    weights.write_bytes(good)
    model = embedder(None, cfg, work, info["data_id"], shipped=ck)
    assert model.config.num_labels > 1 and len(list(work.glob("videomae_*"))) == 1


def test_the_shipped_helpers_match_the_default_profile():
    """The shipped recogniser and VideoMAE are used only while their recorded settings and data match the default
    profile's. A change to the evaluator's or the embedder's settings (a new field) silently stops that, and every
    run then trains its own, with other numbers than the committed notebooks: remake and re-ship them then
    (TRAINING.md says how)."""
    from vddlib.data.datasets import load_dataset
    from vddlib.data.hashing import data_hash
    from vddlib.evaluation.fidelity import recogniser_meta
    from vddlib.profile import load_profile
    from vddlib.selection.embeddings import shipped_matches

    prof = load_profile("default")
    train = load_dataset(prof.dataset)["train"]
    saved, want = read_tensors(SHIPPED / "recogniser.safetensors")[1], recogniser_meta(train, prof.evaluation.train)
    assert {k: saved.get(k) for k in want} == want
    assert shipped_matches(prof.selection.videomae_shipped, prof.selection.videomae, data_hash(train))


# ------------------------------------------------------------------ weights of the wrong model (issue 38)
SHIPPED = REPO_ROOT / "checkpoints" / "digits-motion"


def _load_latte(folder):
    from vddlib.checksums import load_checked
    from vddlib.models.latte import LatteClassConditional

    return load_checked(lambda p: LatteClassConditional.from_pretrained(p, local_files_only=True), folder, "Latte")


def test_another_models_weights_with_fresh_sums_are_refused_before_sampling(tmp_path):
    folder = tmp_path / "latte_ema"
    shutil.copytree(SHIPPED / "latte_ema", folder)
    shutil.copy(SHIPPED / "vae" / "diffusion_pytorch_model.safetensors", folder / "diffusion_pytorch_model.safetensors")
    write_sums(folder)                                        # the sums say nothing: they were made for the wrong file
    with pytest.raises(CheckpointError, match=r"left \d+ of \d+ weights unset .*another model's weights"):
        _load_latte(folder)


def test_a_tensor_of_the_wrong_shape_names_the_model_and_folder(tmp_path):
    from safetensors.torch import load_file, save_file

    folder = tmp_path / "latte_ema"
    shutil.copytree(SHIPPED / "latte_ema", folder)
    f = folder / "diffusion_pytorch_model.safetensors"
    tensors = load_file(str(f))
    name = next(k for k, v in tensors.items() if v.ndim == 2)
    tensors[name] = torch.zeros(tensors[name].shape[0] + 1, tensors[name].shape[1])
    save_file(tensors, str(f))
    write_sums(folder)
    with pytest.raises(CheckpointError) as e:
        _load_latte(folder)
    assert "The Latte at" in str(e.value) and str(folder) in str(e.value) and "other shapes" in str(e.value)


def test_weights_no_sums_list_warn_loudly_and_a_strict_profile_refuses_them(tmp_path):
    from safetensors.torch import load_file, save_file

    from vddlib import checksums

    folder = tmp_path / "latte_ema"
    shutil.copytree(SHIPPED / "latte_ema", folder)
    (folder / "SHA256SUMS").unlink()
    f = folder / "diffusion_pytorch_model.safetensors"
    save_file({k: torch.full_like(v, 0.37) for k, v in load_file(str(f)).items()}, str(f))   # the attack
    with pytest.warns(UserWarning, match="UNCHECKED WEIGHTS: The Latte at .* has no SHA256SUMS"):
        _load_latte(folder)
    try:
        checksums.set_strict(True)
        with pytest.raises(CheckpointError, match="This profile is strict"):
            _load_latte(folder)
    finally:
        checksums.set_strict(False)


def test_strict_is_a_profile_setting(tmp_path):
    from vddlib.profile import load_profile

    (tmp_path / "s.yaml").write_text("base: default\nstrict: true\n")
    assert load_profile(str(tmp_path / "s.yaml")).strict and not load_profile("default").strict
    (tmp_path / "bad.yaml").write_text("base: default\nstrict: maybe\n")
    with pytest.raises(TypeError, match="strict: expected true or false"):
        load_profile(str(tmp_path / "bad.yaml"))
