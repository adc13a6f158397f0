"""The checks of `agekit.experiment.config`: each raises "Expected ... Received: [section] name=value"."""

import numbers

from agekit._validation import fail


def _where(section, name):
    return f"[{section}] {name}"


def _whole(section, name, value, *, low=1, optional=False):
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        fail(f"a whole number >= {low}" + (" or None" if optional else ""), _where(section, name), value)


def _number(section, name, value, *, low=None, high=None, low_open=False, high_open=False, optional=False):
    if optional and value is None:
        return
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        bounds = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        fail(f"a number in {bounds}" + (" or None" if optional else ""), _where(section, name), value)


def _choice(section, name, value, choices):
    if value not in choices:
        fail(f"one of {list(choices)}", _where(section, name), value)


def _flag(section, name, value):
    if not isinstance(value, bool):
        fail("true or false", _where(section, name), value, error=TypeError)


def _mapping(section, name, value, *, values=None):
    if not isinstance(value, dict):
        fail("a table (dict)", _where(section, name), value, error=TypeError)
    if values is not None:
        for key, item in value.items():
            if not values(item):
                fail("valid values", _where(section, f"{name}.{key}"), item)


def _table_of_numbers(section, name, value, *, low=0.0, high=None, high_open=False):
    """A number, or a table output name -> number (label smoothing)."""
    if isinstance(value, dict):
        for key, item in value.items():
            _number(section, f"{name}.{key}", item, low=low, high=high, high_open=high_open)
    else:
        _number(section, name, value, low=low, high=high, high_open=high_open)


def _stages(section, name, value):
    """A list of `agekit.training.Stage` tables."""
    if not (isinstance(value, list) and value and all(isinstance(stage, dict) for stage in value)):
        fail("a list of stage tables", _where(section, name), value)
    from agekit.stages import Stage  # no TensorFlow while a configuration is read

    for stage in value:
        try:
            Stage(**stage)
        except TypeError:
            fail("stage tables of agekit.training.Stage fields", _where(section, name), stage,
                 error=TypeError)


def _split_size(section, name, value):
    """A split fraction in [0, 1) or a whole number of rows."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        _whole(section, name, value, low=0)
    else:
        _number(section, name, value, low=0, high=1, high_open=True)
