"""FG-NET: 1,002 images of 82 subjects, labels in the file name, 68-point landmarks.

Images are named `{subject:03d}A{age:02d}{suffix}.JPG` (`001A02.JPG`: subject 1 at age
2; a letter suffix tells apart photos at the same age, `010A07a.JPG`), in `images/` or
directly in `root`. Landmarks are `.pts` files (`points/001a02.pts`, any case) in the
usual format (`version: 1`, `n_points: 68`, then `{ x y ... }`).

Columns returned: `path`, `age` (float64), `subject` (int64), `landmarks_path` (the
`.pts` file, or None when there is none). The evaluation protocol is leave one person
out: `leave_one_subject_out(df)` in `agekit.datasets.splits`.

Files that are not images are skipped and counted (`not_an_image`), image names that do
not parse are dropped and counted (`malformed_name`); `errors="raise"` raises instead.
"""

import os
from pathlib import Path

import numpy as np
import pandas as pd

from agekit.datasets._common import DropLog, existing, parse_names
from agekit.errors import InvalidValueError

NAME_PATTERN = r"^(?P<subject>\d{3})[Aa](?P<age>\d{2})(?P<suffix>[A-Za-z]?)\.[A-Za-z]+$"


def read_pts(path: str | os.PathLike) -> np.ndarray:
    """Read a `.pts` landmark file into a float64 array of shape `(n_points, 2)`.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.pts"
        >>> _ = p.write_text("version: 1\\nn_points: 2\\n{\\n1 2\\n3.5 4\\n}\\n")
        >>> read_pts(p).tolist()
        [[1.0, 2.0], [3.5, 4.0]]
    """
    path = existing(path, "path")
    text = path.read_text(encoding="latin-1")
    header, brace, rest = text.partition("{")
    body, end, _ = rest.partition("}")
    count = None
    for line in header.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "n_points":
            count = int(value)
    try:
        points = np.array([float(v) for v in body.split()], dtype=np.float64).reshape(-1, 2)
    except ValueError:
        points = None
    if not brace or not end or count is None or points is None or len(points) != count:
        raise InvalidValueError(
            f"Expected a .pts file with 'n_points: N' and N 'x y' lines between braces. "
            f"Received: path={str(path)!r}"
        )
    return points


def load_fgnet(root: str | os.PathLike, *, errors: str = "drop") -> pd.DataFrame:
    """Load FG-NET image paths, subjects and ages (see module docstring).

    Args:
        root: Folder holding `images/` (and `points/`), or the images themselves.
        errors: `"drop"` bad names (counted and logged) or `"raise"` on the first.

    Returns:
        DataFrame with `path`, `age`, `subject`, `landmarks_path`, sorted by path.

    Example:
        >>> import tempfile
        >>> from agekit.datasets import make_synthetic
        >>> df = load_fgnet(make_synthetic(tempfile.mkdtemp(), 24, format="fgnet"))
        >>> int(df["subject"].nunique())
        2
    """
    root = existing(root, "folder")
    folder = root / "images" if (root / "images").is_dir() else root
    drops = DropLog(folder, errors)
    points = {}
    for place in (root / "points", root):
        if place.is_dir():
            for entry in os.scandir(place):
                if entry.name.lower().endswith(".pts"):
                    points.setdefault(entry.name[:-4].lower(), entry.path)
    files = sorted(e.path for e in os.scandir(folder)
                   if e.is_file() and not e.name.startswith("."))
    files = [f for f in files if not f.lower().endswith(".pts")]
    paths, names, parts, keep = parse_names(files, NAME_PATTERN, drops, example="001A02.JPG")
    stems = [Path(n).stem.lower() for n in names[keep]]
    df = pd.DataFrame({
        "path": paths[keep],
        "age": pd.to_numeric(parts["age"][keep]).to_numpy(dtype=np.float64),
        "subject": pd.to_numeric(parts["subject"][keep]).to_numpy(dtype=np.int64),
        "landmarks_path": pd.Series([points.get(s) for s in stems], dtype=object),
    })
    drops.note_incomplete("missing_landmarks", int(df["landmarks_path"].isna().sum()))
    return drops.finish(df, "load_fgnet")


__all__ = ["load_fgnet", "read_pts"]
