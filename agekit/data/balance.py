"""Class balance: loss weights per class or age, and balanced resampling of rows.

Three remedies for skewed labels (UTKFace has few children and old people):

- `class_weights(labels)`: weight per class for the loss, scikit-learn's
  "balanced" rule `n_samples / (n_classes * count(class))` (`compute_class_weight`).
- `balanced_groups(df, by)` + `make_dataset(..., balance=by)`: resample so that every
  class is drawn equally often, the UTKFace study's weighted random sampler (each row
  is drawn with probability proportional to 1 / its class size, with replacement).
- `age_weights(ages)` + `weight_by_age(ds, weights)`: a loss weight per DEX age class
  from the smoothed age histogram, added to the batches as sample weights.
"""

import logging

import numpy as np
import pandas as pd

from agekit._validation import as_ages, fail
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


def age_weights(ages, *, power=0.5, bandwidth=3.0, num_classes=101, max_weight=5.0):
    """Loss weight per DEX age class: rare ages count more (inverse frequency ** power).

    The age histogram of the training rows is smoothed with a Gaussian of `bandwidth`
    years (so a rare single year does not get a huge weight), each class gets
    `density ** -power`, weights are capped at `max_weight` times the smallest, and
    scaled so the mean weight over `ages` is 1 (the loss keeps its scale).
    `power=0` gives all ones; `power=1` fully inverts the frequencies.

    Args:
        ages: Training ages in years (1-D array-like); ages above the last class count
            as the last class.
        power: Exponent of the inverse frequency, in [0, 1].
        bandwidth: Standard deviation, in years, of the histogram smoothing (> 0).
        num_classes: DEX classes (ages 0..num_classes-1).
        max_weight: Largest weight as a multiple of the smallest (>= 1).

    Returns:
        float32 array `(num_classes,)`: the weight of each age class.

    Example:
        >>> w = age_weights([20.0] * 9 + [80.0], power=1.0)
        >>> bool(w[80] > w[20])
        True
    """
    ages = as_ages(ages)
    if ages.size == 0:
        fail("at least one training age", "ages", ages)
    if not 0 <= power <= 1:
        fail("power in [0, 1]", "power", power)
    if not bandwidth > 0:
        fail("bandwidth > 0 (years)", "bandwidth", bandwidth)
    if not max_weight >= 1:
        fail("max_weight >= 1", "max_weight", max_weight)
    classes = np.arange(int(num_classes), dtype=np.float64)
    counts = np.bincount(np.minimum(np.rint(ages), num_classes - 1).astype(np.int64),
                         minlength=int(num_classes)).astype(np.float64)
    kernel = np.exp(-0.5 * ((classes[:, None] - classes[None, :]) / bandwidth) ** 2)
    density = kernel @ counts
    density = np.maximum(density / density.max(), 1e-12)
    weights = density ** -float(power)
    weights = np.minimum(weights, weights.min() * max_weight)
    rows = np.minimum(np.rint(ages), num_classes - 1).astype(np.int64)
    return (weights / weights[rows].mean()).astype(np.float32)


def weight_by_age(ds, weights, *, output="age"):
    """Add per-image loss weights from `age_weights` to a batched dataset.

    Each image's weight is its target distribution times `weights` (for a one-hot
    target, the weight of its age; for a label distribution, the average over the
    neighbouring ages). With a dict target only `output`'s loss is weighted; sample
    weights already present (0 for a missing label) are multiplied.

    Args:
        ds: Batched `(images, y)` or `(images, y, sample_weight)` dataset with a `dex`
            target (as `make_dataset(target="dex")` or `{"age": "dex", ...}` yields).
        weights: `(num_classes,)` array, such as `age_weights(train["age"])`.
        output: The weighted output when `y` is a dict.

    Returns:
        A dataset of `(images, y, sample_weight)`.

    Example:
        >>> train = weight_by_age(train_ds, age_weights(train_df["age"], power=0.5))  # doctest: +SKIP
    """
    import tensorflow as tf

    spec = ds.element_spec
    if not isinstance(spec, tuple) or len(spec) not in (2, 3):
        fail("a dataset of (images, y[, sample_weight]) batches", "element_spec", str(spec),
             error=TypeError)
    target = spec[1][output] if isinstance(spec[1], dict) and output in spec[1] else spec[1]
    if isinstance(target, dict):
        fail(f"one of the targets {sorted(target)}", "output", output)
    table = np.asarray(weights, dtype=np.float32).reshape(-1)
    if len(target.shape) != 2 or target.shape[-1] != table.size:
        fail(f"a dex target with {table.size} classes, shape (batch, {table.size})",
             "target spec", str(target))
    table = tf.constant(table)

    def add(images, y, sample_weight=None):
        age = y[output] if isinstance(y, dict) else y
        w = tf.linalg.matvec(tf.cast(age, tf.float32), table)
        if isinstance(y, dict):
            base = sample_weight if sample_weight is not None else {
                name: tf.ones_like(w) for name in y}
            return images, y, {**base, output: base[output] * w}
        return images, y, w if sample_weight is None else sample_weight * w

    return ds.map(add, num_parallel_calls=tf.data.AUTOTUNE)
