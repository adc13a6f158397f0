"""Apparent-age datasets with CSV labels: ChaLearn LAP (2015/2016) and APPA-REAL.

ChaLearn LAP: `{split}_gt.csv` with columns `image, mean, stdv` (header spellings vary:
`file_name`, `apparent_age`, `std`, ... are accepted, and a file without a header is read
in that column order; `,`, `;` or tab separated), images in `{split}/` beside it (or
beside the CSV when that folder is absent). Columns returned: `path`, `age` (the mean
apparent age, float64), `age_std`.

APPA-REAL: `gt_avg_{split}.csv` with `file_name, num_ratings, apparent_age_avg,
apparent_age_std, real_age`, images `{split}/{file_name}` with the face crop
`{file_name}_face.jpg` beside each. Columns returned: `path` (the crop with
`crops=True`), `face_path` (the crop), `age` (apparent), `age_std`, `real_age`,
`num_ratings`.

Splits are `"train"`, `"valid"` (also spelt `"val"`, `"validation"`) and `"test"`.
Malformed rows are dropped and counted in `df.attrs["dropped"]` (`malformed_row`,
`missing_image_name`, `invalid_age`, `invalid_std`, `invalid_real_age`,
`duplicate_image`, `missing_image`) and logged with their file and line; with
`errors="raise"` the first one raises a `ValueError` naming the file and line.
"""

import os

import numpy as np
import pandas as pd

from agekit.datasets._common import (
    DropLog,
    existing,
    nullable_int,
    on_disk,
    read_rows,
    to_number,
)
from agekit.errors import InvalidValueError, MissingFileError

SPLITS = {"train": "train", "valid": "valid", "val": "valid", "validation": "valid",
          "test": "test"}
CHALEARN_COLUMNS = {
    "image": ("file_name", "filename", "file", "img", "image_name", "name", "path"),
    "mean": ("apparent_age", "apparent_age_avg", "age", "mean_age", "avg"),
    "stdv": ("std", "stddev", "stdev", "sd", "apparent_age_std", "sigma"),
}
APPA_COLUMNS = {
    "file_name": ("image", "filename"),
    "num_ratings": ("ratings", "n_ratings"),
    "apparent_age_avg": ("apparent_age", "mean"),
    "apparent_age_std": ("apparent_std", "stdv", "std"),
    "real_age": ("age",),
}


def _split_name(split):
    if split not in SPLITS:
        raise InvalidValueError(
            f"Unknown split. Expected one of {sorted(SPLITS)}. Received: split={split!r}"
        )
    return SPLITS[split]


def _find(root, names, what):
    """The first entry of `root` whose lower-case name is in `names`."""
    wanted = [n.lower() for n in names]
    found = {p.name.lower(): p for p in root.iterdir()}
    for name in wanted:
        if name in found:
            return found[name]
    raise MissingFileError(
        f"Expected {what} {str(root / names[0])!r} (or {names[1:]}). "
        f"Received: no such file in {str(root)!r}"
    )


def _image_folder(root, split):
    for entry in root.iterdir():
        if entry.is_dir() and entry.name.lower() == split:
            return entry
    return root


def _finish_paths(df, paths, drops, keep, *, check_files):
    """Drop duplicate names and (optionally) images that are not on disk."""
    paths = np.asarray(paths, dtype=object)
    where = df["where"].to_numpy()
    dup = pd.Series(paths).where(keep).duplicated(keep="first").to_numpy() & keep
    keep = drops.drop("duplicate_image", dup, keep, where=where, values=paths)
    if check_files:
        found = on_disk(paths, keep)
        keep = drops.drop("missing_image", ~found, keep, where=where, values=paths,
                          expected="the image file on disk")
    return keep


def load_chalearn(
    root: str | os.PathLike,
    split: str = "train",
    *,
    errors: str = "drop",
    check_files: bool = True,
) -> pd.DataFrame:
    """Load a ChaLearn LAP apparent-age split (see module docstring for the layout).

    Args:
        root: Folder holding `{split}_gt.csv` and the `{split}/` image folder.
        split: `"train"`, `"valid"` or `"test"`.
        errors: `"drop"` malformed rows (counted and logged) or `"raise"` on the first.
        check_files: Drop rows whose image is not on disk (`missing_image`).

    Returns:
        DataFrame with `path`, `age` (mean apparent age) and `age_std`.

    Example:
        >>> import tempfile
        >>> from agekit.datasets import make_synthetic
        >>> root = make_synthetic(tempfile.mkdtemp(), 10, format="chalearn")
        >>> list(load_chalearn(root, "train").columns)
        ['path', 'age', 'age_std']
    """
    root = existing(root, "folder")
    split = _split_name(split)
    csv_path = _find(root, [f"{split}_gt.csv", f"gt_{split}.csv", f"{split}.csv"],
                     "the label file")
    drops = DropLog(csv_path, errors)
    df = read_rows(csv_path, columns=CHALEARN_COLUMNS, drops=drops, sep=None,
                   header="optional")
    keep = np.ones(len(df), dtype=bool)
    keep = drops.drop("missing_image_name", (df["image"] == "").to_numpy(), keep,
                      where=df["where"].to_numpy(), expected="an image name")
    mean, keep = to_number(df, "mean", drops, keep, reason="invalid_age", low=0,
                           expected="a mean age >= 0")
    std, keep = to_number(df, "stdv", drops, keep, reason="invalid_std", low=0,
                          expected="a standard deviation >= 0")
    folder = str(_image_folder(root, split)) + os.sep
    paths = folder + df["image"].astype(object)
    keep = _finish_paths(df, paths, drops, keep, check_files=check_files)
    out = pd.DataFrame({"path": paths[keep].to_numpy(dtype=object), "age": mean[keep],
                        "age_std": std[keep]})
    return drops.finish(out, f"load_chalearn({split})")


def load_appa_real(
    root: str | os.PathLike,
    split: str = "train",
    *,
    crops: bool = False,
    errors: str = "drop",
    check_files: bool = True,
) -> pd.DataFrame:
    """Load an APPA-REAL split (see module docstring for the layout).

    Args:
        root: Folder holding `gt_avg_{split}.csv` and the `{split}/` image folder.
        split: `"train"`, `"valid"` or `"test"`.
        crops: Put the `*_face.jpg` crop in `path` instead of the original image.
        errors: `"drop"` malformed rows (counted and logged) or `"raise"` on the first.
        check_files: Drop rows whose `path` image is not on disk (`missing_image`).

    Returns:
        DataFrame with `path`, `face_path`, `age` (apparent), `age_std`, `real_age`,
        `num_ratings`.

    Example:
        >>> import tempfile
        >>> from agekit.datasets import make_synthetic
        >>> root = make_synthetic(tempfile.mkdtemp(), 10, format="appa_real")
        >>> load_appa_real(root, "valid", crops=True)["path"].str.endswith("_face.jpg").all()
        np.True_
    """
    root = existing(root, "folder")
    split = _split_name(split)
    csv_path = _find(root, [f"gt_avg_{split}.csv"], "the label file")
    drops = DropLog(csv_path, errors)
    df = read_rows(csv_path, columns=APPA_COLUMNS, drops=drops, sep=None)
    keep = np.ones(len(df), dtype=bool)
    where = df["where"].to_numpy()
    keep = drops.drop("missing_image_name", (df["file_name"] == "").to_numpy(), keep,
                      where=where, expected="an image name")
    mean, keep = to_number(df, "apparent_age_avg", drops, keep, reason="invalid_age", low=0,
                           expected="an apparent age >= 0")
    std, keep = to_number(df, "apparent_age_std", drops, keep, reason="invalid_std", low=0,
                          expected="a standard deviation >= 0")
    real, keep = to_number(df, "real_age", drops, keep, reason="invalid_real_age", low=0,
                           expected="a real age >= 0")
    ratings = pd.to_numeric(df["num_ratings"], errors="coerce").to_numpy(dtype=np.float64)
    folder = str(_image_folder(root, split)) + os.sep
    originals = folder + df["file_name"].astype(object)
    faces = originals + "_face.jpg"
    keep = _finish_paths(df, faces if crops else originals, drops, keep,
                         check_files=check_files)
    out = pd.DataFrame({
        "path": (faces if crops else originals)[keep].to_numpy(dtype=object),
        "face_path": faces[keep].to_numpy(dtype=object),
        "age": mean[keep],
        "age_std": std[keep],
        "real_age": real[keep],
        "num_ratings": nullable_int(ratings[keep], "Int64"),
    })
    return drops.finish(out, f"load_appa_real({split})")


__all__ = ["load_appa_real", "load_chalearn"]
