"""The diffusion stage as notebooks 01 and 02 run it: the autoencoder and class-conditional Latte.

`finetune` trains both (or takes the shipped pair) and always runs a short real training
through the same function, so the path stays tested. Outputs go under
`diffusion.work_dir/<dataset>` (git-ignored artifacts/).
"""
from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from ..data.datasets import DatasetConfig, diffusion_stream
from ..data.paths import check_paths
from ..data.video_io import ClipSpec
from ..data.videoset import VideoSet
from ..checksums import load_checked, verify, write_sums
from ..files import copy_tree, write_text
from ..hardware import DEVICES, resolve_autocast, resolve_device
from ..logs import bar
from ..models.autoencoder import (SmallVAEConfig, build_small_vae, decode_latents, encode_videos, fit_latent_stats,
                                  load_vae, train_vae)
from ..models.latte import LatteClassConditional
from .generate import GenerateConfig
from .latents import encode_training_split
from .train import LatteTrainConfig, launch_train_latte, make_accelerator, train_latte


@dataclass
class DiffusionSettings:
    """The diffusion stage: autoencoder, Latte training, and the trained pair the default ships."""

    shipped: str = ""                   # folder with vae/ and latte_ema/ used unless retrain (empty: always train)
    retrain: bool = False
    vae_path: str = ""                  # a pretrained VAE folder (paper: sd-vae-ft-ema); empty: train a small one
    clip: ClipSpec | None = None        # the clips the diffusion model learns (paper: 16 frames, interval 3, 256²);
                                        # None: the dataset's clip
    vae: SmallVAEConfig = field(default_factory=SmallVAEConfig)
    vae_steps: int = 1500
    vae_batch: int = 64
    vae_lr: float = 1e-3
    init_from: str = ""                 # Latte weights to fine-tune (original .pt or our folder); empty: scratch
    latte: LatteTrainConfig = field(default_factory=LatteTrainConfig)
    smoke_steps: int = 20               # a short real training run that keeps the path tested when shipped weights are used
    smoke_batch: int = 8                # its batch size; 0: latte.batch_size (a GPU-sized batch can cost seconds a step on CPU)
    work_dir: str = "artifacts/diffusion"
    pools_dir: str = "artifacts/pools"  # generated pools, one folder per dataset and generate settings
    device: str = "cpu"                 # the autoencoder's work and Latte's training: "cpu", "cuda" or "auto" (the GPU
                                        # where there is one; the paper profiles)
    processes: int = 1                  # >1: Latte trains on that many processes, one per GPU (accelerate launch)

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ValueError(f"diffusion.device must be one of {DEVICES}; got {self.device!r}")
        if self.vae_steps < 1 or self.smoke_steps < 1:
            raise ValueError("diffusion.vae_steps and diffusion.smoke_steps must be >= 1")
        if self.processes < 1:
            raise ValueError(f"diffusion.processes must be >= 1; got {self.processes}")
        if self.smoke_batch < 0:
            raise ValueError(f"diffusion.smoke_batch must be >= 0 (0: latte.batch_size); got {self.smoke_batch}")

    def input_files(self) -> dict[str, tuple[str, str | None]]:
        """The pretrained weights these settings read ({setting: (path, file inside)}), for `check_paths`."""
        return {"diffusion.vae_path": (self.vae_path, "config.json"), "diffusion.init_from": (self.init_from, None)}


def _copy_pair(src: Path, dst: Path) -> None:
    for sub in ("vae", "latte_ema"):
        if not (src / sub / "config.json").is_file():
            raise FileNotFoundError(f"The shipped checkpoint {src} lacks {sub}/; set diffusion.retrain: true "
                                    "to train one, or restore the folder from git.")
        verify(src / sub)                   # a damaged shipped file is an error here, never copied
        copy_tree(src / sub, dst / sub)     # with its SHA256SUMS, so the copy is checked when loaded


def finetune(d: DiffusionSettings, dataset: DatasetConfig, splits: dict[str, VideoSet], out_dir: str | Path,
             retrain: bool | None = None, recognise: Callable[[torch.Tensor], torch.Tensor] | None = None) -> dict:
    """Train (or take the shipped) autoencoder + Latte on `splits` (of `dataset`, whose clip rule picks the clips
    the model learns) into `out_dir`; always run a short real training to keep the path tested.

    Returns a report: which weights are used, the autoencoder's test PSNR, the share of decoded test videos that
    `recognise` (uint8 videos → predicted classes; e.g. the Full-real recogniser's argmax) names rightly, and
    seconds taken.
    """
    check_paths(dataset, d.input_files(), "diffusion")     # every file the settings name, before any work
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    retrain = d.retrain if retrain is None else retrain
    use_shipped = bool(d.shipped) and not retrain
    # The clips it learns (paper: 16 × 256², interval 3), read shard by shard: only their latents are held, and
    # kept per shard (train_latents.shards/). Their decoded frames are cached only for an autoencoder trained here.
    train = diffusion_stream(dataset, d.clip, splits, cache_clips=not d.vae_path and not use_shipped)
    device = resolve_device(d.device, "diffusion.device")
    report = {"data_hash": None, "diffusion_clips": train.video_shape, "device": device.type}  # hash: as it encodes
    t0 = time.perf_counter()
    vae = _autoencoder(d, train, out, use_shipped, device, report)
    report["vae_seconds"] = time.perf_counter() - t0
    lat = encode_training_split(vae, train, out / "train_latents.safetensors", shards_dir=out / "train_latents.shards")
    report["data_hash"] = lat["data_hash"]
    report.update(autoencoder_check(vae, splits["test"], recognise))
    report.update(_smoke_training(d, lat, train, out, device))
    report.update(_shipped_latte(d) if use_shipped else _train_latte_here(d, lat, train, out, device))
    report["seconds"] = time.perf_counter() - t0
    from .pipeline import write_model_index

    write_model_index(out)                  # LatteVideoPipeline.from_pretrained(out) samples from this folder
    write_text(out / "finetune_report.json", json.dumps(
        {k: v for k, v in report.items() if k != "vae_losses"}, indent=2, default=str))
    return report


def _autoencoder(d: DiffusionSettings, train, out: Path, use_shipped: bool, device: torch.device, report: dict):
    """The autoencoder: the pretrained one `vae_path` names, the shipped one (copied with Latte), or a small one
    trained here on the frames themselves (the split in memory: small data; its losses go into `report`)."""
    if d.vae_path:
        return load_vae(d.vae_path).to(device)
    if use_shipped:
        _copy_pair(Path(d.shipped), out)
        return load_vae(out / "vae").to(device)
    vae = build_small_vae(d.vae).to(device)
    frames = train.collect().videos
    report["vae_losses"] = train_vae(vae, frames, d.vae_steps, d.vae_batch, d.vae_lr)
    fit_latent_stats(vae, frames)
    del frames
    vae.save_pretrained(out / "vae")
    write_sums(out / "vae")
    return vae


def _smoke_training(d: DiffusionSettings, lat: dict, train, out: Path, device: torch.device) -> dict:
    """A short run through the very same training function, whichever weights are used."""
    smoke = LatteTrainConfig(**{**asdict(d.latte), "steps": d.smoke_steps, "checkpoint_every": d.smoke_steps,
                                "batch_size": d.smoke_batch or d.latte.batch_size})
    smoke_dir = out / "smoke"
    if smoke_dir.exists():
        shutil.rmtree(smoke_dir)
    r = train_latte(lat["latents"], lat["labels"], train.num_classes, smoke, smoke_dir, init_from=d.init_from or None,
                    class_names=train.class_names,
                    accelerator=make_accelerator(smoke.mixed_precision, cpu=device.type == "cpu"))
    return {"smoke_steps": r["steps_run"], "smoke_s_per_step": r["seconds"] / max(1, r["steps_run"]),
            "smoke_batch": smoke.batch_size, "smoke_loss_first_last": (r["losses"][0], r["losses"][-1])}


def _shipped_latte(d: DiffusionSettings) -> dict:
    return {"latte": f"shipped: {d.shipped}", "latte_log": str(Path(d.shipped) / "latte_train_log.csv")}


def _train_latte_here(d: DiffusionSettings, lat: dict, train, out: Path, device: torch.device) -> dict:
    """Latte's whole training, in this process or on `diffusion.processes` (the latents file feeds each)."""
    t1 = time.perf_counter()
    run = out / "latte_run"
    if d.processes > 1:
        launch_train_latte(out / "train_latents.safetensors", d.latte, run, d.processes, d.init_from or None,
                           device=d.device)
    else:
        train_latte(lat["latents"], lat["labels"], train.num_classes, d.latte, run, init_from=d.init_from or None,
                    class_names=train.class_names,
                    accelerator=make_accelerator(d.latte.mixed_precision, cpu=device.type == "cpu"))
    copy_tree(run / "latte_ema", out / "latte_ema")
    write_sums(out / "latte_ema")
    return {"latte": f"trained here: {d.latte.steps} steps in {time.perf_counter() - t1:.0f} s",
            "latte_log": str(run / "train_log.csv")}


def autoencoder_check(vae, test: VideoSet, recognise: Callable[[torch.Tensor], torch.Tensor] | None = None,
                      progress: bool = True, chunk: int | None = None) -> dict:
    """The autoencoder on the test split, encoded and decoded a chunk of videos at a time (never the whole split
    decoded: Kinetics-400's is 11 GiB, and as much again decoded): `vae_test_psnr`, and with `recognise` (uint8
    videos → predicted classes) `recogniser_on_decoded_test`, the percent of decoded videos it names rightly.

    A chunk is whole batches of `encode_videos` (256 frames) and of `predict_proba` (100 videos), so the figures
    are those of the split done in one go: the same numbers, bit for bit, where the split is one chunk (`chunk`
    videos: another size, for tests)."""
    n, frames = len(test), test.videos.shape[1]
    chunk = chunk or math.lcm(256 // math.gcd(256, frames), 100)
    sq, right = 0.0, 0
    for a in bar(range(0, n, chunk), desc="autoencoder on the test split", show=progress and n > chunk):
        real = test.videos[a:a + chunk]
        decoded = decode_latents(vae, encode_videos(vae, real))
        sq += F.mse_loss(decoded.float(), real.float()).item() * real.numel()
        if recognise is not None:
            right += int((recognise(decoded).cpu() == test.labels[a:a + chunk]).sum())
    mse = sq / max(1, test.videos.numel())
    out = {"vae_test_psnr": float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)}
    if recognise is not None:                          # float32, as a mean of the hits
        out["recogniser_on_decoded_test"] = float(torch.tensor(right, dtype=torch.float32) / n * 100)
    return out


def _check_trained(out: Path) -> None:
    if not (out / "latte_ema" / "config.json").is_file():
        raise FileNotFoundError(f"No trained Latte in {out}/latte_ema; run notebooks/01_finetune.ipynb first.")


def load_diffusion(out_dir: str | Path) -> tuple:
    """(vae, Latte EMA) written by `finetune`, with a message naming notebook 01 if absent."""
    out = Path(out_dir)
    _check_trained(out)
    latte = load_checked(lambda p: LatteClassConditional.from_pretrained(p, local_files_only=True), out / "latte_ema",
                         "Latte")
    return load_vae(out / "vae"), latte.eval()


def generate(g: GenerateConfig, work_dir: str | Path, pool_path: str | Path, class_names: list[str],
             progress: bool = True) -> Path:
    """Notebook 02's pool: `g`'s settings, the weights `finetune` wrote to `work_dir`, into `pool_path` (`pool_dir`).
    In this process on `generate.device`, or on `generate.processes` processes (one per GPU) through
    `accelerate launch`. Returns the manifest path; a complete pool is kept as it is."""
    from .generate import generate_pool, launch_pool

    work, path = Path(work_dir), Path(pool_path)
    settings = {"latte": str(work / "latte_ema"), "vae": str(work / "vae")}
    if g.processes > 1:
        _check_trained(work)                # here, before any process starts
        return launch_pool(work, class_names, g, path, settings=settings)
    vae, latte = load_diffusion(work)
    return generate_pool(latte, vae, class_names, g, path, settings=settings, progress=progress)


def diffusion_dir(d: DiffusionSettings, dataset: str) -> Path:
    """The folder of the trained pair and its reports for `dataset`."""
    return Path(d.work_dir) / dataset


def pool_dir(d: DiffusionSettings, g: GenerateConfig, dataset: str, device: str | None = None) -> Path:
    """Where the pool of these settings lives, named after every setting that made it (DiT's habit), the precision
    that `generate.autocast` resolves to on the device it is generated on included (`generate.device`, or
    `device`), so pools sampled in bf16 and fp32 never share a folder."""
    device = device or (g.device if g.device != "auto" else "cuda" if torch.cuda.is_available() else "cpu")
    prec = "bf16" if resolve_autocast(g.autocast, device) == "bf16" else "fp32"
    return (Path(d.pools_dir) / dataset / f"latte-{d.latte.size}_cfg{g.guidance_scale:g}_"
            f"{g.sampler}{g.steps}_nc{g.per_class}_seed{g.seed}_{prec}")
