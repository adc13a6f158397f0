"""pytest settings for the docstring examples of agekit (`--doctest-modules`, setup.cfg).

`python -m pytest` runs tests/ and every `>>>` example in agekit/ (testpaths). Each
example is runnable on its own: it imports what it uses and makes its own tiny inputs.
Here each one also runs in its own temporary folder (relative paths and
`tempfile.mkdtemp()` land under pytest's temporary folder, not in the repository),
with matplotlib drawing off screen, and its figures are closed afterwards. `AGEKIT_HOME`
points at a temporary folder, so nothing is installed into the user's `~/.agekit`.
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
# Models a test installs (the recipe's `install_model`) never reach the user's ~/.agekit;
# the user's own folder stays known (tests that measure an installed model read it).
os.environ.setdefault("AGEKIT_USER_HOME", os.environ.get("AGEKIT_HOME") or str(Path.home() / ".agekit"))
os.environ["AGEKIT_HOME"] = tempfile.mkdtemp(prefix="agekit-home-")

import pytest

PACKAGE = Path(__file__).resolve().parent / "agekit"


@pytest.fixture(autouse=True)
def _docstring_examples_in_a_temporary_folder(request, monkeypatch):
    if not Path(str(request.node.path)).resolve().is_relative_to(PACKAGE):
        yield  # a test of tests/: tests/conftest.py sets it up
        return
    folder = request.getfixturevalue("tmp_path")
    monkeypatch.chdir(folder)
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
