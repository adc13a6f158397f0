"""The model card: every agekit model describes its input and outputs, inside its file.

Backend-agnostic parts run under JAX in CI too.
"""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pandas as pd
import pytest

from agekit.data.preprocess import preprocess_images
from agekit.labels import expected_age
from agekit.models import (
    Head,
    ModelCard,
    Preprocess,
    basic_cnn,
    build_model,
    card_of,
    counted_layers,
    describe,
    levi_hassner_cnn,
    set_card,
    two_branch_cnn,
)
from agekit.predict import load_model, predict_age

pytestmark = pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")

TINY_VGG = {"weights": None, "input_shape": (32, 32, 3), "fc_units": 8}


def _faces(n=6, size=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize(
    ("make", "preprocess", "color"),
    [
        (lambda: build_model("vgg16", "dex", **TINY_VGG), "vgg16", "rgb"),
        (lambda: build_model("mobilenet_v2", "coral", weights=None, input_shape=(32, 32, 3), top="gap"),
         "tf", "rgb"),
        (lambda: build_model("resnet50", "regression", weights=None, input_shape=(32, 32, 3), top="gap",
                             color="grayscale_rgb"), "caffe", "grayscale_rgb"),
        (lambda: basic_cnn(layers=2, base_filters=4, hidden=8, input_shape=(32, 32, 1)), "0-1",
         "grayscale"),
        (lambda: levi_hassner_cnn(input_shape=(64, 64, 3)), "0-1", "rgb"),
        (lambda: two_branch_cnn(input_shape=(32, 32, 3)), "0-1", "rgb"),
    ],
)
def test_every_builder_puts_its_preprocessing_and_card_in_the_model(make, preprocess, color):
    model = make()
    card = card_of(model)
    assert isinstance(model.layers[1], Preprocess)  # right after the input
    assert model.input_shape[-1] == 3  # every agekit model takes RGB
    assert (card.preprocess, card.color, card.in_model) == (preprocess, color, True)
    assert card.input_size == tuple(model.input_shape[1:3])
    assert card.heads["age"]["kind"] in ("dex", "coral", "regression", "bins")
    assert card.backbone is not None
    assert not any(isinstance(layer, keras.Model) for layer in model.layers)  # still flat


@pytest.mark.backend_agnostic
def test_preprocess_layer_matches_the_keras_applications_constants():
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    for mode in ("vgg16", "caffe", "tf", "torch", "0-1", "none"):
        out = np.asarray(Preprocess(mode)(pixels))
        np.testing.assert_allclose(out, preprocess_images(pixels, mode), rtol=1e-5, atol=1e-4)
    grey = np.asarray(Preprocess("none", color="grayscale")(pixels))
    np.testing.assert_allclose(grey[..., 0], pixels @ np.array([0.299, 0.587, 0.114]), rtol=1e-5)
    np.testing.assert_allclose(keras.applications.vgg16.preprocess_input(pixels.copy()),
                               np.asarray(Preprocess("vgg16")(pixels)), rtol=1e-5, atol=1e-4)


@pytest.mark.backend_agnostic
def test_the_freeze_table_counts_ignore_the_preprocess_layer():
    model = build_model("vgg16", "dex", weights=None, input_shape=(32, 32, 3), fc_units=8)
    groups = counted_layers(model)
    names = [group[0].name for group in groups]
    assert names[:4] == ["age", "fc2", "fc1", "flatten"]
    assert names[7] == "block5_conv1" and len(groups) == 22 and "preprocess" not in names


def test_card_facts_round_trip_through_the_keras_file(tmp_path):
    model = basic_cnn(layers=2, base_filters=4, hidden=8, input_shape=(32, 32, 3), head="dex",
                      outputs={"gender": 2})
    set_card(model, age_range=(1, 116), data="utkface", crop={"kind": "dataset", "dataset": "utkface"},
             validation={"split": "val", "n": 12}, calibration={"method": "test", "q": [1.0]})
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras", compile=False)
    assert card_of(loaded) == card_of(model)
    card = card_of(loaded)
    assert card.age_range == (1.0, 116.0) and card.crop["dataset"] == "utkface"
    assert sorted(card.heads) == ["age", "gender"] and card.heads["gender"]["num_classes"] == 2
    assert ModelCard.from_dict(json.loads(json.dumps(card.to_dict()))) == card
    with pytest.raises(ValueError, match=r"Expected facts among .* Received: facts=\['preprocess'\]"):
        set_card(model, preprocess="vgg16")
    with pytest.raises(ValueError, match="youngest <= oldest"):
        set_card(model, age_range=(50, 10))


def test_renaming_a_model_changes_nothing_it_predicts(tmp_path):
    """The preprocessing used to be guessed from `model.name` ("vgg16_dex")."""
    model = build_model("vgg16", "dex", **TINY_VGG)
    faces = _faces()
    before = predict_age(model, faces)["age"].to_numpy()
    model.name = "my_age_model"
    np.testing.assert_array_equal(predict_age(model, faces)["age"].to_numpy(), before)
    model.save(tmp_path / "renamed.keras")
    loaded = load_model(tmp_path / "renamed.keras", compile=False)
    np.testing.assert_allclose(predict_age(loaded, faces)["age"].to_numpy(), before, atol=1e-4)


def test_a_model_file_without_a_card_loads_with_a_warning_naming_what_it_lacks(tmp_path):
    inputs = keras.Input((16, 16, 3))  # an older agekit model: Rescaling, then a Head
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    keras.Model(inputs, Head("dex", name="age")(x)).save(tmp_path / "old.keras")
    with pytest.warns(UserWarning, match=r"carries no agekit model card .* lacks preprocess, color, age_range"):
        old = load_model(tmp_path / "old.keras", compile=False)
    card = card_of(old)
    assert (card.preprocess, card.in_model, card.crop) == ("none", False, None)
    assert len(predict_age(old, _faces(2))) == 2
    described = load_model(tmp_path / "old.keras", compile=False, preprocess="0-1", data="imdb")
    assert card_of(described).preprocess == "0-1" and card_of(described).missing == ()


def test_a_plain_keras_dex_model_is_usable_once_described():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    plain = keras.Model(inputs, keras.layers.Dense(101, activation="softmax")(x))
    faces = _faces(3, size=16)
    with pytest.raises(TypeError, match="describe"):
        predict_age(plain, faces)
    describe(plain, head="dex", preprocess="vgg16")
    ages = predict_age(plain, faces)["age"].to_numpy()
    by_hand = expected_age(plain.predict(preprocess_images(faces.astype("float32"), "vgg16"),
                                         verbose=0), normalize=True)
    np.testing.assert_allclose(ages, by_hand, rtol=1e-5)


def test_tuned_basic_cnn_predicts_as_it_evaluates(tmp_path):
    """A tuned `basic_cnn` trained on [0, 1] but used to be fed [0, 255] by predict_age."""
    from agekit.datasets import load_utkface, make_synthetic
    from agekit.evaluation import evaluate_model
    from agekit.tuning import AgeHyperModel, tune

    df = load_utkface(make_synthetic(tmp_path / "utk", 48, format="utkface", seed=0))
    hypermodel = AgeHyperModel(backbone="basic_cnn", head="dex", learning_rate=1e-3, batch_size=16,
                               dropout=0.0, augment=False, input_shape=(32, 32, 3),
                               backbone_kwargs={"basic_cnn": {"layers": 2, "base_filters": 4,
                                                              "hidden": 8}})
    result = tune(df.iloc[:32], df.iloc[32:], hypermodel=hypermodel, tuner="random", max_trials=1,
                  epochs=1, directory=tmp_path / "tune", verbose=0)
    model = result.best_model
    assert card_of(model).preprocess == "0-1"
    _, table = evaluate_model(model, df.iloc[32:])
    predicted = predict_age(model, df.iloc[32:])
    np.testing.assert_allclose(table["pred_age"].to_numpy(), predicted["age"].to_numpy(), atol=1e-3)


@pytest.mark.slow
def test_a_fresh_process_loading_the_model_predicts_identical_ages(tmp_path):
    model = basic_cnn(layers=2, base_filters=4, hidden=8, input_shape=(32, 32, 3), head="dex",
                      outputs={"gender": 2})
    path = tmp_path / "m.keras"
    model.save(path)
    faces = _faces(5)
    np.save(tmp_path / "faces.npy", faces)
    here = predict_age(load_model(path, compile=False), faces)
    script = textwrap.dedent(f"""
        import numpy as np, agekit
        table = agekit.predict_age(agekit.load_model({str(path)!r}), np.load({str(tmp_path / 'faces.npy')!r}))
        table.to_csv({str(tmp_path / 'there.csv')!r}, index=False)
    """)
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=300)
    there = pd.read_csv(tmp_path / "there.csv")
    np.testing.assert_array_equal(there["age"].to_numpy(), here["age"].to_numpy())
    assert there["gender"].tolist() == here["gender"].tolist()
