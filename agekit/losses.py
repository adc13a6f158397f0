"""Losses for age heads, written with `keras.ops` (TensorFlow, JAX and PyTorch backends).

- `CoralLoss`: the CORAL ordinal loss of Cao, Mirjalili and Raschka (2020), "Rank
  consistent ordinal regression for neural networks with application to age
  estimation".
- `LabelDistributionLoss`: KL divergence from a soft DEX label distribution (such as
  `agekit.labels.encode_dex(ages, sigma=...)`) to the predicted distribution.
- `SparseCategoricalCrossentropy`: integer labels with label smoothing (the UTKFace
  study's `label_smoothing=0.001`), which Keras' own class lacks.

Both are registered for `.keras` files under the package name "agekit".
"""

import keras
import numpy as np
from keras import ops

from agekit._validation import as_float_array, fail
from agekit.errors import InvalidValueError


def _check_last_dim(y_true, y_pred, what):
    true_k, pred_k = tuple(y_true.shape)[-1:], tuple(y_pred.shape)[-1:]
    if true_k and pred_k and None not in (true_k[0], pred_k[0]) and true_k != pred_k:
        raise InvalidValueError(
            f"Expected y_true and y_pred with the same number of {what}. "
            f"Received: y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}"
        )


@keras.saving.register_keras_serializable(package="agekit")
class CoralLoss(keras.losses.Loss):
    """CORAL loss: weighted binary cross-entropy over the K-1 ordinal tasks.

    For logits z (K-1 per sample, one per task "age > r_k") and levels y:

        L = -sum_k lambda_k [ y_k log s(z_k) + (1 - y_k) log(1 - s(z_k)) ]

    with s the logistic sigmoid, averaged over the batch (Cao et al. 2020, eq. 4).
    Computed from log-sigmoids, so it is stable for large logits.

    Args:
        importance: Optional task weights lambda (K-1 values); all 1 by default.
        min_age: The age of rank 0, for sparse labels.
        name, reduction, dtype: As for `keras.losses.Loss`.

    `y_true` holds the K-1 binary levels (`agekit.labels.encode_coral`) or sparse
    labels of shape `(n,)` / `(n, 1)`, which are *ages in years* (as in `CoralMAE`):
    the rank is the completed year minus `min_age` (the conventions of
    `agekit.labels`), expanded to levels.

    Example:
        >>> loss = CoralLoss()
        >>> round(float(loss([[1.0, 0.0]], [[0.0, 0.0]])), 4)  # 2 * log(2)
        1.3863
    """

    def __init__(
        self,
        importance=None,
        *,
        min_age=0.0,
        name="coral_loss",
        reduction="sum_over_batch_size",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.min_age = float(min_age)
        if importance is not None:
            weights = as_float_array(importance, "importance", ndim=1)
            if np.any(weights < 0):
                fail("importance weights >= 0", "importance", weights)
            importance = [float(w) for w in weights]
        self.importance = importance

    def call(self, y_true, y_pred):
        logits = ops.cast(y_pred, "float32")
        num_tasks = tuple(logits.shape)[-1]
        y_true = ops.convert_to_tensor(y_true)
        if len(tuple(y_true.shape)) < 2 or (tuple(y_true.shape)[-1] == 1 and num_tasks != 1):
            ages = ops.reshape(ops.cast(y_true, "float32"), (-1, 1))
            ranks = ops.floor(ages) - self.min_age
            levels = ops.cast(ops.arange(num_tasks, dtype="float32")[None, :] < ranks, "float32")
        else:
            _check_last_dim(y_true, logits, "CORAL tasks (K-1)")
            levels = ops.cast(y_true, "float32")
        if self.importance is not None:
            if num_tasks is not None and len(self.importance) != num_tasks:
                raise InvalidValueError(
                    "Expected one importance weight per CORAL task. "
                    f"Received: len(importance)={len(self.importance)}, y_pred.shape="
                    f"{tuple(logits.shape)}"
                )
            weights = ops.convert_to_tensor(np.asarray(self.importance, dtype="float32"))
        else:
            weights = 1.0
        log_p = ops.log_sigmoid(logits)  # log s(z)
        log_not_p = log_p - logits  # log(1 - s(z)) = log s(z) - z
        terms = log_p * levels + log_not_p * (1.0 - levels)
        return -ops.sum(terms * weights, axis=-1)

    def get_config(self):
        return {**super().get_config(), "importance": self.importance, "min_age": self.min_age}


@keras.saving.register_keras_serializable(package="agekit")
class LabelDistributionLoss(keras.losses.Loss):
    """KL(y_true || y_pred) between a target age distribution and the prediction.

    The loss of label-distribution learning (DLDL; DEX with soft labels): with
    one-hot targets it equals categorical cross-entropy.

    Args:
        from_logits: `y_pred` are logits (a log-softmax is applied, which is stabler
            than a softmax layer followed by a log).
        epsilon: Floor on probabilities before the log when `from_logits=False`.

    Example:
        >>> loss = LabelDistributionLoss()
        >>> round(float(loss([[0.5, 0.5]], [[0.5, 0.5]])), 6)
        0.0
    """

    def __init__(
        self,
        *,
        from_logits=False,
        epsilon=1e-7,
        name="label_distribution_loss",
        reduction="sum_over_batch_size",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.epsilon = float(epsilon)

    def call(self, y_true, y_pred):
        y_true, y_pred = ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred)
        _check_last_dim(y_true, y_pred, "classes")
        target = ops.cast(y_true, "float32")
        y_pred = ops.cast(y_pred, "float32")
        if self.from_logits:
            log_pred = ops.log_softmax(y_pred, axis=-1)
        else:
            log_pred = ops.log(ops.clip(y_pred, self.epsilon, 1.0))
        log_target = ops.log(ops.clip(target, self.epsilon, 1.0))
        return ops.sum(target * (log_target - log_pred), axis=-1)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="agekit")
class SparseCategoricalCrossentropy(keras.losses.Loss):
    """Cross-entropy from integer labels, with optional label smoothing.

    Keras' own `SparseCategoricalCrossentropy` has no `label_smoothing`; this one
    smooths as PyTorch's `CrossEntropyLoss(label_smoothing=e)` and Keras'
    `CategoricalCrossentropy` do: the target is `(1 - e) * one_hot + e / K`.

    Args:
        label_smoothing: `e` in [0, 1).
        name, reduction, dtype: As for `keras.losses.Loss`.

    Example:
        >>> loss = SparseCategoricalCrossentropy(label_smoothing=0.1)
        >>> round(float(loss([0], [[0.5, 0.5]])), 4)  # -log(0.5)
        0.6931
    """

    def __init__(self, *, label_smoothing=0.0, name="sparse_categorical_crossentropy",
                 reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if isinstance(label_smoothing, bool) or not 0 <= label_smoothing < 1:
            fail("label_smoothing in [0, 1)", "label_smoothing", label_smoothing)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        labels = ops.cast(ops.reshape(ops.convert_to_tensor(y_true), (-1,)), "int32")
        target = ops.one_hot(labels, ops.shape(y_pred)[-1], dtype="float32")
        return keras.losses.categorical_crossentropy(
            target, y_pred, label_smoothing=self.label_smoothing
        )

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


__all__ = ["CoralLoss", "LabelDistributionLoss", "SparseCategoricalCrossentropy"]
