"""The errors agekit raises for bad input, apart from the errors of bugs.

Every check of agekit raises one of these (most through `agekit._validation.fail`, with
the wording "Expected <what>. Received: <name>=<value>"). Each also subclasses the
built-in error a Python user expects, so `except ValueError` and
`pytest.raises(ValueError)` keep working:

- `InvalidValueError(InputError, ValueError)`: a value agekit cannot use.
- `InvalidTypeError(InputError, TypeError)`: an argument of the wrong kind.
- `MissingFileError(InputError, FileNotFoundError)`: a file or folder that is not there.

`except agekit.errors.InputError` catches exactly these: the `agekit` command reports
them as one line (exit status 2), while any other exception is a bug and keeps its
traceback.

Example:
    >>> from agekit.labels import bin_ages
    >>> try:
    ...     bin_ages([-1], "adience")
    ... except InputError as error:
    ...     print(type(error).__name__, isinstance(error, ValueError))
    InvalidValueError True
"""


class InputError(Exception):
    """Base of the errors agekit raises for bad input (never for its own bugs)."""


class InvalidValueError(InputError, ValueError):
    """A value agekit cannot use (a `ValueError`)."""


class InvalidTypeError(InputError, TypeError):
    """An argument of the wrong kind (a `TypeError`)."""


class MissingFileError(InputError, FileNotFoundError):
    """A file or folder that does not exist (a `FileNotFoundError`)."""


# The agekit class for each built-in error that `fail(..., error=...)` accepts.
AGEKIT_ERRORS = {
    ValueError: InvalidValueError,
    TypeError: InvalidTypeError,
    FileNotFoundError: MissingFileError,
}

__all__ = ["InputError", "InvalidTypeError", "InvalidValueError", "MissingFileError"]
