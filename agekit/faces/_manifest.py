"""The manifest CSV of `prepare_dataset`: one row per finished source image.

Rows are appended and flushed as images finish, so a killed job keeps every finished
row; a row torn by the kill (the last line) is dropped when the job resumes.
"""

import csv
import io
import json
import math
import os
import time
from pathlib import Path

import pandas as pd

COLUMNS = ("path", "status", "left", "top", "right", "bottom", "score", "n_faces", "output", "error")
STATUSES = ("ok", "no_face", "several_faces", "unreadable", "missing", "error")
# Rows with these statuses are done: a resumed job skips them. `error` (an unexpected
# failure, e.g. a full disk) is retried.
FINAL = frozenset(STATUSES) - {"error"}


def manifest_name(shard: tuple[int, int]) -> str:
    index, count = shard
    return "manifest.csv" if count == 1 else f"manifest-{index:04d}-of-{count:04d}.csv"


def read_rows(path: Path) -> list[dict]:
    """The complete, well-formed rows of a manifest file (a torn last line is dropped)."""
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        text = handle.read()
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    rows = []
    for row in csv.DictReader(io.StringIO(text, newline="")):
        if None in row or any(row.get(c) is None for c in COLUMNS) or row["status"] not in STATUSES:
            continue
        rows.append(row)
    return rows


class ManifestWriter:
    """Appends rows to a manifest: flushed per row, fsynced at most every `sync_every` s."""

    def __init__(self, path: Path, rows: list[dict], *, sync_every: float = 1.0):
        # Rewrite the kept rows (drops a torn line), atomically, then append to it.
        temp = path.with_name(f".{path.name}.tmp")
        with open(temp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows({c: row.get(c, "") for c in COLUMNS} for row in rows)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
        self._handle = open(path, "a", newline="", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self._writer = csv.DictWriter(self._handle, fieldnames=COLUMNS, lineterminator="\n")
        self._sync_every = sync_every
        self._last_sync = time.monotonic()

    def write(self, row: dict) -> None:
        self._writer.writerow({c: _cell(row.get(c)) for c in COLUMNS})
        self._handle.flush()
        if time.monotonic() - self._last_sync >= self._sync_every:
            os.fsync(self._handle.fileno())
            self._last_sync = time.monotonic()

    def close(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()


def _cell(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def to_frame(rows: list[dict], out_dir: Path) -> pd.DataFrame:
    """Manifest rows as a typed DataFrame, with `output` made absolute."""
    frame = pd.DataFrame([{c: row.get(c, "") for c in COLUMNS} for row in rows], columns=list(COLUMNS))
    for column in ("left", "top", "right", "bottom", "score"):
        frame[column] = pd.to_numeric(frame[column].replace("", None), errors="coerce").astype(float)
    frame["n_faces"] = pd.to_numeric(frame["n_faces"].replace("", None), errors="coerce").astype("Int64")
    frame["output"] = [str(out_dir / o) if isinstance(o, str) and o else None for o in frame["output"]]
    frame["error"] = [e if isinstance(e, str) and e else None for e in frame["error"]]
    return frame


def read_manifest(out_dir: str | os.PathLike) -> pd.DataFrame:
    """Every manifest of a prepared folder (all shards) as one DataFrame.

    Args:
        out_dir: the `out_dir` given to `prepare_dataset`.

    Returns:
        One row per source image (the last row wins if a path was written twice) with
        columns `path` (source), `status`, `left`, `top`, `right`, `bottom`, `score`,
        `n_faces`, `output` (absolute path of the crop, for `ok` rows) and `error`.
        `attrs["crop"]` holds the crops' `CropSpec.to_dict()` (from `settings.json`;
        None for a folder prepared before it was recorded).

    Example:

    >>> import tempfile
    >>> read_manifest(tempfile.mkdtemp()).columns.tolist()[:2]
    ['path', 'status']
    """
    out_dir = Path(out_dir)
    rows: dict[str, dict] = {}
    for path in sorted(out_dir.glob("manifest*.csv")):
        for row in read_rows(path):
            rows[row["path"]] = row
    frame = to_frame(list(rows.values()), out_dir)
    settings = out_dir / "settings.json"
    frame.attrs["crop"] = json.loads(settings.read_text()).get("crop") if settings.is_file() else None
    return frame
