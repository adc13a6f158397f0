"""`load_dataset`, `evaluate_model` and `Experiment` / `run_experiment` on synthetic data."""

import json

import numpy as np
import pandas as pd
import pytest

from agekit.datasets import FORMATS, load_dataset, parse_data_spec
from agekit.evaluation import evaluate_model, score_predictions
from agekit.experiment import DataConfig, Experiment, run_experiment


@pytest.mark.parametrize("format", FORMATS)
def test_load_dataset_makes_and_loads_every_format(format, tmp_path):
    df = load_dataset(format, n=24, image_size=32, synthetic_dir=tmp_path)
    assert len(df) > 0 and {"path", "age"} <= set(df.columns)
    assert df.attrs["format"] == format and df.attrs["synthetic"] is True


def test_load_dataset_reads_a_root_and_names_its_splits(tmp_path):
    from agekit.datasets import make_synthetic

    root = make_synthetic(tmp_path, 20, format="chalearn", image_size=32)
    df = load_dataset("chalearn", root)
    assert set(df["split"]) == {"train", "valid", "test"} and len(df) == 20
    assert df.attrs["synthetic"] is False


def test_load_dataset_errors(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown dataset format.*Received: format='lfw'"):
        load_dataset("lfw")
    with pytest.raises(FileNotFoundError, match="Received: root="):
        load_dataset("utkface", tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match=r"Expected `\*train\*.csv`"):
        load_dataset("chalearn", tmp_path)
    assert parse_data_spec("utkface:/data/a:b") == ("utkface", "/data/a:b")
    assert parse_data_spec("adience") == ("adience", None)
    with pytest.raises(ValueError, match="FORMAT:PATH"):
        parse_data_spec("")


def test_score_predictions_hand_computed():
    table = pd.DataFrame({"age": [10.0, 20.0, 30.0, 40.0], "pred_age": [12.0, 20.0, 37.0, 40.0],
                          "age_std": [1.0, 1.0, 1.0, 1.0],
                          "gender": pd.array([0, 1, pd.NA, 1], dtype="Int8"),
                          "pred_gender": ["male", "male", "female", "female"]})
    scores = score_predictions(table, baseline_age=25.0)
    assert scores["mae"] == pytest.approx(9 / 4)
    assert scores["cs5"] == pytest.approx(3 / 4)
    assert scores["baseline_mae"] == pytest.approx(10.0)
    assert scores["gender_accuracy"] == pytest.approx(2 / 3)  # the <NA> row is not scored
    expected = np.mean(1 - np.exp(-np.array([2.0, 0, 7, 0]) ** 2 / 2))
    assert scores["epsilon_error"] == pytest.approx(expected, abs=1e-4)
    with pytest.raises(ValueError, match="a `pred_age` column"):
        score_predictions(table.drop(columns="pred_age"))


def _tiny_model(size=32):
    from agekit.models import basic_cnn, compile_model

    return compile_model(basic_cnn(layers=2, base_filters=4, hidden=8, dropout=0, head="dex",
                                   input_shape=(size, size, 3), rescale=1 / 255))


def test_evaluate_model_skips_and_counts_unreadable_images(tmp_path):
    df = load_dataset("utkface", n=12, image_size=32, synthetic_dir=tmp_path / "utk")
    broken = tmp_path / "3_0_0_20170101000000000.jpg.chip.jpg"
    broken.write_bytes(b"not a jpeg")
    df = pd.concat([df, pd.DataFrame({"path": [str(broken)], "age": [3.0]})], ignore_index=True)
    scores, table = evaluate_model(_tiny_model(), df)
    assert scores["skipped"] == 1 and scores["n"] == 12 and len(table) == 12
    assert str(broken) in table.attrs["skipped"]
    assert np.isfinite(scores["mae"]) and table["pred_age"].between(0, 100).all()


def test_experiment_from_toml_maps_sections_and_rejects_unknown_keys(tmp_path):
    config = tmp_path / "exp.toml"
    config.write_text('[data]\nformat = "adience"\nimage_size = 32\n\n[model]\nhead = "coral"\n'
                      'outputs = { gender = 2 }\n\n[train]\nepochs = 3\n'
                      '[[train.schedule]]\ntrainable = "head"\nepochs = 1\n')
    experiment = Experiment.from_toml(config)
    assert experiment.data == DataConfig(format="adience", image_size=32)
    assert experiment.model.outputs == {"gender": 2} and experiment.train.epochs == 3
    assert experiment.train.schedule == [{"trainable": "head", "epochs": 1}]
    config.write_text('[data]\nformt = "utkface"\n')
    with pytest.raises(ValueError, match=r"\[data\] keys.*Received: \[data\] keys=\['formt'\]"):
        Experiment.from_toml(config)
    config.write_text('[dataset]\n')
    with pytest.raises(ValueError, match=r"Received: sections=\['dataset'\]"):
        Experiment.from_toml(config)
    config.write_text('[data\n')
    with pytest.raises(ValueError, match="Expected a valid TOML file"):
        Experiment.from_toml(config)
    with pytest.raises(FileNotFoundError, match="TOML configuration file"):
        Experiment.from_toml(tmp_path / "none.toml")
    with pytest.raises(ValueError, match="detector"):
        DataConfig(detector="sift")


@pytest.mark.slow
def test_run_experiment_crops_trains_and_scores_held_out_faces(tmp_path):
    """IMDb-WIKI layout: `.mat` cleaning, crops from its face boxes, multi-task training."""
    experiment = Experiment.from_dict({
        "data": {"format": "imdb_wiki", "n": 120, "image_size": 32, "val": 0.2, "test": 0.2},
        "model": {"layers": 2, "base_filters": 4, "hidden": 8, "outputs": {"gender": 2}},
        "train": {"epochs": 1, "run_dir": str(tmp_path / "run")},
    })
    metrics = run_experiment(experiment, figures=False, verbose=0)
    run = tmp_path / "run"
    assert json.loads((run / "metrics.json").read_text())["mae"] == metrics["mae"]
    split = pd.read_csv(run / "split.csv")
    assert (split["path"].str.contains("/crops/")).all()  # trained on the prepared crops
    test_subjects = set(split.loc[split["split"] == "test", "subject"])
    assert not test_subjects & set(split.loc[split["split"] != "test", "subject"])  # no leak
    assert metrics["n_test"] == metrics["n"] == len(pd.read_csv(run / "predictions.csv"))
    assert {"mae", "baseline_mae", "gender_accuracy"} <= set(metrics)
    assert json.loads((run / "experiment.json").read_text())["model"]["outputs"] == {"gender": 2}
    with pytest.raises(ValueError, match="it holds a run of other settings"):
        run_experiment(experiment.replace(model={"head": "regression"}), figures=False)


def test_auto_detector_leaves_crop_formats_alone_and_uses_imdb_boxes(tmp_path):
    from agekit.experiment import load_data

    adience = load_data(DataConfig(format="adience", n=20, image_size=32), tmp_path / "a")
    assert "face_box" in adience.columns and "/crops/" not in adience["path"].iloc[0]
    imdb = load_data(DataConfig(format="imdb_wiki", n=20, image_size=32), tmp_path / "i")
    assert imdb["path"].str.contains("/crops/").all()
    counts = imdb.attrs["counts"]
    assert counts["prepare"]["ok"] == counts["kept"] == len(imdb) and counts["loaded"] >= len(imdb)


@pytest.mark.parametrize(
    ("section", "settings", "message"),
    [
        ("model", {"head": "dexx"}, r"Received: \[model\] head='dexx'"),
        ("model", {"backbone": "vgg61"}, r"Received: \[model\] backbone='vgg61'"),
        ("train", {"epochs": "ten"}, r"whole number >= 1. Received: \[train\] epochs='ten'"),
        ("data", {"val": 3.0}, r"Received: \[data\] val=3.0"),
        ("data", {"image_size": -5}, r"Received: \[data\] image_size=-5"),
        ("data", {"val": 0.6, "test": 0.5}, r"val \+ test < 1"),
        ("data", {"augment": {"rotate": 10}}, r"Augment settings"),
        ("model", {"backbone": "basic_cnn", "weights": "imagenet"}, "no pretrained weights"),
        ("train", {"lr_schedule": "step"}, r"Received: \[train\] lr_schedule='step'"),
        ("train", {"schedule": [{"trainable": "head", "epochz": 1}]}, "Stage fields"),
        ("train", {"mixed_precision": "bf16"}, r"Received: \[train\] mixed_precision='bf16'"),
        ("train", {"mixup": -0.1}, r"Received: \[train\] mixup=-0.1"),
        ("data", {"age_weights": 2}, r"number in \[0, 1\]. Received: \[data\] age_weights=2"),
        ("model", {"tta": "rotate"}, r"Received: \[model\] tta='rotate'"),
        ("model", {"backbone": "vgg16", "norm_after_pool": True}, "norm_after_pool only with backbone"),
    ],
)
def test_experiment_settings_are_checked_when_read_not_after_loading_data(section, settings, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Experiment.from_dict({section: settings})


def test_configuration_names_match_the_library_and_reading_one_imports_no_tensorflow():
    import subprocess
    import sys

    from agekit.experiment import config
    from agekit.models import BACKBONES, TOPS

    assert set(config.TRANSFER) == set(BACKBONES) and set(config.TOPS) == set(TOPS)
    code = ("import sys, agekit.experiment as e; e.preset('utkface', data={'root': '.'}); "
            "e.Experiment.from_dict({'model': {'head': 'bins:utk7'}}); "
            "assert 'tensorflow' not in sys.modules, 'imported TensorFlow'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.mark.slow
def test_accuracy_options_train_and_reach_the_card(tmp_path):
    """bfloat16, norm_after_pool, mixup, age weights and flip TTA in one tiny run."""
    import keras

    from agekit.models import card_of

    experiment = Experiment.from_dict({
        "data": {"format": "utkface", "n": 60, "image_size": 32, "val": 0.2, "test": 0.2, "age_weights": 0.5},
        "model": {"layers": 2, "base_filters": 4, "hidden": 8, "outputs": {"gender": 2},
                  "norm_after_pool": True, "tta": "flip"},
        "train": {"epochs": 2, "lr_schedule": "cosine", "warmup_epochs": 1, "mixed_precision": "bfloat16",
                  "mixup": 0.2, "run_dir": str(tmp_path / "run")},
    })
    metrics = run_experiment(experiment, figures=False, verbose=0)
    assert np.isfinite(metrics["mae"])
    model = keras.saving.load_model(tmp_path / "run" / "model.keras")
    assert card_of(model).tta == "flip" and card_of(model).calibration is not None
    assert model.get_layer("block1_conv").compute_dtype == "float32"  # saved in float32
    assert model.get_layer("block1_bn").output.shape == (None, 16, 16, 4)  # after the pool


@pytest.mark.slow
@pytest.mark.backend_agnostic
def test_gpu_preset_builds_at_smoke_size_and_fits_from_arrays(tmp_path):
    """The GPU preset (ResNet-50, bfloat16, arrays) built at 32 px and fed one batch, any backend
    (`benchmarks/README.md`: one short epoch of it on a CPU)."""
    from agekit.data import Augment, encode_targets
    from agekit.data.arrays import ArrayFeed, load_arrays
    from agekit.datasets import load_utkface, make_synthetic
    from agekit.experiment import preset
    from agekit.experiment.runner import build, targets

    exp = preset("utkface_gpu", data={"image_size": 32, "batch_size": 4}, train={"epochs": 3})
    assert exp.data.feed == "arrays" and exp.train.mixed_precision == "bfloat16"
    df = load_utkface(make_synthetic(tmp_path / "faces", 8, format="utkface", image_size=40))
    images, kept = load_arrays(df, image_size=32)
    assert images.shape == (8, 32, 32, 3) and images.dtype == np.uint8 and kept.all()
    feed = ArrayFeed(images, encode_targets(df, targets(exp.model), sigma=2.0, clip_ages=True), batch_size=4,
                     augment=Augment(rotation=10, shift=0.1, zoom=0.1, flip=True), mixup=0.2,
                     age_weights=np.ones(101, "float32"), seed=0)
    x, y, w = feed[0]
    assert x.shape == (4, 32, 32, 3) and y["age"].shape == (4, 101) and w["age"].shape == (4,)
    np.testing.assert_allclose(y["age"].sum(axis=1), 1.0, atol=1e-5)
    model = build(exp.model, exp.data, exp.train, steps_per_epoch=len(feed))
    assert "conv5_block3_out" in [layer.name for layer in model.layers]  # ResNet-50, flat
    outputs = model(x[:2], training=False)
    assert tuple(outputs["age"].shape) == (2, 101) and tuple(outputs["gender"].shape) == (2, 2)
