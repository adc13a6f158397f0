"""One entry point for every format: `load_dataset("utkface", root)`, synthetic when no root.

The notebooks, `agekit quickstart --data utkface:PATH` and `agekit train` all name a
dataset the same way, a format and a root, and fall back on `make_synthetic` when no root
is given. Formats split into several files (ChaLearn, APPA-REAL) come back as one
DataFrame with a `split` column; Adience keeps its `fold` column.
"""

import logging
import os
import tempfile
from pathlib import Path

import pandas as pd

from agekit.datasets.adience import load_adience
from agekit.datasets.chalearn import load_appa_real, load_chalearn
from agekit.datasets.fgnet import load_fgnet
from agekit.datasets.folders import load_image_folders
from agekit.datasets.imdb_wiki import load_imdb_wiki
from agekit.datasets.synthetic import FORMATS, make_synthetic
from agekit.datasets.utkface import load_utkface
from agekit.errors import InvalidValueError, MissingFileError

logger = logging.getLogger("agekit.datasets")

SPLITS = ("train", "valid", "test")


def _load_splits(loader):
    def load(root, **kwargs):
        frames = []
        for name in SPLITS:
            if not _has_split(Path(root), name):
                continue
            frame = loader(root, name, **kwargs)
            frames.append(frame.assign(split=name))
        if not frames:
            raise MissingFileError(f"Expected `*{SPLITS[0]}*.csv` label files in the folder. "
                                   f"Received: root={str(root)!r}")
        df = pd.concat(frames, ignore_index=True)
        df.attrs["dropped"] = _sum_counts(f.attrs.get("dropped", {}) for f in frames)
        df.attrs["incomplete"] = _sum_counts(f.attrs.get("incomplete", {}) for f in frames)
        return df
    return load


def _has_split(root, name):
    return any(root.glob(f"*{name}*.csv"))


def _sum_counts(dicts):
    total = {}
    for counts in dicts:
        for key, value in counts.items():
            total[key] = total.get(key, 0) + value
    return total


def _load_imdb_wiki(root, **kwargs):
    root = Path(root)
    if root.is_dir():
        mats = sorted(root.rglob("*.mat"))
        if len(mats) != 1:
            raise MissingFileError(f"Expected one `.mat` file under the folder (or the `.mat` "
                                   f"path itself); found {len(mats)}. Received: root={str(root)!r}")
        root = mats[0]
    return load_imdb_wiki(root, **kwargs)


LOADERS = {
    "utkface": load_utkface,
    "imdb_wiki": _load_imdb_wiki,
    "chalearn": _load_splits(load_chalearn),
    "appa_real": _load_splits(load_appa_real),
    "adience": load_adience,
    "fgnet": load_fgnet,
    "folders": load_image_folders,
}
assert set(LOADERS) == set(FORMATS)


def parse_data_spec(spec: str) -> tuple[str, str | None]:
    """Split a `FORMAT[:ROOT]` string, as the command line takes it, into its two parts.

    Args:
        spec: `"utkface:/data/UTKFace"`, or a bare format such as `"adience"` (synthetic).

    Returns:
        `(format, root)`, with `root` `None` when the spec names no folder.

    Example:
        >>> parse_data_spec("utkface:/data/UTKFace")
        ('utkface', '/data/UTKFace')
    """
    if not isinstance(spec, str) or not spec:
        raise InvalidValueError(f"Expected FORMAT or FORMAT:PATH, e.g. 'utkface:/data/UTKFace'. "
                                f"Received: spec={spec!r}")
    format, _, root = spec.partition(":")
    return format, (root or None)


def load_dataset(
    format: str,
    root: str | os.PathLike | None = None,
    *,
    n: int = 400,
    seed: int = 0,
    image_size: int = 64,
    synthetic_dir: str | os.PathLike | None = None,
    **loader_kwargs,
) -> pd.DataFrame:
    """Load a dataset by format name, or make a synthetic one in that format.

    Args:
        format: One of `agekit.datasets.FORMATS` (`"utkface"`, `"imdb_wiki"`,
            `"chalearn"`, `"appa_real"`, `"adience"`, `"fgnet"`, `"folders"`).
        root: What the format's loader takes (a folder; for IMDb-WIKI the `.mat` file or
            a folder holding one). `None` writes `n` synthetic faces in that format
            with `make_synthetic` and loads them.
        n: Number of synthetic faces (only when `root` is `None`).
        seed: Seed of the synthetic data.
        image_size: Side of the synthetic images.
        synthetic_dir: Where to write synthetic data; a new temporary folder by default.
        **loader_kwargs: Passed on to the format's loader (e.g. `rules="yu4u"`).

    Returns:
        The loader's DataFrame (`path`, `age`, ...); ChaLearn and APPA-REAL have all their
        splits with a `split` column. `df.attrs["format"]` names the format and
        `df.attrs["synthetic"]` says whether the data was made on the spot.

    Example:
        >>> df = load_dataset("chalearn", n=30)
        >>> sorted(df["split"].unique())
        ['test', 'train', 'valid']
    """
    if format not in LOADERS:
        raise InvalidValueError(f"Unknown dataset format. Expected one of {FORMATS}. "
                                f"Received: format={format!r}")
    synthetic = root is None
    if synthetic:
        out_dir = synthetic_dir or tempfile.mkdtemp(prefix=f"agekit-{format}-")
        root = make_synthetic(out_dir, n, format=format, seed=seed, image_size=image_size)
    elif not Path(root).expanduser().exists():
        raise MissingFileError(f"Expected an existing folder or file for the {format} data. "
                               f"Received: root={str(root)!r}")
    df = LOADERS[format](root, **loader_kwargs)
    df.attrs["format"] = format
    df.attrs["synthetic"] = synthetic
    logger.info("load_dataset: %d %s rows from %s%s", len(df), format, root,
                " (synthetic)" if synthetic else "")
    return df
