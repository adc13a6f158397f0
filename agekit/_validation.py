"""Shared checks for the public boundary: one wording for every error.

Messages read "Expected <what>. Received: <name>=<value>" so a user sees both the rule
and the offending value. Every error is one of agekit's input errors (`agekit.errors`),
which subclass the built-in ValueError / TypeError / FileNotFoundError.
"""

import numpy as np

from agekit.errors import AGEKIT_ERRORS, InvalidValueError


def _describe(value):
    arr = np.asarray(value)
    if arr.ndim == 0 or arr.size <= 6:
        return repr(value if arr.ndim == 0 else arr.tolist())
    return f"array of shape {arr.shape}"


def fail(expected, name, value, *, error=ValueError):
    """Raise agekit's input error for `error` (ValueError -> InvalidValueError, ...)."""
    error = AGEKIT_ERRORS.get(error, error)
    raise error(f"Expected {expected}. Received: {name}={_describe(value)}")


def as_float_array(value, name, *, ndim=None):
    """`value` as a float64 array; finite, with `ndim` dimensions when given."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        fail("numbers", name, value, error=TypeError)
    if ndim is not None and arr.ndim != ndim:
        raise InvalidValueError(
            f"Expected `{name}` with {ndim} dimension(s). "
            f"Received: {name}.shape={arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)]
        fail(f"finite values in `{name}`", name, bad)
    return arr


def as_ages(value, name="ages"):
    """A 1-D float array of ages in years: finite and >= 0."""
    ages = as_float_array(value, name)
    if ages.ndim == 2 and ages.shape[1] == 1:
        ages = ages[:, 0]
    if ages.ndim > 1:
        raise InvalidValueError(
            f"Expected `{name}` as a 1-D sequence of ages. Received: {name}.shape={ages.shape}"
        )
    ages = np.atleast_1d(ages)
    if np.any(ages < 0):
        fail(f"non-negative ages in `{name}`", name, ages[ages < 0])
    return ages


def same_length(**arrays):
    """Check that every array has the same length (first dimension)."""
    lengths = {name: len(arr) for name, arr in arrays.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"len({n})={k}" for n, k in lengths.items())
        raise InvalidValueError(f"Expected inputs of the same length. Received: {shown}")
