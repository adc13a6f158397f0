"""IMDb-WIKI metadata (`imdb.mat`, `wiki.mat`) -> a cleaned DataFrame, vectorised.

The `.mat` file holds one 1x1 MATLAB struct, `imdb` or `wiki`, whose fields are 1xN
arrays: `dob` (MATLAB datenum of the birth date), `photo_taken` (year), `full_path`
(cell of paths relative to the `.mat` folder), `gender` (1 male, 0 female, NaN),
`name`, `face_location` (cell of `[x1 y1 x2 y2]` in the original image), `face_score`
(`-inf` when no face was found), `second_face_score` (NaN when there is no second
face); `imdb` also has `celeb_names` and `celeb_id`.

Columns returned: `path` (absolute str), `age` (float64, whole years), `gender`
(`Int8`, agekit convention 0 = male, 1 = female, <NA> unknown: IMDb-WIKI's 1 = male is
flipped), `face_box` (tuple `(x1, y1, x2, y2)`), `face_score`, `second_face_score`,
`name`, `subject` (`celeb_id` for imdb, the name for wiki: one per person, for
`split`), `birth_year`, `photo_taken`.

Rows are checked in this order, the first failing rule naming the drop reason in
`df.attrs["dropped"]`: `no_face`, `low_face_score`, `second_face`, `invalid_date`,
`age_out_of_range`, `unknown_gender`, `missing_image`.
"""

import logging
import math
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from agekit.datasets._common import DropLog, existing, nullable_int
from agekit.errors import InvalidTypeError, InvalidValueError

MATLAB_EPOCH = 719_529  # MATLAB datenum of 1970-01-01 (= date.fromordinal(dob - 366))
REQUIRED_FIELDS = ("dob", "photo_taken", "full_path", "gender", "face_location",
                   "face_score", "second_face_score")


@dataclass(frozen=True)
class CleaningRules:
    """Which IMDb-WIKI rows to keep and how to compute the age.

    Args:
        drop_no_face: Drop rows whose `face_score` is `-inf` (no face found).
        min_face_score: Drop rows with a lower `face_score` (`-inf`: keep all).
        drop_second_face: Drop rows with a second face (`second_face_score` not NaN).
        min_age: Lowest age kept, in years.
        max_age: Highest age kept, in years.
        mid_year_birthdays: Age is `photo_taken - birth year`; with this, one more year
            is subtracted for people born in July or later, since the photos are
            assumed taken mid-year.
        require_gender: Drop rows of unknown gender.

    Presets (`CleaningRules.preset(name)`, or `rules=name` in `load_imdb_wiki`):
    `"seed"` (the VGG16 study: no face or a second face -> drop, age 0..101) and
    `"yu4u"` (yu4u/age-gender-estimation: face score >= 1, no second face, mid-year
    birthdays, age 0..100, gender known).

    Example:
        >>> CleaningRules.preset("yu4u").min_face_score
        1.0
    """

    drop_no_face: bool = True
    min_face_score: float = -math.inf
    drop_second_face: bool = True
    min_age: float = 0
    max_age: float = 101
    mid_year_birthdays: bool = False
    require_gender: bool = False

    def __post_init__(self):
        if not self.min_age <= self.max_age:
            raise InvalidValueError(
                "Expected min_age <= max_age. "
                f"Received: min_age={self.min_age}, max_age={self.max_age}"
            )

    @classmethod
    def preset(cls, name: str) -> "CleaningRules":
        """The named preset, `"seed"` or `"yu4u"`."""
        if name == "seed":
            return cls()
        if name == "yu4u":
            return cls(min_face_score=1.0, max_age=100, mid_year_birthdays=True,
                       require_gender=True)
        raise InvalidValueError(
            f"Unknown cleaning preset. Expected 'seed', 'yu4u' or a CleaningRules. "
            f"Received: rules={name!r}"
        )


def read_imdb_struct(mat_path):
    """`(key, fields)`: the struct name and its fields as 1-D arrays, checked."""
    from scipy.io import loadmat

    try:
        mat = loadmat(mat_path, squeeze_me=True)
    except (ValueError, TypeError, OSError, NotImplementedError) as error:
        raise InvalidValueError(
            f"Expected a MATLAB .mat file (v5 or v7). Received: mat_path={str(mat_path)!r} "
            f"({error})"
        ) from error
    keys = [k for k in mat if not k.startswith("__")]
    key = next((k for k in ("imdb", "wiki") if k in mat), keys[0] if len(keys) == 1 else None)
    struct = mat.get(key)
    names = getattr(getattr(struct, "dtype", None), "names", None)
    if names is None:
        raise InvalidValueError(
            f"Expected an 'imdb' or 'wiki' struct in {mat_path}. Received: variables={keys}"
        )
    missing = [f for f in REQUIRED_FIELDS if f not in names]
    if missing:
        raise InvalidValueError(
            f"Expected the fields {list(REQUIRED_FIELDS)} in the {key!r} struct of "
            f"{mat_path}. Received: fields={list(names)} (missing {missing})"
        )
    fields = {name: struct[name].item() if struct.ndim == 0 else struct[name][0, 0]
              for name in names}
    n = np.size(fields["dob"])
    for name in REQUIRED_FIELDS + tuple(f for f in ("name", "celeb_id") if f in fields):
        value = fields[name]
        if name == "face_location" and n == 1 and np.asarray(value).dtype != object:
            value = np.array([value], dtype=object)  # squeeze_me unwrapped the only box
        value = np.atleast_1d(value)
        if value.dtype != object:
            value = value.ravel()
        if len(value) != n:
            raise InvalidValueError(
                f"Expected every field of the {key!r} struct in {mat_path} to hold one "
                f"value per row ({n}). Received: len({name})={len(value)}"
            )
        fields[name] = value
    return key, fields


def _birth_dates(dob):
    """Birth year and month from MATLAB datenums; `valid` is False for unusable ones.

    Same dates as `date.fromordinal(int(dob) - 366)`, by integer arithmetic on whole
    arrays (H. Hinnant's days-to-civil algorithm), several times faster than numpy's
    datetime64 calendar conversions.
    """
    dob = np.asarray(dob, dtype=np.float64)
    valid = np.isfinite(dob) & (dob >= 367) & (dob < 3_000_000)
    z = np.where(valid, dob, MATLAB_EPOCH).astype(np.int32) - (MATLAB_EPOCH - 719_468)
    era = z // 146_097  # z > 0: days since 0000-03-01
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = (yoe + era * 400 + (month <= 2)).astype(np.int64)
    return year, month, valid


def _boxes(locations):
    """`(n, 4)` float array from a cell of `[x1 y1 x2 y2]`; NaN rows where malformed."""
    try:
        flat = np.concatenate([np.ravel(locations[0])] + list(locations[1:]), axis=None)
        return flat.astype(np.float64).reshape(len(locations), 4)
    except ValueError:
        out = np.full((len(locations), 4), np.nan)
        for i, box in enumerate(locations):
            box = np.ravel(np.asarray(box, dtype=np.float64))
            if box.size == 4:
                out[i] = box
        return out


def clean_imdb_wiki(fields, rules, drops):
    """Apply `rules` to the struct fields; returns the keep mask and the ages (vectorised)."""
    n = len(fields["dob"])
    keep = np.ones(n, dtype=bool)
    score = np.asarray(fields["face_score"], dtype=np.float64)
    second = np.asarray(fields["second_face_score"], dtype=np.float64)
    gender = np.asarray(fields["gender"], dtype=np.float64)
    taken = np.asarray(fields["photo_taken"], dtype=np.float64)  # uint16 would wrap
    if rules.drop_no_face:
        keep = drops.drop("no_face", np.isneginf(score) | np.isnan(score), keep)
    if rules.min_face_score > -math.inf:
        keep = drops.drop("low_face_score", ~(score >= rules.min_face_score), keep)
    if rules.drop_second_face:
        keep = drops.drop("second_face", ~np.isnan(second), keep)
    year, month, valid = _birth_dates(fields["dob"])
    valid &= np.isfinite(taken)
    keep = drops.drop("invalid_date", ~valid, keep, expected="a datenum dob and a photo year")
    age = np.where(valid, taken, 0) - year
    if rules.mid_year_birthdays:
        age = age - (month >= 7)
    age = age.astype(np.float64)
    in_range = (age >= rules.min_age) & (age <= rules.max_age)
    keep = drops.drop("age_out_of_range", ~in_range, keep,
                      expected=f"ages in [{rules.min_age}, {rules.max_age}]")
    if rules.require_gender:
        keep = drops.drop("unknown_gender", np.isnan(gender), keep)
    return keep, age, year


def load_imdb_wiki(
    mat_path: str | os.PathLike,
    images_root: str | os.PathLike | None = None,
    *,
    rules: str | CleaningRules = "seed",
    check_files: bool = False,
) -> pd.DataFrame:
    """Load and clean `imdb.mat` or `wiki.mat` into a DataFrame (see module docstring).

    Args:
        mat_path: Path to the `.mat` file.
        images_root: Folder that `full_path` is relative to; defaults to the folder of
            the `.mat` file (where the `imdb_crop` / `wiki_crop` download puts it).
        rules: `"seed"`, `"yu4u"` or a `CleaningRules`.
        check_files: Also drop rows whose image is missing (`missing_image`); off by
            default since it stats every file.

    Returns:
        DataFrame, one row per kept photo; `df.attrs["dropped"]` counts the rest per
        reason and `df.attrs["incomplete"]` the kept rows of unknown gender.

    Example:
        >>> import tempfile
        >>> from agekit.datasets import make_synthetic
        >>> mat = make_synthetic(tempfile.mkdtemp(), 40, format="imdb_wiki",
        ...                      metadata_only=True)
        >>> df = load_imdb_wiki(mat, rules="yu4u")
        >>> bool(df["age"].between(0, 100).all())
        True
    """
    mat_path = existing(mat_path, "mat_path")
    if isinstance(rules, str):
        rules = CleaningRules.preset(rules)
    elif not isinstance(rules, CleaningRules):
        raise InvalidTypeError(
            f"Expected rules as 'seed', 'yu4u' or a CleaningRules. Received: rules={rules!r}"
        )
    root = mat_path.parent if images_root is None else existing(images_root, "folder")
    key, fields = read_imdb_struct(mat_path)
    return imdb_frame(fields, root=root, rules=rules, check_files=check_files,
                      source=mat_path, key=key)


def imdb_frame(fields, *, root, rules, check_files=False, source="", key="imdb"):
    """Clean the struct `fields` and build the DataFrame (the vectorised part)."""
    drops = DropLog(source, level=logging.INFO)  # expected cleaning, not errors
    keep, age, birth_year = clean_imdb_wiki(fields, rules, drops)

    paths = str(root) + os.sep + pd.Series(fields["full_path"][keep], dtype=object)
    if check_files:
        found = np.array([os.path.exists(p) for p in paths], dtype=bool)
        sub = drops.drop("missing_image", ~found, np.ones(len(paths), dtype=bool),
                         where=paths.to_numpy())
        keep[np.flatnonzero(keep)[~sub]] = False
        paths = paths[sub]
    boxes = _boxes(fields["face_location"][keep])
    gender = 1.0 - np.asarray(fields["gender"], dtype=np.float64)[keep]  # 1 = male -> 0
    df = pd.DataFrame({
        "path": paths.to_numpy(),
        "age": age[keep],
        "gender": nullable_int(gender),
        "face_box": pd.Series(list(zip(*boxes.T.tolist())), dtype=object),
        "face_score": np.asarray(fields["face_score"], dtype=np.float64)[keep],
        "second_face_score": np.asarray(fields["second_face_score"], dtype=np.float64)[keep],
    })
    if "name" in fields:
        names = fields["name"][keep]
        if pd.api.types.infer_dtype(names, skipna=False) != "string":
            # An empty MATLAB string loads as an empty array, not as "".
            names = [n if isinstance(n, str) else "" for n in names]
        df["name"] = names
    if "celeb_id" in fields:
        df["subject"] = nullable_int(np.asarray(fields["celeb_id"], dtype=np.float64)[keep],
                                     "Int64")
    elif "name" in fields:
        df["subject"] = df["name"].where(df["name"].str.len() > 0)
    df["birth_year"] = birth_year[keep]
    df["photo_taken"] = np.asarray(fields["photo_taken"], dtype=np.float64)[keep].astype(np.int64)
    drops.note_incomplete("unknown_gender", int(df["gender"].isna().sum()))
    return drops.finish(df, f"load_imdb_wiki({key})")


__all__ = ["CleaningRules", "clean_imdb_wiki", "imdb_frame", "load_imdb_wiki", "read_imdb_struct"]
