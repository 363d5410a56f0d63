"""LatteVideoPipeline: the shipped checkpoint folder loads with one from_pretrained and samples exactly as the pool."""
from __future__ import annotations

import shutil

import pytest
import torch

from vddlib.checksums import CheckpointError
from vddlib.config import REPO_ROOT
from vddlib.diffusion.generate import GenerateConfig, sample_latents
from vddlib.diffusion.pipeline import LatteVideoPipeline
from vddlib.models.autoencoder import decode_latents

SHIPPED = REPO_ROOT / "checkpoints" / "digits-motion"


@pytest.fixture(scope="module")
def pipe():
    return LatteVideoPipeline.from_pretrained(SHIPPED)


def test_one_call_gives_the_pools_videos(pipe):
    videos = pipe(["bounce", 2], seeds=[7, 8], num_inference_steps=2)
    assert videos.shape == (2, 8, 3, 32, 32) and videos.dtype == torch.uint8
    cfg = GenerateConfig(steps=2, autocast="no")
    z = sample_latents(pipe.latte_ema, torch.tensor([pipe.class_names.index("bounce"), 2]), [7, 8], cfg)
    assert torch.equal(videos, decode_latents(pipe.vae, z))           # exactly generate_pool's sampling
    assert pipe.class_names[2] == "translate_up"


def test_unknown_class_names_and_seed_counts_are_errors(pipe):
    with pytest.raises(ValueError, match="Unknown class 'jump'.*translate_right"):
        pipe(["jump"])
    with pytest.raises(ValueError, match="2 seeds for 1 labels"):
        pipe([0], seeds=[1, 2])


def test_a_damaged_folder_is_refused_before_loading(tmp_path):
    ck = shutil.copytree(SHIPPED, tmp_path / "ck")
    w = ck / "latte_ema" / "diffusion_pytorch_model.safetensors"
    w.write_bytes(w.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="latte_ema"):
        LatteVideoPipeline.from_pretrained(ck)
