"""Real-dataset loaders on tiny fixture folders in each dataset's real layout and codec."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests import fixtures
from vddlib.data import real
from vddlib.data.real import load_real, miniucf_classes
from vddlib.data.video_io import ClipSpec, frame_indices

SPEC = ClipSpec(frames=4, gap=2, resize=(40, 30), crop=24)


def _check_clips(vs, n, num_classes):
    assert vs.videos.shape == (n, 4, 3, 24, 24)
    assert vs.videos.dtype == torch.uint8
    assert sorted(set(vs.labels.tolist())) == list(range(num_classes))
    for v, y in zip(vs.videos, vs.labels):
        red = v[:, 0].float().mean().item()
        assert abs(red - fixtures.class_red(int(y))) < 12, (red, int(y))     # label ↔ content
        green = v[:, 1].float().mean(dim=(1, 2))
        assert torch.all(green[1:] > green[:-1])                              # frames in order


@pytest.mark.parametrize("name,make,n_classes,per_split", [
    ("ucf101", fixtures.ucf101, 3, 2),
    ("hmdb51", fixtures.hmdb51, 2, 2),
    ("kinetics400", fixtures.kinetics400, 2, 2),
    ("ssv2", fixtures.ssv2, 2, 2),
])
def test_loader_reads_real_layout(tmp_path, name, make, n_classes, per_split):
    root = make(tmp_path / name)
    for split in ("train", "test"):
        vs, report = load_real(name, root, split, SPEC, cache_dir=tmp_path / "cache", workers=2)
        _check_clips(vs, n_classes * per_split, n_classes)
        assert report.listed == report.loaded == n_classes * per_split and not report.skipped


def test_train_and_test_splits_are_disjoint(tmp_path):
    root = fixtures.ucf101(tmp_path / "ucf")
    tr, _ = load_real("ucf101", root, "train", SPEC, cache_dir=None)
    te, _ = load_real("ucf101", root, "test", SPEC, cache_dir=None)
    assert not set(tr.ids) & set(te.ids)
    assert all(i.startswith("UCF-101/") for i in tr.ids)


def test_hmdb_unused_mark_is_excluded(tmp_path):
    root = fixtures.hmdb51(tmp_path / "hmdb")
    items, _ = real.list_hmdb51(root, "train")
    items_te, _ = real.list_hmdb51(root, "test")
    names = {p.name for p, _ in items + items_te}
    assert not any(n.endswith("_clip4.avi") for n in names)                  # mark 0 = unused


def test_miniucf_restricts_and_renumbers(tmp_path):
    mini = miniucf_classes()
    assert len(mini) == 50
    root = fixtures.ucf101(tmp_path / "ucf", classes=tuple(sorted(mini + ["YoYo", "Archery"])), per_split=1)
    items, names = real.list_ucf101(root, "train", classes=mini)
    assert names == mini and len(items) == 50
    assert sorted({y for _, y in items}) == list(range(50))
    assert all(p.parent.name in mini for p, _ in items)


def test_miniucf_on_a_ucf_without_its_classes_is_a_clear_error(tmp_path):
    root = fixtures.ucf101(tmp_path / "ucf")
    with pytest.raises(ValueError, match="not in .*classInd.txt"):
        load_real("miniucf", root, "train", SPEC, cache_dir=None)


def test_corrupt_video_is_skipped_with_warning_and_counted(tmp_path):
    root = fixtures.ucf101(tmp_path / "ucf")
    bad = root / "UCF-101/Biking/v_Biking_g01_c01.avi"
    bad.write_bytes(b"this is not a video" * 10)
    with pytest.warns(UserWarning, match="v_Biking_g01_c01.avi"):
        vs, report = load_real("ucf101", root, "train", SPEC, cache_dir=tmp_path / "c")
    assert len(vs) == 5 and report.loaded == 5 and report.listed == 6
    assert len(report.skipped) == 1 and report.skipped[0][0].endswith("v_Biking_g01_c01.avi")
    # the skip is remembered by the cache, and reported again from it
    with pytest.warns(UserWarning, match="v_Biking_g01_c01.avi"):
        _, report2 = load_real("ucf101", root, "train", SPEC, cache_dir=tmp_path / "c")
    assert len(report2.skipped) == 1


def test_missing_video_file_is_a_counted_skip(tmp_path):
    root = fixtures.kinetics400(tmp_path / "k4")
    victim = next((root / "val").rglob("*.mp4"))
    victim.unlink()
    with pytest.warns(UserWarning, match="file not found"):
        vs, report = load_real("kinetics400", root, "test", SPEC, cache_dir=None)
    assert report.listed == 4 and report.loaded == 3 and len(vs) == 3


@pytest.mark.parametrize("name,make,victim,hint", [
    ("ucf101", fixtures.ucf101, "ucfTrainTestlist/testlist01.txt", "testlist01.txt"),
    ("ucf101", fixtures.ucf101, "ucfTrainTestlist/classInd.txt", "classInd.txt"),
    ("kinetics400", fixtures.kinetics400, "annotations/validate.csv", "validate.csv"),
    ("ssv2", fixtures.ssv2, "labels/validation.json", "validation.json"),
])
def test_missing_split_file_names_what_and_where(tmp_path, name, make, victim, hint):
    root = make(tmp_path / name)
    (root / victim).unlink()
    with pytest.raises(FileNotFoundError, match=hint) as e:
        load_real(name, root, "test", SPEC, cache_dir=None)
    assert str(root) in str(e.value)


def test_missing_hmdb_split_files(tmp_path):
    root = fixtures.hmdb51(tmp_path / "h")
    for f in (root / "testTrainMulti_7030_splits").iterdir():
        f.unlink()
    with pytest.raises(FileNotFoundError, match="_test_split1.txt"):
        load_real("hmdb51", root, "train", SPEC, cache_dir=None)


def test_unknown_class_in_split_file(tmp_path):
    root = fixtures.ucf101(tmp_path / "ucf")
    with open(root / "ucfTrainTestlist/testlist01.txt", "a") as f:
        f.write("Juggling/v_Juggling_g01_c01.avi\r\n")
    with pytest.raises(ValueError, match="Juggling"):
        load_real("ucf101", root, "test", SPEC, cache_dir=None)


def test_unknown_ssv2_template(tmp_path):
    import json
    root = fixtures.ssv2(tmp_path / "s")
    p = root / "labels/train.json"
    entries = json.loads(p.read_text())
    entries[0]["template"] = "Juggling [something]"
    p.write_text(json.dumps(entries))
    with pytest.raises(ValueError, match="Juggling something"):
        load_real("ssv2", root, "train", SPEC, cache_dir=None)


def test_empty_class_is_an_error(tmp_path):
    root = fixtures.ucf101(tmp_path / "ucf")
    for p in (root / "UCF-101/YoYo").glob("*g0[12]*.avi"):
        p.write_bytes(b"garbage")
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="YoYo.*no readable"):
        load_real("ucf101", root, "train", SPEC, cache_dir=None)


def _count_decodes(monkeypatch, fail_at: int | None = None) -> list:
    calls, orig = [], real.decode_clip

    def counted(*a, **k):
        calls.append(a[0])
        if fail_at is not None and len(calls) == fail_at:
            raise RuntimeError("killed")                 # as if the run were killed while decoding this video
        return orig(*a, **k)

    monkeypatch.setattr(real, "decode_clip", counted)
    return calls


def test_a_cached_split_is_one_file_held_memory_mapped(tmp_path, monkeypatch):
    """The cache keeps a split as one raw file that load_real maps (its pages are the page cache's, not the
    process's), with the same videos, labels and ids as decoding it in memory; the shard files it holds are gone,
    a second load decodes nothing, and writing to the videos changes the process's copy only."""
    root = fixtures.hmdb51(tmp_path / "h", per_split=3)
    cache = tmp_path / "cache"
    plain, _ = load_real("hmdb51", root, "train", SPEC, cache_dir=None, shard_size=4)
    first, _ = load_real("hmdb51", root, "train", SPEC, cache_dir=cache, shard_size=4)
    files = sorted(p.name for p in cache.rglob("*") if p.is_file())
    assert len(files) == 2 and files[0].startswith("split_") and {p.split(".")[-1] for p in files} == {"json", "u8"}
    assert torch.equal(first.videos, plain.videos) and torch.equal(first.labels, plain.labels)
    assert first.ids == plain.ids and first.meta["file"].endswith(".u8")
    assert first.meta["file"] in Path("/proc/self/maps").read_text()   # mapped, not read into memory
    calls = _count_decodes(monkeypatch)
    again, _ = load_real("hmdb51", root, "train", SPEC, cache_dir=cache, shard_size=4)
    assert calls == [] and torch.equal(again.videos, plain.videos) and again.ids == plain.ids
    again.videos[0] = 0                                                # copy-on-write
    assert torch.equal(first.videos, plain.videos)
    third, _ = load_real("hmdb51", root, "train", SPEC, cache_dir=cache, shard_size=4)
    assert calls == [] and torch.equal(third.videos, plain.videos)


def test_a_killed_decoding_resumes_and_a_replaced_video_redecodes_its_shard(tmp_path, monkeypatch):
    import os

    root = fixtures.hmdb51(tmp_path / "h", per_split=3)                 # 6 train videos: shards of 4 and 2
    cache = tmp_path / "cache"
    plain, _ = load_real("hmdb51", root, "train", SPEC, cache_dir=None, shard_size=4)
    calls = _count_decodes(monkeypatch, fail_at=5)                     # the first video of shard 2
    with pytest.raises(RuntimeError, match="killed"):
        load_real("hmdb51", root, "train", SPEC, cache_dir=cache, shard_size=4, workers=1)
    assert len(list(cache.rglob("shard_*.safetensors"))) == 1 and not list(cache.rglob("split_*"))
    calls = _count_decodes(monkeypatch)
    resumed, _ = load_real("hmdb51", root, "train", SPEC, cache_dir=cache, shard_size=4)
    assert len(calls) == 2 and torch.equal(resumed.videos, plain.videos) and resumed.ids == plain.ids
    # a replaced video: its shard is decoded again, the other read from the split file; one split file remains
    victim = root / resumed.ids[0]
    os.utime(victim, ns=(victim.stat().st_atime_ns, victim.stat().st_mtime_ns + 10**9))
    calls.clear()
    redone, _ = load_real("hmdb51", root, "train", SPEC, cache_dir=cache, shard_size=4)
    assert len(calls) == 4 and torch.equal(redone.videos, plain.videos) and redone.ids == plain.ids
    assert len(list(cache.rglob("split_*.u8"))) == 1 and not list(cache.rglob("shard_*"))


def test_a_truncated_split_file_is_rebuilt_and_a_foreign_one_named(tmp_path):
    from vddlib.files import map_raw

    root = fixtures.hmdb51(tmp_path / "h")
    cache = tmp_path / "cache"
    first, _ = load_real("hmdb51", root, "train", SPEC, cache_dir=cache)
    first.videos = first.videos.clone()                 # a mapping cut short under it would fault (SIGBUS)
    data = next(cache.rglob("split_*.u8"))
    with open(data, "r+b") as f:
        f.truncate(data.stat().st_size // 2)
    again, _ = load_real("hmdb51", root, "train", SPEC, cache_dir=cache)      # the index no longer fits: rebuilt
    assert torch.equal(again.videos, first.videos)
    with pytest.raises(ValueError, match=r"holds \d+ bytes.*truncated"):
        map_raw(data, (len(first) + 1, *first.videos.shape[1:]))


def test_frame_indices_gap_and_short_videos():
    assert frame_indices(100, 4, 4).tolist() == [43, 47, 51, 55]             # centred: (100 - 13) // 2 = 43
    assert frame_indices(10, 4, 4).tolist() == [0, 3, 6, 9]                  # gap shrinks to fit
    assert frame_indices(3, 4, 4).tolist() == [0, 1, 2, 2]                   # last frame repeats
    assert frame_indices(100, 4, 4, start=0).tolist() == [0, 4, 8, 12]


def test_random_start_is_seeded(tmp_path):
    from vddlib.data.video_io import load_clip
    root = fixtures.ucf101(tmp_path / "u")
    p = root / "UCF-101/Biking/v_Biking_g01_c01.avi"
    spec = ClipSpec(frames=3, gap=1, resize=(40, 30), crop=24, start="random")
    a = load_clip(p, spec, np.random.default_rng(3))
    b = load_clip(p, spec, np.random.default_rng(3))
    assert np.array_equal(a, b)


@pytest.mark.parametrize("move", [
    {},                                                                          # annotations/{train,validate}.csv
    {"annotations/train.csv": "train.csv", "annotations/validate.csv": "validate.csv"},   # CSVs at the root
    {"annotations/validate.csv": "annotations/val.csv"},                        # the download scripts' val.csv
    {"annotations/validate.csv": "val.csv", "val": "validate"},                  # and the videos in validate/
])
def test_kinetics_layouts_of_the_download_tools(tmp_path, move):
    root = fixtures.kinetics400(tmp_path / "k4")
    for src, dst in move.items():
        (root / src).rename(root / dst)
    vs, report = load_real("kinetics400", root, "test", SPEC, cache_dir=None)
    assert report.listed == 4 and report.loaded == 4 and not report.skipped
    assert vs.class_names == ["abseiling", "air drumming"]


def test_kinetics_missing_csv_names_every_place_tried(tmp_path):
    root = fixtures.kinetics400(tmp_path / "k4")
    (root / "annotations" / "validate.csv").unlink()
    with pytest.raises(FileNotFoundError) as e:
        load_real("kinetics400", root, "test", SPEC, cache_dir=None)
    for place in ("annotations/validate.csv", "annotations/val.csv", "k4/val.csv"):
        assert place in str(e.value)


def test_a_video_in_both_splits_is_refused_with_its_name(tmp_path):
    root = fixtures.ucf101(tmp_path / "u")
    lists = root / "ucfTrainTestlist"
    leaked = lists.joinpath("testlist01.txt").read_text().splitlines()[0].strip()
    with open(lists / "trainlist01.txt", "a") as f:
        f.write(f"{leaked} 1\r\n")
    for split in ("train", "test"):
        with pytest.raises(ValueError, match="both the train and the test split") as e:
            load_real("ucf101", root, split, SPEC, cache_dir=None)
        assert leaked.split("/")[-1] in str(e.value)


def test_a_video_listed_twice_is_refused(tmp_path):
    root = fixtures.ucf101(tmp_path / "u")
    lists = root / "ucfTrainTestlist"
    first = lists.joinpath("trainlist01.txt").read_text().splitlines()[0]
    with open(lists / "trainlist01.txt", "a") as f:
        f.write(first + "\r\n")
    with pytest.raises(ValueError, match="more than once") as e:
        load_real("ucf101", root, "train", SPEC, cache_dir=None)
    assert first.split()[0].split("/")[-1] in str(e.value)


def test_an_hmdb_class_without_its_split_file_is_an_error_not_a_missing_class(tmp_path):
    root = fixtures.hmdb51(tmp_path / "h")
    (root / "testTrainMulti_7030_splits" / "cartwheel_test_split1.txt").unlink()
    with pytest.raises(FileNotFoundError, match="cartwheel_test_split1.txt"):
        load_real("hmdb51", root, "train", SPEC, cache_dir=None)


def test_a_split_streams_shard_by_shard_as_the_loader_reads_it(tmp_path):
    """stream_real yields the split a shard at a time; together the shards are load_real's split, their hash is
    its data_hash, and each pass reports afresh (a skipped file once, not once per pass)."""
    from vddlib.data.hashing import PartsHash, data_hash
    from vddlib.data.real import stream_real

    root = fixtures.ucf101(tmp_path / "ucf", per_split=3)
    (root / "UCF-101/Biking/v_Biking_g01_c01.avi").write_bytes(b"not a video" * 10)
    with pytest.warns(UserWarning, match="v_Biking_g01_c01"):
        whole, report = load_real("ucf101", root, "train", SPEC, cache_dir=tmp_path / "c", shard_size=4)
    stream = stream_real("ucf101", root, "train", SPEC, cache_dir=tmp_path / "c", shard_size=4)
    assert stream.listed == 9 and stream.video_shape == (4, 3, 24, 24) and stream.meta["split"] == "train"
    for _ in range(2):
        digest, parts = PartsHash(), []
        with pytest.warns(UserWarning, match="v_Biking_g01_c01"):
            for part in stream:
                digest.update(part)
                parts.append(part)
        sizes = [len(p) for p in parts]                      # shards of 4, 4 and 1 listed; one lost its bad file
        assert len(sizes) == 3 and max(sizes) <= 4 and sum(sizes) == 8
        assert stream.report.loaded == 8 and len(stream.report.skipped) == 1
    assert torch.equal(torch.cat([p.videos for p in parts]), whole.videos)
    assert sum((p.ids for p in parts), []) == whole.ids and digest.hexdigest() == data_hash(whole)
    assert str(report) == str(stream.report)


def test_splits_larger_than_the_cache_disk_are_warned_about_before_decoding(tmp_path):
    import warnings

    from vddlib.data.datasets import DatasetConfig, check_cache_space

    cfg = DatasetConfig(name="kinetics400", root="/data/k400", clip=ClipSpec(frames=16, gap=4, crop=112),
                        cache_dir=str(tmp_path / "cache"))
    counts = {"train": 234_619, "test": 19_760}                   # 142.6 GiB, and the train split's shards: 274.2
    with pytest.warns(UserWarning, match=r"up to 274\.2 GiB under .*cache.* 200\.0 GiB are free"):
        check_cache_space(cfg, counts, free=200 * 2**30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_cache_space(cfg, counts, free=300 * 2**30)
        check_cache_space(cfg, {"train": 9537, "test": 3783}, free=64 * 2**30)       # UCF101: 12.8 GiB
    held = tmp_path / "cache" / "kinetics400_train_0123456789" / "split_x.u8"    # what a first run decoded
    held.parent.mkdir(parents=True)
    with open(held, "wb") as f:
        f.truncate(100 * 2**30)                                   # sparse: no disk taken here
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_cache_space(cfg, counts, free=200 * 2**30)


# ------------------------------------------------------------------ real-format files as people edit them (issue 38)
def test_a_utf8_bom_is_not_part_of_a_class_name(tmp_path):
    root = fixtures.ucf101(tmp_path / "ucf")
    for name in ("classInd.txt", "trainlist01.txt"):
        p = root / "ucfTrainTestlist" / name
        p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())                  # as a Windows editor saves it
    items, names = real.list_ucf101(root, "train")
    assert names == ["ApplyEyeMakeup", "Biking", "YoYo"] and len(items) == 6
    root = fixtures.kinetics400(tmp_path / "k")
    p = root / "annotations" / "train.csv"
    p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())                      # BOM before the header's first column
    assert real.list_kinetics400(root, "train")[1] == ["abseiling", "air drumming"]


def test_a_file_name_with_spaces_keeps_its_whole_name(tmp_path):
    root = fixtures.ucf101(tmp_path / "ucf")
    lists = root / "ucfTrainTestlist"
    src = root / "UCF-101" / "Biking" / "v_Biking_g01_c01.avi"
    src.rename(src.with_name("v_Biking g01 c01.avi"))
    for name in ("trainlist01.txt", "testlist01.txt"):
        p = lists / name
        p.write_text(p.read_text().replace("Biking/v_Biking_g01_c01.avi", "Biking/v_Biking g01 c01.avi"))
    items = real.list_ucf101(root, "train")[0] + real.list_ucf101(root, "test")[0]
    assert root / "UCF-101" / "Biking" / "v_Biking g01 c01.avi" in [p for p, _ in items]
    root = fixtures.hmdb51(tmp_path / "h")
    sf = root / "testTrainMulti_7030_splits" / "brush_hair_test_split1.txt"
    clip = root / "hmdb51" / "brush_hair" / "brush_hair_clip0.avi"
    clip.rename(clip.with_name("brush hair clip0.avi"))
    sf.write_text(sf.read_text().replace("brush_hair_clip0.avi", "brush hair clip0.avi"))
    listed = [p for split in ("train", "test") for p, _ in real.list_hmdb51(root, split)[0]]
    assert clip.with_name("brush hair clip0.avi") in listed


def test_a_class_listed_twice_or_twice_in_two_cases_is_refused_with_the_names(tmp_path):
    root = fixtures.ucf101(tmp_path / "ucf")
    ind = root / "ucfTrainTestlist" / "classInd.txt"
    ind.write_text(ind.read_text() + "4 Biking\n")
    with pytest.raises(ValueError, match="lists class 'Biking' twice"):
        real.list_ucf101(root, "train")
    ind.write_text(ind.read_text().replace("4 Biking", "4 biking"))
    with pytest.raises(ValueError, match="'Biking' and 'biking', which differ only in case"):
        real.list_ucf101(root, "train")
    root = fixtures.hmdb51(tmp_path / "h")
    sd = root / "testTrainMulti_7030_splits"
    (sd / "Cartwheel_test_split1.txt").write_text((sd / "cartwheel_test_split1.txt").read_text())
    (root / "hmdb51" / "Cartwheel").mkdir()
    with pytest.raises(ValueError, match="differ only in case"):
        real.list_hmdb51(root, "train")


def test_a_misnamed_kinetics_column_names_the_file_and_the_expected_header(tmp_path):
    root = fixtures.kinetics400(tmp_path / "k")
    p = root / "annotations" / "validate.csv"
    p.write_text(p.read_text().replace("youtube_id", "yt_id", 1))
    with pytest.raises(ValueError) as e:
        real.list_kinetics400(root, "test")
    assert str(p) in str(e.value) and "['youtube_id']" in str(e.value) and "label,youtube_id,time_start" in str(e.value)


def test_an_ssv2_entry_without_its_template_names_the_file_and_entry(tmp_path):
    import json
    root = fixtures.ssv2(tmp_path / "s")
    p = root / "labels/train.json"
    entries = json.loads(p.read_text())
    del entries[1]["template"]
    p.write_text(json.dumps(entries))
    with pytest.raises(ValueError, match=r"train.json: entry 1 lacks \['template'\]"):
        real.list_ssv2(root, "train")
