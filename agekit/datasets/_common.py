"""Shared pieces of the loaders: paths, reading delimited files, counting drops.

Every loader keeps a `DropLog`. A rule that rejects rows calls `DropLog.drop`, which
counts them under a reason, logs the first few with their file and line, and, in
`errors="raise"` mode, raises a `ValueError` naming the file, the line and the value
instead. `DropLog.finish` stores the counts in `df.attrs["dropped"]` (reason -> count),
rows kept with a missing field in `df.attrs["incomplete"]`, and logs one summary line.
"""

import csv
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from agekit.errors import InvalidValueError, MissingFileError

logger = logging.getLogger("agekit.datasets")

ERRORS = ("drop", "raise")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
SHOWN_EXAMPLES = 3


def check_errors(errors):
    if errors not in ERRORS:
        raise InvalidValueError(f"Expected errors to be one of {ERRORS}. Received: errors={errors!r}")
    return errors


def existing(path, what="file"):
    """`path` as an absolute `Path`; `FileNotFoundError` naming it when it is missing."""
    path = Path(path).expanduser().resolve()
    if what == "folder" and not path.is_dir():
        raise MissingFileError(f"Expected an existing folder. Received: {what}={str(path)!r}")
    if what != "folder" and not path.is_file():
        raise MissingFileError(f"Expected an existing file. Received: {what}={str(path)!r}")
    return path


def is_image_name(name):
    return name.lower().endswith(IMAGE_EXTENSIONS)


def on_disk(paths, keep):
    """Boolean array: True where the row is kept and its file exists."""
    return np.array([bool(k) and os.path.isfile(p) for p, k in zip(paths, keep)], dtype=bool)


def nullable_int(values, dtype="Int8"):
    """Float values with NaN for unknown -> pandas nullable integers with <NA>."""
    return pd.array(pd.Series(values, dtype="float64").round(), dtype="Float64").astype(dtype)


class DropLog:
    """Counts rejected rows per reason for one loader call.

    Args:
        source: What is being loaded (file or folder), used in messages.
        errors: `"drop"` to drop and count bad rows, `"raise"` to raise on the first.
        level: Logging level of the per-reason messages (the summary is INFO).
    """

    def __init__(self, source, errors="drop", *, level=logging.WARNING):
        self.source = str(source)
        self.level = level
        self.errors = check_errors(errors)
        self.dropped = {}
        self.incomplete = {}

    def drop(self, reason, bad, keep, *, where=None, values=None, expected=None):
        """Drop the rows in `bad` that are still kept; returns the new `keep` mask.

        Args:
            reason: Short key such as `"missing_age"`.
            bad: Boolean array, True for rows breaking the rule.
            keep: Boolean array of rows kept so far (earlier rules win).
            where: Per-row location such as `"train_gt.csv:12"` or a file name.
            values: Per-row offending value, shown in messages.
            expected: What a valid row holds, for the `errors="raise"` message.
        """
        bad = np.asarray(bad, dtype=bool) & keep
        count = int(bad.sum())
        if count == 0:
            return keep
        rows = np.flatnonzero(bad)
        shown = []
        for i in rows[:SHOWN_EXAMPLES]:
            place = f"{self.source} row {i}" if where is None else where[i]
            value = "" if values is None else f" ({values[i]!r})"
            shown.append(f"{place}{value}")
        if self.errors == "raise":
            raise InvalidValueError(
                f"Expected {expected or reason.replace('_', ' ')}. "
                f"Received: {reason} at {shown[0]}"
            )
        self.dropped[reason] = self.dropped.get(reason, 0) + count
        more = f" and {count - len(shown)} more" if count > len(shown) else ""
        logger.log(self.level, "dropped %d row(s), %s: %s%s", count, reason,
                   "; ".join(shown), more)
        return keep & ~bad

    def note_incomplete(self, reason, count):
        """Count rows kept with a field missing (such as an unknown gender)."""
        if count:
            self.incomplete[reason] = self.incomplete.get(reason, 0) + int(count)

    def finish(self, df, name):
        """Attach the counts to `df.attrs` and log a one-line summary."""
        df = df.reset_index(drop=True)
        df.attrs["dropped"] = dict(self.dropped)
        df.attrs["incomplete"] = dict(self.incomplete)
        df.attrs["source"] = self.source
        dropped = ", ".join(f"{k}={v}" for k, v in self.dropped.items()) or "none"
        logger.info("%s: %d rows from %s; dropped: %s", name, len(df), self.source, dropped)
        return df


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _normal(name):
    return "".join(ch for ch in name.strip().lower() if ch.isalnum())


def read_rows(path, *, columns, drops, sep=",", header="required"):
    """Read a delimited text file into a DataFrame of strings, one column per field.

    Args:
        path: The file (must exist).
        columns: Dict canonical name -> tuple of accepted header spellings (compared
            lower-case, without spaces and punctuation). Every canonical column is
            required; the file may hold extra columns.
        drops: The `DropLog`; rows with too few fields are dropped as `malformed_row`.
        sep: Field separator; `None` sniffs `,`, `;` or tab from the first line.
        header: `"required"`, or `"optional"` to accept a file without a header whose
            fields come in the order of `columns`.

    Returns:
        DataFrame with the canonical columns (str) and `where` (`"file:line"`).
    """
    with open(path, encoding="utf-8-sig", newline="") as f:
        lines = f.read().splitlines()
    first = next((i for i, text in enumerate(lines) if text.strip()), None)
    if first is None:
        raise InvalidValueError(
            f"Expected a header with columns {list(columns)} in {path}. Received: an empty file"
        )
    if sep is None:
        sep = max((",", ";", "\t"), key=lines[first].count)
    rows = list(csv.reader(lines, delimiter=sep))
    names = [_normal(n) for n in rows[first]]
    index = {}
    for canonical, spellings in columns.items():
        for spelling in (canonical, *spellings):
            if _normal(spelling) in names:
                index[canonical] = names.index(_normal(spelling))
                break
    start = first + 1
    if len(index) < len(columns):
        looks_like_data = any(_is_number(field) for field in rows[first])
        if header == "optional" and not index and looks_like_data and len(names) >= len(columns):
            index = {canonical: i for i, canonical in enumerate(columns)}
            start = first
        else:
            raise InvalidValueError(
                f"Expected columns {list(columns)} in the header of {path} (line {first + 1}). "
                f"Received: columns={rows[first]}"
            )
    need = max(index.values()) + 1
    body = [(i, row) for i, row in enumerate(rows[start:], start=start + 1) if any(row)]
    short = np.array([len(row) < need for _, row in body], dtype=bool)
    where = np.array([f"{path}:{i}" for i, _ in body], dtype=object)
    keep = drops.drop(
        "malformed_row", short, np.ones(len(body), dtype=bool), where=where,
        values=np.array([sep.join(row) for _, row in body], dtype=object),
        expected=f"{need} fields per row",
    )
    data = {
        canonical: [row[col].strip() for (_, row), ok in zip(body, keep) if ok]
        for canonical, col in index.items()
    }
    df = pd.DataFrame(data, columns=list(columns), dtype=object)
    df["where"] = where[keep]
    return df


def to_number(df, column, drops, keep, *, reason, low=None, high=None, expected=None):
    """Parse `df[column]` as float; drop rows that are empty, not numbers or out of range.

    Returns `(values, keep)`; `values` is float64 with NaN where dropped.
    """
    raw = df[column].to_numpy(dtype=object)
    values = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if low is not None:
        bad |= values < low
    if high is not None:
        bad |= values > high
    keep = drops.drop(reason, bad, keep, where=df["where"].to_numpy(), values=raw,
                      expected=expected or f"a number in column {column!r}")
    return values, keep


def parse_names(paths, pattern, drops, *, example):
    """Labels from file names: drop (and count) non-images and names `pattern` misses.

    Args:
        paths: Sorted file paths.
        pattern: Regular expression with an `age` group (and others) for the base name.
        drops: The loader's `DropLog`.
        example: A well-formed name, for the error message.

    Returns:
        `(paths, names, parts, keep)`: object arrays of paths and base names, the
        extracted groups (a DataFrame, one row per path) and the mask of kept rows.
    """
    paths = np.array(paths, dtype=object)
    names = pd.Series([os.path.basename(p) for p in paths], dtype=object)
    keep = np.ones(len(paths), dtype=bool)
    image = np.array([is_image_name(n) for n in names], dtype=bool)
    keep = drops.drop("not_an_image", ~image, keep, where=paths, expected="an image file")
    parts = names.str.extract(pattern)
    keep = drops.drop("malformed_name", parts["age"].isna().to_numpy(), keep, where=paths,
                      expected=f"a name like {example}")
    return paths, names, parts, keep
