"""How agekit judges a model: scores on arrays for evaluation, Keras metrics for training.

Two modules of one concern each:

- `agekit.metrics.scores` (numpy and pandas only, no TensorFlow): `mae`,
  `epsilon_error`, `cumulative_score`, `mae_by_group`, `classification_summary`,
  `ClassificationSummary`. Truth first, as in scikit-learn: `(y_true, y_pred)`.
- `agekit.metrics.keras_metrics` (Keras 3, every backend): `ExpectedAgeMAE`,
  `CoralMAE`, `BinnedAccuracy`, `MacroF1`, stateful and exact over an epoch.

Every name is importable from `agekit.metrics`. The scores are imported here at once;
the Keras metrics on first use, so `from agekit.metrics import mae` (and `agekit.mae`)
never loads TensorFlow:

    from agekit.metrics import mae              # numpy only
    from agekit.metrics import ExpectedAgeMAE   # imports Keras now
"""

import importlib

from agekit.metrics.scores import (
    ClassificationSummary,
    classification_summary,
    cumulative_score,
    epsilon_error,
    mae,
    mae_by_group,
)

# Keras metrics, imported from `keras_metrics` on first attribute access.
_KERAS_NAMES = ("BinnedAccuracy", "CoralMAE", "ExpectedAgeMAE", "HEADS", "MacroF1")


def __getattr__(name):
    if name in _KERAS_NAMES:
        return getattr(importlib.import_module(f"{__name__}.keras_metrics"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


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
