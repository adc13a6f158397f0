"""Targets for every head: shapes, dtypes and values (agekit.data.targets)."""

import numpy as np
import pandas as pd
import pytest

from agekit.data import encode_target, encode_targets
from agekit.labels import encode_dex


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)


def frame(**columns):
    base = {"path": [f"/img/{i}.jpg" for i in range(len(next(iter(columns.values()))))]}
    return pd.DataFrame({**base, **columns})


def test_dex_one_hot_is_the_completed_year():
    """One age convention (agekit.labels): 37.6 is in year 37; no banker's rounding of .5."""
    y, w = encode_target(frame(age=[0.0, 37.4, 37.6, 10.5, 17.5, 100.0]), "dex")
    assert y.shape == (6, 101) and y.dtype == np.float32 and w is None
    assert y.argmax(axis=1).tolist() == [0, 37, 37, 10, 17, 100]
    assert np.all(y.sum(axis=1) == 1.0) and set(np.unique(y)) == {0.0, 1.0}


def test_dex_uses_the_per_image_std_and_stays_one_hot_where_it_is_missing():
    df = frame(age=[20.0, 30.5, 40.0], age_std=[2.0, 4.0, np.nan])
    y, _ = encode_target(df, "dex")
    np.testing.assert_allclose(y[:2], encode_dex([20.0, 30.5], sigma=[2.0, 4.0]), atol=1e-7)
    assert y[2].argmax() == 40 and y[2].max() == 1.0
    # Gaussian by hand: p(k) proportional to exp(-(k - 20)^2 / 8)
    k = np.arange(101)
    expected = np.exp(-((k - 20.0) ** 2) / 8.0)
    np.testing.assert_allclose(y[0], expected / expected.sum(), atol=1e-6)


def test_dex_sigma_none_ignores_age_std_and_a_number_applies_to_all():
    df = frame(age=[20.0, 30.0], age_std=[2.0, 4.0])
    assert encode_target(df, "dex", sigma=None)[0].max() == 1.0
    y, _ = encode_target(df, "dex", sigma=3.0)
    np.testing.assert_allclose(y, encode_dex([20.0, 30.0], sigma=3.0))


def test_tiny_std_is_raised_to_half_a_year():
    y, _ = encode_target(frame(age=[20.0], age_std=[0.0]), "dex")
    np.testing.assert_allclose(y, encode_dex([20.0], sigma=0.5))


def test_regression_is_float32_years():
    y, w = encode_target(frame(age=[1.5, 80.0]), "regression")
    assert y.dtype == np.float32 and y.tolist() == [1.5, 80.0] and w is None


def test_coral_levels_of_the_completed_year():
    y, _ = encode_target(frame(age=[0.0, 2.6, 4.0, 1.5, 2.5]), "coral", num_classes=5)
    assert y.dtype == np.float32
    assert y.tolist() == [[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0], [1, 1, 0, 0]]


def test_bins_by_scheme_and_from_an_age_group_column():
    y, _ = encode_target(frame(age=[5.0, 15.0, 30.0, 70.0]), "bins:utk4")
    assert y.dtype == np.int32 and y.tolist() == [0, 1, 2, 3]
    df = frame(age=[5.0, 15.0], age_group=pd.array([2, None], dtype="Int64"))
    y, w = encode_target(df, "bins")
    assert y.tolist() == [2, 0] and w.tolist() == [1.0, 0.0]


def test_missing_gender_and_ethnicity_are_masked_by_zero_weights():
    df = frame(
        age=[20.0, 30.0, 40.0],
        gender=pd.array([1, None, 0], dtype="Int64"),
        ethnicity=pd.array([4, 2, None], dtype="Int64"),
    )
    y, w = encode_target(df, "gender")
    assert y.dtype == np.int32 and y.tolist() == [1, 0, 0]
    assert w.dtype == np.float32 and w.tolist() == [1.0, 0.0, 1.0]
    y, w = encode_target(df, "ethnicity")
    assert y.tolist() == [4, 2, 0] and w.tolist() == [1.0, 1.0, 0.0]


def test_dict_targets_give_one_weight_vector_per_output():
    df = frame(age=[20.0, 30.0], gender=pd.array([None, 1], dtype="Int64"))
    t = encode_targets(df, {"age": "regression", "gender": "gender"})
    assert sorted(t.y) == ["age", "gender"] and sorted(t.sample_weight) == ["age", "gender"]
    assert t.sample_weight["age"].tolist() == [1.0, 1.0]
    assert t.sample_weight["gender"].tolist() == [0.0, 1.0]
    complete = encode_targets(frame(age=[20.0]), {"age": "dex", "age_reg": "regression"})
    assert complete.sample_weight is None and complete.y["age"].shape == (1, 101)


def test_target_none_gives_no_labels():
    t = encode_targets(frame(age=[1.0]), None)
    assert t.y is None and t.sample_weight is None


def test_errors_name_what_was_expected():
    df = frame(age=[20.0, 110.0])
    with pytest.raises(ValueError, match="clip_ages=True"):
        encode_target(df, "dex")
    assert encode_target(df, "dex", clip_ages=True)[0].argmax(axis=1).tolist() == [20, 100]
    with pytest.raises(ValueError, match="Expected a `gender` column"):
        encode_target(df, "gender")
    with pytest.raises(ValueError, match="Expected a target among"):
        encode_target(df, "age_in_months")
    with pytest.raises(ValueError, match="an age on every row"):
        encode_target(frame(age=[np.nan]), "regression")
    with pytest.raises(ValueError, match=r"integer `gender` labels in \[0, 1\]"):
        encode_target(frame(age=[1.0], gender=[3]), "gender")
    with pytest.raises(ValueError, match='sigma to be "auto"'):
        encode_target(frame(age=[1.0]), "dex", sigma="std")
