"""How agekit judges a model: Keras metrics for training and functions for evaluation.

Keras metrics (written with `keras.ops`, so they run under TensorFlow, JAX and PyTorch;
registered for `.keras` files under the package name "agekit"):

- `ExpectedAgeMAE`: DEX. Softmax over ages -> expected age sum(p * age) -> |error|.
- `CoralMAE`: CORAL. Predicted rank = number of binary tasks with p > 0.5.
- `BinnedAccuracy`: the share of samples whose predicted age falls in the true age's
  group (Adience, UTK7, ...), for any head.
- `MacroF1`: macro-averaged F1 of a class head (age bins, gender, ethnicity).

All are stateful: the value after an epoch is computed over every sample of the epoch
(weighted by `sample_weight`), never as a mean of batch means.

Plain functions on arrays for evaluation: `mae`, `epsilon_error` (ChaLearn LAP),
`cumulative_score`, `mae_by_group`, `classification_summary`.

Labels accepted by the metrics: a *distribution* over the classes (one-hot, or a
Gaussian label distribution; the true age is its expected value), or *sparse* labels,
which are ages in years (with the default DEX grid 0..100 the integer class k is age k).
"""

from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd
from keras import ops

from agekit import labels as _labels
from agekit._validation import as_float_array, fail, same_length

HEADS = ("dex", "regression", "coral", "bins")


# ---------------------------------------------------------------------------- helpers


def _static_check(y_true, y_pred, *, what):
    """Raise a ValueError when the (static) batch sizes of y_true and y_pred differ."""
    true_n, pred_n = tuple(y_true.shape)[:1], tuple(y_pred.shape)[:1]
    if true_n and pred_n and None not in (true_n[0], pred_n[0]) and true_n != pred_n:
        raise ValueError(
            f"Expected y_true and y_pred with the same batch size for {what}. "
            f"Received: y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}"
        )


def _is_distribution(y_true, num_classes):
    """Whether y_true is a (batch, num_classes) distribution rather than sparse ages."""
    shape = tuple(y_true.shape)
    return len(shape) >= 2 and shape[-1] == num_classes and num_classes > 1


def _sparse(y_true, what):
    shape = tuple(y_true.shape)
    if len(shape) >= 2 and shape[-1] not in (1, None):
        raise ValueError(
            f"Expected y_true as sparse ages of shape (batch,) or (batch, 1), or as a "
            f"distribution over the {what} classes. Received: y_true.shape={shape}"
        )
    return ops.reshape(ops.cast(y_true, "float32"), (-1,))


def _dex_pred_age(y_pred, ages, from_logits):
    """Expected age of each row of y_pred; rows are normalised to sum to one."""
    y_pred = ops.cast(y_pred, "float32")
    probs = ops.softmax(y_pred, axis=-1) if from_logits else y_pred
    probs = probs / ops.maximum(ops.sum(probs, axis=-1, keepdims=True), 1e-12)
    return ops.sum(probs * ages, axis=-1)


def _dex_true_age(y_true, ages, num_classes):
    if _is_distribution(y_true, num_classes):
        dist = ops.cast(y_true, "float32")
        dist = dist / ops.maximum(ops.sum(dist, axis=-1, keepdims=True), 1e-12)
        return ops.sum(dist * ages, axis=-1)
    return _sparse(y_true, "DEX")


def _ages_tensor(ages, y_pred, name):
    num_classes = tuple(y_pred.shape)[-1]
    if ages is None:
        return ops.arange(num_classes, dtype="float32"), num_classes
    if num_classes is not None and num_classes != len(ages):
        raise ValueError(
            f"Expected y_pred with one column per age ({len(ages)}) for {name}. "
            f"Received: y_pred.shape={tuple(y_pred.shape)}"
        )
    return ops.convert_to_tensor(np.asarray(ages, dtype="float32")), len(ages)


def _coral_rank(y_pred, from_logits):
    threshold = 0.0 if from_logits else 0.5
    return ops.sum(ops.cast(ops.cast(y_pred, "float32") > threshold, "float32"), axis=-1)


def _coral_true_age(y_true, num_tasks, min_age):
    if len(tuple(y_true.shape)) >= 2 and tuple(y_true.shape)[-1] == num_tasks and num_tasks > 1:
        return min_age + ops.sum(ops.cast(y_true, "float32"), axis=-1)
    return _sparse(y_true, "CORAL")


def _bin_index(ages, lows, highs):
    """keras.ops twin of `labels.bin_ages(..., gaps="nearest")`."""
    years = ops.floor(ages)[:, None]
    distance = ops.relu(lows[None, :] - years) + ops.relu(years - highs[None, :])
    return ops.argmin(distance, axis=-1)


class _SampleMean(keras.metrics.Metric):
    """Mean of a per-sample value over every sample since the last reset."""

    def __init__(self, name, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def per_sample(self, y_true, y_pred):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.convert_to_tensor(y_true)
        y_pred = ops.convert_to_tensor(y_pred)
        _static_check(y_true, y_pred, what=self.name)
        values = ops.cast(self.per_sample(y_true, y_pred), self.dtype)
        if sample_weight is None:
            weights = ops.ones_like(values)
        else:
            weights = ops.reshape(ops.cast(sample_weight, self.dtype), (-1,))
            weights = ops.broadcast_to(weights, ops.shape(values))
        self.total.assign_add(ops.sum(values * weights))
        self.count.assign_add(ops.sum(weights))

    def result(self):
        return ops.divide_no_nan(self.total, self.count)

    def reset_state(self):
        self.total.assign(ops.zeros((), dtype=self.dtype))
        self.count.assign(ops.zeros((), dtype=self.dtype))


# ----------------------------------------------------------------------- Keras metrics


@keras.saving.register_keras_serializable(package="agekit")
class ExpectedAgeMAE(_SampleMean):
    """DEX mean absolute error: |sum_k p_k * age_k - true age|, averaged over samples.

    Args:
        ages: Age of each output class; default `0..k-1` for a k-way softmax.
        from_logits: Apply a softmax to `y_pred` first. Otherwise each row is divided by
            its sum (rows that do not sum to one are normalised, never rejected: a
            metric cannot raise in the middle of a compiled training step).
        name: Metric name (Keras logs it as `expected_age_mae` / `val_expected_age_mae`).

    `y_true` may be one-hot or soft (shape `(n, k)`; the true age is its expected value)
    or sparse ages in years (shape `(n,)` or `(n, 1)`).

    Example:
        >>> m = ExpectedAgeMAE()
        >>> m.update_state([[30.0]], np.eye(101)[[37]])
        >>> float(m.result())
        7.0
    """

    def __init__(self, ages=None, *, from_logits=False, name="expected_age_mae", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.ages = None if ages is None else [float(a) for a in _labels.as_ages(ages)]
        self.from_logits = bool(from_logits)

    def per_sample(self, y_true, y_pred):
        ages, num_classes = _ages_tensor(self.ages, y_pred, self.name)
        predicted = _dex_pred_age(y_pred, ages, self.from_logits)
        return ops.abs(predicted - _dex_true_age(y_true, ages, num_classes))

    def get_config(self):
        return {**super().get_config(), "ages": self.ages, "from_logits": self.from_logits}


@keras.saving.register_keras_serializable(package="agekit")
class CoralMAE(_SampleMean):
    """CORAL mean absolute error in years.

    The predicted age is `min_age + (number of binary tasks with p > 0.5)`, as in
    Cao et al. (2020). `y_pred` holds the K-1 task logits (or probabilities with
    `from_logits=False`); `y_true` holds the K-1 binary levels (`encode_coral`) or
    sparse ages in years.

    Example:
        >>> m = CoralMAE()
        >>> m.update_state([[1.0, 1.0, 0.0]], [[2.0, -1.0, -3.0]])
        >>> float(m.result())
        1.0
    """

    def __init__(self, *, min_age=0.0, from_logits=True, name="coral_mae", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.min_age = float(min_age)
        self.from_logits = bool(from_logits)

    def per_sample(self, y_true, y_pred):
        predicted = self.min_age + _coral_rank(y_pred, self.from_logits)
        true = _coral_true_age(y_true, tuple(y_pred.shape)[-1], self.min_age)
        return ops.abs(predicted - true)

    def get_config(self):
        return {**super().get_config(), "min_age": self.min_age, "from_logits": self.from_logits}


@keras.saving.register_keras_serializable(package="agekit")
class BinnedAccuracy(_SampleMean):
    """Share of samples whose predicted age group equals the true age group.

    Works on the output of any head:

    - `"dex"`: expected age of the softmax, then binned (labels as `ExpectedAgeMAE`).
    - `"regression"`: the predicted age, binned; `y_true` are ages.
    - `"coral"`: the CORAL rank plus `min_age`, binned (labels as `CoralMAE`).
    - `"bins"`: `y_pred` is a softmax over the groups; `y_true` is the group index or
      a one-hot over the groups.

    Ages are binned as `agekit.labels.bin_ages(..., gaps="nearest")` does.

    Args:
        bins: Scheme name, `AgeBins` or edges (see `agekit.labels.get_bins`).
        head: One of `"dex"`, `"regression"`, `"coral"`, `"bins"`.
        ages: DEX class ages (default 0..k-1). min_age: CORAL rank offset.
        from_logits: For `"dex"` (softmax) and `"coral"` (sigmoid) outputs.

    Example:
        >>> m = BinnedAccuracy("adience", head="regression")
        >>> m.update_state([[30.0], [5.0]], [[27.0], [12.0]])
        >>> float(m.result())
        0.5
    """

    def __init__(
        self,
        bins="adience",
        *,
        head="dex",
        ages=None,
        min_age=0.0,
        from_logits=None,
        name=None,
        dtype=None,
    ):
        if head not in HEADS:
            fail(f"head to be one of {HEADS}", "head", head)
        scheme = _labels.get_bins(bins)
        super().__init__(name=name or f"{scheme.name}_accuracy", dtype=dtype)
        self.bins = [list(r) for r in scheme.ranges]
        self.scheme_name = scheme.name
        self.head = head
        self.ages = None if ages is None else [float(a) for a in _labels.as_ages(ages)]
        self.min_age = float(min_age)
        self.from_logits = (head == "coral") if from_logits is None else bool(from_logits)
        self._lows = np.array([lo for lo, _ in self.bins], dtype="float32")
        self._highs = np.array([hi for _, hi in self.bins], dtype="float32")

    def _to_bins(self, ages):
        return _bin_index(ages, ops.convert_to_tensor(self._lows), ops.convert_to_tensor(self._highs))

    def per_sample(self, y_true, y_pred):
        if self.head == "bins":
            num_bins = len(self.bins)
            if tuple(y_pred.shape)[-1] not in (None, num_bins):
                raise ValueError(
                    f"Expected y_pred with one column per group ({num_bins}) for "
                    f"{self.name}. Received: y_pred.shape={tuple(y_pred.shape)}"
                )
            predicted = ops.argmax(y_pred, axis=-1)
            if _is_distribution(y_true, num_bins):
                true = ops.argmax(y_true, axis=-1)
            else:
                true = ops.cast(_sparse(y_true, "group"), "int32")
        else:
            if self.head == "dex":
                ages, num_classes = _ages_tensor(self.ages, y_pred, self.name)
                pred_age = _dex_pred_age(y_pred, ages, self.from_logits)
                true_age = _dex_true_age(y_true, ages, num_classes)
            elif self.head == "coral":
                pred_age = self.min_age + _coral_rank(y_pred, self.from_logits)
                true_age = _coral_true_age(y_true, tuple(y_pred.shape)[-1], self.min_age)
            else:
                pred_age = ops.reshape(ops.cast(y_pred, "float32"), (-1,))
                true_age = _sparse(y_true, "regression")
            predicted, true = self._to_bins(pred_age), self._to_bins(true_age)
        return ops.cast(ops.equal(ops.cast(predicted, "int32"), ops.cast(true, "int32")), "float32")

    def get_config(self):
        return {
            **super().get_config(),
            "bins": self.bins,
            "head": self.head,
            "ages": self.ages,
            "min_age": self.min_age,
            "from_logits": self.from_logits,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["bins"] = [tuple(r) for r in config["bins"]]
        return cls(**config)


@keras.saving.register_keras_serializable(package="agekit")
class MacroF1(keras.metrics.Metric):
    """Macro-averaged F1 of a softmax classifier, from a confusion matrix kept over the epoch.

    Unlike a mean of per-batch F1 scores, the value after an epoch is exactly the
    macro-F1 of all its samples (the classes seen in y_true or y_pred are averaged, as
    `classification_summary` and scikit-learn's `average="macro"` do).

    Args:
        num_classes: Number of classes k of the softmax.

    `y_true` is a class index (`(n,)` / `(n, 1)`) or a one-hot `(n, k)`; `y_pred` is
    `(n, k)` scores (the argmax is taken).

    Example:
        >>> m = MacroF1(2)
        >>> m.update_state([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
        >>> round(float(m.result()), 4)
        0.6667
    """

    def __init__(self, num_classes, *, name="macro_f1", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if int(num_classes) != num_classes or num_classes < 2:
            fail("an integer num_classes >= 2", "num_classes", num_classes)
        self.num_classes = int(num_classes)
        self.confusion = self.add_variable(
            shape=(self.num_classes, self.num_classes), initializer="zeros", name="confusion"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred)
        _static_check(y_true, y_pred, what=self.name)
        k = self.num_classes
        if tuple(y_pred.shape)[-1] not in (None, k):
            raise ValueError(
                f"Expected y_pred with {k} columns for {self.name}. "
                f"Received: y_pred.shape={tuple(y_pred.shape)}"
            )
        if _is_distribution(y_true, k):
            true = ops.argmax(y_true, axis=-1)
        else:
            true = ops.cast(_sparse(y_true, "class"), "int32")
        true_1h = ops.one_hot(ops.cast(true, "int32"), k, dtype=self.dtype)
        pred_1h = ops.one_hot(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), k, dtype=self.dtype)
        if sample_weight is not None:
            weights = ops.reshape(ops.cast(sample_weight, self.dtype), (-1, 1))
            true_1h = true_1h * weights
        self.confusion.assign_add(ops.matmul(ops.transpose(true_1h), pred_1h))

    def result(self):
        confusion = ops.convert_to_tensor(self.confusion)
        tp = ops.diagonal(confusion)
        support, predicted = ops.sum(confusion, axis=1), ops.sum(confusion, axis=0)
        precision = ops.divide_no_nan(tp, predicted)
        recall = ops.divide_no_nan(tp, support)
        f1 = ops.divide_no_nan(2 * precision * recall, precision + recall)
        seen = ops.cast((support + predicted) > 0, self.dtype)
        return ops.divide_no_nan(ops.sum(f1 * seen), ops.sum(seen))

    def reset_state(self):
        self.confusion.assign(ops.zeros((self.num_classes, self.num_classes), dtype=self.dtype))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


# -------------------------------------------------------------- functions on arrays


def _pair(pred, true, names=("pred", "true")):
    pred = np.ravel(as_float_array(pred, names[0])) if np.ndim(pred) else np.atleast_1d(
        as_float_array(pred, names[0])
    )
    true = np.ravel(as_float_array(true, names[1])) if np.ndim(true) else np.atleast_1d(
        as_float_array(true, names[1])
    )
    same_length(**{names[0]: pred, names[1]: true})
    if len(pred) == 0:
        fail("at least one sample", names[0], pred)
    return pred, true


def mae(pred, true):
    """Mean absolute error in years.

    Example:
        >>> mae([20, 30], [22, 27])
        2.5
    """
    pred, true = _pair(pred, true)
    return float(np.mean(np.abs(pred - true)))


def epsilon_error(pred, mean, std):
    """ChaLearn LAP apparent-age error: mean of 1 - exp(-(x - mu)^2 / (2 sigma^2)).

    Args:
        pred: Predicted ages x.
        mean: Mean apparent age mu of each image (the voters' mean).
        std: Standard deviation sigma of the votes (must be > 0).

    Returns:
        The error averaged over images, in [0, 1]: 0 is perfect.

    Example:
        >>> round(epsilon_error([25.0], [20.0], [5.0]), 4)
        0.3935
    """
    pred, mean = _pair(pred, mean, ("pred", "mean"))
    _, std = _pair(pred, std, ("pred", "std"))
    if np.any(std <= 0):
        fail("std > 0 for every image", "std", std[std <= 0])
    return float(np.mean(1.0 - np.exp(-((pred - mean) ** 2) / (2.0 * std**2))))


def cumulative_score(pred, true, threshold=5):
    """Share of samples whose absolute error is at most `threshold` years.

    Args:
        threshold: A number of years, or a sequence of them for a CS curve.

    Returns:
        A float, or an array with one score per threshold.

    Example:
        >>> cumulative_score([20, 30, 40], [22, 36, 40], threshold=5)
        0.6666666666666666
    """
    pred, true = _pair(pred, true)
    thresholds = as_float_array(threshold, "threshold")
    if np.any(thresholds < 0):
        fail("threshold >= 0", "threshold", threshold)
    errors = np.abs(pred - true)
    scores = (errors[None, :] <= np.atleast_1d(thresholds)[:, None]).mean(axis=1)
    return float(scores[0]) if thresholds.ndim == 0 else scores


def mae_by_group(pred, true, bins="utk7"):
    """MAE per age group of the true age.

    Returns:
        DataFrame indexed by group label with columns `n`, `mae` and `bias` (mean of
        pred - true; positive means over-estimation). Empty groups have n=0 and NaN.

    Example:
        >>> mae_by_group([5, 40], [4, 35], bins="utk4")["mae"].tolist()[:2]
        [1.0, nan]
    """
    pred, true = _pair(pred, true)
    scheme = _labels.get_bins(bins)
    group = _labels.bin_ages(true, scheme)
    frame = pd.DataFrame({"group": group, "error": pred - true})
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


def classification_summary(y_true, y_pred, labels=None):
    """Accuracy, macro-F1, per-class precision / recall / F1 and the confusion matrix.

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
        >>> round(s.macro_f1, 4), s.confusion.loc["old", "young"]
        (0.6667, 1)
    """
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2:
        y_pred = as_float_array(y_pred, "y_pred").argmax(axis=1)
    y_true, y_pred = _pair(y_true, y_pred, ("y_true", "y_pred"))
    if np.any(y_true != np.round(y_true)) or np.any(y_pred != np.round(y_pred)):
        fail("integer class indices", "y_true/y_pred", np.concatenate([y_true, y_pred]))
    y_true, y_pred = y_true.astype(np.int64), y_pred.astype(np.int64)
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
    index = {c: i for i, c in enumerate(classes)}
    k = len(classes)
    t = np.array([index[c] for c in y_true])
    p = np.array([index[c] for c in y_pred])
    confusion = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
    tp = np.diag(confusion).astype(float)
    support, predicted = confusion.sum(axis=1), confusion.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(k), where=denom > 0)
    seen = (support > 0) | (predicted > 0)
    per_class = pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "support": support},
        index=pd.Index(names, name="class"),
    )
    return ClassificationSummary(
        accuracy=float(tp.sum() / len(t)),
        macro_f1=float(f1[seen].mean()),
        per_class=per_class,
        confusion=pd.DataFrame(
            confusion,
            index=pd.Index(names, name="true"),
            columns=pd.Index(names, name="predicted"),
        ),
    )


__all__ = [
    "BinnedAccuracy",
    "ClassificationSummary",
    "CoralMAE",
    "ExpectedAgeMAE",
    "MacroF1",
    "classification_summary",
    "cumulative_score",
    "epsilon_error",
    "mae",
    "mae_by_group",
]
