"""`prepare_dataset`: detect, crop (and align) every face of a dataset into one folder.

Layout of `out_dir`:

- `crops/<path relative to the sources' common folder>.jpg`: one square RGB crop per
  source image with status `ok`, all `size` x `size`, written as standard JPEG (or PNG)
  files, which every reader (`agekit.images.read_image`, `tf.io.decode_image`, PIL)
  decodes to RGB;
- `manifest.csv` (`manifest-IIII-of-NNNN.csv` per shard): one row per finished source
  image, see `read_manifest`;
- `settings.json`: the options of the run, checked when a job resumes; its `crop` entry
  is the `CropSpec.to_dict()` of the crops (also in the returned manifest's
  `attrs["crop"]` and `read_manifest(out_dir).attrs["crop"]`), for the model card of a
  model trained on them, so prediction cuts faces the same way.

A crop is encoded into the shard's own temporary folder and renamed into place
(`os.replace`) before its manifest row is written, so a killed job never leaves a
partial crop under a final name and never records an image it did not finish.
"""

import concurrent.futures
import json
import logging
import math
import multiprocessing
import os
import shutil
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from agekit._validation import fail
from agekit.errors import InvalidValueError
from agekit.faces import _manifest
from agekit.faces.cut import cut_face
from agekit.faces.detect import (
    PRIMARY_RULES,
    FaceBox,
    detect_faces,
    primary_face,
)
from agekit.faces.spec import CropSpec, crop_spec
from agekit.faces.template import TEMPLATES
from agekit.images import encode_image, read_image

logger = logging.getLogger("agekit.faces")

ON_MULTIPLE = PRIMARY_RULES + ("reject",)
FORMATS = ("jpg", "png")


@dataclass(frozen=True)
class _Settings:
    detector: str
    margin: str | float | None
    align: bool
    size: int
    pad: str
    on_multiple: str
    use_boxes: bool
    max_side: int | None
    upsample: int
    image_format: str
    quality: int
    crop: dict

    @property
    def spec(self) -> CropSpec:
        return CropSpec.from_dict(self.crop)


# prepare_dataset's crop options before `crop=` existed: used when `crop` is None.
_LEGACY = {"detector": "cnn", "margin": "loose", "align": False, "pad": "constant",
           "max_side": None, "upsample": 0}


def prepare_dataset(
    df: pd.DataFrame | Sequence[str],
    out_dir: str | os.PathLike,
    *,
    crop: CropSpec | str | dict | float | None = None,
    detector: str = "cnn",
    margin: str | float = "loose",
    align: bool = False,
    size: int = 224,
    pad: str = "constant",
    workers: int = 1,
    shard: tuple[int, int] = (0, 1),
    resume: bool = True,
    on_multiple: str = "largest",
    use_boxes: bool = False,
    max_side: int | None = None,
    upsample: int = 0,
    image_format: str = "jpg",
    quality: int = 95,
    log_every: int = 100,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Crop the face of every image of a dataset and record the outcome per image.

    Every source image gets exactly one manifest row with a `status`: `ok` (crop
    written), `no_face`, `several_faces` (only with `on_multiple="reject"`),
    `unreadable` (not an image, truncated, ...), `missing` (no such file) or `error`
    (an unexpected failure, message in `error`; retried on resume). No image stops the
    job.

    Args:
        df: a DataFrame with a `path` column (any `agekit.datasets` loader), or a list
            of paths. A path listed twice is prepared once.
        out_dir: output folder (see the module docstring for its layout).
        crop: the crop geometry as a `CropSpec` (or anything `crop_spec` accepts:
            `"utkface"`, `"tight"`, a model card's `crop` dict): its detector, landmarks,
            geometry and pad replace `detector`, `margin`, `align`, `pad`, `max_side`
            and `upsample`, which must then keep their defaults. Its `size`, when set,
            wins over `size` (see `size`).
            `None` builds the spec from those options (68-point alignment).
        detector: `"cnn"`, `"hog"` or `"auto"` (see `detect_faces`).
        margin: crop margin, as in `crop_face` (`"raw"` keeps the whole image).
        align: rotate faces so the eyes are level (68-point landmarks, `align_face`).
        size: side of every crop in pixels: all crops of one folder are identical.
            With a `crop` whose `size` is None: a template crop keeps the template's
            size (200 for `"utkface"`), a margin crop takes `size`.
        pad: `"constant"` (black) or `"reflect"` outside the image.
        workers: processes detecting in parallel (each loads the dlib models once).
            dlib's CPU detector uses one core, so up to one worker per core helps.
        shard: `(i, n)`: prepare only shard `i` of `n`, e.g. one task of a cluster
            array job. Images are assigned by a hash of their path, so every shard
            sees the same split whatever the row order; each shard writes its own
            manifest and all can run at once into the same `out_dir`.
        resume: skip images this shard's manifest already has a final row for (and
            whose crop still exists). `False` starts the shard's manifest afresh.
        on_multiple: with several faces, keep the `"largest"`, the best `"score"`, the
            one nearest the `"center"` (see `primary_face`), or `"reject"` the image.
        use_boxes: take face boxes from a `face_box` column (`(left, top, right,
            bottom)` in image pixels, e.g. IMDb-WIKI's `.mat` face locations; NaN or
            None = `no_face`) instead of detecting; a `face_score` column, when present,
            fills `score`.
        max_side, upsample: detection options, as in `detect_faces`.
        image_format: `"jpg"` or `"png"` for the crops.
        quality: JPEG quality.
        log_every: log progress (count per status, rate, ETA) on the `agekit.faces`
            logger every this many images, and at least once a minute.
        progress: called as `progress(done, total)` after every image.

    Returns:
        This shard's manifest as a DataFrame in input order (see `read_manifest` for the
        columns); `output` holds absolute crop paths. Join it to `df` on `path`.
        `attrs["crop"]` is the `CropSpec.to_dict()` the crops were cut with.

    Example:

    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> manifest = prepare_dataset([os.path.join(out, "nope.jpg")], out, detector="hog")
    >>> manifest["status"].tolist()
    ['missing']
    """
    legacy = {"detector": detector, "margin": margin, "align": align, "pad": pad,
              "max_side": max_side, "upsample": upsample}
    settings = _settings(crop, legacy, size, on_multiple, use_boxes, image_format, quality)
    shard = _check_shard(shard)
    if not isinstance(workers, (int, np.integer)) or workers < 1:
        fail("`workers` as a positive integer", "workers", workers)
    paths, boxes = _sources(df, use_boxes)
    outputs = _output_names(paths, image_format)
    mine = [i for i, p in enumerate(paths) if zlib.crc32(p.encode("utf-8")) % shard[1] == shard[0]]

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_settings(out_dir, settings, resume)
    manifest_path = out_dir / _manifest.manifest_name(shard)
    mine_set = {paths[i] for i in mine}
    kept = [
        row for row in (_manifest.read_rows(manifest_path) if resume else [])
        if row["path"] in mine_set and row["status"] in _manifest.FINAL
        and (row["status"] != "ok" or (out_dir / row["output"]).is_file())
    ]
    kept = list({row["path"]: row for row in kept}.values())
    done = {row["path"] for row in kept}
    todo = [i for i in mine if paths[i] not in done]
    temp_dir = out_dir / f".tmp-{shard[0]}-of-{shard[1]}"
    shutil.rmtree(temp_dir, ignore_errors=True)
    temp_dir.mkdir()
    logger.info(
        "prepare_dataset shard %d/%d: %d images, %d already done, %d to do",
        shard[0], shard[1], len(mine), len(done), len(todo),
    )
    tasks = [(paths[i], outputs[i], boxes[i], str(out_dir), str(temp_dir)) for i in todo]
    writer = _manifest.ManifestWriter(manifest_path, kept)
    rows = {row["path"]: row for row in kept}
    meter = _Progress(len(todo), log_every, progress)
    try:
        for row in _run(tasks, settings, workers):
            writer.write(row)
            rows[row["path"]] = {k: _manifest._cell(v) for k, v in row.items()}
            meter.step(row["status"])
    finally:
        writer.close()
    shutil.rmtree(temp_dir, ignore_errors=True)
    meter.finish()
    frame = _manifest.to_frame([rows[paths[i]] for i in mine if paths[i] in rows], out_dir)
    frame.attrs["crop"] = dict(settings.crop)
    return frame


def _settings(crop, legacy, size, on_multiple, use_boxes, image_format, quality):
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        fail("`size` as a positive integer (all crops share one size)", "size", size)
    if crop is None:
        if legacy["align"] and legacy["margin"] == "raw":
            fail("a crop margin with align=True (not 'raw')", "margin", legacy["margin"])
        spec = CropSpec(margin=legacy["margin"], align=legacy["align"], points=68, detector=legacy["detector"],
                        upsample=legacy["upsample"], max_side=legacy["max_side"], size=int(size),
                        pad=legacy["pad"])
    else:
        changed = sorted(k for k, v in legacy.items() if v != _LEGACY[k])
        if changed:
            fail("either `crop` or the options it replaces, not both", "also given", changed)
        spec = crop_spec(crop)
        if spec.size is None:
            spec = spec.replace(size=TEMPLATES[spec.template].size if spec.template else int(size))
    if on_multiple not in ON_MULTIPLE:
        fail(f"`on_multiple` in {ON_MULTIPLE}", "on_multiple", on_multiple)
    if image_format not in FORMATS:
        fail(f"`image_format` in {FORMATS}", "image_format", image_format)
    if not 0 <= int(quality) <= 100:
        fail("`quality` in 0..100", "quality", quality)
    return _Settings(spec.detector, spec.margin, spec.align, spec.size, spec.pad, on_multiple,
                     bool(use_boxes), spec.max_side, spec.upsample, image_format, int(quality),
                     spec.to_dict())


def _check_shard(shard):
    try:
        index, count = (int(v) for v in shard)
    except (TypeError, ValueError):
        fail("`shard` as a pair (i, n) of integers", "shard", shard, error=TypeError)
    if count < 1 or not 0 <= index < count:
        fail("`shard` as (i, n) with n >= 1 and 0 <= i < n", "shard", shard)
    return index, count


def _check_settings(out_dir, settings, resume):
    """Refuse to resume into a folder prepared with other crop settings."""
    path = out_dir / "settings.json"
    wanted = json.loads(json.dumps(asdict(settings)))  # as it reads back from JSON
    if resume and path.is_file():
        found = json.loads(path.read_text())
        # The crop's own fields, flat (`template`, `points`, ...); the other crop fields repeat
        # top-level options. A folder prepared before crops were recorded has no `crop`.
        wanted_crop, found_crop = wanted.pop("crop"), found.pop("crop", None) or {}
        changed = {k for k in wanted.keys() | found.keys() if found.get(k) != wanted.get(k)}
        if found_crop:
            changed |= {k for k in wanted_crop if k not in wanted and found_crop.get(k) != wanted_crop[k]}
        changed = sorted(changed)
        if changed:
            raise InvalidValueError(
                f"Expected the settings of the run being resumed in {str(out_dir)!r} (or "
                f"resume=False to start over). Received: changed options {changed}"
            )
        return
    temp = path.with_name(f".settings.{os.getpid()}.tmp")
    temp.write_text(json.dumps(wanted, indent=2))
    os.replace(temp, path)


def _sources(df, use_boxes):
    """Unique source paths (input order) and their boxes (or None)."""
    if isinstance(df, pd.DataFrame):
        if "path" not in df.columns:
            fail("a DataFrame with a `path` column", "df.columns", list(df.columns))
        frame = df
    elif isinstance(df, (str, os.PathLike)):
        fail("a DataFrame or a list of paths (not one path)", "df", str(df), error=TypeError)
    else:
        frame = pd.DataFrame({"path": list(df)})
    bad = [i for i, p in enumerate(frame["path"]) if not isinstance(p, (str, os.PathLike)) or str(p) == ""]
    if bad:
        fail(f"a file path in every row of `path` ({len(bad)} rows without one, first rows shown)",
             "rows", bad[:5])
    if use_boxes and "face_box" not in frame.columns:
        fail("a `face_box` column with use_boxes=True", "df.columns", list(frame.columns))
    paths, boxes, seen = [], [], set()
    scores = frame["face_score"].tolist() if use_boxes and "face_score" in frame.columns else None
    for row, raw in enumerate(frame["path"]):
        path = os.path.abspath(os.fspath(raw))
        if path in seen:
            continue
        seen.add(path)
        paths.append(path)
        box = None
        if use_boxes:
            box = _parse_box(frame["face_box"].iloc[row], row, None if scores is None else scores[row])
        boxes.append(box)
    return paths, boxes


def _parse_box(value, row, score):
    """A `face_box` cell -> (left, top, right, bottom, score) or None (no face)."""
    if value is None or (np.ndim(value) == 0 and not isinstance(value, (str, FaceBox)) and pd.isna(value)):
        return None
    if isinstance(value, FaceBox):
        return (value.left, value.top, value.right, value.bottom, value.score)
    if isinstance(value, str):
        value = value.strip("[]() ").replace(",", " ").split()
    try:
        coords = [float(v) for v in np.asarray(value, dtype=object).ravel()]
    except (TypeError, ValueError):
        coords = []
    if len(coords) != 4:
        fail(f"`face_box` as (left, top, right, bottom) in row {row}", "face_box", value)
    if any(math.isnan(c) for c in coords):
        return None
    score = float("nan") if score is None else float(score)
    FaceBox(*coords, score)  # validates
    return (*coords, score)


def _output_names(paths, image_format):
    """Crop names: each path relative to the sources' common folder, with a new suffix."""
    if not paths:
        return []
    root = os.path.commonpath([os.path.dirname(p) for p in paths])
    names = [str(Path(os.path.relpath(p, root)).with_suffix("." + image_format)) for p in paths]
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return [
        str(Path("crops") / (name if counts[name] == 1 else
                             f"{Path(name).with_suffix('')}-{zlib.crc32(p.encode('utf-8')):08x}.{image_format}"))
        for name, p in zip(names, paths)
    ]


def _run(tasks, settings, workers):
    """Results of `_prepare_one` over `tasks`, in completion order."""
    if workers == 1 or len(tasks) <= 1:
        for task in tasks:
            yield _prepare_one(task, settings)
        return
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        pending = set()
        queue = iter(tasks)
        for task in queue:
            pending.add(pool.submit(_prepare_one, task, settings))
            if len(pending) >= 4 * workers:
                finished, pending = concurrent.futures.wait(
                    pending, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
        for future in concurrent.futures.as_completed(pending):
            yield future.result()


def _prepare_one(task, settings: _Settings) -> dict:
    """Read, detect, crop and write one image; every outcome becomes a manifest row."""
    path, output, box, out_dir, temp_dir = task
    row = {"path": path, "status": "ok", "output": None, "error": None}
    try:
        image = read_image(path)
    except FileNotFoundError as error:
        return {**row, "status": "missing", "error": str(error)}
    except (ValueError, TypeError) as error:
        return {**row, "status": "unreadable", "error": str(error)}
    spec = settings.spec
    try:
        if settings.use_boxes:
            faces = [] if box is None else [FaceBox(*box)]
        else:
            faces = detect_faces(image, model=settings.detector, max_side=settings.max_side,
                                 upsample=settings.upsample)
        row["n_faces"] = len(faces)
        if not faces:
            return {**row, "status": "no_face"}
        if len(faces) > 1 and settings.on_multiple == "reject":
            return {**row, "status": "several_faces"}
        rule = "largest" if settings.on_multiple == "reject" else settings.on_multiple
        face = primary_face(faces, rule=rule, image_shape=image.shape)
        row.update(left=face.left, top=face.top, right=face.right, bottom=face.bottom, score=face.score)
        crop = cut_face(image, face, spec)
        data = encode_image(crop, "." + settings.image_format, quality=settings.quality)
        final = Path(out_dir) / output
        final.parent.mkdir(parents=True, exist_ok=True)
        temp = Path(temp_dir) / f"{zlib.crc32(path.encode('utf-8')):08x}-{os.getpid()}.tmp"
        temp.write_bytes(data)
        os.replace(temp, final)
        return {**row, "output": output}
    except Exception as error:  # noqa: BLE001 - recorded per image; the job goes on
        message = f"{type(error).__name__}: {error}".replace("\n", " ")
        logger.warning("prepare_dataset: %s failed: %s", path, message)
        return {**row, "status": "error", "error": message}


class _Progress:
    """Counts finished images; logs count, rate and ETA every `every` images or minute
    (or draws a bar where a person watches: the last line is logged either way)."""

    def __init__(self, total, every, callback, *, seconds=60.0):
        self.total, self.every, self.callback = total, max(1, int(every)), callback
        self.done, self.counts, self.start = 0, {}, time.monotonic()
        self.seconds, self.logged, self.logged_done = seconds, self.start, None
        self.bar = _bar(total)

    def step(self, status):
        self.done += 1
        self.counts[status] = self.counts.get(status, 0) + 1
        if self.callback is not None:
            self.callback(self.done, self.total)
        if self.bar is not None:
            self.bar.update(self.done, sorted(self.counts.items()), finalize=self.done == self.total)
        elif self.done % self.every == 0 or time.monotonic() - self.logged >= self.seconds:
            self._log()

    def finish(self):
        if self.logged_done != self.done:
            self._log()

    def _log(self):
        self.logged, self.logged_done = time.monotonic(), self.done
        elapsed = max(self.logged - self.start, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate else float("inf")
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        logger.info("prepare_dataset: %d/%d images (%s), %.2f images/s, ETA %s",
                    self.done, self.total, counts, rate, _duration(eta))


def _bar(total):
    """Keras' progress bar over the images where a person watches (a terminal, Jupyter)."""
    import sys

    if total < 2 or not ("ipykernel" in sys.modules or sys.stderr.isatty()):
        return None
    import keras

    return keras.utils.Progbar(total, unit_name="image", stateful_metrics=sorted(_manifest.STATUSES))


def _duration(seconds):
    if not math.isfinite(seconds):
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
