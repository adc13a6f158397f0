"""Class weights (against scikit-learn) and the groups of balanced resampling."""

import logging

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.class_weight import compute_class_weight

from agekit.data import balanced_groups, class_weights


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)


def test_class_weights_match_sklearn_balanced():
    labels = np.random.randint(0, 7, 500)
    classes = np.unique(labels)
    expected = compute_class_weight("balanced", classes=classes, y=labels)
    weights = class_weights(labels)
    assert list(weights) == classes.tolist()
    np.testing.assert_allclose([weights[c] for c in classes], expected)
    assert all(type(c) is int for c in weights)  # plain ints for model.fit(class_weight=)


def test_class_weights_by_hand_with_strings_and_missing_labels():
    labels = pd.Series(["a", "a", "a", "b", None, np.nan], dtype=object)
    assert class_weights(labels) == {"a": 4 / (2 * 3), "b": 4 / (2 * 1)}
    gender = pd.array([0, 0, 1, None], dtype="Int64")
    assert class_weights(pd.Series(gender)) == {0: 0.75, 1: 1.5}


def test_class_weights_errors():
    with pytest.raises(ValueError, match="every class in `classes` to occur"):
        class_weights([0, 0, 1], classes=[0, 1, 2])
    with pytest.raises(ValueError, match="labels that are all listed"):
        class_weights([0, 3], classes=[0])
    with pytest.raises(ValueError, match="at least one non-missing label"):
        class_weights([None, None])


def test_balanced_groups_by_column_and_by_age_bins(caplog):
    df = pd.DataFrame(
        {"age": [1.0, 15.0, 30.0, 70.0], "gender": pd.array([1, None, 0, 1], dtype="Int64")}
    )
    with caplog.at_level(logging.WARNING, logger="agekit.data"):
        groups, known = balanced_groups(df, "gender")
    assert groups.tolist() == [1, -1, 0, 1] and known.tolist() == [True, False, True, True]
    assert "1 row(s) without a gender label" in caplog.text
    groups, known = balanced_groups(df, "bins:utk4")
    assert groups.tolist() == [0, 1, 2, 3] and known.all()


def test_balanced_groups_errors():
    df = pd.DataFrame({"age": [1.0], "gender": pd.array([None], dtype="Int64")})
    with pytest.raises(ValueError, match="Expected a column to balance by"):
        balanced_groups(df, "smile")
    with pytest.raises(ValueError, match="rows with a known 'gender'"):
        balanced_groups(df, "gender")
