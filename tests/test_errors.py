"""agekit's own input errors: catchable as agekit's, and still ValueError / TypeError / ...

`agekit` (the command) reports exactly these as one line with exit status 2; any other
exception is a bug and keeps its traceback.
"""

import re
from pathlib import Path

import pytest

from agekit._validation import fail
from agekit.errors import (
    InputError,
    InvalidTypeError,
    InvalidValueError,
    MissingFileError,
)

AGEKIT = Path(__file__).resolve().parents[1] / "agekit"


@pytest.mark.parametrize("builtin, agekit_error", [
    (ValueError, InvalidValueError),
    (TypeError, InvalidTypeError),
    (FileNotFoundError, MissingFileError),
])
def test_fail_raises_agekit_errors_that_are_builtin_errors_too(builtin, agekit_error):
    with pytest.raises(agekit_error, match=r"Expected a thing. Received: x=3") as caught:
        fail("a thing", "x", 3, error=builtin)
    assert isinstance(caught.value, builtin) and isinstance(caught.value, InputError)


def test_bad_input_anywhere_raises_an_agekit_error():
    from agekit.labels import bin_ages, get_bins

    with pytest.raises(InputError, match="non-negative ages"):
        bin_ages([-1], "adience")
    with pytest.raises(InputError, match="Unknown age-bin scheme"):
        get_bins("decades")


def test_no_module_raises_a_plain_builtin_error_for_bad_input():
    """Every `raise ValueError(...)` of agekit is one of its own classes (or goes through fail)."""
    plain = re.compile(r"raise (ValueError|TypeError|FileNotFoundError)\(")
    offenders = [f"{path.relative_to(AGEKIT.parent)}:{number}"
                 for path in sorted(AGEKIT.rglob("*.py"))
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if plain.search(line)]
    assert offenders == []
