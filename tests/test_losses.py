"""Losses against independent numpy references. Backend-agnostic (TF and JAX in CI)."""

import numpy as np
import pytest

from agekit.labels import encode_coral, encode_dex
from agekit.losses import CoralLoss, LabelDistributionLoss

pytestmark = pytest.mark.backend_agnostic


def coral_loss_reference(logits, levels, importance=None):
    """Cao, Mirjalili & Raschka (2020), eq. 4, with probabilities in float64."""
    logits = np.asarray(logits, dtype=np.float64)
    p = 1.0 / (1.0 + np.exp(-logits))
    lam = np.ones(logits.shape[1]) if importance is None else np.asarray(importance)
    per_sample = -np.sum(lam * (levels * np.log(p) + (1 - levels) * np.log(1 - p)), axis=1)
    return per_sample.mean()


def test_coral_loss_matches_numpy_reference():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(12, 9)) * 2
    levels = encode_coral(rng.integers(0, 10, size=12), num_classes=10)
    value = float(CoralLoss()(levels, logits.astype("float32")))
    assert value == pytest.approx(coral_loss_reference(logits, levels), rel=1e-5)

    importance = rng.uniform(0.5, 2.0, size=9)
    weighted = float(CoralLoss(importance=importance)(levels, logits.astype("float32")))
    assert weighted == pytest.approx(coral_loss_reference(logits, levels, importance), rel=1e-5)


def test_coral_loss_accepts_ranks_and_is_stable_for_large_logits():
    ranks = np.array([0, 3, 9])
    logits = np.random.default_rng(1).normal(size=(3, 9)).astype("float32")
    from_ranks = float(CoralLoss()(ranks[:, None], logits))
    from_levels = float(CoralLoss()(encode_coral(ranks, 10), logits))
    assert from_ranks == pytest.approx(from_levels, rel=1e-6)
    huge = np.array([[80.0, -80.0]], dtype="float32")
    assert float(CoralLoss()([[1.0, 0.0]], huge)) == pytest.approx(0.0, abs=1e-6)
    assert float(CoralLoss()([[0.0, 1.0]], huge)) == pytest.approx(160.0, rel=1e-5)


def test_coral_loss_errors():
    with pytest.raises(ValueError, match=r"Expected y_true and y_pred with the same number of CORAL tasks"):
        CoralLoss()(np.zeros((2, 4)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"Expected one importance weight per CORAL task"):
        CoralLoss(importance=[1.0, 1.0])(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"Expected importance weights >= 0"):
        CoralLoss(importance=[1.0, -1.0])


def test_label_distribution_loss_is_kl_divergence():
    target = encode_dex([20.0, 60.0], sigma=[2.0, 4.0]).astype(np.float64)
    logits = np.random.default_rng(2).normal(size=(2, 101))
    pred = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    t = np.clip(target, 1e-7, 1)
    reference = np.mean(np.sum(target * (np.log(t) - np.log(pred)), axis=1))
    assert float(LabelDistributionLoss()(target, pred.astype("float32"))) == pytest.approx(reference, rel=1e-4)
    from_logits = LabelDistributionLoss(from_logits=True)(target, logits.astype("float32"))
    assert float(from_logits) == pytest.approx(reference, rel=1e-4)
    with pytest.raises(ValueError, match=r"Expected y_true and y_pred with the same number of classes"):
        LabelDistributionLoss()(np.zeros((2, 101)), np.zeros((2, 100)))


def test_sparse_coral_labels_are_ages_in_years():
    """As in CoralMAE: a sparse label is an age; the rank is its completed year - min_age."""
    logits = np.random.default_rng(3).normal(size=(3, 4)).astype("float32")
    from_ages = float(CoralLoss(min_age=16)(np.array([[16.0], [20.7], [19.0]]), logits))
    from_levels = float(CoralLoss(min_age=16)(encode_coral([0, 4, 3], 5), logits))
    assert from_ages == pytest.approx(from_levels, rel=1e-6)
    assert CoralLoss(min_age=16).get_config()["min_age"] == 16.0
