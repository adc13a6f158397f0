"""Training targets for every head, encoded up-front with numpy (vectorised).

A target spec names what a model output learns from a DataFrame row:

- `"dex"`: 101 one-year classes. One-hot, or a Gaussian label distribution when a
  sigma is known: `sigma="auto"` (default) uses the per-image `age_std` column of
  ChaLearn / APPA-REAL when present (rows whose std is missing stay one-hot, stds
  below `MIN_SIGMA` are raised to it), a number uses that sigma for every image.
- `"regression"`: the age in years, float32.
- `"coral"`: CORAL levels, `num_classes - 1` binary values; rank = the completed year
  (`floor(age)`, the convention of `agekit.labels`).
- `"bins:<scheme>"`: the index of the age group (`"bins:utk7"`, `"bins:adience"`, ...);
  plain `"bins"` reads an existing `age_group` column.
- `"gender"`, `"ethnicity"`: integer class labels; rows where the label is <NA> get
  sample weight 0, so a missing label never trains the head.
- A dict `{"age": "dex", "gender": "gender"}` for multi-output models: one target
  (and one sample-weight vector) per output name.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from agekit._validation import fail
from agekit.errors import InvalidValueError
from agekit.labels import bin_ages, encode_coral, encode_dex

MIN_SIGMA = 0.5
CLASS_COLUMNS = {"gender": 2, "ethnicity": 5}
TARGETS = ("dex", "regression", "coral", "bins", "bins:<scheme>", "gender", "ethnicity")


@dataclass(frozen=True)
class Targets:
    """Encoded targets: `y` and `sample_weight` (arrays, or dicts of arrays), or None."""

    y: object
    sample_weight: object


def _column(df, name, spec):
    if name not in df.columns:
        raise InvalidValueError(
            f"Expected a `{name}` column for target {spec!r}. "
            f"Received: columns={list(df.columns)}"
        )
    return df[name]


def _ages(df, spec, *, num_classes, clip_ages):
    ages = _column(df, "age", spec).to_numpy(dtype=np.float64, na_value=np.nan)
    if np.any(~np.isfinite(ages)):
        fail(f"an age on every row for target {spec!r}", "missing ages", int(np.sum(~np.isfinite(ages))))
    if num_classes is not None and np.any(ages > num_classes - 1):
        if not clip_ages:
            above = ages[ages > num_classes - 1]
            shown = ", ".join(f"{age:g}" for age in np.unique(above)[:10])
            raise InvalidValueError(
                f"Expected ages in [0, {num_classes - 1}] for target {spec!r} with num_classes="
                f"{num_classes} (pass clip_ages=True to count them as {num_classes - 1}, or a "
                f"larger num_classes). Received: {len(above)} of {len(ages)} rows with ages "
                f"above {num_classes - 1}: {shown}{', ...' if np.unique(above).size > 10 else ''}"
            )
        ages = np.minimum(ages, num_classes - 1)
    return ages


def _labels(df, name, spec, num_classes):
    values = _column(df, name, spec)
    missing = values.isna().to_numpy()
    labels = values.to_numpy(dtype=np.float64, na_value=0.0)
    bad = (labels != np.round(labels)) | (labels < 0) | (labels >= num_classes)
    if np.any(bad & ~missing):
        fail(f"integer `{name}` labels in [0, {num_classes - 1}] or <NA>", name, labels[bad & ~missing])
    return labels.astype(np.int32), (~missing).astype(np.float32)


def _dex_sigma(df, sigma):
    if sigma is None:
        return None
    if isinstance(sigma, str):
        if sigma != "auto":
            fail('sigma to be "auto", None or a positive number', "sigma", sigma)
        if "age_std" not in df.columns:
            return None
        std = df["age_std"].to_numpy(dtype=np.float64, na_value=np.nan)
        return np.maximum(std, MIN_SIGMA)  # NaN stays NaN: one-hot for that row
    return float(sigma)


def encode_target(
    df: pd.DataFrame, spec: str, *, num_classes: int = 101, sigma="auto", clip_ages: bool = False
) -> tuple:
    """Encode one target spec over the rows of `df` -> `(y, sample_weight or None)`.

    Args:
        df: DataFrame with `age` and, depending on `spec`, `age_std`, `gender`,
            `ethnicity` or `age_group`.
        spec: `"dex"`, `"regression"`, `"coral"`, `"bins"`, `"bins:<scheme>"`,
            `"gender"` or `"ethnicity"`.
        num_classes: Classes of the `dex` and `coral` heads (101 covers 0..100).
        sigma: `"auto"`, None (one-hot) or a number, for `dex`.
        clip_ages: Map ages above the last class to it (`dex`, `coral`) instead of
            raising.

    Returns:
        `y` (float32 or int32 array) and a float32 sample-weight array, or None when
        every row has its label.

    Example:
        >>> df = pd.DataFrame({"age": [3.0, 40.0], "gender": pd.array([1, None], "Int64")})
        >>> y, w = encode_target(df, "gender")
        >>> y.tolist(), w.tolist()
        ([1, 0], [1.0, 0.0])
    """
    if not isinstance(spec, str):
        fail(f"a target name among {TARGETS} or a dict of them", "target", spec, error=TypeError)
    if spec == "dex":
        ages = _ages(df, spec, num_classes=num_classes, clip_ages=clip_ages)
        sig = _dex_sigma(df, sigma)
        if sig is None or np.ndim(sig) == 0:
            return encode_dex(ages, num_classes, sig), None
        y = encode_dex(ages, num_classes)  # one-hot where std is unknown
        has_std = np.isfinite(sig)
        if np.any(has_std):
            y[has_std] = encode_dex(ages[has_std], num_classes, sig[has_std])
        return y, None
    if spec == "regression":
        return _ages(df, spec, num_classes=None, clip_ages=False).astype(np.float32), None
    if spec == "coral":
        ages = _ages(df, spec, num_classes=num_classes, clip_ages=clip_ages)
        return encode_coral(np.floor(ages), num_classes), None
    if spec == "bins":
        labels, weight = _labels(df, "age_group", spec, np.iinfo(np.int32).max)
        return labels, None if weight.all() else weight
    if spec.startswith("bins:"):
        ages = _ages(df, spec, num_classes=None, clip_ages=False)
        return bin_ages(ages, spec[len("bins:") :]).astype(np.int32), None
    if spec in CLASS_COLUMNS:
        labels, weight = _labels(df, spec, spec, CLASS_COLUMNS[spec])
        return labels, None if weight.all() else weight
    fail(f"a target among {TARGETS} or a dict of them", "target", spec)


def encode_targets(
    df: pd.DataFrame, target, *, num_classes: int = 101, sigma="auto", clip_ages: bool = False
) -> Targets:
    """Encode a target spec, or a dict of them for a multi-output model.

    For a dict, `sample_weight` is a dict with one float32 vector per output (ones
    where the label is present, zeros where it is <NA>), or None when no label is
    missing anywhere.

    Returns:
        `Targets(y, sample_weight)`.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"age": [25.0, 40.0], "gender": pd.array([0, None], dtype="Int64")})
        >>> t = encode_targets(df, {"age": "regression", "gender": "gender"})
        >>> sorted(t.y), t.sample_weight["gender"].tolist()  # the unknown gender weighs 0
        (['age', 'gender'], [1.0, 0.0])
    """
    options = {"num_classes": num_classes, "sigma": sigma, "clip_ages": clip_ages}
    if target is None:
        return Targets(None, None)
    if isinstance(target, dict):
        if not target:
            fail("a non-empty dict of output name -> target", "target", target)
        encoded = {name: encode_target(df, spec, **options) for name, spec in target.items()}
        y = {name: value for name, (value, _) in encoded.items()}
        if all(weight is None for _, weight in encoded.values()):
            return Targets(y, None)
        weights = {
            name: np.ones(len(df), np.float32) if weight is None else weight
            for name, (_, weight) in encoded.items()
        }
        return Targets(y, weights)
    return Targets(*encode_target(df, target, **options))
