"""Shared fixtures: a fixed seed for every test and the path to ../shared/data."""

import os
import random
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("AGEKIT_SHARED_DATA", REPO.parent / "shared" / "data"))


def pytest_report_header(config):
    backend = os.environ.get("KERAS_BACKEND", "tensorflow (default)")
    return f"agekit: KERAS_BACKEND={backend}, shared data at {SHARED_DATA}"


@pytest.fixture(autouse=True)
def _seed():
    random.seed(0)
    np.random.seed(0)


@pytest.fixture
def shared_data():
    """Path to ../shared/data; skips the test when it is absent (a user's fresh clone)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (set AGEKIT_SHARED_DATA)")
    return SHARED_DATA
