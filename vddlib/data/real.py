"""Loaders for the paper's real datasets, from the files users download themselves.

Each loader reads the official split / annotation files, lists (video path, class)
pairs, decodes one clip per video with PyAV (video_io.ClipSpec) and caches the decoded
split: as shards of safetensors while it decodes (a killed run resumes at the first
unfinished shard), then as one split file that `load_real` memory-maps, so a split larger
than host memory (Kinetics-400's) can be used, and a second call decodes nothing.
Expected layouts:

UCF101 / MiniUCF   root/UCF-101/<Class>/v_<Class>_gXX_cYY.avi
                   root/ucfTrainTestlist/{classInd.txt, trainlist01.txt, testlist01.txt}
HMDB51             root/hmdb51/<class>/<video>.avi
                   root/testTrainMulti_7030_splits/<class>_test_split1.txt  (1 train, 2 test, 0 unused)
Kinetics-400       root/[annotations/]{train,validate|val}.csv  (label,youtube_id,time_start,time_end,split)
                   root/{train,val|validate}/[<label>/]<youtube_id>_<start:06d>_<end:06d>.mp4
SSv2               root/labels/{labels,train,validation}.json
                   root/20bn-something-something-v2/<id>.webm

An unreadable video is skipped with a warning naming it and counted in the report; a
missing split file, a class the split names but the class list lacks, or a class left
with no videos is an error that says what was expected where.
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from ..logs import bar, log

from .mapped import map_videos, read_index, write_index, write_videos
from .video_io import ClipSpec, VideoDecodeError, decode_clip, short_reason
from .videoset import VideoSet

MINIUCF_CLASS_FILE = Path(__file__).resolve().parent / "miniucf_classes.txt"


@dataclass
class LoadReport:
    """What a loader listed, decoded and skipped (with the reason for each skip)."""

    dataset: str
    split: str
    listed: int = 0
    loaded: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    short: list[tuple[str, str]] = field(default_factory=list)    # short clips (kept or skipped), with the reason

    def __str__(self) -> str:
        return (f"{self.dataset}/{self.split}: {self.loaded} of {self.listed} videos loaded, "
                f"{len(self.skipped)} skipped, {len(self.short)} short")


def _require(path: Path, what: str, how: str) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"{what} expected at {path} but not found. {how}")
    return path


def _text(path: Path) -> str:
    """A listing file's text; a UTF-8 byte-order mark (as Windows editors write) is dropped, not read as a name."""
    return path.read_text(encoding="utf-8-sig")


def _check_class_names(names: list[str], source) -> None:
    """Refuse a class list with a name twice, or two names that differ only in case (two folders on a
    case-sensitive disk, one on others): both would split one class's videos or leave one class empty."""
    seen: dict[str, str] = {}
    for name in names:
        other = seen.get(name.casefold())
        if other == name:
            raise ValueError(f"{source} lists class {name!r} twice; keep one line per class.")
        if other is not None:
            raise ValueError(f"{source} lists classes {other!r} and {name!r}, which differ only in case; rename or "
                             "merge them (on many disks they are one folder).")
        seen[name.casefold()] = name


_VIDEO_SUFFIXES = (".avi", ".mp4", ".webm", ".mkv", ".mov")


def _split_line_path(line: str) -> str:
    """The video path of a UCF101 split line, '<class>/<file> <label>' (train) or '<class>/<file>' (test); a file
    name may hold spaces, so only a trailing label after the video's suffix is cut off."""
    rel = line.strip()
    head, _, tail = rel.rpartition(" ")
    if head and tail.isdigit() and head.rstrip().lower().endswith(_VIDEO_SUFFIXES):
        return head.rstrip()
    return rel


# ----------------------------------------------------------------------------- listings
_UCF_HOW = ("Unpack UCF101TrainTestSplits-RecognitionTask.zip from the UCF101 site so that "
            "root/ucfTrainTestlist/ holds classInd.txt, trainlist01.txt and testlist01.txt.")


def list_ucf101(root: Path, split: str, fold: int = 1, classes: list[str] | None = None
                ) -> tuple[list[tuple[Path, int]], list[str]]:
    """(video path, label) pairs of UCF101 split `fold`, optionally restricted to `classes`."""
    lists = root / "ucfTrainTestlist"
    ind = _require(lists / "classInd.txt", "UCF101 class list classInd.txt", _UCF_HOW)
    all_classes = []
    for n, line in enumerate(_text(ind).splitlines(), 1):
        parts = line.split(None, 1)
        if not parts:
            continue
        if len(parts) != 2 or not parts[0].isdigit():
            raise ValueError(f"{ind}:{n} should read '<number> <class>'; got {line!r}")
        all_classes.append(parts[1].strip())
    _check_class_names(all_classes, ind)
    if classes is not None:
        missing = [c for c in classes if c not in all_classes]
        if missing:
            raise ValueError(f"Classes {missing} are not in {ind}; check the class list you passed.")
    names = list(classes) if classes is not None else all_classes
    index = {c: i for i, c in enumerate(names)}
    fname = {"train": f"trainlist0{fold}.txt", "test": f"testlist0{fold}.txt"}[split]
    split_file = _require(lists / fname, f"UCF101 {split} split file {fname}", _UCF_HOW)
    items = []
    for n, line in enumerate(_text(split_file).splitlines(), 1):
        if not line.strip():
            continue
        rel = _split_line_path(line)
        cls = rel.split("/")[0]
        if cls not in all_classes:
            raise ValueError(f"{split_file}:{n} names class {cls!r}, which {ind} does not list.")
        if cls in index:
            items.append((root / "UCF-101" / rel, index[cls]))
    return items, names


def miniucf_classes() -> list[str]:
    return [ln.strip() for ln in MINIUCF_CLASS_FILE.read_text().splitlines()
            if ln.strip() and not ln.startswith("#")]


_HMDB_HOW = ("Unpack test_train_splits.rar from the HMDB51 site so that "
             "root/testTrainMulti_7030_splits/ holds <class>_test_split1.txt for each of the 51 classes.")


def list_hmdb51(root: Path, split: str, fold: int = 1) -> tuple[list[tuple[Path, int]], list[str]]:
    """(video path, label) pairs of HMDB51 split `fold` (marks: 1 train, 2 test, 0 unused)."""
    split_dir = root / "testTrainMulti_7030_splits"
    files = sorted(split_dir.glob(f"*_test_split{fold}.txt")) if split_dir.is_dir() else []
    if not files:
        raise FileNotFoundError(f"HMDB51 split files *_test_split{fold}.txt expected in {split_dir} "
                                f"but none found. {_HMDB_HOW}")
    names = [f.name[: -len(f"_test_split{fold}.txt")] for f in files]
    _check_class_names(names, f"{split_dir} (its *_test_split{fold}.txt files)")
    video_dirs = sorted(p.name for p in (root / "hmdb51").iterdir() if p.is_dir()) if (root / "hmdb51").is_dir() else []
    unlisted = [c for c in video_dirs if c not in names]
    if unlisted:          # a class with videos but no split file would silently drop out of both splits
        raise FileNotFoundError(f"HMDB51 classes {unlisted[:5]} have videos in {root / 'hmdb51'} but no split file "
                                f"{unlisted[0]}_test_split{fold}.txt in {split_dir}. {_HMDB_HOW}")
    want = {"train": "1", "test": "2"}[split]
    items = []
    for label, (cls, f) in enumerate(zip(names, files)):
        for n, line in enumerate(_text(f).splitlines(), 1):
            if not line.strip():
                continue
            video, _, mark = line.strip().rpartition(" ")        # a file name may hold spaces; the mark is last
            if not video.strip() or mark not in ("0", "1", "2"):
                raise ValueError(f"{f}:{n} should read '<video>.avi <0|1|2>'; got {line!r}")
            if mark == want:
                items.append((root / "hmdb51" / cls / video.strip(), label))
    return items, names


_K400_HOW = ("Place the Kinetics-400 annotation CSVs (columns label,youtube_id,time_start,time_end,split) in "
             "root/annotations/ or root/ as the download scripts write them.")
# Where each split's annotation CSV and videos may be: the layouts the public download tools produce
# (annotations/ or the root; validate.csv or val.csv; videos in val/ or validate/, by class or flat).
K400_CSVS = {"train": ("train.csv",), "test": ("validate.csv", "val.csv", "validation.csv")}
K400_DIRS = {"train": ("train",), "test": ("val", "validate", "validation")}


K400_COLUMNS = ("label", "youtube_id", "time_start", "time_end")


def _check_columns(path: Path, header, needed) -> None:
    missing = [c for c in needed if c not in (header or [])]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {missing}: its header reads {','.join(header or [])!r}, and a "
                         f"Kinetics-400 annotation CSV's reads 'label,youtube_id,time_start,time_end,split'. "
                         "Rename the columns (or use the CSVs as the download scripts write them).")


def _first_file(root: Path, names, what: str) -> Path:
    """The first of `names` under root/annotations/ or root/; an error lists every place tried."""
    tried = [d / n for n in names for d in (root / "annotations", root)]
    for p in tried:
        if p.is_file():
            return p
    raise FileNotFoundError(f"{what} not found; tried {', '.join(str(p) for p in tried)}. {_K400_HOW}")


def list_kinetics400(root: Path, split: str) -> tuple[list[tuple[Path, int]], list[str]]:
    """(video path, label) pairs from the Kinetics-400 CSVs; the test split is the validation set."""
    train_csv = _first_file(root, K400_CSVS["train"], "Kinetics-400 annotation train.csv")
    split_csv = _first_file(root, K400_CSVS[split], f"Kinetics-400 annotation {' / '.join(K400_CSVS[split])}")
    with open(train_csv, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        _check_columns(train_csv, reader.fieldnames, ("label",))
        names = sorted({row["label"] for row in reader})
    _check_class_names(names, f"{train_csv} (its label column)")
    index = {c: i for i, c in enumerate(names)}
    folders = [root / d for d in K400_DIRS[split] if (root / d).is_dir()]
    folder = folders[0] if folders else root / K400_DIRS[split][0]
    # Videos may sit in per-class folders or flat; index the split folder once.
    by_stem = {p.stem: p for f in folders for p in f.rglob("*") if p.suffix in (".mp4", ".webm", ".mkv", ".avi")}
    items = []
    with open(split_csv, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        _check_columns(split_csv, reader.fieldnames, K400_COLUMNS)
        for n, row in enumerate(reader, 2):
            if row["label"] not in index:
                raise ValueError(f"{split_csv}:{n} names class {row['label']!r}, which {train_csv.name} does not have.")
            stem = f"{row['youtube_id']}_{int(float(row['time_start'])):06d}_{int(float(row['time_end'])):06d}"
            items.append((by_stem.get(stem, folder / row["label"] / f"{stem}.mp4"), index[row["label"]]))
    return items, names


_SSV2_HOW = ("Place labels.json, train.json and validation.json from the Something-Something-v2 "
             "download in root/labels/.")


def _json(path: Path):
    try:
        return json.loads(_text(path))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON ({e}); download it again.") from None


def ssv2_class_of(template: str) -> str:
    """SSv2's class name of a template: '[something]' placeholders lose their brackets."""
    return re.sub(r"\[(.*?)\]", r"\1", template)


def list_ssv2(root: Path, split: str) -> tuple[list[tuple[Path, int]], list[str]]:
    """(video path, label) pairs from SSv2's JSON files; the test split is the validation set."""
    lab = root / "labels"
    labels = _json(_require(lab / "labels.json", "SSv2 class list labels.json", _SSV2_HOW))
    if not isinstance(labels, dict):
        raise ValueError(f"{lab / 'labels.json'} should map each class to its index, "
                         f"{{\"Approaching something with your camera\": \"0\", ...}}; got a {type(labels).__name__}")
    names = [c for c, _ in sorted(labels.items(), key=lambda kv: int(kv[1]))]
    _check_class_names(names, lab / "labels.json")
    fname = {"train": "train.json", "test": "validation.json"}[split]
    split_file = _require(lab / fname, f"SSv2 {split} annotation {fname}", _SSV2_HOW)
    items = []
    for n, entry in enumerate(_json(split_file)):
        missing = [k for k in ("id", "template") if not isinstance(entry, dict) or k not in entry]
        if missing:
            raise ValueError(f"{split_file}: entry {n} lacks {missing}; each entry reads "
                             "{\"id\": \"78687\", \"label\": ..., \"template\": \"Holding [something] ...\", "
                             "\"placeholders\": [...]}, as in the SSv2 download.")
        cls = ssv2_class_of(entry["template"])
        if cls not in labels:
            raise ValueError(f"{split_file}: video {entry['id']} has template class {cls!r}, "
                             f"which {lab / 'labels.json'} does not list.")
        items.append((root / "20bn-something-something-v2" / f"{entry['id']}.webm", int(labels[cls])))
    return items, names


@dataclass(frozen=True)
class RealDataset:
    """A real dataset: how to list a split's videos, and its facts (the paper's Table 1 and accuracy metric)."""

    lister: Callable[[Path, str], tuple[list[tuple[Path, int]], list[str]]]
    classes: int
    train: int                  # videos in the train split (split 1 where there are folds)
    test: int
    metric: str = "top1"        # the paper's headline accuracy: top-5 for Kinetics-400 and SSv2
    table: str = ""             # the results/ stem of its table (e.g. table3 for UCF101)


# A new dataset: its lister above and one line here, plus a params/paper_<name>.yaml override of paper_base.
DATASETS = {
    "ucf101": RealDataset(lambda root, split: list_ucf101(root, split), 101, 9537, 3783, table="table3"),
    "miniucf": RealDataset(lambda root, split: list_ucf101(root, split, classes=miniucf_classes()), 50, 4662, 1861,
                           table="table_miniucf"),
    "hmdb51": RealDataset(lambda root, split: list_hmdb51(root, split), 51, 5236, 1530, table="table_hmdb51"),
    "kinetics400": RealDataset(list_kinetics400, 400, 234619, 19760, "top5", "table_kinetics400"),
    "ssv2": RealDataset(list_ssv2, 174, 168913, 24777, "top5", "table_ssv2"),
}


Listing = dict  # {"train": [(path, label), ...], "test": [...], "names": [class names]}


def list_splits(name: str, root: str | Path) -> Listing:
    """Both splits of a dataset listed once, checked: no video listed twice in a split, none in both (a test-set
    leak); an error names the videos and the fix."""
    if name not in DATASETS:
        raise KeyError(f"Unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Dataset root {root} for {name} does not exist; pass the folder you unpacked it into.")
    train, names = DATASETS[name].lister(root, "train")
    test, _ = DATASETS[name].lister(root, "test")

    def rel(p: Path) -> str:
        return str(p.relative_to(root)) if p.is_relative_to(root) else str(p)

    for split, items in (("train", train), ("test", test)):
        seen, dup = set(), []
        for p, _ in items:
            if p in seen:
                dup.append(p)
            seen.add(p)
        if dup:
            raise ValueError(f"{name}/{split} lists {len(dup)} video(s) more than once, e.g. "
                             f"{[rel(p) for p in dup[:3]]}; remove the repeated lines from the split file.")
    both = sorted({p for p, _ in train} & {p for p, _ in test})
    if both:
        raise ValueError(f"{name}: {len(both)} video(s) are listed in both the train and the test split, e.g. "
                         f"{[rel(p) for p in both[:3]]}; a test video in training leaks the test set. Fix the split "
                         "files so that each video is in one split.")
    return {"train": train, "test": test, "names": names}


# ----------------------------------------------------------------------------- decoding
SHARD_SIZE = 512      # videos per shard of the decoded-clip cache: what a streamed split holds in memory at once
SHORT_FRACTION = 0.9   # a clip whose file holds under this share of the frames its container states is flagged


def _decode_all(items, spec: ClipSpec, seed: int, workers: int, desc: str):
    def one(i_item):
        i, (path, _) = i_item
        rng = np.random.default_rng([seed, i])
        try:
            return decode_clip(path, spec, rng), None
        except VideoDecodeError as e:
            return None, str(e)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(bar(pool.map(one, enumerate(items)), total=len(items), desc=desc, leave=False, show=True))


def _digest(obj) -> str:
    return hashlib.sha1(json.dumps(obj, default=str).encode()).hexdigest()[:10]


def _file_state(path: Path) -> list:
    """What makes a cached clip stale: the file's size and modification time (nanoseconds); absent: None."""
    try:
        st = path.stat()
    except OSError:
        return [None, None]
    return [st.st_size, st.st_mtime_ns]


def _report_short(report: LoadReport, short: list[tuple[str, str]], fraction: float, policy: str) -> None:
    if not short:
        return
    report.short += short
    what = "skipped" if policy == "skip" else "kept"
    warnings.warn(f"{report.dataset}/{report.split}: {len(short)} short clip(s) {what}, e.g. {short[0][0]}: "
                  f"{short[0][1]}. A short clip repeats frames or comes from a file cut short; re-download those "
                  f"files, or set dataset.short_clips: skip (or dataset.short_fraction, now {fraction}) in the "
                  "profile.", stacklevel=3)


def load_real(name: str, root: str | Path, split: str, spec: ClipSpec = ClipSpec(),
              cache_dir: str | Path | None = "artifacts/data", shard_size: int = SHARD_SIZE,
              workers: int = 4, seed: int = 0, listing: Listing | None = None,
              short_fraction: float = SHORT_FRACTION, short_clips: str = "keep") -> tuple[VideoSet, LoadReport]:
    """Decode (or read from cache) one split of a real dataset as a VideoSet and a LoadReport.

    `listing`: both splits as `list_splits` returns them (listed here when None). The cache folder's key covers
    the clip, seed, root and the split's listing; each shard's name covers its files' sizes and modification
    times, so an edited split file or a replaced video re-decodes what changed and nothing else. A clip from a
    file that holds under `short_fraction` of the frames its container states, or fewer frames than the clip,
    is short: warned about, listed in the report, and kept or skipped (`short_clips`)."""
    stream = stream_real(name, root, split, spec, cache_dir, shard_size, workers, seed, listing, short_fraction,
                         short_clips)
    return stream.collect(), stream.report


def stream_real(name: str, root: str | Path, split: str, spec: ClipSpec = ClipSpec(),
                cache_dir: str | Path | None = "artifacts/data", shard_size: int = SHARD_SIZE,
                workers: int = 4, seed: int = 0, listing: Listing | None = None,
                short_fraction: float = SHORT_FRACTION, short_clips: str = "keep") -> "SplitStream":
    """One split of a real dataset shard by shard (`load_real`'s arguments and cache): a split too large for host
    memory (Kinetics-400's train split at Latte's 256² is 0.75 TB) is read one shard at a time."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
    if short_clips not in ("keep", "skip"):
        raise ValueError(f"short_clips must be 'keep' or 'skip'; got {short_clips!r}")
    root = Path(root)
    listing = listing or list_splits(name, root)
    r = _RealSplit(name, root, split, listing[split], listing["names"], spec, cache_dir, shard_size, workers, seed,
                   short_fraction, short_clips)
    return SplitStream(r.parts, r.report, r.names, r.shape, r.meta, r.keys, r.collect if r.folder else None)


class _RealSplit:
    """What `stream_real`'s passes over one split share: its listing, clip, cache folder and report. A shard is
    named after its place and its files' sizes and modification times, a split file after its shards."""

    def __init__(self, name: str, root: Path, split: str, items: list, names: list[str], spec: ClipSpec,
                 cache_dir: str | Path | None, shard_size: int, workers: int, seed: int, short_fraction: float,
                 short_clips: str) -> None:
        self.name, self.root, self.split, self.items, self.names, self.spec = name, root, split, items, names, spec
        self.shard_size, self.workers, self.seed = shard_size, workers, seed
        self.short_fraction, self.short_clips = short_fraction, short_clips
        self.report = LoadReport(name, split, listed=len(items))
        self.spec_key = _digest([asdict(spec), seed, str(root.resolve()), names, [(self.rel(p), y) for p, y in items]])
        self.folder = Path(cache_dir) / f"{name}_{split}_{self.spec_key}" if cache_dir is not None else None
        self.starts = range(0, len(items), shard_size)
        self.shape = (spec.frames, 3, spec.crop, spec.crop)
        self.meta = {"dataset": name, "split": split, "clip": asdict(spec)}

    def rel(self, p: Path) -> str:
        return str(p.relative_to(self.root)) if p.is_relative_to(self.root) else str(p)

    def shard_name(self, s0: int) -> str:
        chunk = self.items[s0:s0 + self.shard_size]
        return f"shard_{s0 // self.shard_size:05d}_{_digest([_file_state(p) for p, _ in chunk])}"

    def key(self, stem: str) -> str:
        return f"{self.name}_{self.split}_{self.spec_key}_{stem}"

    def keys(self) -> list[str]:
        return [self.key(self.shard_name(s0)) for s0 in self.starts]

    def _shard(self, s0: int, stem: str, key: str, mapped: dict) -> tuple[VideoSet, Path | None]:
        """Shard `s0` (named `stem`, keyed `key`) from its cached file, from a split file an earlier collect()
        wrote, or decoded (and cached, atomically: a killed run redoes only this shard); and its cache file."""
        shard = self.folder / f"{stem}.safetensors" if self.folder else None
        if shard is not None and shard.is_file():
            return VideoSet.load(shard), shard
        if key in mapped:
            return mapped[key](self.names), shard
        part = _decode_shard(self.items[s0:s0 + self.shard_size], self.spec, self.seed + s0, self.workers,
                             f"{self.name}/{self.split} {s0}", self.names, self.rel)
        if shard is not None:
            for stale in self.folder.glob(f"shard_{s0 // self.shard_size:05d}_*.safetensors"):  # its files changed
                stale.unlink()
            part.save(shard)
        return part, shard

    def parts(self, skip=frozenset()):
        """The split's shards, each read, skipped (`skip`: keys) or decoded; the report filled afresh."""
        report, names, spec = self.report, self.names, self.spec
        report.skipped, report.short, report.loaded = [], [], 0
        short, counts = [], torch.zeros(len(names), dtype=torch.long)
        mapped = _mapped_shards(self.folder) if self.folder else {}
        for s0 in bar(self.starts, desc=f"{self.name}/{self.split} shards", leave=False, show=len(self.starts) >= 2):
            stem = self.shard_name(s0)
            key = self.key(stem)
            if key in skip:
                continue
            part, shard = self._shard(s0, stem, key, mapped)
            for path, err in part.meta.get("skipped", []):
                warnings.warn(f"skipping unreadable video {path}: {err}", stacklevel=2)
            report.skipped += [tuple(x) for x in part.meta.get("skipped", [])]
            flags = [short_reason(st, dec, spec.frames, self.short_fraction)
                     for st, dec in part.meta.get("frames", [[None, None]] * len(part))]
            short += [(str(self.root / i), why) for i, why in zip(part.ids, flags) if why]
            dropped = self.short_clips == "skip" and any(flags)
            if dropped:
                if shard is not None and not shard.is_file():   # from a split file that may go: keep it whole
                    part.save(shard)
                ok = torch.tensor([not f for f in flags], dtype=torch.bool)
                part = VideoSet(part.videos[ok], part.labels[ok], names, [i for i, f in zip(part.ids, flags) if not f])
            report.loaded += len(part)
            counts += torch.bincount(part.labels, minlength=len(names))
            yield VideoSet(part.videos, part.labels, names, part.ids,
                           {"dataset": self.name, "split": self.split, "shard": key, "whole": not dropped,
                            "skipped": part.meta.get("skipped", []), "frames": part.meta.get("frames", [])})
        _report_short(report, short, self.short_fraction, self.short_clips)
        if self.short_clips == "skip":
            report.skipped += short
        log.info("%s", report)
        empty = [names[c] for c, k in enumerate(counts.tolist()) if k == 0]
        if empty and not skip:              # a pass that left shards out cannot tell
            raise ValueError(f"{self.name}/{self.split}: classes {empty[:5]}{'...' if len(empty) > 5 else ''} have "
                             f"no readable videos under {self.root}; check that their videos exist ({report}).")

    def collect(self) -> VideoSet:
        """The split from its file in the cache folder, memory-mapped; written there first (shard by shard) when
        the split's files, clip or short-clip rule changed since."""
        folder, report = self.folder, self.report
        stem = f"split_{_digest([self.keys(), self.short_clips, self.short_fraction])}"
        doc = read_index(folder / f"{stem}.u8", self.shape)
        if doc is None:
            doc = _write_split(folder, stem, self.parts(), self.shape, report)
        else:                                              # what a pass would say, from the file's index
            for path, err in doc["unreadable"]:
                warnings.warn(f"skipping unreadable video {path}: {err}", stacklevel=3)
            report.skipped, report.short, report.loaded = [tuple(e) for e in doc["unreadable"]], [], len(doc["ids"])
            _report_short(report, [tuple(e) for e in doc["short"]], self.short_fraction, self.short_clips)
            if self.short_clips == "skip":
                report.skipped += report.short
            log.info("%s", report)
        videos = map_videos(folder / f"{stem}.u8", doc)
        return VideoSet(videos, torch.tensor(doc["labels"], dtype=torch.long), self.names, doc["ids"],
                        {**self.meta, "load_report": asdict(self.report), "file": str(folder / f"{stem}.u8")})


# ----------------------------------------------------------------------------- the split file
# collect() writes a cached split as one raw uint8 file (N, T, C, H, W) and maps it: the split is then held in
# the page cache, not in the process's memory (Kinetics-400's evaluator splits are 143 GiB, more than many
# hosts have). Its index (split_<digest>.json, written last) gives the labels, ids and each shard's place, so
# the shard files the file holds unchanged are removed, and a later pass reads those shards from the file.
def _write_split(folder: Path, stem: str, parts, shape: tuple, report: LoadReport) -> dict:
    doc = write_videos(folder / f"{stem}.u8", parts, shape, lambda part: {
        "key": part.meta["shard"], "whole": part.meta["whole"], "skipped": part.meta["skipped"],
        "frames": part.meta["frames"]})
    doc["unreadable"] = [list(e) for s in doc["shards"] for e in s["skipped"]]
    doc["short"] = [list(e) for e in report.short]     # the pass is over: the stream's report is complete
    write_index(folder / f"{stem}.u8", doc)
    for old in folder.glob("split_*"):                 # one split file per folder: the newest holds every shard
        if old.stem != stem and old.suffix in (".u8", ".json"):
            old.unlink()
    whole = {e["key"].rsplit("_shard_", 1)[1] for e in doc["shards"] if e["whole"]}
    for shard in folder.glob("shard_*.safetensors"):
        if shard.stem.removeprefix("shard_") in whole:
            shard.unlink()
    return doc


def _decode_shard(chunk, spec: ClipSpec, seed: int, workers: int, desc: str, names: list[str], rel) -> VideoSet:
    decoded = _decode_all(chunk, spec, seed, workers, desc)
    keep = [k for k, (clip, _) in enumerate(decoded) if clip is not None]
    vids = (torch.from_numpy(np.stack([decoded[k][0].frames for k in keep])) if keep
            else torch.zeros((0, spec.frames, 3, spec.crop, spec.crop), dtype=torch.uint8))
    return VideoSet(vids, torch.tensor([chunk[k][1] for k in keep], dtype=torch.long), names,
                    [rel(chunk[k][0]) for k in keep],
                    {"skipped": [(str(chunk[k][0]), err) for k, (clip, err) in enumerate(decoded) if clip is None],
                     "frames": [[decoded[k][0].stated, decoded[k][0].decoded] for k in keep]})


class SplitStream:
    """A split as its shards, each a VideoSet of at most the shard size, read when iterated (every pass reads
    them again and fills `report` afresh; the last check, that no class is left empty, runs at the end of a
    pass). `collect()` is the whole split as one VideoSet, as `load_real` returns it. `listed` bounds the videos a
    pass yields; `video_shape` is (T, C, H, W).

    A real split's shards have keys (`shard_keys()`, each part's `meta["shard"]`) that change with the clip, the
    listing and the shard's files, so a consumer can keep what it made of a shard and pass its key to
    `parts(skip=...)`, which then neither reads nor decodes that shard (the report then covers the shards read)."""

    def __init__(self, parts, report: LoadReport | None, class_names: list[str], video_shape: tuple,
                 meta: dict, keys=None, collect=None) -> None:
        self._parts, self.report, self.class_names = parts, report, list(class_names)
        self.video_shape, self.meta, self._keys, self._collect = tuple(video_shape), dict(meta), keys, collect
        self._whole: VideoSet | None = None

    @classmethod
    def of(cls, vs: VideoSet) -> "SplitStream":
        """A split already in memory, as one part (without a key)."""
        stream = cls(lambda skip=frozenset(): iter([vs]), None, vs.class_names, tuple(vs.videos.shape[1:]), vs.meta)
        stream._whole = vs
        return stream

    @property
    def listed(self) -> int:
        return self.report.listed if self._whole is None else len(self._whole)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def shard_keys(self) -> list[str] | None:
        """Each shard's key, in order, as its files are now; None for a split in memory."""
        return None if self._keys is None else self._keys()

    def parts(self, skip=frozenset()):
        """The shards in order, leaving out those whose keys are in `skip`."""
        return self._parts(frozenset(skip))

    def __iter__(self):
        return self._parts()

    def collect(self) -> VideoSet:
        """The whole split as one VideoSet: a cached real split memory-mapped from its split file (written shard by
        shard where it is not there yet), any other concatenated in memory."""
        if self._whole is not None:
            return self._whole
        if self._collect is not None:
            return self._collect()
        videos, labels, ids = [], [], []
        for part in self:
            videos.append(part.videos)
            labels.append(part.labels)
            ids += part.ids
        return VideoSet(torch.cat(videos) if videos else torch.zeros((0, *self.video_shape), dtype=torch.uint8),
                        torch.cat(labels) if labels else torch.zeros(0, dtype=torch.long), self.class_names, ids,
                        {**self.meta, "load_report": asdict(self.report)})


def _mapped_shards(folder: Path) -> dict:
    """{shard key: names -> VideoSet} for the shards a split file in `folder` holds as decoded (none filtered out)."""
    out = {}
    for index in sorted(folder.glob("split_*.json")):
        doc = read_index(index.with_suffix(".u8"))
        if doc is None:
            continue
        videos = map_videos(index, doc)
        labels = torch.tensor(doc["labels"], dtype=torch.long)
        for e in doc["shards"]:
            if e["whole"]:
                a, b = e["start"], e["start"] + e["count"]
                out[e["key"]] = (lambda names, a=a, b=b, e=e, doc=doc, videos=videos, labels=labels: VideoSet(
                    videos[a:b], labels[a:b], names, doc["ids"][a:b], {"skipped": e["skipped"], "frames": e["frames"]}))
    return out
