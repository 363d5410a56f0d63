"""Figures drawn from saved data (VideoSets, results CSVs), written as PNGs to figures/."""
from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

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


def _save(fig, path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def video_strip(video_u8, path: str | Path, title: str = "") -> None:
    """All frames of one video side by side (the paper's Figure 2)."""
    T = video_u8.shape[0]
    fig, axes = plt.subplots(1, T, figsize=(T * 1.1, 1.5))
    for t, ax in enumerate(axes):
        ax.imshow(video_u8[t].permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(f"t={t}", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout(pad=0.2)
    _save(fig, path)


def real_vs_synthetic(real: VideoSet, syn: VideoSet, path: str | Path, frames=(0, 3, 7)) -> None:
    """Per class: a real training video and a synthetic one, at a few frames."""
    frames = [f for f in frames if f < real.frames]
    C = real.num_classes
    fig, axes = plt.subplots(C, 2 * len(frames), figsize=(2 * len(frames) * 0.95, C * 1.0), squeeze=False)
    for c in range(C):
        for j, (vs, tag) in enumerate(((real, "real"), (syn, "syn"))):
            v = vs.videos[int(vs.indices_of(c)[0])]
            for k, f in enumerate(frames):
                ax = axes[c, j * len(frames) + k]
                ax.imshow(v[f].permute(1, 2, 0).numpy(), interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                if c == 0:
                    ax.set_title(f"{tag} t={f}", fontsize=7)
                if j == 0 and k == 0:
                    ax.set_ylabel(real.class_names[c].replace("_", "\n"), rotation=0, ha="right", va="center", fontsize=7)
    fig.tight_layout(pad=0.2)
    _save(fig, path)


def line_plot(series: dict[str, tuple], path: str | Path, xlabel: str, ylabel: str, title: str = "",
              logy: bool = False, logx: bool = False) -> None:
    """One line per name: {name: (x, y)}."""
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for name, (x, y) in series.items():
        ax.plot(x, y, marker="o" if len(x) < 30 else None, label=name, lw=1.2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    if title:
        ax.set_title(title, fontsize=9)
    if len(series) > 1:
        ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)


def selection_projections(emb_class: np.ndarray, chosen: dict[str, list[int]], out_dir: str | Path, stem: str,
                          title: str = "") -> list[Path]:
    """A 2-D PCA of one class's pool embeddings with each method's selected videos marked.

    `chosen` maps method → positions within the class. Writes `<stem>_<method>.png` per method
    and `<stem>_all.png` (one panel per method); returns the paths.
    """
    from sklearn.decomposition import PCA

    xy = PCA(n_components=2, svd_solver="full").fit_transform(np.asarray(emb_class, dtype=np.float64))
    out_dir = Path(out_dir)
    paths = []

    def draw(ax, method, pos):
        ax.scatter(xy[:, 0], xy[:, 1], s=8, c="0.75", lw=0)
        ax.scatter(xy[pos, 0], xy[pos, 1], s=40, c="tab:red", marker="*", lw=0)
        ax.set_title(method, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])

    for method, pos in chosen.items():
        fig, ax = plt.subplots(figsize=(3, 3))
        draw(ax, method, pos)
        if title:
            fig.suptitle(title, fontsize=7)
        fig.tight_layout()
        p = out_dir / f"{stem}_{method}.png"
        _save(fig, p)
        paths.append(p)
    cols = min(4, len(chosen))
    rows = (len(chosen) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(2.4 * cols, 2.4 * rows), squeeze=False)
    for ax, (method, pos) in zip(axes.flat, chosen.items()):
        draw(ax, method, pos)
    for ax in list(axes.flat)[len(chosen):]:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    p = out_dir / f"{stem}_all.png"
    _save(fig, p)
    return paths + [p]


def bar_plot(bars: list[tuple[str, float, float]], path: str | Path, ylabel: str, title: str = "",
             hline: tuple[str, float] | None = None) -> None:
    """Bars of mean ± std: [(label, mean, std)], with an optional labelled reference line."""
    fig, ax = plt.subplots(figsize=(max(4.0, 0.55 * len(bars) + 1.5), 3.2))
    x = np.arange(len(bars))
    ax.bar(x, [b[1] for b in bars], yerr=[b[2] for b in bars], capsize=3, color="#4C72B0", alpha=0.85)
    ax.set_xticks(x, [b[0] for b in bars], rotation=30, ha="right", fontsize=7)
    if hline is not None:
        ax.axhline(hline[1], color="#C44E52", ls="--", lw=1, label=hline[0])
        ax.legend(fontsize=7)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    _save(fig, path)


def heatmap(values: np.ndarray, rows: list[str], cols: list[str], path: str | Path, xlabel: str, ylabel: str,
            title: str = "") -> None:
    """A grid of numbers (e.g. top-1 per λ_d × λ_r), each cell annotated."""
    values = np.asarray(values, dtype=float)
    fig, ax = plt.subplots(figsize=(1.0 * len(cols) + 2, 0.8 * len(rows) + 1.5))
    im = ax.imshow(values, cmap="viridis")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            ax.text(j, i, f"{values[i, j]:.1f}", ha="center", va="center", color="w", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    _save(fig, path)


def panel_bars(panels: dict[str, list[tuple[str, float, float]]], path: str | Path, ylabel: str, title: str = "",
               refs: dict[str, list[tuple[str, float]]] | None = None) -> None:
    """One panel of bars (label, mean, std) per key (e.g. per VPC), each with optional labelled reference lines."""
    colors = ("#C44E52", "#55A868", "#8172B2")
    n = max(len(b) for b in panels.values())
    fig, axes = plt.subplots(1, len(panels), figsize=(max(4.0, (0.42 * n + 0.9) * len(panels)), 3.6), squeeze=False)
    for ax, (name, bars) in zip(axes[0], panels.items()):
        x = np.arange(len(bars))
        ax.bar(x, [b[1] for b in bars], yerr=[b[2] for b in bars], capsize=3, color="#4C72B0", alpha=0.85)
        ax.set_xticks(x, [b[0] for b in bars], rotation=45, ha="right", fontsize=7)
        lo = min(b[1] - b[2] for b in bars)
        for (label, v), col in zip((refs or {}).get(name, []), colors):
            ax.axhline(v, color=col, ls="--", lw=1, label=label)
            lo = min(lo, v)
        hi = max(b[1] + b[2] for b in bars)
        ax.set_ylim(lo - 0.1 * (hi - lo + 1e-9), hi + 0.1 * (hi - lo + 1e-9))
        ax.set_title(name, fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    axes[0][0].set_ylabel(ylabel)
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, fontsize=7, loc="upper right", ncol=len(handles))
    if title:
        fig.suptitle(title, fontsize=9, x=0.02, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    _save(fig, path)


def labelled_scatter(groups: dict[str, list[tuple[str, float, float]]], path: str | Path, xlabel: str, ylabel: str,
                     title: str = "") -> None:
    """One panel per group (e.g. per VPC, each on its own scales) of named points (label, x, y)."""
    fig, axes = plt.subplots(1, len(groups), figsize=(3.6 * len(groups), 3.6), squeeze=False)
    for ax, (name, pts) in zip(axes[0], groups.items()):
        ax.scatter([p[1] for p in pts], [p[2] for p in pts], color="#4C72B0", s=22)
        for label, x, y in pts:
            ax.annotate(label, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
        xs = [p[1] for p in pts]
        pad = 0.15 * (max(xs) - min(xs) + 1e-9)
        ax.set_xlim(min(xs) - pad, max(xs) + 2 * pad)           # room for the labels on the right
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    _save(fig, path)
