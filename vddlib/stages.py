"""The diffusion stage as notebooks 01 and 02 run it: recogniser, autoencoder, Latte, pool.

Kept here (tested) so that each notebook cell is a call. Outputs go under
`diffusion.work_dir` (git-ignored artifacts/), in folders named after the dataset.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from .config import DiffusionProfile, Profile, check_paths
from .data.videoset import VideoSet
from .diffusion import LatteTrainConfig, train_latte
from .evaluate import TrainConfig, model_inputs, new_evaluator, predict_proba, train_evaluator
from .latents import encode_training_split
from .models.autoencoder import (build_small_vae, decode_latents, encode_videos, fit_latent_stats, load_vae,
                                 psnr, train_vae)
from .models.latte import LatteClassConditional


def data_hash(vs: VideoSet) -> str:
    """sha1 of a split's videos and labels: names the data a checkpoint was trained on."""
    h = hashlib.sha1(vs.videos.numpy().tobytes())
    h.update(vs.labels.numpy().tobytes())
    return h.hexdigest()[:16]


# ----------------------------------------------------------------------------- the recogniser
def recogniser(train: VideoSet, cfg: TrainConfig, path: str | Path, seed: int = 0,
               shipped: str | Path | None = None) -> torch.nn.Module:
    """The Full-real evaluator (seed 0) that judges generated videos; trained once, saved with safetensors.

    `shipped`: a file this function saved earlier (e.g. `checkpoints/digits-motion/recogniser.safetensors`),
    copied to `path` and used only if its metadata (settings, data hash, seed, shapes) match; else trained here.
    """
    path = Path(path)
    meta = {"cfg": json.dumps(asdict(cfg)), "data": data_hash(train), "seed": str(seed),
            "num_classes": str(train.num_classes), "frames": str(train.frames), "size": str(train.videos.shape[-1])}

    def matches(f: Path) -> bool:
        if not f.is_file():
            return False
        from safetensors import safe_open

        with safe_open(str(f), framework="pt") as h:
            saved = h.metadata() or {}
        return all(saved.get(k) == v for k, v in meta.items())

    if not matches(path) and shipped is not None and matches(Path(shipped)):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        shutil.copyfile(shipped, tmp)
        tmp.replace(path)
    if matches(path):
        model = new_evaluator(cfg, train.num_classes, train.frames, train.videos.shape[-1])
        model.load_state_dict(load_file(str(path)))
        return model.eval()
    model = train_evaluator(train, cfg, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp), metadata=meta)
    tmp.replace(path)
    return model


@torch.no_grad()
def embed(model: torch.nn.Module, videos: torch.Tensor, batch_size: int = 100) -> torch.Tensor:
    """Penultimate features of an evaluator (for the Fréchet distance)."""
    model.eval()
    return torch.cat([model.embed(model_inputs(videos[i:i + batch_size], model))
                      for i in range(0, len(videos), batch_size)])


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (as FID/FVD, on our evaluator's features)."""
    from scipy import linalg

    a, b = a.double().numpy(), b.double().numpy()
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2)
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def recognition(model: torch.nn.Module, vs: VideoSet) -> float:
    """Percent of videos the evaluator assigns to their (conditioning) class."""
    return float((predict_proba(model, vs.videos).argmax(1) == vs.labels).float().mean() * 100)


# ----------------------------------------------------------------------------- 01: autoencoder + Latte
def _copy_pair(src: Path, dst: Path) -> None:
    for sub in ("vae", "latte_ema"):
        if not (src / sub / "config.json").is_file():
            raise FileNotFoundError(f"The shipped checkpoint {src} lacks {sub}/; set diffusion.retrain: true "
                                    "to train one, or restore the folder from git.")
        if (dst / sub).exists():
            shutil.rmtree(dst / sub)
        shutil.copytree(src / sub, dst / sub)


def diffusion_split(prof: Profile, splits: dict[str, VideoSet]) -> VideoSet:
    """The train split as the diffusion model sees it: `diffusion.clip` decoded from a real dataset's files
    (cached beside the evaluators' clips), else the evaluators' own train split (digits-motion, or no clip set)."""
    clip = prof.diffusion.clip
    if clip is None or prof.dataset.name == "digits-motion" or clip == prof.dataset.clip:
        return splits["train"]
    from .data.real import load_real

    return load_real(prof.dataset.name, prof.dataset.root, "train", clip, prof.dataset.cache_dir)[0]


def finetune(prof: Profile, splits: dict[str, VideoSet], out_dir: str | Path, retrain: bool | None = None) -> dict:
    """Train (or take the shipped) autoencoder + Latte; always run a short real training to keep the path tested.

    Returns a report: which weights are used, the autoencoder's test PSNR, the decoded test
    split (`decoded_test`, for the recogniser check) and seconds taken.
    """
    check_paths(prof)                       # every file the profile names, before any work
    d: DiffusionProfile = prof.diffusion
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    test = splits["test"]
    train = diffusion_split(prof, splits)   # the clips the diffusion model learns (paper: 16 × 256², interval 3)
    retrain = d.retrain if retrain is None else retrain
    report = {"data_hash": data_hash(train), "diffusion_clips": tuple(train.videos.shape[1:])}
    t0 = time.perf_counter()
    use_shipped = bool(d.shipped) and not retrain
    if d.vae_path:
        vae = load_vae(d.vae_path)
    elif use_shipped:
        _copy_pair(Path(d.shipped), out)
        vae = load_vae(out / "vae")
    else:
        vae = build_small_vae(d.vae)
        report["vae_losses"] = train_vae(vae, train.videos, d.vae_steps, d.vae_batch, d.vae_lr)
        fit_latent_stats(vae, train.videos)
        vae.save_pretrained(out / "vae")
    report["vae_seconds"] = time.perf_counter() - t0
    lat = encode_training_split(vae, train, out / "train_latents.safetensors")
    report["decoded_test"] = VideoSet(decode_latents(vae, encode_videos(vae, test.videos)), test.labels,
                                      test.class_names, test.ids, {"split": "test", "decoded": True})
    report["vae_test_psnr"] = psnr(report["decoded_test"].videos, test.videos)

    # A short run through the very same training function, whichever weights are used.
    smoke = LatteTrainConfig(**{**asdict(d.latte), "steps": d.smoke_steps, "checkpoint_every": d.smoke_steps,
                                "batch_size": d.smoke_batch or d.latte.batch_size})
    smoke_dir = out / "smoke"
    if smoke_dir.exists():
        shutil.rmtree(smoke_dir)
    r = train_latte(lat["latents"], lat["labels"], train.num_classes, smoke, smoke_dir, init_from=d.init_from or None)
    report["smoke_steps"], report["smoke_s_per_step"] = r["steps_run"], r["seconds"] / max(1, r["steps_run"])
    report["smoke_batch"] = smoke.batch_size
    report["smoke_loss_first_last"] = (r["losses"][0], r["losses"][-1])
    if use_shipped:
        report["latte"] = f"shipped: {d.shipped}"
        report["latte_log"] = str(Path(d.shipped) / "latte_train_log.csv")
    else:
        t1 = time.perf_counter()
        run = out / "latte_run"
        train_latte(lat["latents"], lat["labels"], train.num_classes, d.latte, run, init_from=d.init_from or None)
        if (out / "latte_ema").exists():
            shutil.rmtree(out / "latte_ema")
        shutil.copytree(run / "latte_ema", out / "latte_ema")
        report["latte"] = f"trained here: {d.latte.steps} steps in {time.perf_counter() - t1:.0f} s"
        report["latte_log"] = str(run / "train_log.csv")
    report["seconds"] = time.perf_counter() - t0
    (out / "finetune_report.json").write_text(json.dumps(
        {k: v for k, v in report.items() if k not in ("vae_losses", "decoded_test")}, indent=2, default=str))
    return report


def load_diffusion(out_dir: str | Path) -> tuple:
    """(vae, Latte EMA) written by `finetune`, with a message naming notebook 01 if absent."""
    out = Path(out_dir)
    if not (out / "latte_ema" / "config.json").is_file():
        raise FileNotFoundError(f"No trained Latte in {out}/latte_ema; run notebooks/01_finetune.ipynb first.")
    return load_vae(out / "vae"), LatteClassConditional.from_pretrained(out / "latte_ema", local_files_only=True).eval()




def pool_dir(prof: Profile, device: str = "cpu") -> Path:
    """Where the profile's pool lives, named after every setting that made it (DiT's habit), the precision that
    `generate.autocast` resolves to on `device` included (the device the pool is sampled on: notebook 02 samples on
    the CPU), so pools sampled in bf16 and fp32 never share a folder."""
    from .generate import resolve_autocast

    g = prof.generate
    prec = "bf16" if resolve_autocast(g.autocast, device) == "bf16" else "fp32"
    return (Path("artifacts/pools") / prof.dataset.name / f"latte-{prof.diffusion.latte.size}_cfg{g.guidance_scale:g}_"
            f"{g.sampler}{g.steps}_nc{g.per_class}_seed{g.seed}_{prec}")


def diffusion_dir(prof: Profile) -> Path:
    return Path(prof.diffusion.work_dir) / prof.dataset.name


# ----------------------------------------------------------------------------- selection (notebook 03)
def videomae_inputs(prof: Profile, train: VideoSet, videos: VideoSet, cache_name: str) -> tuple:
    """(embedder, {"embeddings", "scores"} of `videos`, embedder seconds): the profile's VideoMAE (loaded from
    `selection.videomae_path`, else trained on the real train split and cached) and its features, cached under
    <selection.work_dir>/<dataset>/<cache_name>/."""
    from .embeddings import embedder, pool_features

    sel = prof.selection
    work = Path(sel.work_dir) / prof.dataset.name
    t0 = time.perf_counter()
    model = embedder(train, sel.videomae, work, data_hash(train), sel.videomae_path or None,
                     shipped=sel.videomae_shipped or None)
    embed_s = time.perf_counter() - t0
    return model, pool_features(model, videos, work / cache_name / "videomae_features.safetensors", train), embed_s


def selection_inputs(prof: Profile, train: VideoSet, pool_path: str | Path,
                     test: VideoSet | None = None) -> tuple[VideoSet, dict, dict]:
    """The pool, what the selectors read (embeddings, scores, latents) and a report on the embedder.

    The embedder is the profile's VideoMAE (loaded from `selection.videomae_path`, else
    trained on the real train split and cached); pool features are cached beside it.
    """
    from .embeddings import shipped_matches, videomae_features
    from .generate import load_pool

    check_paths(prof)
    sel = prof.selection
    pool, latents = load_pool(pool_path, with_latents=True)
    model, feats, embed_s = videomae_inputs(prof, train, pool, Path(pool_path).name)
    report = {"embedder": sel.videomae_path or "small VideoMAE trained on the real train split" + (
                  f" (shipped: {sel.videomae_shipped})" if sel.videomae_shipped and shipped_matches(
                      sel.videomae_shipped, sel.videomae, data_hash(train)) else ""),
              "embedding_dim": int(feats["embeddings"].shape[1]), "embedder_seconds": round(embed_s, 1),
              "pool_recognised_by_videomae": float((feats["scores"].argmax(1) == pool.labels.numpy()).mean())}
    if test is not None and feats["scores"].shape[1] == test.num_classes and sel.videomae_path == "":
        _, p = videomae_features(model, test.videos)
        report["videomae_real_test_top1"] = float((p.argmax(1) == test.labels).float().mean())
    return pool, {"embeddings": feats["embeddings"], "scores": feats["scores"], "latents": latents}, report


def make_selections(prof: Profile, pool: VideoSet, inputs: dict, vpcs, seeds, pool_name: str,
                    methods=None, progress: bool = True, name: str | None = None,
                    settings: dict | None = None) -> list[dict]:
    """Every (method, VPC, seed) selection of the pool as a manifest; saved ones with the same settings are re-used.

    `name` and `settings` (with one method): a variant of it saved under its own name (notebook 05's ablations).
    """
    from concurrent.futures import ThreadPoolExecutor

    from tqdm.auto import tqdm

    from .select import NEEDS, THREADED, selection_manifest

    methods = list(methods or prof.selection.methods)
    if name is not None and len(methods) != 1:
        raise ValueError(f"A named variant ({name!r}) is one method; got {methods}")
    for m in methods:
        missing = [k for k in NEEDS[m] if inputs.get(k) is None]
        if missing:
            raise ValueError(f"{name or m} ({m}) needs the selector inputs {missing}; "
                             "stages.selection_inputs makes them for a pool.")

    def one(job):
        m, v, s = job
        st = prof.selection.settings(m) if settings is None else settings
        man = selection_manifest(prof.selection.manifests, prof.dataset.name, pool_name, m, pool.labels, v, s,
                                 settings=st, name=name, num_classes=pool.num_classes, **st,
                                 **{k: inputs[k] for k in NEEDS[m]})
        return {**man, "method": name} if name else man

    jobs = [(m, v, s) for m in methods for v in vpcs for s in seeds]
    done = {}
    with tqdm(total=len(jobs), desc="selections", disable=not progress) as bar:
        # a threaded method's trainings run `selection.parallel` at a time (each on its own fixed thread count,
        # so the selections are those of one at a time); the rest one by one
        threaded = [j for j in jobs if j[0] in THREADED]
        if prof.selection.parallel > 1 and len(threaded) > 1:
            with ThreadPoolExecutor(prof.selection.parallel) as ex:
                for job, man in zip(threaded, ex.map(one, threaded)):
                    done[job] = man
                    bar.update()
        for job in jobs:
            if job not in done:
                done[job] = one(job)
                bar.update()
    return [done[j] for j in jobs]


def selection_quality(manifests: list[dict], pool: VideoSet, embeddings: np.ndarray, per_video: dict[str, np.ndarray],
                      latents: torch.Tensor | None = None, lambdas=None) -> list[dict]:
    """What each method's selections hold, averaged over seeds per (method, VPC):

    - `objective`: the paper's selection objective λ_d L_div + λ_r L_rep in the fixed latent space
      (`vddlib.losses`; lower is better), with `lambdas(vpc)` -> (λ_d, λ_r) (VST-UNet's, the paper's by VPC);
    - each of `per_video` ({name: (N,) array}), averaged over the picks: e.g. `recognised` (the Full-real
      recogniser names the video's class) and `confidence` (its probability for that class);
    - `diversity`: mean pairwise cosine distance of the selected embeddings within a class;
    - `coverage_dist`: mean distance from each pool video of a class to its nearest selected one
      (L2-normalised embeddings; lower = more representative).
    """
    from .losses import class_space, set_objective
    from .select import flat_indices

    z = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    labels = pool.labels.numpy()
    spaces = {}
    acc: dict[tuple, list[dict]] = {}
    for m in manifests:
        per = {int(c): v for c, v in m["indices"].items()}
        div, cov, obj = [], [], []
        for c, idx in per.items():
            s = z[idx]
            if len(idx) > 1:
                sim = s @ s.T
                div.append(1.0 - (sim.sum() - np.trace(sim)) / (len(idx) * (len(idx) - 1)))
            members = z[labels == c]
            cov.append(float(np.sqrt(((members[:, None] - s[None]) ** 2).sum(-1)).min(1).mean()))
            if latents is not None:
                own = np.flatnonzero(labels == c)
                if c not in spaces:
                    spaces[c] = class_space(latents[torch.from_numpy(own)])
                local = torch.from_numpy(np.searchsorted(own, idx))[None]
                obj.append(float(set_objective(spaces[c], local, *lambdas(int(m["vpc"])))[0]))
        flat = flat_indices(per)
        acc.setdefault((m["method"], int(m["vpc"])), []).append(
            {"objective": float(np.mean(obj)) if obj else float("nan"),
             **{k: float(np.asarray(v)[flat].mean()) for k, v in per_video.items()},
             "diversity": float(np.mean(div)) if div else float("nan"),
             "coverage_dist": float(np.mean(cov)), "seconds": float(m.get("seconds", float("nan")))})
    out = []
    for (method, vpc), rs in acc.items():
        out.append({"method": method, "vpc": vpc, "seeds": len(rs),
                    **{k: float(np.mean([r[k] for r in rs])) for k in rs[0]},
                    "objective_std": float(np.std([r["objective"] for r in rs]))})
    return out
