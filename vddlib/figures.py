"""Figures drawn from saved data (VideoSets, results CSVs), written as PNGs to figures/."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .data.videoset import VideoSet  # noqa: E402


def class_frames_figure(vs: VideoSet, path: str | Path, per_class: int = 1, max_classes: int = 20) -> list[int]:
    """Every frame of the first `per_class` videos of each class, one row per video. Returns their indices."""
    chosen = [int(i) for c in range(min(vs.num_classes, max_classes)) for i in vs.indices_of(c)[:per_class]]
    T = vs.frames
    fig, axes = plt.subplots(len(chosen), T, figsize=(T * 0.9, len(chosen) * 0.98), squeeze=False)
    for row, i in enumerate(chosen):
        for t in range(T):
            ax = axes[row, t]
            ax.imshow(vs.videos[i, t].permute(1, 2, 0).numpy(), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if t == 0:
                ax.set_ylabel(vs.class_names[int(vs.labels[i])].replace("_", "\n"), rotation=0, ha="right",
                              va="center", fontsize=7)
            if row == 0:
                ax.set_title(f"t={t}", fontsize=7)
    fig.tight_layout(pad=0.2)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return chosen
