"""Video decoding with PyAV: T frames with a frame gap, resized and centre-cropped.

Follows the prior video-distillation protocol (../shared/paper/protocols.md): frames
resized to 160×120 and centre-cropped to 112×112, 16 frames with a gap of 4. Resizing is
done by FFmpeg's scaler inside PyAV while decoding, so full-resolution frames are never
kept. A video shorter than (T-1)·gap+1 frames gets a smaller gap, then repeats its last
frame, so every clip has exactly T frames.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class VideoDecodeError(RuntimeError):
    """A video that cannot be decoded into frames (corrupt, empty or not a video)."""


@dataclass(frozen=True)
class ClipSpec:
    """Which frames to take from a video and how to size them."""

    frames: int = 16
    gap: int = 4
    resize: tuple[int, int] = (160, 120)   # (width, height) after decoding
    crop: int = 112                        # centre crop, square
    start: str = "center"                  # "center" or "random" (seeded per video)

    def __post_init__(self) -> None:
        if self.frames < 1 or self.gap < 1:
            raise ValueError(f"ClipSpec.frames and gap must be >= 1; got {self.frames}, {self.gap}")
        if self.crop > min(self.resize):
            raise ValueError(f"ClipSpec.crop ({self.crop}) must fit in resize {self.resize}")
        if self.start not in ("center", "random"):
            raise ValueError(f"ClipSpec.start must be 'center' or 'random'; got {self.start!r}")


def frame_indices(n_frames: int, frames: int, gap: int, start: int | None = None) -> np.ndarray:
    """Indices of `frames` frames spaced by `gap` (reduced for short videos), clipped to the video."""
    if n_frames < 1:
        raise ValueError("a video with no frames has no clip")
    gap = max(1, min(gap, (n_frames - 1) // max(frames - 1, 1))) if frames > 1 else 1
    span = (frames - 1) * gap + 1
    if start is None:
        start = max(0, (n_frames - span) // 2)
    start = int(np.clip(start, 0, max(0, n_frames - span)))
    return np.minimum(start + gap * np.arange(frames), n_frames - 1)


def decode_frames(path: str | Path, size: tuple[int, int]) -> np.ndarray:
    """Every frame of a video as uint8 (N, H, W, 3), scaled to size=(width, height) while decoding."""
    import av

    path = Path(path)
    if not path.is_file():
        raise VideoDecodeError(f"{path}: file not found")
    out = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoDecodeError(f"{path}: no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                out.append(frame.to_ndarray(format="rgb24", width=size[0], height=size[1]))
    except VideoDecodeError:
        raise
    except Exception as e:  # PyAV raises several FFmpeg error types for damaged files
        if not out:
            raise VideoDecodeError(f"{path}: cannot decode ({type(e).__name__}: {e})") from e
        warnings.warn(f"{path}: decoding stopped early after {len(out)} frames ({type(e).__name__}); "
                      "using the frames read so far", stacklevel=2)
    if not out:
        raise VideoDecodeError(f"{path}: no frames could be decoded")
    return np.stack(out)


def load_clip(path: str | Path, spec: ClipSpec, rng: np.random.Generator | None = None) -> np.ndarray:
    """One clip as uint8 (T, 3, crop, crop)."""
    frames = decode_frames(path, spec.resize)
    start = None
    if spec.start == "random":
        rng = rng or np.random.default_rng(0)
        span = (spec.frames - 1) * spec.gap + 1
        start = int(rng.integers(0, max(1, len(frames) - span + 1)))
    clip = frames[frame_indices(len(frames), spec.frames, spec.gap, start)]
    h, w = clip.shape[1:3]
    top, left = (h - spec.crop) // 2, (w - spec.crop) // 2
    clip = clip[:, top:top + spec.crop, left:left + spec.crop]
    return np.ascontiguousarray(clip.transpose(0, 3, 1, 2))


def write_video(path: str | Path, frames: np.ndarray, codec: str, fps: int = 25) -> None:
    """Write uint8 (N, H, W, 3) frames with PyAV (test fixtures and exported pools)."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
