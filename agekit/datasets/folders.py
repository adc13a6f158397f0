"""Class folders: one folder per label (the VGG16 study's ChaLearn layout, `22/xxx.jpg`).

Columns returned: `path` and one label column. With `column="age"` (default) folder
names must be numbers (`22`, `22.5`) and the label is float64; with any other column
name, such as `column="label"`, the folder name is kept as text.

Dropped and counted in `df.attrs["dropped"]`: files that are not images
(`not_an_image`), images directly in `root` (`outside_class_folder`) and, for ages,
folders whose name is not a number >= 0 (`non_numeric_folder`); `errors="raise"`
raises a `ValueError` naming the first instead.
"""

import os

import numpy as np
import pandas as pd

from agekit.datasets._common import DropLog, existing, is_image_name


def load_image_folders(
    root: str | os.PathLike, *, column: str = "age", errors: str = "drop"
) -> pd.DataFrame:
    """Load `root/{label}/*` images into a DataFrame with `path` and `column`.

    Args:
        root: Folder holding one sub-folder per label (images may sit in nested
            folders below it; the label is the first-level folder).
        column: Name of the label column; `"age"` parses folder names as ages.
        errors: `"drop"` bad entries (counted and logged) or `"raise"` on the first.

    Returns:
        DataFrame sorted by path.

    Example:
        >>> import tempfile
        >>> from agekit.datasets import make_synthetic
        >>> df = load_image_folders(make_synthetic(tempfile.mkdtemp(), 6, format="folders"))
        >>> df["age"].dtype
        dtype('float64')
    """
    root = existing(root, "folder")
    drops = DropLog(root, errors)
    files, labels = [], []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = os.path.relpath(folder, root)
        label = "" if rel == "." else rel.split(os.sep)[0]
        for name in sorted(names):
            if not name.startswith("."):
                files.append(os.path.join(folder, name))
                labels.append(label)
    paths = np.array(files, dtype=object)
    labels = np.array(labels, dtype=object)
    keep = np.ones(len(paths), dtype=bool)
    image = np.array([is_image_name(p) for p in files], dtype=bool)
    keep = drops.drop("not_an_image", ~image, keep, where=paths, expected="an image file")
    keep = drops.drop("outside_class_folder", labels == "", keep, where=paths,
                      expected="images inside a class folder")
    if column == "age":
        values = pd.to_numeric(pd.Series(labels), errors="coerce").to_numpy(dtype=np.float64)
        bad = ~(values >= 0)
        keep = drops.drop("non_numeric_folder", bad, keep, where=paths, values=labels,
                          expected="folder names that are ages (numbers >= 0)")
    else:
        values = labels
    df = pd.DataFrame({"path": paths[keep], column: values[keep]})
    return drops.finish(df.sort_values("path", kind="stable"), "load_image_folders")


__all__ = ["load_image_folders"]
