"""A model compiled with agekit's metrics and losses survives a `.keras` round trip.

Backend-agnostic: CI runs this file under TensorFlow and under JAX.
"""

import keras
import numpy as np
import pytest

from agekit.labels import encode_coral, encode_dex
from agekit.losses import CoralLoss, LabelDistributionLoss
from agekit.metrics import BinnedAccuracy, CoralMAE, ExpectedAgeMAE, MacroF1

pytestmark = pytest.mark.backend_agnostic


def _two_head_model():
    inputs = keras.Input((6,), name="features")
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    dex = keras.layers.Dense(101, activation="softmax", name="dex")(hidden)
    coral = keras.layers.Dense(100, name="coral")(hidden)
    model = keras.Model(inputs, {"dex": dex, "coral": coral})
    model.compile(
        optimizer="adam",
        loss={"dex": LabelDistributionLoss(), "coral": CoralLoss(importance=np.ones(100))},
        metrics={
            "dex": [ExpectedAgeMAE(), BinnedAccuracy("adience")],
            "coral": [CoralMAE(), BinnedAccuracy("utk7", head="coral", name="utk7_coral")],
        },
    )
    return model


def test_keras_round_trip_keeps_outputs_and_metrics(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 6)).astype("float32")
    ages = rng.integers(0, 101, size=12)
    y = {"dex": encode_dex(ages, sigma=2.0), "coral": encode_coral(ages, 101)}
    model = _two_head_model()
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    before = model.evaluate(x, y, verbose=0, return_dict=True)

    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)

    for name, out in model.predict(x, verbose=0).items():
        np.testing.assert_array_equal(out, loaded.predict(x, verbose=0)[name])
    after = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert set(after) == set(before)
    for key, value in before.items():
        assert after[key] == pytest.approx(value, rel=1e-5), key


@pytest.mark.parametrize(
    "obj",
    [
        ExpectedAgeMAE(ages=[10, 20, 30], from_logits=True, name="mae3"),
        CoralMAE(min_age=16),
        MacroF1(8),
        BinnedAccuracy([0, 18, 65], head="regression"),
        CoralLoss(importance=[1.0, 0.5]),
        LabelDistributionLoss(from_logits=True),
    ],
)
def test_get_config_round_trips(obj):
    clone = type(obj).from_config(obj.get_config())
    assert clone.get_config() == obj.get_config()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(obj))
    assert type(restored) is type(obj)
