"""Keras metrics for training: exact over an epoch, under every Keras backend.

Keras metrics (written with `keras.ops`, so they run under TensorFlow, JAX and PyTorch;
registered for `.keras` files under the package name "agekit"):

- `ExpectedAgeMAE`: DEX. Softmax over ages -> expected age sum(p * age) -> |error|.
- `CoralMAE`: CORAL. Predicted age = min_age + expected rank (sum of the task
  probabilities), as `Head.to_age` and the conventions of `agekit.labels`.
- `BinnedAccuracy`: the share of samples whose predicted age falls in the true age's
  group (Adience, UTK7, ...), for any head.
- `MacroF1`: macro-averaged F1 of a class head (age bins, gender, ethnicity).

All are stateful: the value after an epoch is computed over every sample of the epoch
(weighted by `sample_weight`), never as a mean of batch means.

The plain functions on arrays for evaluation (`mae`, `epsilon_error`, ...) live in
`agekit.metrics.scores`, which imports no TensorFlow or Keras.

Labels accepted by the metrics: a *distribution* over the classes (one-hot, or a
Gaussian label distribution; the true age is its expected value), or *sparse* labels,
which are ages in years (with the default DEX grid 0..100 the integer class k is age k;
for CORAL too: sparse CORAL labels are ages, never ranks).
"""

import keras
import numpy as np
from keras import ops

from agekit import labels as _labels
from agekit._validation import fail
from agekit.errors import InvalidValueError

HEADS = ("dex", "regression", "coral", "bins")


# ---------------------------------------------------------------------------- helpers


def _static_check(y_true, y_pred, *, what):
    """Raise a ValueError when the (static) batch sizes of y_true and y_pred differ."""
    true_n, pred_n = tuple(y_true.shape)[:1], tuple(y_pred.shape)[:1]
    if true_n and pred_n and None not in (true_n[0], pred_n[0]) and true_n != pred_n:
        raise InvalidValueError(
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
        raise InvalidValueError(
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
        raise InvalidValueError(
            f"Expected y_pred with one column per age ({len(ages)}) for {name}. "
            f"Received: y_pred.shape={tuple(y_pred.shape)}"
        )
    return ops.convert_to_tensor(np.asarray(ages, dtype="float32")), len(ages)


def _coral_rank(y_pred, from_logits):
    """Expected CORAL rank: the sum of the task probabilities (`labels.coral_expected_rank`)."""
    y_pred = ops.cast(y_pred, "float32")
    return ops.sum(ops.sigmoid(y_pred) if from_logits else y_pred, axis=-1)


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

    The predicted age is `min_age` + the expected rank, the sum of the K-1 task
    probabilities, as `Head.to_age` reports it (the conventions of `agekit.labels`;
    Cao et al. 2020 count the tasks with p > 0.5 instead: `labels.coral_to_rank`).
    `y_pred` holds the K-1 task logits (or probabilities with `from_logits=False`);
    `y_true` holds the K-1 binary levels (`encode_coral`) or sparse ages in years.

    Example:
        >>> m = CoralMAE()
        >>> m.update_state([[1.0, 1.0, 0.0]], [[80.0, 0.0, -80.0]])  # expected rank 1.5
        >>> float(m.result())
        0.5
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
    - `"coral"`: `min_age` + the expected CORAL rank, binned (labels as `CoralMAE`).
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
                raise InvalidValueError(
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
            raise InvalidValueError(
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


__all__ = ["HEADS", "BinnedAccuracy", "CoralMAE", "ExpectedAgeMAE", "MacroF1"]
