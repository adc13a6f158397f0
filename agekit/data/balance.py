"""Class balance: loss weights per class, and balanced resampling of rows.

Two remedies for skewed labels (UTKFace has few children and old people):

- `class_weights(labels)`: weight per class for the loss, scikit-learn's
  "balanced" rule `n_samples / (n_classes * count(class))` (`compute_class_weight`).
- `balanced_groups(df, by)` + `make_dataset(..., balance=by)`: resample so that every
  class is drawn equally often, the UTKFace study's weighted random sampler (each row
  is drawn with probability proportional to 1 / its class size, with replacement).
"""

import logging

import numpy as np
import pandas as pd

from agekit._validation import fail
from agekit.errors import InvalidValueError
from agekit.labels import bin_ages

logger = logging.getLogger("agekit.data")


def class_weights(labels, *, classes=None) -> dict:
    """Loss weight per class, `n_samples / (n_classes * count)` (sklearn "balanced").

    Missing labels (NaN, None, <NA>) are ignored.

    Args:
        labels: 1-D array-like of class labels (ints or strings), or a pandas Series.
        classes: The classes to weigh; defaults to the sorted labels present. A class
            listed here but absent from `labels` raises a `ValueError` (its weight would
            be infinite).

    Returns:
        Dict class -> float weight, ready for `model.fit(class_weight=...)`.

    Example:
        >>> class_weights([0, 0, 0, 1])
        {0: 0.6666666666666666, 1: 2.0}
    """
    series = pd.Series(np.asarray(labels, dtype=object) if not isinstance(labels, pd.Series) else labels)
    series = series[series.notna()]
    if series.empty:
        fail("at least one non-missing label", "labels", list(labels))
    counts = series.value_counts()
    if classes is None:
        classes = sorted(counts.index.tolist())
    classes = list(classes)
    missing = [c for c in classes if c not in counts.index]
    if missing:
        fail("every class in `classes` to occur in labels", "absent classes", missing)
    unknown = [c for c in counts.index if c not in classes]
    if unknown:
        fail("labels that are all listed in `classes`", "unlisted labels", unknown)
    from sklearn.utils.class_weight import compute_class_weight

    order = np.arange(len(classes))  # sklearn wants sortable labels: weigh class positions
    position = {c: i for i, c in enumerate(classes)}
    weights = compute_class_weight("balanced", classes=order,
                                   y=np.array([position[c] for c in series]))
    return {_plain(c): float(w) for c, w in zip(classes, weights)}


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def balanced_groups(df: pd.DataFrame, by: str) -> tuple:
    """The class of each row for balanced resampling, and which rows have one.

    Args:
        df: DataFrame of the dataset.
        by: A column name (`"gender"`, `"ethnicity"`, `"age_group"`, ...) or
            `"bins:<scheme>"` to group the `age` column by an age-bin scheme.

    Returns:
        `(groups, known)`: int64 group codes `0..k-1` per row (-1 where unknown) and
        the boolean mask of rows with a known group.

    Example:
        >>> balanced_groups(pd.DataFrame({"age": [1.0, 50.0]}), "bins:utk4")[0].tolist()
        [0, 2]
    """
    if not isinstance(by, str):
        fail('a column name or "bins:<scheme>"', "balance", by, error=TypeError)
    if by.startswith("bins:"):
        if "age" not in df.columns:
            fail("an `age` column to balance by age bins", "columns", list(df.columns))
        ages = df["age"].to_numpy(dtype=np.float64, na_value=np.nan)
        known = np.isfinite(ages)
        groups = np.full(len(df), -1, dtype=np.int64)
        groups[known] = bin_ages(ages[known], by[len("bins:") :])
    else:
        if by not in df.columns:
            raise InvalidValueError(
                f"Expected a column to balance by, or \"bins:<scheme>\". "
                f"Received: balance={by!r}, columns={list(df.columns)}"
            )
        codes, _ = pd.factorize(df[by], sort=True, use_na_sentinel=True)
        groups = codes.astype(np.int64)
        known = groups >= 0
    if not known.all():
        logger.warning(
            "balance=%r: %d row(s) without a %s label are left out of the balanced stream",
            by, int((~known).sum()), by,
        )  # fmt: skip
    if known.sum() == 0:
        fail(f"rows with a known {by!r} to balance by", "balance", by)
    return groups, known
