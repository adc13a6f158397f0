"""Keras metrics: golden values, statefulness over batches, shapes and errors.

Backend-agnostic: CI runs this file under TensorFlow and under JAX.
"""

import keras
import numpy as np
import pytest

from agekit.labels import bin_ages, encode_coral, encode_dex
from agekit.metrics import BinnedAccuracy, CoralMAE, ExpectedAgeMAE, MacroF1

pytestmark = pytest.mark.backend_agnostic


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _batches(*arrays, sizes=(1, 5, 10)):
    start = 0
    for size in sizes:
        yield tuple(a[start : start + size] for a in arrays)
        start += size


def test_expected_age_mae_over_uneven_batches_equals_numpy_mae():
    rng = np.random.default_rng(1)
    probs = _softmax(rng.normal(size=(16, 101)) * 3).astype("float32")
    ages = rng.integers(0, 101, size=16)
    reference = np.mean(np.abs(probs @ np.arange(101) - ages))

    metric = ExpectedAgeMAE()
    for y_true, y_pred in _batches(encode_dex(ages), probs):
        metric.update_state(y_true, y_pred)
    assert float(metric.result()) == pytest.approx(reference, rel=1e-5)

    sparse = ExpectedAgeMAE()
    for y_true, y_pred in _batches(ages.astype("float32"), probs):
        sparse.update_state(y_true, y_pred)
    assert float(sparse.result()) == pytest.approx(reference, rel=1e-5)

    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_expected_age_mae_golden_values():
    metric = ExpectedAgeMAE()
    metric.update_state([[37.0]], np.full((1, 101), 1 / 101, dtype="float32"))  # predicts 50
    assert float(metric.result()) == pytest.approx(13.0, rel=1e-5)
    logits = ExpectedAgeMAE(from_logits=True)
    logits.update_state([[37.0]], np.zeros((1, 101), dtype="float32"))
    assert float(logits.result()) == pytest.approx(13.0, rel=1e-5)


def test_expected_age_mae_soft_labels_and_custom_ages():
    soft = encode_dex([30.0], sigma=3.0)  # expected value 30 away from the edges
    metric = ExpectedAgeMAE()
    metric.update_state(soft, np.eye(101, dtype="float32")[[34]])
    assert float(metric.result()) == pytest.approx(4.0, abs=1e-3)

    grid = ExpectedAgeMAE(ages=[10, 20, 30])
    grid.update_state([[0.0, 1.0, 0.0]], [[0.5, 0.0, 0.5]])  # true 20, predicted 20
    grid.update_state([[25.0]], [[0.0, 0.0, 1.0]])  # true 25, predicted 30
    assert float(grid.result()) == pytest.approx(2.5)


def test_sample_weight_is_a_weighted_mean_over_samples():
    metric = ExpectedAgeMAE()
    y_pred = np.eye(101, dtype="float32")[[10, 10]]
    metric.update_state(np.array([12.0, 20.0]), y_pred, sample_weight=np.array([1.0, 3.0]))
    assert float(metric.result()) == pytest.approx((2 * 1 + 10 * 3) / 4)


def test_coral_mae_over_uneven_batches():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(16, 100)).astype("float32") * 4
    ages = rng.integers(0, 101, size=16)
    expected_rank = (1 / (1 + np.exp(-logits.astype(float)))).sum(axis=1)
    reference = np.mean(np.abs(expected_rank - ages))
    metric = CoralMAE()
    for y_true, y_pred in _batches(encode_coral(ages, 101), logits):
        metric.update_state(y_true, y_pred)
    assert float(metric.result()) == pytest.approx(reference, rel=1e-6)

    offset = CoralMAE(min_age=16, from_logits=False)
    offset.update_state([[20.0]], [[0.9, 0.9, 0.9, 0.1]])  # expected rank 2.8 -> age 18.8
    assert float(offset.result()) == pytest.approx(1.2, rel=1e-5)


@pytest.mark.parametrize("head", ["dex", "regression", "coral", "bins"])
def test_binned_accuracy_equals_a_numpy_count(head):
    rng = np.random.default_rng(3)
    true_ages = rng.integers(0, 101, size=16).astype("float32")
    if head == "dex":
        y_pred = _softmax(rng.normal(size=(16, 101)) * 6).astype("float32")
        pred_ages = y_pred @ np.arange(101)
        y_true = encode_dex(true_ages)
    elif head == "regression":
        pred_ages = np.clip(true_ages + rng.normal(0, 8, size=16), 0, None).astype("float32")
        y_pred, y_true = pred_ages[:, None], true_ages[:, None]
    elif head == "coral":
        y_pred = rng.normal(size=(16, 100)).astype("float32") * 4
        pred_ages = (1 / (1 + np.exp(-y_pred.astype(float)))).sum(axis=1)
        y_true = encode_coral(true_ages, 101)
    else:
        y_pred = _softmax(rng.normal(size=(16, 8))).astype("float32")
        pred_ages = None
        y_true = bin_ages(true_ages, "adience")
    if pred_ages is None:
        expected = np.mean(y_pred.argmax(axis=1) == y_true)
    else:
        expected = np.mean(bin_ages(pred_ages, "adience") == bin_ages(true_ages, "adience"))
    metric = BinnedAccuracy("adience", head=head)
    for t, p in _batches(y_true, y_pred):
        metric.update_state(t, p)
    assert float(metric.result()) == pytest.approx(expected)


def test_binned_accuracy_gap_follows_bin_ages():
    metric = BinnedAccuracy("adience", head="regression")
    metric.update_state([[3.0], [36.0]], [[1.0], [40.0]])  # 3 -> 0-2 ; 36 -> 38-43
    assert float(metric.result()) == 1.0
    assert metric.name == "adience_accuracy"


def test_mismatched_shapes_raise_clear_errors():
    with pytest.raises(ValueError, match=r"Expected y_true and y_pred with the same batch size .*Received: y_true.shape=\(3, 1\), y_pred.shape=\(2, 101\)"):
        ExpectedAgeMAE().update_state(np.zeros((3, 1)), np.zeros((2, 101)))
    with pytest.raises(ValueError, match=r"Expected y_pred with one column per age \(3\)"):
        ExpectedAgeMAE(ages=[1, 2, 3]).update_state(np.zeros((2, 1)), np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"Expected y_true as sparse ages .*Received: y_true.shape=\(2, 7\)"):
        ExpectedAgeMAE().update_state(np.zeros((2, 7)), np.zeros((2, 101)))
    with pytest.raises(ValueError, match=r"Expected y_pred with one column per group \(8\)"):
        BinnedAccuracy("adience", head="bins").update_state(np.zeros((2,)), np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"Expected head to be one of"):
        BinnedAccuracy("adience", head="softmax")
    with pytest.raises(ValueError, match=r"Expected non-negative ages"):
        ExpectedAgeMAE(ages=[-3, 1])


def test_metrics_inside_fit_match_the_epoch_mean():
    """In model.fit the logged value is the mean over all samples of the epoch."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(16, 4)).astype("float32")
    ages = rng.integers(0, 101, size=16).astype("float32")
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(101, activation="softmax")(inputs))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=[ExpectedAgeMAE()])
    # batch_size 6 leaves a last batch of 4: a mean of batch means would differ.
    result = model.evaluate(x, ages, batch_size=6, verbose=0, return_dict=True)
    probs = model.predict(x, verbose=0)
    assert result["expected_age_mae"] == pytest.approx(
        np.mean(np.abs(probs @ np.arange(101) - ages)), rel=1e-4
    )


def test_macro_f1_over_batches_matches_sklearn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(5)
    y_true = rng.integers(0, 7, size=16)
    scores = rng.normal(size=(16, 7)).astype("float32")
    scores[np.arange(16), y_true] += rng.normal(1.0, 1.0, size=16).astype("float32")
    metric = MacroF1(7)
    for t, p in _batches(y_true, scores):
        metric.update_state(t, p)
    reference = f1_score(y_true, scores.argmax(axis=1), average="macro")
    assert float(metric.result()) == pytest.approx(reference, rel=1e-5)
    one_hot = MacroF1(7)
    one_hot.update_state(np.eye(7)[y_true], scores)
    assert float(one_hot.result()) == pytest.approx(reference, rel=1e-5)
    with pytest.raises(ValueError, match=r"Expected y_pred with 7 columns"):
        metric.update_state(y_true, scores[:, :5])


def test_coral_age_is_min_age_plus_the_expected_rank_everywhere():
    """One CORAL age (agekit.labels): the metric, the head and BinnedAccuracy agree."""
    from agekit.models.heads import Head

    logits = np.array([[2.0, -1.0, -3.0], [0.5, 0.2, -0.1]], dtype="float32")
    expected = 10 + (1 / (1 + np.exp(-logits.astype(float)))).sum(axis=1)  # 11.197, 11.647
    head = Head("coral", num_classes=4, min_age=10)
    np.testing.assert_allclose(head.to_age(logits), expected, rtol=1e-6)
    metric = CoralMAE(min_age=10)
    metric.update_state(np.array([[11.0], [13.0]]), logits)  # sparse labels: ages in years
    assert float(metric.result()) == pytest.approx(np.mean(np.abs(expected - [11.0, 13.0])), rel=1e-5)
    binned = BinnedAccuracy([[0, 11], [12, 20]], head="coral", min_age=10)
    binned.update_state(np.array([[11.0], [13.0]]), logits)
    assert float(binned.result()) == pytest.approx(np.mean(bin_ages(expected, [[0, 11], [12, 20]]) == [0, 1]))
