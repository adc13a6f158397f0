"""Optimizers, schedules, label smoothing and loss overrides as the studies set them."""

import keras
import numpy as np
import pytest

from agekit.losses import SparseCategoricalCrossentropy
from agekit.models import basic_cnn, compile_model, two_branch_cnn
from agekit.models.optimizers import NadamL2, make_optimizer, make_schedule


def one_step(optimizer, weight=2.0, grad=1.0):
    variable = keras.Variable(np.array([weight], "float32"))
    optimizer.apply([keras.ops.convert_to_tensor(np.array([grad], "float32"))], [variable])
    return float(keras.ops.convert_to_numpy(variable)[0])


@pytest.mark.backend_agnostic
def test_l2_mode_adds_the_decay_to_the_gradient_and_decoupled_shrinks_the_weight():
    # Adam's first step is lr * sign(gradient). Coupled: gradient 1 + 0.5 * 2 = 2 > 0,
    # one step of 0.1. Decoupled: 2 - 0.1 * 0.5 * 2 = 1.9, then the Adam step: 1.8.
    coupled = make_optimizer("adam", learning_rate=0.1, weight_decay=0.5, weight_decay_mode="l2")
    decoupled = make_optimizer("adam", learning_rate=0.1, weight_decay=0.5)
    assert one_step(coupled) == pytest.approx(1.9, abs=1e-5)
    assert one_step(decoupled) == pytest.approx(1.8, abs=1e-5)
    # Against a gradient of -1.5: coupled sees -0.5 (still a step up), PyTorch's rule.
    assert one_step(make_optimizer("sgd", learning_rate=0.1, weight_decay=0.5,
                                   weight_decay_mode="l2"), grad=-1.5) == pytest.approx(2.05)


@pytest.mark.backend_agnostic
def test_l2_decay_acts_inside_model_fit():
    """Zero inputs and targets: no gradient but the L2 term, so kernel *= 1 - lr * l2."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, use_bias=False)])
    model.compile(optimizer=make_optimizer("sgd", learning_rate=0.1, weight_decay=0.5,
                                           weight_decay_mode="l2"), loss="mse")
    before = keras.ops.convert_to_numpy(model.layers[0].kernel)
    model.fit(np.zeros((4, 3), "float32"), np.zeros((4, 2), "float32"), batch_size=4,
              epochs=2, verbose=0)
    after = keras.ops.convert_to_numpy(model.layers[0].kernel)
    np.testing.assert_allclose(after, before * 0.95**2, rtol=1e-5)


def test_schedules_match_keras_2_decay_and_exponential_decay():
    lr = make_schedule(1e-3, {"kind": "inverse_time", "decay_rate": 1e-5})
    for step in (0, 1, 1000, 100_000):  # Keras 2: lr / (1 + decay * iterations)
        assert float(lr(step)) == pytest.approx(1e-3 / (1 + 1e-5 * step), rel=1e-6)
    lr = make_schedule(0.01, {"kind": "exponential", "decay_rate": 0.5, "decay_steps": 100})
    assert float(lr(200)) == pytest.approx(0.0025, rel=1e-6)
    assert make_schedule(0.01, None) == 0.01
    opt = make_optimizer("sgd", learning_rate=1e-3, schedule={"kind": "inverse_time",
                                                               "decay_rate": 1e-5})
    assert isinstance(opt._learning_rate, keras.optimizers.schedules.InverseTimeDecay)


def test_sparse_cross_entropy_smooths_like_pytorch():
    # Label 0, p = (0.7, 0.2, 0.1), e = 0.3: target (0.8, 0.1, 0.1).
    expected = -(0.8 * np.log(0.7) + 0.1 * np.log(0.2) + 0.1 * np.log(0.1))
    loss = SparseCategoricalCrossentropy(label_smoothing=0.3)
    assert float(loss(np.array([0]), np.array([[0.7, 0.2, 0.1]]))) == pytest.approx(expected, 1e-5)
    plain = SparseCategoricalCrossentropy()
    assert float(plain(np.array([[1]]), np.array([[0.7, 0.2, 0.1]]))) == pytest.approx(-np.log(0.2), 1e-5)


def test_compile_model_sets_agecnn_optimizer_smoothing_and_loss_overrides(tmp_path):
    model = basic_cnn(input_shape=(16, 16, 1), base_filters=4, hidden=8)
    compile_model(model, optimizer="nadam", learning_rate=1e-4, weight_decay=0.1,
                  weight_decay_mode="l2", label_smoothing=0.001)
    assert isinstance(model.optimizer, NadamL2) and model.optimizer.l2 == 0.1
    assert model.loss.label_smoothing == 0.001
    model.save(tmp_path / "agecnn.keras")
    loaded = keras.saving.load_model(tmp_path / "agecnn.keras")
    assert isinstance(loaded.optimizer, NadamL2) and loaded.optimizer.l2 == 0.1

    two = two_branch_cnn(input_shape=(32, 32, 3))
    compile_model(two, losses={"age": "mse"}, loss_weights={"age": 1, "gender": 50},
                  label_smoothing=0.1, schedule={"kind": "exponential", "decay_rate": 0.9,
                                                 "decay_steps": 1000})
    assert two.loss["age"] == "mse" and two.loss["gender"].label_smoothing == 0.1
    x = np.random.default_rng(0).random((4, 32, 32, 3)).astype("float32")
    y = {"age": np.array([20.0, 30, 40, 50], "float32"), "gender": np.array([0, 1, 0, 1])}
    assert np.isfinite(two.fit(x, y, epochs=1, verbose=0).history["loss"][0])


def test_bad_optimizer_settings_are_refused():
    model = basic_cnn(input_shape=(16, 16, 1), base_filters=4, hidden=8)
    with pytest.raises(ValueError, match="optimizer to be one of"):
        compile_model(model, optimizer="adagrad")
    with pytest.raises(TypeError, match="optimizer name with schedule or weight_decay"):
        compile_model(model, optimizer=keras.optimizers.SGD(), weight_decay=0.1)
    with pytest.raises(ValueError, match="weight_decay_mode to be one of"):
        make_optimizer("adam", weight_decay=0.1, weight_decay_mode="coupled")
    with pytest.raises(ValueError, match="kind one of"):
        make_schedule(1e-3, {"kind": "cosine"})
    with pytest.raises(ValueError, match="label_smoothing and losses for the outputs"):
        compile_model(model, losses={"gender": "mse"})
    with pytest.raises(ValueError, match="label smoothing only on softmax heads"):
        compile_model(two_branch_cnn(input_shape=(32, 32, 3)), label_smoothing={"age": 0.1})
    with pytest.raises(ValueError, match="label_smoothing in"):
        SparseCategoricalCrossentropy(label_smoothing=1.0)
