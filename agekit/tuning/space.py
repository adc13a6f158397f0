"""The search space: each hyperparameter a fixed value, a range or a list of choices.

Every hyperparameter of `AgeHyperModel` is given as:

    a scalar   fixed:       dropout=0.3
    a tuple    a range:     learning_rate=(1e-5, 1e-2)   (log scale for the learning
                            rate, powers of two from the low end for the batch size)
    a list     choices:     head=["dex", "regression"], trainable_layers=[1, 8, 22]

`check_spec` validates one such value when the hypermodel is made, so a typo fails
before any trial runs.
"""

import numpy as np

from agekit.errors import InvalidValueError
from agekit.models.build import BACKBONES
from agekit.models.heads import parse_head

SCRATCH = ("basic_cnn",)  # from-scratch networks: every layer trains
AGE_METRIC = "age_mae"  # the age MAE in years every dex / regression / coral model reports
# The choices of AgeHyperModel's hyperparameters left at None.
DEFAULT_CHOICES = {
    "head": ("dex", "regression", "coral"),
    "trainable_layers": (1, 2, 3, 8, 22),  # the VGG16 study's counts
    "augment": (False, True),
}


def _number(v):
    return isinstance(v, (int, float, np.number)) and not isinstance(v, bool)


def _whole(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


# name -> (check of one value, what is expected, the hyperparameter of a (low, high) range)
SPECS = {
    "backbone": (lambda v: v in BACKBONES or v in SCRATCH,
                 f"backbone names from {sorted(BACKBONES) + list(SCRATCH)}", None),
    "head": (lambda v: isinstance(v, str) and bool(parse_head(v)),
             "head names such as 'dex', 'regression', 'coral' or 'bins:utk7'", None),
    "learning_rate": (lambda v: _number(v) and v > 0, "learning rates > 0",
                      lambda hp, name, low, high: hp.Float(name, low, high, sampling="log")),
    "batch_size": (lambda v: _whole(v) and v > 0, "whole batch sizes > 0",  # powers of two
                   lambda hp, name, low, high: hp.Int(name, low, high, step=2, sampling="log")),
    "trainable_layers": (lambda v: v == "all" or (_whole(v) and v >= 1),
                         "layer counts >= 1 (set_trainable(last=N)) or 'all'",
                         lambda hp, name, low, high: hp.Int(name, low, high)),
    "dropout": (lambda v: _number(v) and 0 <= v < 1, "dropout rates in [0, 1)",
                lambda hp, name, low, high: hp.Float(name, float(low), float(high))),
    "augment": (lambda v: isinstance(v, (bool, np.bool_)), "True or False", None),
}


def check_spec(name, spec):
    """Validate a scalar (fixed), a (low, high) tuple (range) or a list (choices)."""
    check, expected, ranged = SPECS[name]
    if isinstance(spec, tuple):
        if ranged is None:
            raise InvalidValueError(f"Expected a value or a list of choices for `{name}` (it has no "
                                    f"range). Received: {name}={spec!r}")
        if (len(spec) != 2 or not all(check(v) and _number(v) for v in spec)
                or not spec[0] < spec[1]):
            raise InvalidValueError(f"Expected a range (low, high) of {expected} with low < high. "
                                    f"Received: {name}={spec!r}")
        return spec
    values = spec if isinstance(spec, list) else [spec]
    if not values or not all(check(v) for v in values):
        raise InvalidValueError(f"Expected {expected}: one value, a (low, high) range or a list of "
                                f"choices. Received: {name}={spec!r}")
    return spec


def choices(spec):
    """The values a spec can take (the ends of a range)."""
    return list(spec) if isinstance(spec, (list, tuple)) else [spec]

