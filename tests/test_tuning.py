"""agekit.tuning: the search space, a search, resuming it, and a chief/worker search."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import keras_tuner
import numpy as np
import pytest

from agekit.datasets import load_utkface, make_synthetic
from agekit.tuning import AgeHyperModel, default_objective, tune

pytestmark = pytest.mark.filterwarnings(
    "ignore:Skipping variable loading for optimizer",
    "ignore:Your input ran out of data",
)

REPO = Path(__file__).resolve().parents[1]
TINY_CNN = {"basic_cnn": {"layers": 2, "base_filters": 4, "hidden": 8}}


def _hypermodel(**kwargs):
    """A tiny from-scratch search space: 32x32 RGB, two conv blocks of 4 and 8 filters."""
    options = {"backbone": "basic_cnn", "head": "dex", "learning_rate": (1e-4, 1e-2),
               "batch_size": (16, 32), "dropout": 0.3, "augment": False,
               "input_shape": (32, 32, 3), "backbone_kwargs": TINY_CNN, "seed": 0}
    return AgeHyperModel(**{**options, **kwargs})


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """80 synthetic UTKFace images of 32x32: 60 to train on, 20 to validate on."""
    root = make_synthetic(tmp_path_factory.mktemp("utk"), 80, format="utkface", seed=0,
                          image_size=32)
    df = load_utkface(root).sort_values("path").reset_index(drop=True)
    return df.iloc[:60].reset_index(drop=True), df.iloc[60:].reset_index(drop=True)


def _arrays(n, seed):
    rng = np.random.default_rng(seed)
    ages = rng.integers(1, 90, size=n).astype("float32")
    x = ages[:, None, None, None] / 90 + rng.normal(0, 0.05, (n, 32, 32, 3))
    return x.astype("float32"), ages


# The search space -----------------------------------------------------------------


@pytest.mark.backend_agnostic
def test_hyperparameters_fixed_ranges_choices_and_conditional_trainable_layers():
    hypermodel = AgeHyperModel(
        backbone=["basic_cnn", "vgg16"], head=["dex", "coral"], learning_rate=1e-3,
        batch_size=(16, 128), trainable_layers=[8, "all"], dropout=(0.0, 0.5),
        input_shape=(32, 32, 3), weights=None,
        backbone_kwargs={**TINY_CNN, "vgg16": {"fc_units": 8}},
    )
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)  # defaults: the first choice of each list
    assert hp.values == {"backbone": "basic_cnn", "head": "dex", "learning_rate": 1e-3,
                         "batch_size": 16, "dropout": 0.0, "augment": False}
    assert all(layer.trainable for layer in model.layers)
    assert sorted(hp.space[3].values) == [16, 32, 64, 128]  # batch sizes: powers of two

    hp.values.update(backbone="vgg16", trainable_layers="8", head="coral")
    model = hypermodel.build(hp)
    assert hp.is_active("trainable_layers") and hp.get("trainable_layers") == "8"
    assert model.get_layer("block5_conv1").trainable
    assert not model.get_layer("block4_conv3").trainable
    assert '"age_mae"' in json.dumps(model.get_compile_config()["metrics"])
    assert np.isclose(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)), 1e-3)


@pytest.mark.backend_agnostic
def test_default_objective_is_an_age_mae_every_age_head_reports():
    assert default_objective(_hypermodel(head=["dex", "regression", "coral"])).name == "val_age_mae"
    objective = default_objective(_hypermodel(head="bins:utk7"))
    assert (objective.name, objective.direction) == ("val_macro_f1", "max")
    with pytest.raises(ValueError, match=r"Expected head choices that share a metric"):
        default_objective(_hypermodel(head=["dex", "bins:utk7"]))


@pytest.mark.backend_agnostic
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": (1e-2, 1e-4)}, r"Expected a range \(low, high\).*learning_rate=\(0.01"),
        ({"head": ("dex", "coral")}, r"no range.*Received: head=\('dex', 'coral'\)"),
        ({"backbone": "vgg99"}, r"Expected backbone names.*Received: backbone='vgg99'"),
        ({"dropout": [0.2, 1.5]}, r"Expected dropout rates in \[0, 1\).*dropout=\[0.2, 1.5\]"),
        ({"batch_size": 0}, r"Expected whole batch sizes > 0.*Received: batch_size=0"),
        ({"trainable_layers": [0, 8]}, r"Expected layer counts >= 1.*trainable_layers=\[0, 8\]"),
        ({"head": []}, r"Expected head names.*Received: head=\[\]"),
        ({"trainable_layers": (1, "all")}, r"Expected a range.*trainable_layers=\(1, 'all'\)"),
        ({"backbone_kwargs": {"vgg": {}}}, r"Expected backbone names as keys"),
        ({"dataset_kwargs": {"batch_size": 8}}, r"Received: dataset_kwargs keys \['batch_size'\]"),
    ],
)
def test_invalid_search_space(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _hypermodel(**kwargs)


@pytest.mark.backend_agnostic
def test_tune_rejects_batched_or_unknown_data_before_searching(faces, tmp_path):
    import tensorflow as tf

    train, val = faces
    batched = tf.data.Dataset.from_tensor_slices((np.zeros((4, 32, 32, 3)), np.zeros(4))).batch(2)
    options = {"hypermodel": _hypermodel(), "directory": tmp_path}
    with pytest.raises(ValueError, match=r"Expected unbatched data.*Received: train=_BatchDataset"):
        tune(batched, val, **options)
    with pytest.raises(ValueError, match=r"`path` and `age` columns.*Received: val with columns"):
        tune(train, val.drop(columns="age"), **options)
    with pytest.raises(TypeError, match=r"Expected a DataFrame.*Received: train=str"):
        tune("faces.csv", val, **options)
    x, ages = _arrays(8, 0)
    with pytest.raises(ValueError, match=r"Expected AgeHyperModel\(augment=False\) with array"):
        tune((x, ages), (x, ages), hypermodel=_hypermodel(augment=[False, True]),
             directory=tmp_path)
    with pytest.raises(ValueError, match=r"Expected tuner to be one of.*Received: tuner='grid'"):
        tune(train, val, tuner="grid", **options)
    with pytest.raises(TypeError, match=r"Expected an agekit.tuning.AgeHyperModel"):
        tune(train, val, hypermodel=lambda hp: None, directory=tmp_path)
    with pytest.raises(ValueError, match=r"Received: max_trials=0"):
        tune(train, val, max_trials=0, **options)
    assert not any(tmp_path.iterdir())  # nothing was searched


def test_import_agekit_does_not_import_keras_tuner():
    code = "import sys, agekit; assert 'keras_tuner' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60)


# Searches --------------------------------------------------------------------------


@pytest.mark.slow
def test_search_returns_a_table_and_a_best_model_that_scores_the_best_score(faces, tmp_path):
    train, val = faces
    hypermodel = _hypermodel(head=["dex", "regression"], augment=[False, True])
    result = tune(train, val, hypermodel=hypermodel, tuner="random", max_trials=3, epochs=1,
                  directory=tmp_path, project_name="utk", seed=1, verbose=0)
    table = result.results
    assert result.objective == "val_age_mae"
    assert len(table) == 3 and table["trial_id"].tolist() == ["0", "1", "2"]
    assert list(table.columns) == ["trial_id", "status", "backbone", "head", "learning_rate",
                                   "batch_size", "dropout", "augment", "score", "best_epoch"]
    assert (table["status"] == "COMPLETED").all() and np.isfinite(table["score"]).all()
    assert set(table["batch_size"]) <= {16, 32}
    best = table.loc[table["score"].idxmin()]
    assert result.best_hyperparameters == {k: best[k] for k in result.best_hyperparameters}
    val_ds = hypermodel.make_dataset(result.best_hyperparameters, val)
    scores = result.best_model.evaluate(val_ds, return_dict=True, verbose=0)
    np.testing.assert_allclose(scores["age_mae"], best["score"], rtol=1e-5)


@pytest.mark.slow
@pytest.mark.backend_agnostic
def test_search_on_arrays_compares_heads_on_one_age_mae(tmp_path):
    train, val = _arrays(48, 0), _arrays(16, 1)
    hypermodel = _hypermodel(head=["dex", "coral"])
    result = tune(train, val, hypermodel=hypermodel, tuner="hyperband", max_trials=2, epochs=2,
                  directory=tmp_path, seed=0, verbose=0)
    assert len(result.results) == 2 and (result.results["status"] == "COMPLETED").all()
    assert "tuner/epochs" in result.results  # Hyperband's own bookkeeping columns
    scores = result.best_model.evaluate(hypermodel.make_dataset(result.best_hyperparameters, val),
                                        return_dict=True, verbose=0)
    np.testing.assert_allclose(scores["age_mae"], result.results["score"].min(), rtol=1e-5)


class _Interrupt(keras.callbacks.Callback):
    """Raise KeyboardInterrupt (a kill) after the first batch of the second trial."""

    started = 0  # class attribute: the tuner deep-copies callbacks for every trial

    def on_train_begin(self, logs=None):
        type(self).started += 1

    def on_train_batch_end(self, batch, logs=None):
        if type(self).started == 2:
            raise KeyboardInterrupt("simulated kill during trial 2")


class _Count(keras.callbacks.Callback):
    started = 0

    def on_train_begin(self, logs=None):
        type(self).started += 1


@pytest.mark.slow
def test_an_interrupted_search_resumes_without_repeating_finished_trials(faces, tmp_path):
    train, val = faces
    options = {"hypermodel": _hypermodel(), "tuner": "random", "max_trials": 2, "epochs": 1,
               "directory": tmp_path, "project_name": "resume", "seed": 0, "verbose": 0}
    with pytest.raises(KeyboardInterrupt):
        tune(train, val, callbacks=[_Interrupt()], **options)
    assert _Interrupt.started == 2
    first = json.loads((tmp_path / "resume" / "trial_0" / "trial.json").read_text())
    assert first["status"] == "COMPLETED"

    result = tune(train, val, callbacks=[_Count()], **options)
    assert _Count.started == 1  # trial 1 again, from its start; not trial 0
    table = result.results.set_index("trial_id")
    assert table.index.tolist() == ["0", "1"] and (table["status"] == "COMPLETED").all()
    assert table.loc["0", "learning_rate"] == first["hyperparameters"]["values"]["learning_rate"]
    assert table.loc["0", "score"] == pytest.approx(first["score"])


# Distributed: Keras Tuner's chief and a worker, two processes on 127.0.0.1 ---------

SEARCH_SCRIPT = """
import json, sys
import pandas as pd
from agekit.tuning import AgeHyperModel, tune

folder = sys.argv[1]
train, val = pd.read_csv(f"{folder}/train.csv"), pd.read_csv(f"{folder}/val.csv")
hypermodel = AgeHyperModel(backbone="basic_cnn", head="dex", learning_rate=(1e-4, 1e-2),
                           batch_size=16, dropout=0.3, augment=False, input_shape=(32, 32, 3),
                           backbone_kwargs=BACKBONE_KWARGS)
result = tune(train, val, hypermodel=hypermodel, tuner="random", max_trials=2, epochs=1,
              directory=f"{folder}/search", project_name="shared", seed=0, verbose=0)
with open(f"{folder}/{sys.argv[2]}.json", "w") as f:
    json.dump({"trials": result.results["trial_id"].tolist(),
               "status": result.results["status"].tolist(),
               "best_model": result.best_model is not None}, f)
"""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_a_chief_and_a_worker_run_one_search(faces, tmp_path):
    train, val = faces
    train.to_csv(tmp_path / "train.csv", index=False)
    val.to_csv(tmp_path / "val.csv", index=False)
    script = tmp_path / "search.py"
    script.write_text(SEARCH_SCRIPT.replace("BACKBONE_KWARGS", repr(TINY_CNN)))
    base = {**os.environ, "PYTHONPATH": str(REPO), "KERASTUNER_ORACLE_IP": "127.0.0.1",
            "KERASTUNER_ORACLE_PORT": str(_free_port()), "TF_CPP_MIN_LOG_LEVEL": "2"}
    processes = {}
    try:
        for role in ("chief", "tuner0"):
            with open(tmp_path / f"{role}.log", "w") as log:
                processes[role] = subprocess.Popen(
                    [sys.executable, str(script), str(tmp_path), role], cwd=tmp_path,
                    env={**base, "KERASTUNER_TUNER_ID": role}, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True,
                )
        deadline = time.monotonic() + 100
        for role, process in processes.items():
            code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
            assert code == 0, (tmp_path / f"{role}.log").read_text()[-3000:]
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    chief = json.loads((tmp_path / "chief.json").read_text())
    worker = json.loads((tmp_path / "tuner0.json").read_text())
    assert chief["trials"] == ["0", "1"] and chief["status"] == ["COMPLETED"] * 2
    assert chief["best_model"] and not worker["best_model"]
    assert worker["trials"] == ["0", "1"]  # the worker ran the trials the chief handed out
    assert worker["status"] == ["COMPLETED"] * 2
