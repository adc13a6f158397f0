"""UTKFace: labels in the file name, `{age}_{gender}_{race}_{datetime}.jpg.chip.jpg`.

Columns returned: `path` (absolute str), `age` (float64), `gender` (`Int8`, 0 = male,
1 = female: UTKFace's own convention, which agekit adopts), `ethnicity` (`Int8`, 0-4 =
White, Black, Asian, Indian, Others; <NA> when the name lacks the field), `timestamp`
(the datetime digits, str).

Real quirks handled: three real files lack the race field
(`39_1_20170116174525125.jpg.chip.jpg`); they are kept with `ethnicity` <NA> and
counted in `df.attrs["incomplete"]["missing_ethnicity"]`. Stray characters after the
datetime (`..._20170116220224657 .jpg.chip.jpg`, `...357jpg.chip.jpg`) are tolerated.
Names that do not parse (`malformed_name`), whose gender is not 0/1 or race not 0-4
(`invalid_label`), and non-image files (`not_an_image`) are dropped and counted in
`df.attrs["dropped"]`; with `errors="raise"` the first raises a `ValueError` naming it.
"""

import os

import numpy as np
import pandas as pd

from agekit.datasets._common import DropLog, existing, nullable_int, parse_names

NAME_PATTERN = (
    r"^(?P<age>\d{1,3})_(?P<gender>\d+)_(?:(?P<race>\d{1,2})_)?(?P<timestamp>\d{6,})"
)


def _list_files(root, recursive):
    if not recursive:
        return [e.path for e in os.scandir(root) if e.is_file() and not e.name.startswith(".")]
    out = []
    for folder, _, files in os.walk(root):
        out.extend(os.path.join(folder, f) for f in files if not f.startswith("."))
    return out


def load_utkface(
    root: str | os.PathLike, *, recursive: bool = False, errors: str = "drop"
) -> pd.DataFrame:
    """Load a folder of UTKFace images, labels parsed from the file names.

    Args:
        root: Folder of `*.jpg.chip.jpg` files (the "aligned & cropped" or "in the wild"
            release, or any folder of files named the same way).
        recursive: Also look in sub-folders (the download's `part1/`, `part2/`, ...).
        errors: `"drop"` bad names (counted and logged) or `"raise"` on the first.

    Returns:
        DataFrame with `path`, `age`, `gender`, `ethnicity`, `timestamp`, sorted by path.

    Example:
        >>> import tempfile
        >>> from agekit.datasets import make_synthetic
        >>> df = load_utkface(make_synthetic(tempfile.mkdtemp(), 5, format="utkface"))
        >>> sorted(df.columns)
        ['age', 'ethnicity', 'gender', 'path', 'timestamp']
    """
    root = existing(root, "folder")
    drops = DropLog(root, errors)
    paths, _, parts, keep = parse_names(
        sorted(_list_files(root, recursive)), NAME_PATTERN, drops,
        example="{age}_{gender}_{race}_{datetime}.jpg.chip.jpg",
    )
    age = pd.to_numeric(parts["age"]).to_numpy(dtype=np.float64)
    gender = pd.to_numeric(parts["gender"]).to_numpy(dtype=np.float64)
    race = pd.to_numeric(parts["race"]).to_numpy(dtype=np.float64)
    bad = ~np.isin(gender, (0, 1)) | (race > 4)
    keep = drops.drop("invalid_label", bad, keep, where=paths,
                      expected="gender 0 or 1 and race 0-4 in the file name")
    df = pd.DataFrame({
        "path": paths[keep],
        "age": age[keep],
        "gender": nullable_int(gender[keep]),
        "ethnicity": nullable_int(race[keep]),
        "timestamp": parts["timestamp"][keep].to_numpy(dtype=object),
    })
    drops.note_incomplete("missing_ethnicity", int(df["ethnicity"].isna().sum()))
    return drops.finish(df, "load_utkface")


__all__ = ["load_utkface"]
