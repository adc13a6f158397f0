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


def test_age_weights_by_hand():
    from agekit.data import age_weights

    # Two ages, far apart: no smoothing between them; 3 faces at 20, 1 at 80.
    w = age_weights([20.0, 20.0, 20.0, 80.0], power=1.0, bandwidth=1.0)
    assert w.shape == (101,) and w.dtype == np.float32
    assert w[80] / w[20] == pytest.approx(3.0, rel=1e-4)
    assert (3 * w[20] + w[80]) / 4 == pytest.approx(1.0)  # mean over the training rows
    np.testing.assert_allclose(age_weights([5.0, 50.0, 50.0], power=0.0), 1.0)
    capped = age_weights([20.0] * 99 + [80.0], power=1.0, bandwidth=1.0, max_weight=5.0)
    assert capped[80] / capped[20] == pytest.approx(5.0, rel=1e-4)
    assert age_weights([116.0], num_classes=101).shape == (101,)  # old ages: the last class


def test_age_weights_errors():
    from agekit.data import age_weights

    with pytest.raises(ValueError, match=r"power in \[0, 1\]"):
        age_weights([20.0], power=2)
    with pytest.raises(ValueError, match="bandwidth > 0"):
        age_weights([20.0], bandwidth=0)
    with pytest.raises(ValueError, match="max_weight >= 1"):
        age_weights([20.0], max_weight=0.5)


def test_weight_by_age_weighs_the_age_loss_only():
    import tensorflow as tf

    from agekit.data import weight_by_age
    from agekit.labels import encode_dex

    table = np.arange(101, dtype="float32")  # weight = age, so the result is the mean age
    y = {"age": encode_dex([10.0, 30.0]), "gender": np.array([0, 1])}
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((2, 2, 2, 3), "float32"), y)).batch(2)
    (_, _, w), = weight_by_age(ds, table).as_numpy_iterator()
    np.testing.assert_allclose(w["age"], [10.0, 30.0])
    np.testing.assert_allclose(w["gender"], [1.0, 1.0])
    missing = {"age": np.ones(2, "float32"), "gender": np.array([1.0, 0.0], "float32")}
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((2, 2, 2, 3), "float32"), y, missing))
    (_, _, w), = weight_by_age(ds.batch(2), table).as_numpy_iterator()
    assert w["gender"].tolist() == [1.0, 0.0] and w["age"].tolist() == [10.0, 30.0]
    single = tf.data.Dataset.from_tensor_slices((np.zeros((2, 2, 2, 3), "float32"), y["age"]))
    (_, _, w), = weight_by_age(single.batch(2), table).as_numpy_iterator()
    np.testing.assert_allclose(w, [10.0, 30.0])
    with pytest.raises(ValueError, match="a dex target with 101 classes"):
        weight_by_age(ds.batch(2), table, output="gender")
