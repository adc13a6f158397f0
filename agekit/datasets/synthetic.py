"""Synthetic datasets in every supported on-disk format, for tests, demos and CI.

`make_synthetic` draws cartoon faces (see `agekit.datasets._faces`) whose age, gender
and ethnicity are visible in the pixels, and writes them with the metadata layout of a
real dataset, so every loader can be exercised end to end without downloading anything.
The metadata also carries the quirks of the real files (IMDb-WIKI rows without a face or
with a second face, impossible birth dates; Adience's `None` ages, bare numbers and
off-scheme ranges, unknown genders), so a round trip shows the cleaning at work.
"""

import logging
import os
from pathlib import Path

import numpy as np

from agekit.datasets._faces import Identity, draw_face, write_image
from agekit.errors import InvalidValueError
from agekit.labels import AGE_BINS

logger = logging.getLogger("agekit.datasets")

FORMATS = ("utkface", "imdb_wiki", "chalearn", "appa_real", "adience", "fgnet", "folders")
METADATA_FORMATS = ("imdb_wiki", "chalearn", "appa_real", "adience")
IMDB_ROWS = 460_723
MATLAB_EPOCH = 719_529  # MATLAB datenum of 1970-01-01
ADIENCE_LABELS = ("(0, 2)", "(4, 6)", "(8, 12)", "(15, 20)", "(25, 32)", "(38, 43)",
                  "(48, 53)", "(60, 100)")
ADIENCE_COLUMNS = ("user_id", "original_image", "face_id", "age", "gender", "x", "y", "dx",
                   "dy", "tilt_ang", "fiducial_yaw_angle", "fiducial_score")
SPLIT_NAMES = ("train", "valid", "test")


def make_synthetic(
    out_dir: str | os.PathLike,
    n: int,
    *,
    format: str,
    seed: int = 0,
    image_size: int = 64,
    metadata_only: bool = False,
) -> Path:
    """Write `n` synthetic labelled faces in the on-disk layout of a real dataset.

    Layouts written under `out_dir` (ages are drawn from 1 to 90 years unless noted):

    - `"utkface"`: `{age}_{gender}_{race}_{datetime}.jpg.chip.jpg` files.
    - `"imdb_wiki"`: `imdb_crop/imdb.mat` (the `imdb` struct: `dob`, `photo_taken`,
      `full_path`, `gender`, `name`, `face_location`, `face_score`,
      `second_face_score`, `celeb_names`, `celeb_id`) and `imdb_crop/NN/*.jpg`. About
      8% of rows have no face (`-inf`), 25% a second face, 2% no gender and 2% an
      impossible birth date. With `metadata_only=True` only the `.mat` is written;
      pass `n=agekit.datasets.synthetic.IMDB_ROWS` for a full-scale file.
    - `"chalearn"`: `{train,valid,test}_gt.csv` (`image,mean,stdv`) and the images in
      `train/`, `valid/`, `test/` (60/20/20 by row).
    - `"appa_real"`: `gt_avg_{train,valid,test}.csv` and `{split}/NNNNNN.jpg` with its
      `NNNNNN.jpg_face.jpg` crop beside it.
    - `"adience"`: `fold_{0..4}_data.txt` (users spread over folds) and
      `aligned/{user_id}/landmark_aligned_face.{face_id}.{original_image}`; about 8%
      of rows carry the real folds' noisy ages and unknown genders.
    - `"fgnet"`: `images/001A02.JPG` style names (subjects of about 12 photos at ages
      0-69) and 68-point `points/001a02.pts` files.
    - `"folders"`: one folder per age, `{age}/NNNNNN.jpg`.

    Args:
        out_dir: Folder to write into (created if needed).
        n: Number of faces (rows).
        format: One of `FORMATS`.
        seed: Seed of the random generator; the same seed writes the same data.
        image_size: Side of the square images in pixels.
        metadata_only: Write only the metadata files (formats with separate metadata:
            `"imdb_wiki"`, `"chalearn"`, `"appa_real"`, `"adience"`).

    Returns:
        The `Path` that the matching loader takes as its first argument: the `.mat`
        file for `"imdb_wiki"`, `out_dir` for every other format.

    Example:
        >>> import tempfile
        >>> from agekit.datasets import load_utkface
        >>> root = make_synthetic(tempfile.mkdtemp(), 8, format="utkface")
        >>> len(load_utkface(root))
        8
    """
    if format not in FORMATS:
        raise InvalidValueError(f"Unknown `format`. Expected one of {FORMATS}. Received: format={format!r}")
    if int(n) != n or n < 1:
        raise InvalidValueError(f"Expected a positive integer n. Received: n={n!r}")
    if metadata_only and format not in METADATA_FORMATS:
        raise InvalidValueError(
            f"Expected metadata_only=True only with a format that keeps labels apart from "
            f"the images {METADATA_FORMATS}. Received: format={format!r}"
        )
    out_dir = Path(out_dir).expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    # Labels and pixels come from separate streams, so metadata_only=True writes the
    # same metadata as a full run with the same seed.
    rng = np.random.default_rng(seed)
    paint = _Painter(np.random.default_rng([seed, 1]), int(image_size), int(n),
                     enabled=not metadata_only)
    result = _WRITERS[format](out_dir, int(n), rng, paint)
    logger.info("make_synthetic: wrote %d %s rows to %s", n, format, result)
    return result


class _Painter:
    """Draws and writes images, logging progress for long runs."""

    def __init__(self, rng, size, total, enabled=True):
        self.rng, self.size, self.total, self.enabled, self.done = rng, size, total, enabled, 0

    def __call__(self, path, age, identity, *, crop_path=None):
        """Draw a face and write it to `path`; with `crop_path`, write the face there and
        a larger picture (the face with a reflected border) to `path`."""
        if not self.enabled:
            return
        face = draw_face(float(age), identity, self.rng, size=self.size)
        if crop_path is not None:
            import cv2

            write_image(crop_path, face)
            m = self.size // 4
            face = cv2.copyMakeBorder(face, m, m, m, m, cv2.BORDER_REFLECT)
        write_image(path, face)
        self.done += 1
        if self.done % 5000 == 0:
            logger.info("make_synthetic: %d / %d images", self.done, self.total)


def _ages(rng, n, low=1, high=90):
    return rng.integers(low, high + 1, size=n)


def _write_utkface(out_dir, n, rng, paint):
    stamps = 20170104000000000 + rng.choice(10**10, size=n, replace=False)
    for age, stamp in zip(_ages(rng, n), stamps):
        who = Identity.random(rng)
        name = f"{age}_{who.gender}_{who.ethnicity}_{stamp}.jpg.chip.jpg"
        paint(out_dir / name, age, who)
    return out_dir


def _write_folders(out_dir, n, rng, paint):
    for i, age in enumerate(_ages(rng, n)):
        paint(out_dir / str(age) / f"{i:06d}.jpg", age, Identity.random(rng))
    return out_dir


def _imdb_metadata(n, rng, size=64):
    """Vectorised IMDb-like metadata: celebrities photographed in several years; the face
    boxes frame the drawn face of a `size`-pixel image, as the real ones frame the face."""
    n_celebs = max(1, n // 4)
    celeb = rng.integers(1, n_celebs + 1, size=n)
    celeb_birth = rng.integers(-14_600, 12_800, size=n_celebs + 1)  # 1930 .. 2005
    birth_days = celeb_birth[celeb]
    birth_year = birth_days.astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970
    age = 1 + (rng.random(n) * np.clip(2015 - birth_year, 1, 85)).astype(np.int64)
    photo_taken = birth_year + age
    odd = rng.random(n)
    birth_days = np.where(odd < 0.01, birth_days - 365 * 150, birth_days)  # born 1780-1855
    birth_days = np.where((odd >= 0.01) & (odd < 0.02), birth_days + 365 * 100, birth_days)
    dob = birth_days + MATLAB_EPOCH + rng.random(n) * 0.5
    face_score = np.where(rng.random(n) < 0.08, -np.inf, rng.normal(3.0, 1.3, n))
    second = np.where(rng.random(n) < 0.25, rng.uniform(0.5, 3.0, n), np.nan)
    gender_m = rng.integers(0, 2, size=n_celebs + 1).astype(np.float64)[celeb]  # 1 = male
    gender_m[rng.random(n) < 0.02] = np.nan
    x1 = size * rng.uniform(0.17, 0.23, n)
    y1 = size * rng.uniform(0.20, 0.26, n)
    side = size * rng.uniform(0.55, 0.65, n)
    boxes = np.stack([x1, y1, x1 + side, y1 + side], axis=1)
    return {"celeb": celeb, "n_celebs": n_celebs, "birth_days": birth_days, "dob": dob,
            "age": age, "photo_taken": photo_taken.astype(np.uint16), "face_score": face_score,
            "second": second, "gender_m": gender_m, "boxes": boxes}


def _cell(strings):
    out = np.empty((1, len(strings)), dtype=object)
    out[0, :] = strings
    return out


def _write_imdb_wiki(out_dir, n, rng, paint):
    from scipy.io import savemat

    meta = _imdb_metadata(n, rng, paint.size)
    root = out_dir / "imdb_crop"
    dates = meta["birth_days"].astype("datetime64[D]").astype(str)
    paths = [
        f"{c % 100:02d}/nm{c:07d}_rm{i}_{d}_{y}.jpg"
        for i, (c, d, y) in enumerate(zip(meta["celeb"], dates, meta["photo_taken"]))
    ]
    names = [f"Celebrity {c}" for c in range(1, meta["n_celebs"] + 1)]
    locations = np.empty((1, n), dtype=object)
    for i, box in enumerate(meta["boxes"]):
        locations[0, i] = box[None, :]
    struct = {
        "dob": meta["dob"][None, :],
        "photo_taken": meta["photo_taken"][None, :],
        "full_path": _cell(paths),
        "gender": meta["gender_m"][None, :],
        "name": _cell([names[c - 1] for c in meta["celeb"]]),
        "face_location": locations,
        "face_score": meta["face_score"][None, :],
        "second_face_score": meta["second"][None, :],
        "celeb_names": _cell(names),
        "celeb_id": meta["celeb"][None, :].astype(np.uint16 if n < 262_000 else np.uint32),
    }
    if paint.enabled:
        people = {}
        for i, path in enumerate(paths):
            c = int(meta["celeb"][i])
            female = 0 if meta["gender_m"][i] == 1 else 1
            who = people.setdefault(c, Identity.random(rng, gender=female))
            paint(root / path, meta["age"][i], who)
    root.mkdir(parents=True, exist_ok=True)
    mat_path = root / "imdb.mat"
    savemat(mat_path, {"imdb": struct})
    return mat_path


def _write_csv(path, header, rows):
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _split_of(n):
    return np.array(SPLIT_NAMES)[np.searchsorted([0.6 * n, 0.8 * n], np.arange(n), side="right")]


def _write_chalearn(out_dir, n, rng, paint):
    splits = _split_of(n)
    rows = {name: [] for name in SPLIT_NAMES}
    for i, (age, part) in enumerate(zip(_ages(rng, n), splits)):
        name = f"{i:06d}.jpg"
        mean = max(1.0, age + rng.normal(0, 2))
        rows[part].append((name, f"{mean:.3f}", f"{rng.uniform(1, 6):.3f}"))
        paint(out_dir / part / name, mean, Identity.random(rng))
    for part, part_rows in rows.items():
        _write_csv(out_dir / f"{part}_gt.csv", ("image", "mean", "stdv"), part_rows)
    return out_dir


def _write_appa_real(out_dir, n, rng, paint):
    splits = _split_of(n)
    rows = {name: [] for name in SPLIT_NAMES}
    for i, (age, part) in enumerate(zip(_ages(rng, n), splits)):
        name = f"{i:06d}.jpg"
        votes = int(rng.integers(10, 40))
        apparent = max(1.0, age + rng.normal(0, 3))
        rows[part].append((name, votes, f"{apparent:.6f}", f"{rng.uniform(1, 6):.6f}", age))
        who = Identity.random(rng)
        paint(out_dir / part / name, apparent, who, crop_path=out_dir / part / f"{name}_face.jpg")
    header = ("file_name", "num_ratings", "apparent_age_avg", "apparent_age_std", "real_age")
    for part, part_rows in rows.items():
        _write_csv(out_dir / f"gt_avg_{part}.csv", header, part_rows)
    return out_dir


def _adience_age(rng):
    """An Adience age label and the age to draw; about 8% carry the real files' noise."""
    group = int(rng.integers(len(ADIENCE_LABELS)))
    low, high = AGE_BINS["adience"].ranges[group]
    age = float(rng.integers(low, min(high, 75) + 1))
    roll = rng.random()
    if roll < 0.03:
        return "None", age
    if roll < 0.06:
        return str(int(age)), age
    if roll < 0.08:
        return ("(38, 48)", 45.0) if rng.random() < 0.5 else ("(8, 23)", 15.0)
    return ADIENCE_LABELS[group], age


def _write_adience(out_dir, n, rng, paint):
    n_users = max(5, n // 8)
    folds = {k: [] for k in range(5)}
    people = {}
    for i in range(n):
        user = int(rng.integers(n_users))
        user_id = f"{30601258 + user * 7919}@N0{user % 8}"
        label, age = _adience_age(rng)
        who = people.setdefault(user, Identity.random(rng))
        roll = rng.random()
        gender = "u" if roll < 0.04 else "" if roll < 0.05 else "mf"[who.gender]
        original = f"{10000000000 + i * 7:011d}_{rng.integers(16**10):010x}_o.jpg"
        x, y = (int(v) for v in rng.integers(0, 800, 2))
        dx, dy = (int(v) for v in rng.integers(150, 700, 2))
        row = (user_id, original, i + 1, label, gender, x, y, dx, dy, 0, 0,
               int(rng.integers(0, 250)))
        folds[user % 5].append(row)
        face = f"landmark_aligned_face.{i + 1}.{original}"
        paint(out_dir / "aligned" / user_id / face, age, who)
    for k, rows in folds.items():
        lines = ["\t".join(ADIENCE_COLUMNS)] + ["\t".join(str(v) for v in r) for r in rows]
        (out_dir / f"fold_{k}_data.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out_dir


def _pts_text(size, rng):
    angle = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    centre = size / 2 + rng.normal(0, 1, 2)
    points = centre + np.stack([np.cos(angle), np.sin(angle)], axis=1) * size * 0.3
    body = "\n".join(f"{x:.3f} {y:.3f}" for x, y in points)
    return f"version: 1\nn_points:  68\n{{\n{body}\n}}\n"


def _write_fgnet(out_dir, n, rng, paint):
    n_subjects = max(1, min(999, n // 12))
    taken = set()
    people = {}
    for i in range(n):
        subject = i % n_subjects + 1
        who = people.setdefault(subject, Identity.random(rng))
        age = int(rng.integers(0, 70))
        suffix = ""
        while (subject, age, suffix) in taken:
            suffix = chr(ord(suffix or "`") + 1)
        taken.add((subject, age, suffix))
        stem = f"{subject:03d}A{age:02d}{suffix}"
        paint(out_dir / "images" / f"{stem}.JPG", age, who)
        points = out_dir / "points" / f"{stem.lower()}.pts"
        points.parent.mkdir(parents=True, exist_ok=True)
        points.write_text(_pts_text(paint.size, rng), encoding="ascii")
    return out_dir


_WRITERS = {
    "utkface": _write_utkface,
    "imdb_wiki": _write_imdb_wiki,
    "chalearn": _write_chalearn,
    "appa_real": _write_appa_real,
    "adience": _write_adience,
    "fgnet": _write_fgnet,
    "folders": _write_folders,
}
