"""agekit.datasets: on-disk face-age datasets -> one tidy pandas DataFrame each.

Every loader returns a DataFrame with at least `path` (absolute str) and `age` (float64,
years), plus what the format carries:

- `gender`: pandas `Int8`, 0 = male, 1 = female, <NA> unknown (`agekit.labels.GENDER_LABELS`;
  IMDb-WIKI's 1 = male and Adience's `m`/`f`/`u` are converted).
- `ethnicity`: `Int8`, 0-4 = White, Black, Asian, Indian, Others
  (`agekit.labels.ETHNICITY_LABELS`).
- `age_std` (ChaLearn, APPA-REAL), `real_age` (APPA-REAL), `age_group` (Adience group
  index, with `age` its middle), `subject` (person id: IMDb celeb_id, Adience user_id,
  FG-NET subject), `fold` (Adience), `face_box` (`(x1, y1, x2, y2)` in the original
  image), `face_score` (IMDb-WIKI).

`df.attrs["dropped"]` maps each reason rows were dropped for to their count (also logged
on the `agekit.datasets` logger, one line per reason with the first files and lines, and
a summary line), and `df.attrs["incomplete"]` counts kept rows with a missing field.
A missing file or folder raises `FileNotFoundError` naming it; a label file without the
expected columns raises `ValueError` naming the file and the columns; loaders with
`errors="raise"` raise on the first malformed row, naming its file and line.

`load_dataset(format, root)` opens any of them by name (synthetic data when `root` is
`None`). `split` makes leak-free train/validation/test splits; `make_synthetic` writes labelled
synthetic faces in every format, for tests and demos.

Example:
    >>> import tempfile
    >>> from agekit.datasets import load_utkface, make_synthetic, split
    >>> df = load_utkface(make_synthetic(tempfile.mkdtemp(), 20, format="utkface"))
    >>> train, val = split(df, val=0.25)
    >>> len(train) + len(val)
    20
"""

from agekit.datasets.adience import adience_folds, load_adience, parse_adience_ages
from agekit.datasets.chalearn import load_appa_real, load_chalearn
from agekit.datasets.fgnet import load_fgnet, read_pts
from agekit.datasets.folders import load_image_folders
from agekit.datasets.imdb_wiki import CleaningRules, load_imdb_wiki
from agekit.datasets.open import load_dataset, parse_data_spec
from agekit.datasets.splits import (
    leave_one_subject_out,
    split,
    split_counts,
    split_labels,
)
from agekit.datasets.synthetic import FORMATS, make_synthetic
from agekit.datasets.utkface import load_utkface

__all__ = [
    "FORMATS",
    "CleaningRules",
    "adience_folds",
    "leave_one_subject_out",
    "load_adience",
    "load_appa_real",
    "load_chalearn",
    "load_dataset",
    "load_fgnet",
    "load_image_folders",
    "load_imdb_wiki",
    "load_utkface",
    "make_synthetic",
    "parse_adience_ages",
    "parse_data_spec",
    "read_pts",
    "split",
    "split_counts",
    "split_labels",
]
