"""Scores of predictions on arrays, for evaluation (numpy and pandas; no TensorFlow or Keras).

Every function takes the truth first, as scikit-learn does: `(y_true, y_pred)`.
Where swapping the two would still run and give a wrong answer without an error
(`mae_by_group` groups by the true age, `epsilon_error` divides by the spread of the
votes), the arrays are keyword-only.

- `mae(y_true, y_pred)`: mean absolute error in years.
- `epsilon_error(*, mean, std, y_pred)`: the ChaLearn LAP apparent-age error.
- `cumulative_score(y_true, y_pred, threshold=5)`: share of errors <= threshold years.
- `mae_by_group(*, y_true, y_pred, bins="utk7")`: MAE and bias per true age group.
- `classification_summary(y_true, y_pred, labels=None)`: accuracy, macro-F1, per-class
  precision / recall / F1 and the confusion matrix.

Importing this module (or `agekit.mae`, `from agekit.metrics import mae`) loads no
TensorFlow; the Keras metrics live in `agekit.metrics.keras_metrics`. scikit-learn is
imported on the first `classification_summary` (about a second).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from agekit import labels as _labels
from agekit._validation import as_float_array, fail, same_length


def _vector(values, name):
    return np.atleast_1d(np.ravel(as_float_array(values, name)))


def _pair(y_true, y_pred, names=("y_true", "y_pred")):
    """Two flat float arrays of the same, non-zero length."""
    y_true, y_pred = _vector(y_true, names[0]), _vector(y_pred, names[1])
    same_length(**{names[0]: y_true, names[1]: y_pred})
    if len(y_true) == 0:
        fail("at least one sample", names[0], y_true)
    return y_true, y_pred


def mae(y_true, y_pred):
    """Mean absolute error in years.

    Args:
        y_true: True ages.
        y_pred: Predicted ages.

    Returns:
        The MAE, a float.

    Example:
        >>> mae([22, 27], [20, 30])
        2.5
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(np.abs(y_pred - y_true)))


def epsilon_error(*, mean, std, y_pred):
    """ChaLearn LAP apparent-age error: mean of 1 - exp(-(x - mu)^2 / (2 sigma^2)).

    Keyword-only: `mean` and `std` describe the truth (the voters), `y_pred` is x.

    Args:
        mean: Mean apparent age mu of each image (the voters' mean).
        std: Standard deviation sigma of the votes (must be > 0).
        y_pred: Predicted ages x.

    Returns:
        The error averaged over images, in [0, 1]: 0 is perfect.

    Example:
        >>> round(epsilon_error(mean=[20.0], std=[5.0], y_pred=[25.0]), 4)
        0.3935
    """
    mean, y_pred = _pair(mean, y_pred, ("mean", "y_pred"))
    std, _ = _pair(std, y_pred, ("std", "y_pred"))
    if np.any(std <= 0):
        fail("std > 0 for every image", "std", std[std <= 0])
    return float(np.mean(1.0 - np.exp(-((y_pred - mean) ** 2) / (2.0 * std**2))))


def cumulative_score(y_true, y_pred, threshold=5):
    """Share of samples whose absolute error is at most `threshold` years.

    Args:
        y_true: True ages.
        y_pred: Predicted ages.
        threshold: A number of years, or a sequence of them for a CS curve.

    Returns:
        A float, or an array with one score per threshold.

    Example:
        >>> cumulative_score([22, 36, 40], [20, 30, 40], threshold=5)
        0.6666666666666666
    """
    y_true, y_pred = _pair(y_true, y_pred)
    thresholds = as_float_array(threshold, "threshold")
    if np.any(thresholds < 0):
        fail("threshold >= 0", "threshold", threshold)
    errors = np.abs(y_pred - y_true)
    scores = (errors[None, :] <= np.atleast_1d(thresholds)[:, None]).mean(axis=1)
    return float(scores[0]) if thresholds.ndim == 0 else scores


def mae_by_group(*, y_true, y_pred, bins="utk7"):
    """MAE per age group of the true age.

    Keyword-only: grouping by the prediction instead of the truth would run without
    an error and answer another question.

    Args:
        y_true: True ages (they choose the group).
        y_pred: Predicted ages.
        bins: Scheme name, `AgeBins` or edges (see `agekit.labels.get_bins`).

    Returns:
        DataFrame indexed by group label with columns `n`, `mae` and `bias` (mean of
        y_pred - y_true; positive means over-estimation). Empty groups have n=0 and NaN.

    Example:
        >>> mae_by_group(y_true=[4, 35], y_pred=[5, 40], bins="utk4")["mae"].tolist()[:2]
        [1.0, nan]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    scheme = _labels.get_bins(bins)
    group = _labels.bin_ages(y_true, scheme)
    frame = pd.DataFrame({"group": group, "error": y_pred - y_true})
    stats = frame.groupby("group")["error"].agg(
        n="size", mae=lambda e: np.abs(e).mean(), bias="mean"
    )
    stats = stats.reindex(range(len(scheme)))
    stats["n"] = stats["n"].fillna(0).astype(int)
    stats.index = pd.Index(scheme.labels, name="group")
    return stats


@dataclass(frozen=True)
class ClassificationSummary:
    """Accuracy, macro-F1, per-class scores and confusion matrix of a classifier."""

    accuracy: float
    macro_f1: float
    per_class: pd.DataFrame
    confusion: pd.DataFrame

    def __str__(self):
        return (
            f"accuracy {self.accuracy:.4f}, macro-F1 {self.macro_f1:.4f}\n"
            f"{self.per_class.round(4).to_string()}"
        )


def _class_indices(y_true, y_pred):
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2:
        y_pred = as_float_array(y_pred, "y_pred").argmax(axis=1)
    y_true, y_pred = _pair(y_true, y_pred)
    if np.any(y_true != np.round(y_true)) or np.any(y_pred != np.round(y_pred)):
        fail("integer class indices", "y_true/y_pred", np.concatenate([y_true, y_pred]))
    return y_true.astype(np.int64), y_pred.astype(np.int64)


def classification_summary(y_true, y_pred, labels=None):
    """Accuracy, macro-F1, per-class precision / recall / F1 and the confusion matrix.

    The scores are scikit-learn's (`confusion_matrix`, `precision_recall_fscore_support`
    with `zero_division=0`); agekit adds the checks, the class names and the tables.

    Args:
        y_true: Class indices.
        y_pred: Class indices, or `(n, k)` scores / probabilities (argmax is taken).
        labels: Class names for indices 0..k-1 (such as `agekit.labels.bin_labels("utk7")`
            or a scheme name). Without it the classes are the sorted values seen.

    Returns:
        `ClassificationSummary`. Macro-F1 averages the F1 of every class that occurs in
        `y_true` or `y_pred` (scikit-learn's `average="macro"`); a class never predicted
        has precision 0.

    Example:
        >>> s = classification_summary([0, 1, 1], [0, 1, 0], labels=["young", "old"])
        >>> round(s.macro_f1, 4), int(s.confusion.loc["old", "young"])
        (0.6667, 1)
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y_true, y_pred = _class_indices(y_true, y_pred)
    if isinstance(labels, str):
        labels = _labels.bin_labels(labels)
    if labels is None:
        classes = np.unique(np.concatenate([y_true, y_pred]))
        names = [str(c) for c in classes]
    else:
        names = [str(n) for n in labels]
        classes = np.arange(len(names))
        unknown = np.setdiff1d(np.concatenate([y_true, y_pred]), classes)
        if len(unknown):
            fail(f"class indices in [0, {len(names) - 1}] for {len(names)} labels",
                 "indices", unknown)
    confusion = confusion_matrix(y_true, y_pred, labels=classes)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=classes, zero_division=0
    )
    seen = (confusion.sum(axis=1) > 0) | (confusion.sum(axis=0) > 0)
    per_class = pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "support": support},
        index=pd.Index(names, name="class"),
    )
    return ClassificationSummary(
        accuracy=float(np.mean(y_true == y_pred)),
        macro_f1=float(f1[seen].mean()),
        per_class=per_class,
        confusion=pd.DataFrame(
            confusion,
            index=pd.Index(names, name="true"),
            columns=pd.Index(names, name="predicted"),
        ),
    )


__all__ = [
    "ClassificationSummary",
    "classification_summary",
    "cumulative_score",
    "epsilon_error",
    "mae",
    "mae_by_group",
]
