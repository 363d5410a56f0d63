"""Decoding real files: only the frames a clip needs, short clips flagged, a cache that follows the files."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from tests import fixtures
from vddlib.data import real
from vddlib.data.datasets import DatasetConfig, load_dataset, load_summary
from vddlib.data.real import list_splits, load_real
from vddlib.data.video_io import ClipSpec, decode_clip, decode_frames, frame_indices, write_video

SPEC = ClipSpec(frames=4, gap=2, resize=(40, 30), crop=24)
LONG = ClipSpec(frames=8, gap=4, resize=(64, 48), crop=40)


def _ramp(n: int) -> np.ndarray:
    """n grey frames whose level tells the frame's number (n <= 120: steps of 2 levels)."""
    return np.broadcast_to((np.arange(n) * 2).astype(np.uint8)[:, None, None, None], (n, 48, 64, 3)).copy()


def _whole_file_clip(path, spec):
    every = decode_frames(path, spec.resize)
    clip = every[frame_indices(len(every), spec.frames, spec.gap)]
    top, left = (clip.shape[1] - spec.crop) // 2, (clip.shape[2] - spec.crop) // 2
    return clip[:, top:top + spec.crop, left:left + spec.crop].transpose(0, 3, 1, 2)


@pytest.mark.parametrize("codec,ext", [("mpeg4", "avi"), ("libx264", "mp4"), ("libvpx-vp9", "webm")])
def test_the_clip_equals_the_whole_file_decode(tmp_path, codec, ext):
    """Seeking to the clip and stopping after it gives the clip that decoding every frame gives."""
    p = tmp_path / f"v.{ext}"
    write_video(p, _ramp(120), codec)
    clip = decode_clip(p, LONG)
    assert clip.stated == 120 and clip.decoded is None and clip.short(0.9) is None
    assert np.array_equal(clip.frames, _whole_file_clip(p, LONG))
    green = clip.frames[:, 1].mean(axis=(1, 2))
    assert np.allclose(green, 2 * frame_indices(120, 8, 4), atol=3)      # frames 46, 50, … 74: the centre


def test_decoding_stops_after_the_clips_last_frame(tmp_path):
    """A file damaged after the clip's last frame gives the intact clip, with no warning: nothing past it is read."""
    p = tmp_path / "v.avi"
    write_video(p, _ramp(120), "mpeg4")
    intact = decode_clip(p, LONG).frames
    data = p.read_bytes()
    p.write_bytes(data[: int(len(data) * 0.85)])          # frames up to ~100 survive; the clip ends at 74
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clip = decode_clip(p, LONG)
    assert clip.decoded is None and np.array_equal(clip.frames, intact)
    assert len(decode_frames(p, LONG.resize)) < 120        # the file is cut short; only its tail was lost


def test_a_file_cut_short_is_flagged_and_its_clip_taken_from_what_it_holds(tmp_path):
    p = tmp_path / "v.avi"
    write_video(p, _ramp(120), "mpeg4")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    clip = decode_clip(p, LONG)
    assert clip.stated == 120 and 8 < clip.decoded < 108
    assert "of the 120 frames its container states" in clip.short(0.9)
    assert clip.short(clip.decoded / 120) is None             # the threshold is the profile's
    green = clip.frames[:, 1].mean(axis=(1, 2))
    assert green.max() <= 2 * clip.decoded and np.all(np.diff(green) > 0)     # no frame repeated


def test_a_video_shorter_than_the_clip_is_flagged(tmp_path):
    p = tmp_path / "v.webm"
    write_video(p, _ramp(5), "libvpx-vp9")
    clip = decode_clip(p, LONG)
    assert clip.frames.shape[0] == 8 and "last frame repeated" in clip.short(0.9)


def _ucf_with_bad_clips(tmp_path):
    root = fixtures.ucf101(tmp_path / "u", per_split=3)
    short = root / "UCF-101/Biking/v_Biking_g01_c01.avi"
    write_video(short, fixtures.make_frames(1, 3), "mpeg4")                   # 3 frames for a 4-frame clip
    cut = root / "UCF-101/YoYo/v_YoYo_g01_c01.avi"
    write_video(cut, fixtures.make_frames(2, 60), "mpeg4")
    fixtures.cut_short(cut)
    return root, short, cut


def test_short_clips_are_warned_counted_and_kept_or_skipped(tmp_path, monkeypatch):
    root, short, cut = _ucf_with_bad_clips(tmp_path)
    with pytest.warns(UserWarning, match="2 short clip"):
        vs, report = load_real("ucf101", root, "train", SPEC, cache_dir=tmp_path / "c")
    assert report.loaded == len(vs) == 9 and not report.skipped
    assert sorted(p for p, _ in report.short) == sorted([str(short), str(cut)])
    assert "frames its container states" in dict(report.short)[str(cut)]
    # from the cache the same report, and `skip` drops them
    with pytest.warns(UserWarning, match="2 short clip.*skipped"):
        vs2, report2 = load_real("ucf101", root, "train", SPEC, cache_dir=tmp_path / "c", short_clips="skip")
    assert len(vs2) == 7 and len(report2.skipped) == 2 and report2.short == report.short
    assert not any("g01" in i and ("Biking" in i or "YoYo" in i) for i in vs2.ids)
    # going back and forth between the rules decodes nothing and reports the same
    calls, orig = [], real.decode_clip
    monkeypatch.setattr(real, "decode_clip", lambda *a, **k: calls.append(a[0]) or orig(*a, **k))
    for rule, want in (("keep", vs), ("skip", vs2), ("keep", vs)):
        with pytest.warns(UserWarning, match="2 short clip"):
            again, rep = load_real("ucf101", root, "train", SPEC, cache_dir=tmp_path / "c", short_clips=rule)
        assert torch.equal(again.videos, want.videos) and again.ids == want.ids and rep.short == report.short
    assert calls == []


def test_load_dataset_reports_what_it_loaded(tmp_path):
    root, _, _ = _ucf_with_bad_clips(tmp_path)
    cfg = DatasetConfig(name="ucf101", root=str(root), clip=SPEC, cache_dir=str(tmp_path / "c"))
    with pytest.warns(UserWarning):
        splits = load_dataset(cfg)
    text = load_summary(splits)
    assert "ucf101/train: 9 of 9 videos loaded, 0 skipped, 2 short" in text
    assert "v_YoYo_g01_c01.avi" in text and "ucf101/test: 9 of 9" in text


def test_both_splits_are_listed_once(tmp_path, monkeypatch):
    root = fixtures.ucf101(tmp_path / "u")
    calls = []
    orig = real.DATASETS["ucf101"]
    monkeypatch.setitem(real.DATASETS, "ucf101", orig.__class__(
        lambda r, s: calls.append(s) or orig.lister(r, s), *list(vars(orig).values())[1:]))
    load_dataset(DatasetConfig(name="ucf101", root=str(root), clip=SPEC, cache_dir=str(tmp_path / "c")))
    assert sorted(calls) == ["test", "train"]


def test_an_edited_split_file_is_not_served_from_the_cache(tmp_path):
    root = fixtures.ucf101(tmp_path / "u", per_split=3)
    cache = tmp_path / "c"
    vs, _ = load_real("ucf101", root, "train", SPEC, cache_dir=cache)
    assert len(vs) == 9
    lists = root / "ucfTrainTestlist" / "trainlist01.txt"
    lists.write_text("".join(lists.read_text().splitlines(keepends=True)[:-2]))        # two lines removed
    vs2, report = load_real("ucf101", root, "train", SPEC, cache_dir=cache)
    assert len(vs2) == report.listed == report.loaded == 7 and len(vs2.ids) == 7


def test_a_repaired_file_is_decoded_again_and_only_its_shard(tmp_path, monkeypatch):
    root = fixtures.ucf101(tmp_path / "u", per_split=3)
    cache = tmp_path / "c"
    bad = root / "UCF-101/YoYo/v_YoYo_g01_c01.avi"
    good = bad.read_bytes()
    bad.write_bytes(b"not a video" * 20)
    with pytest.warns(UserWarning, match="v_YoYo_g01_c01"):
        _, report = load_real("ucf101", root, "train", SPEC, cache_dir=cache, shard_size=3)
    assert len(report.skipped) == 1
    bad.write_bytes(good)                                  # the user downloads it again
    calls = []
    orig = real.decode_clip
    monkeypatch.setattr(real, "decode_clip", lambda *a, **k: calls.append(a[0]) or orig(*a, **k))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vs, report = load_real("ucf101", root, "train", SPEC, cache_dir=cache, shard_size=3)
    assert not report.skipped and len(vs) == 9
    assert len(calls) == 3 and bad in calls                # its shard of 3 re-decoded, the other two read back
    assert len(list(cache.rglob("split_*.u8"))) == 1 and not list(cache.rglob("shard_*"))   # one file, none stale
    fresh, _ = load_real("ucf101", root, "train", SPEC, cache_dir=None)
    assert torch.equal(vs.videos, fresh.videos)


def test_split_leak_found_from_one_listing(tmp_path):
    root = fixtures.hmdb51(tmp_path / "h")
    f = root / "testTrainMulti_7030_splits" / "cartwheel_test_split1.txt"
    lines = f.read_text().splitlines()
    f.write_text("\n".join(lines + [lines[0].split()[0] + " 2"]) + "\n")     # a train video also marked test
    with pytest.raises(ValueError, match="both the train and the test split"):
        list_splits("hmdb51", root)
