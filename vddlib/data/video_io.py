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


def _video_stream(container, path: Path):
    if not container.streams.video:
        raise VideoDecodeError(f"{path}: no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    return stream


def header_frames(container, stream) -> int | None:
    """The frame count the container states: its frame count, else duration × frame rate (WebM states no
    count); None when it states neither."""
    if stream.frames:
        return int(stream.frames)
    rate = stream.average_rate or stream.guessed_rate
    if stream.duration and stream.time_base:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration:
        seconds = container.duration / 1e6
    else:
        return None
    return max(1, round(seconds * float(rate))) if rate else None


def decode_frames(path: str | Path, size: tuple[int, int]) -> np.ndarray:
    """Every frame of a video as uint8 (N, H, W, 3), scaled to size=(width, height) while decoding."""
    import av

    path = Path(path)
    if not path.is_file():
        raise VideoDecodeError(f"{path}: file not found")
    out = []
    try:
        with av.open(str(path)) as container:
            stream = _video_stream(container, path)
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


@dataclass
class Clip:
    """A decoded clip (uint8 T×3×crop×crop) and what the file held: the frame count its container states
    (None: unstated) and the frames it really held (None: at least up to the clip's last frame, not counted
    further, since decoding stops there)."""

    frames: np.ndarray
    stated: int | None
    decoded: int | None

    def short(self, fraction: float) -> str | None:
        return short_reason(self.stated, self.decoded, self.frames.shape[0], fraction)


def short_reason(stated: int | None, decoded: int | None, clip_frames: int, fraction: float) -> str | None:
    """Why a clip is short, or None: its file held under `fraction` of the frames its container states (cut
    short), or fewer frames than the clip (its last frame repeated)."""
    if decoded is not None and stated and decoded < fraction * stated:
        return f"{decoded} of the {stated} frames its container states could be decoded"
    if decoded is not None and decoded < clip_frames:
        return f"only {decoded} frames for a clip of {clip_frames} (last frame repeated)"
    return None


SEEK_AFTER = 48   # a clip starting this many frames in is reached by seeking to the keyframe before it


def _start(n: int, spec: ClipSpec, rng: np.random.Generator | None) -> int | None:
    if spec.start != "random":
        return None
    rng = rng or np.random.default_rng(0)
    span = (spec.frames - 1) * spec.gap + 1
    return int(rng.integers(0, max(1, n - span + 1)))


def _read_frames(container, stream, want: np.ndarray, size, seek: bool) -> dict[int, np.ndarray] | None:
    """Frames at the indices `want`, decoding no further than the last; None when the file ends (or breaks)
    before it, or when a seek lands where frame numbers cannot be told from timestamps."""
    need, last = set(want.tolist()), int(want.max())
    got: dict[int, np.ndarray] = {}
    if seek:
        rate, tb, t0 = stream.average_rate, stream.time_base, stream.start_time or 0
        if not rate or not tb:
            return None
        container.seek(int(t0 + int(want.min()) / float(rate) / float(tb)), stream=stream, backward=True)
        numbers = None
    else:
        numbers = iter(range(1 << 62))
    try:
        for frame in container.decode(stream):
            if numbers is not None:
                k = next(numbers)
            elif frame.pts is None:
                return None
            else:
                k = round(float((frame.pts - t0) * tb) * float(rate))
            if k in need and k not in got:
                got[k] = frame.to_ndarray(format="rgb24", width=size[0], height=size[1])
            if k >= last:
                break
    except Exception:  # a damaged file: the caller decodes it whole, which reports what was read
        return None
    return got if len(got) == len(need) else None


def decode_clip(path: str | Path, spec: ClipSpec, rng: np.random.Generator | None = None) -> Clip:
    """One clip, decoding only the frames it needs: frame positions come from the container's frame count, a
    late start is reached by seeking, and decoding stops after the clip's last frame. A file that holds fewer
    frames than its container states (cut short) is decoded whole and the clip taken from what it holds, so
    `Clip.short` can flag it."""
    import av

    path = Path(path)
    if not path.is_file():
        raise VideoDecodeError(f"{path}: file not found")
    stated = got = idx = None
    try:
        with av.open(str(path)) as container:
            stream = _video_stream(container, path)
            stated = header_frames(container, stream)
            if stated:
                idx = frame_indices(stated, spec.frames, spec.gap, _start(stated, spec, rng))
                got = _read_frames(container, stream, idx, spec.resize, seek=int(idx.min()) >= SEEK_AFTER)
    except VideoDecodeError:
        raise
    except Exception as e:
        raise VideoDecodeError(f"{path}: cannot decode ({type(e).__name__}: {e})") from e
    if got is not None:
        frames, decoded = np.stack([got[k] for k in idx.tolist()]), None
        if stated < spec.frames:               # the whole (short) video was read: its length is known
            decoded = stated
    else:                                       # no stated count, a cut-short file, or a seek that missed
        every = decode_frames(path, spec.resize)
        if idx is not None and len(every) >= stated:
            frames, decoded = every[idx], len(every)     # a seek that missed: the planned frames, read in order
        else:
            decoded = len(every)
            frames = every[frame_indices(decoded, spec.frames, spec.gap, _start(decoded, spec, rng))]
    h, w = frames.shape[1:3]
    top, left = (h - spec.crop) // 2, (w - spec.crop) // 2
    frames = frames[:, top:top + spec.crop, left:left + spec.crop]
    return Clip(np.ascontiguousarray(frames.transpose(0, 3, 1, 2)), stated, decoded)


def load_clip(path: str | Path, spec: ClipSpec, rng: np.random.Generator | None = None) -> np.ndarray:
    """One clip as uint8 (T, 3, crop, crop) (`decode_clip` without what the file held)."""
    return decode_clip(path, spec, rng).frames


def write_video(path: str | Path, frames: np.ndarray, codec: str, fps: int = 25,
                options: dict[str, str] | None = None) -> None:
    """Write uint8 (N, H, W, 3) frames with PyAV (test fixtures and exported pools); `options`: the container's
    (e.g. {"movflags": "faststart"}: an MP4's index before its frames, as streaming sites serve them)."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", options=options or {}) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
