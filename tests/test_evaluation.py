"""Evaluation functions on arrays: hand counts and an independent reference (sklearn)."""

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from agekit.metrics import (
    classification_summary,
    cumulative_score,
    epsilon_error,
    mae,
    mae_by_group,
)


def test_mae():
    assert mae([22, 27, 40], [20, 30, 40]) == pytest.approx(5 / 3)
    assert mae([1.0, 4.0], np.array([[1.0], [2.0]])) == pytest.approx(1.0)


def test_epsilon_error_golden_values():
    assert epsilon_error(mean=[30.0], std=[4.0], y_pred=[30.0]) == 0.0
    assert epsilon_error(mean=[30.0], std=[4.0], y_pred=[34.0]) == pytest.approx(1 - np.exp(-0.5))
    assert epsilon_error(mean=[30.0], std=[4.0], y_pred=[26.0]) == pytest.approx(1 - np.exp(-0.5))
    both = epsilon_error(mean=[30.0, 30.0], std=[4.0, 4.0], y_pred=[30.0, 34.0])
    assert both == pytest.approx((1 - np.exp(-0.5)) / 2)


def test_cumulative_score_matches_a_hand_count():
    pred = [10, 20, 30, 40, 50, 60]
    true = [10, 25, 36, 44, 59, 61]  # errors 0, 5, 6, 4, 9, 1
    assert cumulative_score(true, pred, threshold=5) == pytest.approx(4 / 6)  # 0, 5, 4, 1
    assert cumulative_score(true, pred, threshold=0) == pytest.approx(1 / 6)
    np.testing.assert_allclose(cumulative_score(true, pred, threshold=[1, 6, 10]), [2 / 6, 5 / 6, 1.0])


def test_mae_by_group():
    table = mae_by_group(y_true=[2, 4, 22, 22, 80], y_pred=[1, 5, 20, 25, 70], bins="utk4")
    assert table.index.tolist() == ["0-12", "13-19", "20-59", "60-116"]
    assert table["n"].tolist() == [2, 0, 2, 1]
    assert table.loc["0-12", "mae"] == pytest.approx(1.0)
    assert table.loc["20-59", "bias"] == pytest.approx(0.5)
    assert np.isnan(table.loc["13-19", "mae"])


def test_classification_summary_matches_sklearn():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 7, size=200)
    y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, 7, size=200))
    summary = classification_summary(y_true, y_pred, labels="utk7")
    assert summary.macro_f1 == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert summary.accuracy == pytest.approx(np.mean(y_true == y_pred))
    np.testing.assert_array_equal(summary.confusion.to_numpy(), confusion_matrix(y_true, y_pred))
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, zero_division=0)
    np.testing.assert_allclose(summary.per_class[["precision", "recall", "f1"]], np.c_[p, r, f])
    assert summary.per_class.index[0] == "0-2"
    assert "macro-F1" in str(summary)


def test_classification_summary_from_probabilities_and_unseen_classes():
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1]])
    summary = classification_summary([0, 1, 1], probs, labels=["a", "b", "c"])
    assert summary.accuracy == pytest.approx(2 / 3)
    # class "c" never occurs: it is listed but not averaged (sklearn's macro average).
    assert summary.macro_f1 == pytest.approx(f1_score([0, 1, 1], [0, 1, 0], average="macro"))
    assert summary.per_class.loc["c", "support"] == 0


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: mae([1, 2], [1, 2, 3]), r"Expected inputs of the same length. Received: len\(y_true\)=2, len\(y_pred\)=3"),
        (lambda: mae([], []), r"Expected at least one sample"),
        (lambda: epsilon_error(mean=[1.0], std=[0.0], y_pred=[1.0]), r"Expected std > 0 for every image"),
        (lambda: cumulative_score([1], [2], threshold=-1), r"Expected threshold >= 0"),
        (lambda: mae_by_group(y_true=[-4], y_pred=[1]), r"Expected non-negative ages"),
        (lambda: classification_summary([0, 1], [0, 5], labels=["a", "b"]), r"Expected class indices in \[0, 1\]"),
        (lambda: classification_summary([0, 1.5], [0, 1]), r"Expected integer class indices"),
        (lambda: mae([1.0], [np.nan]), r"Expected finite values in `y_pred`"),
    ],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_truth_comes_first_as_in_sklearn():
    """(y_true, y_pred) everywhere; mae_by_group groups by the TRUE age (issue 20)."""
    assert mae(y_true=[20, 30], y_pred=[22, 27]) == pytest.approx(2.5)
    assert cumulative_score(y_true=[20, 30, 40], y_pred=[22, 36, 40]) == pytest.approx(2 / 3)
    table = mae_by_group(y_true=[5, 5, 40], y_pred=[7, 8, 40], bins="utk4")
    assert table["n"].tolist() == [2, 0, 1, 0]
    assert table.loc["0-12", "mae"] == pytest.approx(2.5)
    assert table.loc["0-12", "bias"] == pytest.approx(2.5)  # y_pred - y_true: over-estimates
    assert epsilon_error(mean=[20.0], std=[5.0], y_pred=[25.0]) == pytest.approx(1 - np.exp(-0.5))


@pytest.mark.parametrize("call", [
    lambda: mae_by_group([5, 40], [4, 35]),  # the old (pred, true) order must not run silently
    lambda: epsilon_error([25.0], [20.0], [5.0]),
])
def test_asymmetric_scores_are_keyword_only(call):
    with pytest.raises(TypeError, match="positional argument"):
        call()


def test_classification_summary_golden_values_by_hand():
    """Independent of scikit-learn (which computes the scores): counted by hand."""
    summary = classification_summary([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], labels=["a", "b", "c"])
    assert summary.confusion.to_numpy().tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    np.testing.assert_allclose(summary.per_class["precision"], [1 / 2, 2 / 3, 0.0])
    np.testing.assert_allclose(summary.per_class["recall"], [1 / 2, 1.0, 0.0])
    np.testing.assert_allclose(summary.per_class["f1"], [0.5, 0.8, 0.0])
    assert summary.per_class["support"].tolist() == [2, 2, 1]
    assert summary.accuracy == pytest.approx(3 / 5)
    assert summary.macro_f1 == pytest.approx(1.3 / 3)


def test_a_prediction_below_zero_is_scored_in_the_youngest_group():
    """A regression head can predict -0.004 years; binning it must not fail."""
    import pandas as pd

    from agekit.evaluation import score_predictions

    scores = score_predictions(pd.DataFrame({"age": [1.0, 40.0], "pred_age": [-0.004, 40.0]}))
    assert scores["utk7_accuracy"] == 1.0 and scores["mae"] == pytest.approx(0.502)
