"""Golden values for agekit.labels (numpy only)."""

from math import inf

import numpy as np
import pytest

from agekit.labels import (
    AGE_BINS,
    AgeBins,
    bin_ages,
    bin_labels,
    coral_to_rank,
    encode_coral,
    encode_dex,
    expected_age,
    get_bins,
)


def test_expected_age_golden_values():
    assert expected_age(np.full(101, 1 / 101)) == pytest.approx(50.0)
    assert expected_age(np.eye(101)[37]) == 37.0
    two = expected_age(np.stack([np.eye(101)[10], np.eye(101)[20]]))
    np.testing.assert_allclose(two, [10.0, 20.0])


def test_expected_age_custom_ages_and_normalize():
    assert expected_age([0.25, 0.75], ages=[10, 30]) == pytest.approx(25.0)
    assert expected_age([1.0, 3.0], ages=[10, 30], normalize=True) == pytest.approx(25.0)


@pytest.mark.parametrize(
    "probs, kwargs, match",
    [
        ([0.2, 0.2], {}, r"Expected rows of probabilities that sum to 1 .*Received: row sums="),
        ([-0.5, 1.5], {}, r"Expected probabilities >= 0. Received: probs="),
        ([0.5, 0.5], {"ages": [1, 2, 3]}, r"Expected one age per class. Received: probs.shape"),
        ([0.5, 0.5], {"ages": [-1, 2]}, r"Expected non-negative ages"),
        ([np.nan, 1.0], {}, r"Expected finite values"),
    ],
)
def test_expected_age_rejects_bad_input(probs, kwargs, match):
    with pytest.raises(ValueError, match=match):
        expected_age(probs, **kwargs)


def test_schemes_match_the_studies():
    assert len(AGE_BINS["dex"]) == 101
    assert bin_labels("adience") == (
        "0-2", "4-6", "8-13", "15-20", "25-32", "38-43", "48-53", "60+"
    )
    assert bin_labels("utk7") == ("0-2", "3-6", "7-14", "15-30", "31-40", "41-65", "66-116")
    assert bin_labels("utk4") == ("0-12", "13-19", "20-59", "60-116")


def test_bin_ages_adience_and_gap_rules():
    assert bin_ages([2], "adience").tolist() == [0]
    # 3 is in no Adience group: one year from 0-2 and from 4-6 -> the younger group.
    assert bin_ages([3], "adience").tolist() == [0]
    assert bin_ages([7, 22, 35, 36, 99], "adience").tolist() == [1, 3, 4, 5, 7]
    assert bin_ages([3, 5], "adience", gaps="mark").tolist() == [-1, 1]
    with pytest.raises(ValueError, match=r"Expected ages inside the groups .*Received: ages in no group=\[3.0\]"):
        bin_ages([3, 5], "adience", gaps="raise")


def test_bin_ages_uses_completed_years_and_clamps_the_top():
    assert bin_ages([2.9, 3.0, 30.99, 31.0], "utk7").tolist() == [0, 1, 3, 4]
    assert bin_ages([116, 130], "utk7").tolist() == [6, 6]
    assert bin_ages([0, 50.5, 100, 120], "dex").tolist() == [0, 50, 100, 100]


def test_custom_bins():
    by_edges = get_bins([0, 18, 65])
    assert by_edges.ranges == ((0, 17), (18, 64), (65, inf))
    by_pairs = get_bins([(0, 9), (20, 29)])
    assert bin_ages([5, 14, 16, 25], by_pairs).tolist() == [0, 0, 1, 1]
    assert bin_labels(AgeBins.from_edges([0, 13, 20, 60])) == ("0-12", "13-19", "20-59", "60+")


@pytest.mark.parametrize(
    "bins, error, match",
    [
        ("decades", ValueError, r"Unknown age-bin scheme.*Received: bins='decades'"),
        ([(10, 5)], ValueError, r"Expected increasing, non-overlapping ranges"),
        ([(0, 10), (5, 20)], ValueError, r"Expected increasing, non-overlapping ranges"),
        (3, TypeError, r"Expected a scheme name"),
    ],
)
def test_bad_bins(bins, error, match):
    with pytest.raises(error, match=match):
        get_bins(bins)


def test_bin_ages_rejects_negative_and_bad_gap_rule():
    with pytest.raises(ValueError, match=r"Expected non-negative ages in `ages`. Received: ages=\[-1.0\]"):
        bin_ages([-1, 4], "adience")
    with pytest.raises(ValueError, match=r"Expected gaps to be one of"):
        bin_ages([4], "adience", gaps="drop")


def test_encode_dex_one_hot_is_the_completed_year():
    y = encode_dex([0, 37, 37.4, 37.6, 10.5, 17.5, 100])
    assert y.shape == (7, 101) and y.dtype == np.float32
    # 10.5 -> 10 and 17.5 -> 17 (np.rint gave 10 and 18: banker's rounding)
    assert y.argmax(axis=1).tolist() == [0, 37, 37, 37, 10, 17, 100]
    np.testing.assert_array_equal(y.sum(axis=1), 1.0)


def test_encode_dex_gaussian_matches_formula():
    y = encode_dex([30.0, 50.0], sigma=[2.0, 5.0])
    k = np.arange(101)
    ref = np.exp(-((k - 30.0) ** 2) / (2 * 2.0**2))
    np.testing.assert_allclose(y[0], ref / ref.sum(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6)
    # Away from the edges the expected value is the age itself.
    np.testing.assert_allclose(expected_age(y), [30.0, 50.0], atol=1e-4)


def test_encode_dex_errors_and_clip():
    with pytest.raises(ValueError, match=r"Expected ages in \[0, 100\] for 101 DEX classes \(or clip=True\)"):
        encode_dex([116])
    assert encode_dex([116], clip=True).argmax() == 100
    with pytest.raises(ValueError, match=r"Expected sigma > 0"):
        encode_dex([20], sigma=0.0)
    with pytest.raises(ValueError, match=r"Expected `sigma` as a scalar or one value per age"):
        encode_dex([20, 30], sigma=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"Expected an integer num_classes >= 2"):
        encode_dex([1], num_classes=1)


def test_encode_coral_and_back():
    levels = encode_coral([0, 1, 3], num_classes=4)
    assert levels.tolist() == [[0, 0, 0], [1, 0, 0], [1, 1, 1]]
    # Logits that agree with the levels decode to the same ranks.
    assert coral_to_rank(np.where(levels > 0, 4.0, -4.0)).tolist() == [0, 1, 3]
    with pytest.raises(ValueError, match=r"Expected integer ranks in \[0, 3\]. Received: ranks=\[4.0\]"):
        encode_coral([4], num_classes=4)
    with pytest.raises(ValueError, match=r"Expected integer ranks"):
        encode_coral([1.5], num_classes=4)


def test_group_centers_are_the_one_representative_age():
    """The age a group stands for: its middle; an open group (low, inf) is low + 5."""
    np.testing.assert_allclose(get_bins("adience").centers,
                               [1, 5, 10.5, 17.5, 28.5, 40.5, 50.5, 65])
    assert get_bins([0, 13, 20, 60]).centers.tolist() == [6.0, 16.0, 39.5, 65.0]


def test_coral_expected_rank_is_the_sum_of_the_task_probabilities():
    from agekit.labels import coral_expected_rank

    logits = np.array([[2.0, -1.0, -3.0], [80.0, 80.0, -80.0]])
    sigmoid = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(coral_expected_rank(logits), sigmoid.sum(axis=1))
    np.testing.assert_allclose(coral_expected_rank(logits[0]), [sigmoid[0].sum()])
    assert coral_to_rank(logits).tolist() == [1, 2]  # Cao et al.'s hard count, for comparison
