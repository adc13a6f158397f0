"""agekit.training: run folders, the two-stage schedule, resuming, transfer, ensembles."""

import json

import h5py
import keras
import numpy as np
import pytest

from agekit.labels import encode_dex
from agekit.models import basic_cnn, build_model, compile_model
from agekit.training import (
    FineTune,
    Stage,
    default_monitor,
    ensemble_predict,
    fit,
    read_history,
    transfer_weights,
)

pytestmark = pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")

TINY = {"weights": None, "input_shape": (32, 32, 3), "fc_units": 16}


def _data(n=16, seed=0, channels=3):
    rng = np.random.default_rng(seed)
    ages = rng.integers(1, 90, size=n).astype("float32")
    x = ages[:, None, None, None] / 90.0 + rng.normal(0, 0.05, (n, 32, 32, channels))
    return x.astype("float32"), encode_dex(ages)


def _small():
    """A small DEX model (two conv blocks) for tests of the run machinery."""
    return basic_cnn(layers=2, base_filters=4, hidden=8, input_shape=(32, 32, 1), head="dex")


def _weights(model):
    return {layer.name: [w.copy() for w in layer.get_weights()] for layer in model.layers
            if layer.weights}


def _changed(before, after):
    return {name for name in before
            if any(not np.array_equal(a, b) for a, b in zip(before[name], after[name]))}


@pytest.mark.backend_agnostic
def test_two_stage_schedule_changes_exactly_the_expected_weights():
    x, y = _data()
    model = build_model("vgg16", "dex", dropout=0.0, **TINY)
    schedule = FineTune.study_best(head_epochs=1, block5_epochs=1)
    start = _weights(model)
    schedule.stages[0].apply(model)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    after_head = _weights(model)
    assert _changed(start, after_head) == {"age"}
    schedule.stages[1].apply(model)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    assert _changed(after_head, _weights(model)) == {
        "block5_conv1", "block5_conv2", "block5_conv3", "fc1", "fc2", "age"
    }


def test_fit_writes_a_run_folder_and_follows_the_schedule(tmp_path):
    x, y = _data(channels=1)
    schedule = FineTune((Stage("head", 1e-3, 2), Stage("block2", 1e-4, 1)))
    model, history = fit(_small(), (x, y), (x, y), run_dir=tmp_path, schedule=schedule, verbose=0)
    assert len(history) == 3 and history["epoch"].tolist() == [0, 1, 2]
    assert "val_expected_age_mae" in history
    for name in ("best.weights.h5", "final.keras", "history.csv"):
        assert (tmp_path / name).is_file(), name
    assert not list(tmp_path.glob("stage*.weights.h5"))  # superseded by final.keras
    with h5py.File(tmp_path / "best.weights.h5") as best:  # weights only, no optimizer state
        assert "optimizer" not in best or not len(best["optimizer"].get("vars", {}))
    assert any((tmp_path / "logs").rglob("events.out.tfevents.*"))
    assert json.loads((tmp_path / "stages.json").read_text()) == [2, 1]
    # The stage "block2" trains from block2_conv on; the final model keeps that state.
    assert model.get_layer("block2_conv").trainable and not model.get_layer("block1_conv").trainable
    reloaded = keras.saving.load_model(tmp_path / "final.keras")
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # Running it again finds every stage done and trains nothing more.
    fit(_small(), (x, y), (x, y), run_dir=tmp_path, schedule=schedule, verbose=0)
    assert len(read_history(tmp_path)) == 3


class _Crash(keras.callbacks.Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise KeyboardInterrupt("simulated kill")


def test_interrupted_run_resumes_without_repeating_epochs(tmp_path):
    x, y = _data(channels=1)
    schedule = FineTune((Stage("head", 1e-3, 2), Stage("all", 1e-4, 2)))
    with pytest.raises(KeyboardInterrupt):
        fit(_small(), (x, y), (x, y), run_dir=tmp_path, schedule=schedule,
            callbacks=[_Crash(at_epoch=2)], verbose=0)
    assert json.loads((tmp_path / "stages.json").read_text()) == [2]
    assert (tmp_path / "stage0.weights.h5").is_file()  # where the second stage resumes from
    _, history = fit(_small(), (x, y), (x, y), run_dir=tmp_path, schedule=schedule, verbose=0)
    assert history["epoch"].tolist() == [0, 1, 2, 3]


def test_default_monitor():
    assert default_monitor(build_model("vgg16", "dex", **TINY)) == ("val_expected_age_mae", "min")
    assert default_monitor(build_model("vgg16", "coral", **TINY), validation=False) == ("coral_mae", "min")
    multi = build_model("vgg16", "bins:utk7", outputs={"gender": 2}, **TINY)
    assert default_monitor(multi) == ("val_age_macro_f1", "max")


def test_transfer_weights_replaces_a_head_of_another_size():
    source = build_model("vgg16", "dex", **TINY)
    target = build_model("vgg16", "bins:adience", **TINY)
    copied, skipped = transfer_weights(source, target)
    assert "block5_conv3" in copied and "fc2" in copied and skipped == ["age"]
    np.testing.assert_array_equal(source.get_layer("fc1").get_weights()[0],
                                  target.get_layer("fc1").get_weights()[0])


def test_ensemble_predict_averages():
    x, _ = _data(4)
    models = [build_model("vgg16", "dex", **TINY) for _ in range(2)]
    mean = ensemble_predict(models, x)
    expected = (models[0].predict(x, verbose=0) + models[1].predict(x, verbose=0)) / 2
    np.testing.assert_allclose(mean, expected, rtol=1e-6)


def test_fit_with_a_distribution_strategy_and_mixed_precision(tmp_path):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("tf.distribute needs the TensorFlow backend")
    import tensorflow as tf

    x, y = _data(channels=1)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    model, history = fit(lambda: compile_model(_small()), (x, y), (x, y), run_dir=tmp_path,
                         epochs=1, strategy=strategy, mixed_precision=True, verbose=0)
    assert model.get_layer("fc1").compute_dtype == "float16"
    assert model.get_layer("age").compute_dtype == "float32"
    assert len(history) == 1
    assert keras.mixed_precision.global_policy().name == "float32"
    with pytest.raises(TypeError, match=r"Expected a function that builds the model"):
        fit(model, (x, y), run_dir=tmp_path, strategy=strategy)


def test_read_history_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="history.csv"):
        read_history(tmp_path)


def test_fit_honours_learning_rate_on_a_compiled_model(tmp_path):
    """fit(learning_rate=0.5) on a compiled model trains at 0.5 (it kept compile's 1e-4)."""
    x, y = _data(n=8, channels=1)
    model = compile_model(_small(), learning_rate=1e-4)
    fit(model, (x, y), run_dir=tmp_path / "given", epochs=1, learning_rate=0.5, verbose=0)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.5)
    # Without learning_rate, a compiled model keeps its own optimizer's rate.
    kept = compile_model(_small(), learning_rate=3e-3)
    fit(kept, (x, y), run_dir=tmp_path / "kept", epochs=1, verbose=0)
    assert float(keras.ops.convert_to_numpy(kept.optimizer.learning_rate)) == pytest.approx(3e-3)
    settings = json.loads((tmp_path / "kept" / "settings.json").read_text())
    assert settings["training"]["stages"][0]["learning_rate"] == pytest.approx(3e-3)
    # A learning-rate schedule cannot take a number: say so instead of ignoring it.
    scheduled = _small()
    scheduled.compile(optimizer=keras.optimizers.Adam(
        keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.9)), loss="categorical_crossentropy")
    with pytest.raises(TypeError, match=r"Expected learning_rate=None for a model compiled with a "
                                        r"learning-rate schedule"):
        fit(scheduled, (x, y), run_dir=tmp_path / "scheduled", epochs=1, learning_rate=0.5)


def test_resume_refuses_a_run_folder_made_by_other_settings(tmp_path):
    """A run folder resumes only the run that made it: same data, model and schedule."""
    x, y = _data(n=8, channels=1)
    fit(_small(), (x, y), run_dir=tmp_path, epochs=1, learning_rate=1e-3, verbose=0)
    other_x, _ = _data(n=8, seed=1, channels=1)
    wider = basic_cnn(layers=2, base_filters=8, hidden=8, input_shape=(32, 32, 1), head="dex")
    for what, call in [
        ("schedule", lambda: fit(_small(), (x, y), run_dir=tmp_path, epochs=1, learning_rate=1e-2)),
        ("schedule", lambda: fit(_small(), (x, y), run_dir=tmp_path, epochs=2, learning_rate=1e-3)),
        ("data", lambda: fit(_small(), (other_x, y), run_dir=tmp_path, epochs=1, learning_rate=1e-3)),
        ("model", lambda: fit(wider, (x, y), run_dir=tmp_path, epochs=1, learning_rate=1e-3)),
    ]:
        with pytest.raises(ValueError, match=rf"Expected the settings of the run in .* to resume "
                                             rf"it, or a new run_dir. Received: other {what}"):
            call()
    assert len(read_history(tmp_path)) == 1  # nothing was trained or overwritten
    # The same settings (a model built again, in the same process) resume: nothing to do.
    _, history = fit(_small(), (x, y), run_dir=tmp_path, epochs=1, learning_rate=1e-3, verbose=0)
    assert len(history) == 1


def test_fit_in_mixed_bfloat16(tmp_path):
    x, y = _data(channels=1)
    model, _ = fit(lambda: compile_model(_small()), (x, y), run_dir=tmp_path, epochs=1,
                   mixed_precision="bfloat16", verbose=0)
    assert model.get_layer("fc1").compute_dtype == "bfloat16"
    assert model.get_layer("age").compute_dtype == "float32"
    assert keras.mixed_precision.global_policy().name == "float32"
    with pytest.raises(ValueError, match="Expected False, True, 'float16' or 'bfloat16'"):
        fit(lambda: compile_model(_small()), (x, y), run_dir=tmp_path, mixed_precision="int8")
