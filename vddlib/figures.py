"""Figures drawn from saved data (VideoSets, results CSVs), written as PNGs to figures/.

Every figure is saved at 150 dpi with its bounding box fitted to what it draws (nothing clipped), legends outside
the axes, the paper's method names (`pretty`), and error bars wherever a mean is drawn. The paper's own figures
and tables (stems starting `fig` or `table`) are written as PDF too, beside the PNG.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.ticker  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from .data.videoset import VideoSet  # noqa: E402
from .paper import ROW_NAMES  # noqa: E402
from .selection import display_names  # noqa: E402

DPI = 150
PAPER_STEMS = ("fig", "table")          # the paper's figures and table plots: PDF beside the PNG



def _err(v):
    """Error bars with a missing std (one run: NaN, or None) drawn as none rather than breaking the axes."""
    if v is None:
        return 0.0
    a = np.asarray([np.nan if x is None else x for x in v] if isinstance(v, (list, tuple)) else v, dtype=float)
    a = np.where(np.isfinite(a), a, 0.0)
    return a if a.ndim else float(a)

def pretty(label) -> str:
    """A label with every registry name in it replaced by the name it prints as (`vst_unet 5` → `VST-UNet 5`): a
    selector's own display name, the paper's for the other rows and the evaluators."""
    import re

    text, names = str(label), {**ROW_NAMES, **display_names()}
    for code in sorted(names, key=len, reverse=True):
        text = re.sub(rf"(?<![A-Za-z0-9_]){re.escape(code)}(?![A-Za-z0-9_])", names[code], text)
    return text


def _legend_outside(ax_or_fig, **kw) -> None:
    """The legend to the right of the axes, off the data."""
    ax_or_fig.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **kw)


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
    _save(fig, path)
    return chosen


def _save(fig, path) -> None:
    """PNG at DPI with a tight bounding box (labels and outside legends included); PDF too for the paper's."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight", pad_inches=0.05)
    if path.name.startswith(PAPER_STEMS):
        fig.savefig(path.with_suffix(".pdf"), bbox_inches="tight", pad_inches=0.05,
                    metadata={"CreationDate": None})        # no timestamp: a rerun rewrites the same bytes
    plt.close(fig)


def video_strip(video_u8, path: str | Path, title: str = "") -> None:
    """All frames of one video side by side (the paper's Figure 2)."""
    T = video_u8.shape[0]
    fig, axes = plt.subplots(1, T, figsize=(T * 1.1, 1.5))
    for t, ax in enumerate(axes):
        ax.imshow(video_u8[t].permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(f"t={t}", fontsize=7)
    fig.tight_layout(pad=0.2, rect=(0, 0, 1, 0.8 if title else 1))
    if title:
        fig.suptitle(title, fontsize=9, y=0.98)           # above the frame labels, in the space kept for it
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
              logy: bool = False, logx: bool = False, refs: dict[str, tuple] | None = None) -> None:
    """One line per name: {name: (x, y)} or, for means, {name: (x, y, std)} drawn with error bars.
    `refs`: dashed reference lines {name: (x, y[, std])} (e.g. the paper's values)."""
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for name, xs in series.items():
        x, y = xs[0], xs[1]
        if len(xs) > 2 and xs[2] is not None:
            ax.errorbar(x, y, yerr=_err(xs[2]), marker="o", capsize=3, label=pretty(name), lw=1.2, ms=4)
        else:
            ax.plot(x, y, marker="o" if len(x) < 30 else None, label=pretty(name), lw=1.2, ms=4)
    for name, xs in (refs or {}).items():
        ax.errorbar(xs[0], xs[1], yerr=_err(xs[2]) if len(xs) > 2 else None, ls="--", marker="s", ms=3, capsize=2,
                    lw=1, alpha=0.8, label=pretty(name))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())      # no crowded minor labels
    if logx:
        ax.set_xscale("log")
        xs = sorted({float(v) for v in [*[x for s in series.values() for x in s[0]]]})
        if len(xs) <= 8:                                   # few points: label exactly those, as plain numbers
            ax.set_xticks(xs, [f"{v:g}" for v in xs])
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    if title:
        ax.set_title(title, fontsize=9)
    if len(series) + len(refs or {}) > 1:
        _legend_outside(ax)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)


def selection_projections(emb_class: np.ndarray, chosen: dict[str, list[int]], out_dir: str | Path, stem: str,
                          title: str = "") -> list[Path]:
    """A 2-D PCA of one class's pool embeddings with each method's selected videos marked, one panel per method,
    written as `<stem>_all.png`; returns [its path]. `chosen` maps method → positions within the class."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, svd_solver="full")
    xy = pca.fit_transform(np.asarray(emb_class, dtype=np.float64))
    var = pca.explained_variance_ratio_ * 100
    cols = min(4, len(chosen))
    rows = (len(chosen) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.6 * rows), squeeze=False)
    for ax, (method, pos) in zip(axes.flat, chosen.items()):
        ax.scatter(xy[:, 0], xy[:, 1], s=8, c="0.7", lw=0, label=f"class pool ({len(xy)} videos)")
        ax.scatter(xy[pos, 0], xy[pos, 1], s=60, c="tab:red", marker="*", lw=0, label=f"selected ({len(pos)})")
        ax.set_title(pretty(method), fontsize=8)
        ax.set_xlabel(f"PC 1 ({var[0]:.0f} % of variance)", fontsize=7)
        ax.set_ylabel(f"PC 2 ({var[1]:.0f} %)", fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(chosen):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=2, bbox_to_anchor=(0.5, -0.04))
    if title:
        fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    p = Path(out_dir) / f"{stem}_all.png"
    _save(fig, p)
    return [p]


def bar_plot(bars: list[tuple[str, float, float]], path: str | Path, ylabel: str, title: str = "",
             hline: tuple[str, float] | None = None) -> None:
    """Bars of mean ± std: [(label, mean, std)], with an optional labelled reference line."""
    fig, ax = plt.subplots(figsize=(max(4.0, 0.55 * len(bars) + 1.5), 3.2))
    x = np.arange(len(bars))
    ax.bar(x, [b[1] for b in bars], yerr=_err([b[2] for b in bars]), capsize=3, color="#4C72B0", alpha=0.85)
    ax.set_xticks(x, [pretty(b[0]) for b in bars], rotation=30, ha="right", fontsize=7)
    if hline is not None:
        ax.axhline(hline[1], color="#C44E52", ls="--", lw=1, label=pretty(hline[0]))
        _legend_outside(ax)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    _save(fig, path)


def paired_bars(items: list[tuple], path: str | Path, ylabel: str, title: str = "", ours: str = "ours",
                theirs: str = "paper") -> None:
    """Our mean ± std beside the paper's for each item: [(label, mean, std, paper_mean | None, paper_std | None)].
    Items the paper lacks show our bar alone."""
    fig, ax = plt.subplots(figsize=(max(4.5, 0.75 * len(items) + 2.0), 3.2))
    x = np.arange(len(items))
    w = 0.38
    ax.bar(x - w / 2, [i[1] for i in items], w, yerr=_err([i[2] for i in items]), capsize=3, color="#4C72B0", label=ours)
    have = [k for k, i in enumerate(items) if i[3] is not None]
    if have:
        ax.bar(x[have] + w / 2, [items[k][3] for k in have], w, yerr=_err([items[k][4] for k in have]), capsize=3,
               color="#DD8452", label=theirs)
    ax.set_xticks(x, [pretty(i[0]) for i in items], rotation=30, ha="right", fontsize=7)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    _legend_outside(ax)
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
        ax.bar(x, [b[1] for b in bars], yerr=_err([b[2] for b in bars]), capsize=3, color="#4C72B0", alpha=0.85)
        ax.set_xticks(x, [pretty(b[0]) for b in bars], rotation=45, ha="right", fontsize=7)
        lo = min(b[1] - e for b, e in zip(bars, _err([b[2] for b in bars])))
        for (label, v), col in zip((refs or {}).get(name, []), colors):
            ax.axhline(v, color=col, ls="--", lw=1, label=label)
            lo = min(lo, v)
        hi = max(b[1] + e for b, e in zip(bars, _err([b[2] for b in bars])))
        ax.set_ylim(lo - 0.1 * (hi - lo + 1e-9), hi + 0.1 * (hi - lo + 1e-9))
        ax.set_title(name, fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    axes[0][0].set_ylabel(ylabel)
    handles, labels = axes[0][0].get_legend_handles_labels()
    if title:
        fig.suptitle(title, fontsize=9, x=0.02, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    if handles:
        fig.legend(handles, labels, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 0.9))
    _save(fig, path)


def labelled_scatter(groups: dict[str, list[tuple]], path: str | Path, xlabel: str, ylabel: str,
                     title: str = "") -> None:
    """One panel per group (e.g. per VPC, each on its own scales) of named points (label, x, y) or, for means,
    (label, x, y, x_std, y_std) drawn with error bars. Points that coincide share one label; labels that would
    overlap are moved apart."""
    fig, axes = plt.subplots(1, len(groups), figsize=(3.8 * len(groups), 3.8), squeeze=False)
    for ax, (name, pts) in zip(axes[0], groups.items()):
        merged: dict[tuple, list] = {}
        for p in pts:
            merged.setdefault((round(p[1], 9), round(p[2], 9)), []).append(p)
        for (x, y), ps in merged.items():
            p = ps[0]
            if len(p) >= 5:
                ax.errorbar(x, y, xerr=_err(p[3]), yerr=_err(p[4]), fmt="o", color="#4C72B0", ms=4, capsize=2, lw=0.8, alpha=0.9)
            else:
                ax.scatter([x], [y], color="#4C72B0", s=22)
        ys, xs_all = [p[2] for p in pts], [p[1] for p in pts]
        yspan, xspan = (max(ys) - min(ys)) or 1.0, (max(xs_all) - min(xs_all)) or 1.0
        placed: list[tuple[float, float]] = []            # label positions, in fractions of the data's spans
        for (x, y), ps in sorted(merged.items(), key=lambda kv: -kv[0][1]):
            xn, yn, shift = x / xspan, y / yspan, 0
            while shift < 6 and any(abs(xn - a) < 0.2 and abs(yn - 0.06 * shift - b) < 0.06 for a, b in placed):
                shift += 1                                 # a label already there: this one goes lower
            placed.append((xn, yn - 0.06 * shift))
            ax.annotate(" = ".join(pretty(p[0]) for p in ps), (x, y), fontsize=7, xytext=(4, 3 - 10 * shift),
                        textcoords="offset points")
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


def forest_plot(rows: list[tuple], path: str | Path, xlabel: str, title: str = "", half_width: float | None = None
                ) -> None:
    """Paired differences with their 95 % intervals, one line each: [(label, group, diff, low, high, resolved)].
    Groups (e.g. the two pools) sit side by side in colour on each label's line; a resolved verdict (the interval
    excludes 0 after the family's adjustment) is a filled marker, 'cannot tell' an open one. A dashed line marks 0,
    and `half_width` shades the band an interval of that half-width would span around 0 (the goal)."""
    labels = list(dict.fromkeys(r[0] for r in rows))
    groups = list(dict.fromkeys(r[1] for r in rows))
    colours = ["#4C72B0", "#DD8452", "#55A868", "#C44E52"]
    fig, ax = plt.subplots(figsize=(6.0, 0.42 * len(labels) + 1.3))
    step = 0.5 / max(len(groups), 1)
    for g, group in enumerate(groups):
        for label, grp, diff, low, high, resolved in rows:
            if grp != group:
                continue
            y = labels.index(label) + (g - (len(groups) - 1) / 2) * step
            ax.errorbar(diff, y, xerr=[[diff - low], [high - diff]], fmt="o", color=colours[g % len(colours)],
                        mfc=colours[g % len(colours)] if resolved else "white", capsize=3, ms=5,
                        label=pretty(group) if label == next(r[0] for r in rows if r[1] == group) else None)
    ax.axvline(0, color="k", ls="--", lw=0.8)
    if half_width:
        ax.axvspan(-half_width, half_width, color="#999999", alpha=0.15, lw=0,
                   label=f"±{half_width:g} (an interval this wide: the goal)")
    ax.set_yticks(range(len(labels)), [pretty(x) for x in labels], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, axis="x")
    _legend_outside(ax)
    _save(fig, path)
