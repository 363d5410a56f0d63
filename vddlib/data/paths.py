"""Every local input a run names (the dataset's files, pretrained weights), checked before any work.

`check_paths` takes the dataset's settings and the files each stage's settings name (their `input_files()`), so a
missing file is one error that lists them all, each with where to get it, before minutes of work are lost.
"""
from __future__ import annotations

from pathlib import Path

from .datasets import DatasetConfig
from .real import DATASETS


# Where each weight the paper profile reads comes from (shown when a path is missing).
WHERE_TO_GET = {
    "diffusion.vae_path": "Stable Diffusion's VAE: `huggingface-cli download stabilityai/sd-vae-ft-ema --local-dir "
                          "<folder>` on a machine with internet, then copy the folder here (config.json + "
                          "diffusion_pytorch_model.safetensors).",
    "diffusion.init_from": "Latte's class-conditional checkpoint for the dataset (e.g. ucf101.pt from "
                           "https://huggingface.co/maxin-cn/Latte); ours reads it with torch.load(weights_only=True). "
                           "Leave init_from empty to train from scratch.",
    "selection.videomae_path": "VideoMAE-v2 ViT-g (D = 1408, https://github.com/OpenGVLab/VideoMAEv2) saved as a "
                               "transformers VideoMAE folder (config.json + model.safetensors). Leave empty to train "
                               "the small VideoMAE on the real train split instead.",
}


def check_paths(ds: DatasetConfig | None, files: dict[str, tuple[str, str | None]], who: str = "The run") -> list[str]:
    """Check, before any work, the dataset's files (`ds`; None: not checked) and `files` ({setting: (path, file
    inside the folder, or None where the path is the file)}; empty paths are not set); raise one error listing all
    that are missing.

    Returns what was checked (for the notebook's log). The dataset's split files are checked by
    listing both splits with the dataset's own loader.
    """
    problems, checked = [], []
    if ds is not None and not ds.embedded:
        root = Path(ds.root)
        if not root.is_dir():
            problems.append(f"dataset.root: {root} does not exist; unpack {ds.name} there (see vddlib/data/real.py "
                            "for the expected layout) or point dataset.root at it.")
        else:
            for split in ("train", "test"):
                try:
                    items, _ = DATASETS[ds.name].lister(root, split)
                    checked.append(f"dataset {ds.name}/{split}: {len(items)} videos listed")
                except (FileNotFoundError, ValueError) as e:
                    problems.append(f"dataset.root ({split} split): {e}")
    for key, (value, inside) in files.items():
        if not value:
            continue
        target = Path(value) / inside if inside else Path(value)
        if target.is_file():
            checked.append(f"{key}: {target}")
        else:
            problems.append(f"{key}: {target} is missing. {WHERE_TO_GET[key]}")
    if problems:
        raise FileNotFoundError(f"{who} names {len(problems)} missing input(s):\n- "
                                + "\n- ".join(problems))
    return checked
