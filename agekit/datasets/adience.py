"""Adience: five subject-exclusive folds, `fold_{k}_data.txt`, labels as age groups.

Each fold file is tab-separated with the header `user_id original_image face_id age
gender x y dx dy tilt_ang fiducial_yaw_angle fiducial_score`. Images live at
`aligned/{user_id}/landmark_aligned_face.{face_id}.{original_image}` (or, with
`layout="faces"`, `faces/{user_id}/coarse_tilt_aligned_face.{face_id}.{original_image}`).

Columns returned: `path`, `age_group` (index into `agekit.labels.AGE_BINS["adience"]`:
0-2, 4-6, 8-13, 15-20, 25-32, 38-43, 48-53, 60+), `age` (a representative age: the
middle of the group, 65 for 60+: `AgeBins.centers`, float64), `age_label` (the raw text), `gender` (`Int8`,
0 = male, 1 = female, <NA> for `u` or empty), `subject` (`user_id`), `fold` (0-4),
`face_id`, `face_box` (`(x, y, x + dx, y + dy)` in the original image).

Age mapping rule (the real folds hold more than the eight groups):

- A range `(lo, hi)` maps to the group that contains it entirely, so `(8, 12)`,
  `(27, 32)` and `(60, 100)` map to 8-13, 25-32 and 60+. A range spanning several
  groups, such as `(38, 48)` or `(8, 23)`, is dropped as `ambiguous_age`.
- A bare number such as `35` maps to the group that contains it; one between groups
  (3, 7, 14, 21-24, 33-37, 44-47, 54-59) is dropped as `age_between_groups`, or,
  with `gaps="nearest"`, goes to the nearest group (the younger one on a tie).
- `None` or empty is dropped as `missing_age`; anything else as `malformed_age`.

Malformed rows (`malformed_row`: too few fields) are dropped and logged with their file
and line; `errors="raise"` raises a `ValueError` naming them instead.
"""

import logging
import os
import re

import numpy as np
import pandas as pd

from agekit.datasets._common import DropLog, existing, nullable_int, on_disk, read_rows
from agekit.errors import InvalidValueError
from agekit.labels import AGE_BINS, bin_ages

logger = logging.getLogger("agekit.datasets")

FOLDS = 5
LAYOUTS = {
    "aligned": ("aligned", "landmark_aligned_face"),
    "faces": ("faces", "coarse_tilt_aligned_face"),
}
COLUMNS = {name: () for name in ("user_id", "original_image", "face_id", "age", "gender")}
COLUMNS.update({name: () for name in ("x", "y", "dx", "dy")})
GENDERS = {"m": 0.0, "f": 1.0, "u": np.nan, "": np.nan}
_RANGE = re.compile(r"^\(\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)\s*\)$")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


def _group_ages():
    return AGE_BINS["adience"].centers  # the one age of each group (agekit.labels)


def parse_adience_ages(labels, *, gaps: str = "drop") -> tuple[np.ndarray, np.ndarray]:
    """Map raw Adience age texts to group indices, by the rule in the module docstring.

    Returns:
        `(groups, reasons)`: int64 group indices (-1 where unmapped) and, per label, the
        drop reason or `""`.

    Example:
        >>> parse_adience_ages(["(25, 32)", "(8, 12)", "35", "(38, 48)", "None"])[0].tolist()
        [4, 2, -1, -1, -1]
    """
    scheme = AGE_BINS["adience"]
    lows, highs = scheme.lows, scheme.highs
    labels = [str(t).strip() for t in labels]
    groups = np.full(len(labels), -1, dtype=np.int64)
    reasons = np.full(len(labels), "", dtype=object)
    numbers, number_rows = [], []
    for i, text in enumerate(labels):
        match = _RANGE.match(text)
        if match:
            lo, hi = float(match[1]), float(match[2])
            inside = np.flatnonzero((lows <= lo) & (hi <= highs))  # 60+ is open-ended
            if len(inside) == 1 and lo <= hi:
                groups[i] = inside[0]
            else:
                reasons[i] = "ambiguous_age"
        elif _NUMBER.match(text):
            numbers.append(float(text))
            number_rows.append(i)
        elif text in ("", "None", "none", "NaN", "nan"):
            reasons[i] = "missing_age"
        else:
            reasons[i] = "malformed_age"
    if numbers:
        mapped = bin_ages(numbers, scheme, gaps="nearest" if gaps == "nearest" else "mark")
        groups[number_rows] = mapped
        reasons[np.array(number_rows)[mapped < 0]] = "age_between_groups"
    return groups, reasons


def load_adience(
    fold_dir: str | os.PathLike,
    images_root: str | os.PathLike | None = None,
    *,
    folds: list[int] | None = None,
    layout: str = "aligned",
    gaps: str = "drop",
    errors: str = "drop",
    check_files: bool = True,
) -> pd.DataFrame:
    """Load the Adience fold files into one DataFrame with a `fold` column.

    Args:
        fold_dir: Folder holding `fold_0_data.txt` ... `fold_4_data.txt`.
        images_root: Folder holding `aligned/` (or `faces/`); defaults to `fold_dir`.
        folds: Fold numbers to load; all five by default.
        layout: `"aligned"` (`landmark_aligned_face.*`) or `"faces"`
            (`coarse_tilt_aligned_face.*`).
        gaps: Bare ages between groups: `"drop"` (default) or `"nearest"` group.
        errors: `"drop"` malformed rows (counted and logged) or `"raise"` on the first.
        check_files: Drop rows whose image is not on disk (`missing_image`).

    Returns:
        DataFrame (columns in the module docstring); use `adience_folds` for the
        5-fold cross-validation protocol.

    Example:
        >>> import tempfile
        >>> from agekit.datasets import make_synthetic
        >>> df = load_adience(make_synthetic(tempfile.mkdtemp(), 40, format="adience"))
        >>> sorted(df["fold"].unique().tolist())
        [0, 1, 2, 3, 4]
    """
    fold_dir = existing(fold_dir, "folder")
    root = fold_dir if images_root is None else existing(images_root, "folder")
    if layout not in LAYOUTS:
        raise InvalidValueError(f"Expected layout in {sorted(LAYOUTS)}. Received: layout={layout!r}")
    if gaps not in ("drop", "nearest"):
        raise InvalidValueError(f"Expected gaps to be 'drop' or 'nearest'. Received: gaps={gaps!r}")
    folds = list(range(FOLDS)) if folds is None else [int(k) for k in folds]
    drops = DropLog(fold_dir, errors)
    frames = []
    for k in folds:
        path = existing(fold_dir / f"fold_{k}_data.txt", "fold file")
        frame = read_rows(path, columns=COLUMNS, drops=drops, sep="\t")
        frame["fold"] = k
        frames.append(frame)
    df = pd.concat(frames, ignore_index=True)
    where = df["where"].to_numpy()
    keep = np.ones(len(df), dtype=bool)
    groups, reasons = parse_adience_ages(df["age"], gaps=gaps)
    for reason in ("missing_age", "malformed_age", "ambiguous_age", "age_between_groups"):
        keep = drops.drop(reason, reasons == reason, keep, where=where,
                          values=df["age"].to_numpy(), expected="an age in one Adience group")
    gender_text = df["gender"].str.lower()
    bad_gender = ~gender_text.isin(list(GENDERS)).to_numpy()
    keep = drops.drop("malformed_gender", bad_gender, keep, where=where,
                      values=df["gender"].to_numpy(), expected="gender m, f, u or empty")
    names = (df["user_id"] == "") | (df["original_image"] == "") | (df["face_id"] == "")
    keep = drops.drop("missing_image_name", names.to_numpy(), keep, where=where)
    folder, prefix = LAYOUTS[layout]
    paths = (str(root / folder) + os.sep + df["user_id"] + os.sep + prefix + "."
             + df["face_id"] + "." + df["original_image"]).to_numpy(dtype=object)
    if check_files:
        found = on_disk(paths, keep)
        keep = drops.drop("missing_image", ~found, keep, where=where, values=paths)
    box = np.stack([pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
                    for c in ("x", "y", "dx", "dy")], axis=1)[keep]
    box[:, 2:] += box[:, :2]
    gender = gender_text.map(GENDERS).to_numpy(dtype=np.float64)
    out = pd.DataFrame({
        "path": paths[keep],
        "age_group": groups[keep],
        "age": _group_ages()[groups[keep]],
        "age_label": df["age"].to_numpy(dtype=object)[keep],
        "gender": nullable_int(gender[keep]),
        "subject": df["user_id"].to_numpy(dtype=object)[keep],
        "fold": df["fold"].to_numpy(dtype=np.int64)[keep],
        "face_id": df["face_id"].to_numpy(dtype=object)[keep],
        "face_box": [tuple(b) if np.all(np.isfinite(b)) else None for b in box.tolist()],
    })
    shared = out.groupby("subject")["fold"].nunique()
    if (shared > 1).any():
        logger.warning("%s: %d subject(s) appear in more than one fold, e.g. %s", fold_dir,
                       int((shared > 1).sum()), shared[shared > 1].index[0])
    drops.note_incomplete("unknown_gender", int(out["gender"].isna().sum()))
    return drops.finish(out, "load_adience")


def adience_folds(df: pd.DataFrame) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """The 5-fold cross-validation protocol: `(train, test)` per fold in `df["fold"]`.

    Each test set is one fold; its train set is every other fold. The folds are
    subject-exclusive, so no person is in both.

    Returns:
        List of `(train_df, test_df)` pairs, in fold order.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"fold": [0, 0, 1, 2], "age": [1, 5, 30, 40]})
        >>> [len(test) for _, test in adience_folds(df)]
        [2, 1, 1]
    """
    if "fold" not in df.columns:
        raise InvalidValueError(
            f"Expected a DataFrame with a 'fold' column (from load_adience). "
            f"Received: columns={list(df.columns)}"
        )
    return [(df[df["fold"] != k], df[df["fold"] == k]) for k in sorted(df["fold"].unique())]


__all__ = ["adience_folds", "load_adience", "parse_adience_ages"]
