"""Mixup of batches: convex mixtures of images and age distributions; other labels kept."""

import numpy as np
import pytest
import tensorflow as tf

from agekit.data.mixup import mixup
from agekit.labels import encode_dex


def _batches(n=8, batch=4, weights=False):
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (n, 4, 4, 3)).astype("float32")
    y = {"age": encode_dex(rng.integers(0, 100, n), 101, 2.0), "gender": np.arange(n) % 2}
    parts = (images, y, {"age": np.ones(n, "float32"), "gender": np.zeros(n, "float32")}) \
        if weights else (images, y)
    return tf.data.Dataset.from_tensor_slices(parts).batch(batch), images, y


def _partners(original, mixed):
    """Per row, (lam, partner) such that mixed = lam * original + (1 - lam) * original[partner]."""
    found = []
    for row in range(len(mixed)):
        for other in range(len(original)):
            diff = original[row] - original[other]
            if other == row:
                if np.allclose(mixed[row], original[row], atol=1e-3):
                    found.append((1.0, row))
                    break
                continue
            lam = np.sum((mixed[row] - original[other]) * diff) / np.sum(diff * diff)
            if np.allclose(lam * original[row] + (1 - lam) * original[other], mixed[row], atol=1e-2):
                found.append((lam, other))
                break
    return found


def test_mixup_mixes_images_and_age_distributions_alike_and_keeps_gender():
    ds, images, y = _batches()
    (x, out), = mixup(ds.take(1), alpha=0.4, seed=0).as_numpy_iterator()
    pairs = _partners(images[:4], x)
    assert len(pairs) == 4
    for row, (lam, other) in enumerate(pairs):
        assert 0.5 <= lam <= 1 and other < 4  # image `row` dominates, partner from its batch
        np.testing.assert_allclose(out["age"][row], lam * y["age"][row] + (1 - lam) * y["age"][other],
                                   atol=1e-3)
    np.testing.assert_allclose(out["age"].sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(out["gender"], y["gender"][:4])


def test_mixup_is_reproducible_and_keeps_sample_weights():
    ds, _, _ = _batches(weights=True)
    first = list(mixup(ds, alpha=0.2, seed=3).as_numpy_iterator())
    second = list(mixup(ds, alpha=0.2, seed=3).as_numpy_iterator())
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a[0], b[0])
    assert first[0][2]["gender"].tolist() == [0.0] * 4


def test_mixup_of_a_single_output_dataset():
    images = np.zeros((4, 2, 2, 1), "float32")
    ds = tf.data.Dataset.from_tensor_slices((images, encode_dex([10, 20, 30, 40]))).batch(4)
    (_, y), = mixup(ds, alpha=1.0, seed=0).as_numpy_iterator()
    np.testing.assert_allclose(y.sum(axis=1), 1.0, atol=1e-5)


def test_mixup_errors():
    ds, _, _ = _batches()
    with pytest.raises(ValueError, match=r"Expected alpha > 0\. Received: alpha=0"):
        mixup(ds, alpha=0)
    with pytest.raises(ValueError, match="one of the targets"):
        mixup(ds, output="ethnicity")
    with pytest.raises(ValueError, match="a float distribution target"):
        mixup(ds, output="gender")
    with pytest.raises(TypeError, match="a dataset of"):
        mixup(tf.data.Dataset.from_tensor_slices(np.zeros((2, 2))).batch(2))
