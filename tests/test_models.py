"""agekit.models: flat builders, every head trains, the freeze table, .keras round trips.

Backend-agnostic: CI runs this file under TensorFlow and under JAX. Tiny configurations
(32x32 inputs, 16-unit fc layers) keep it fast.
"""

import keras
import numpy as np
import pytest

from agekit.labels import bin_ages, encode_coral, encode_dex
from agekit.models import (
    BACKBONES,
    Head,
    basic_cnn,
    build_model,
    compile_model,
    counted_layers,
    levi_hassner_cnn,
    set_trainable,
    trainable_summary,
    two_branch_cnn,
)

pytestmark = [
    pytest.mark.backend_agnostic,
    # Saving a compiled model that never trained stores an unbuilt optimizer: harmless.
    pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer"),
]

TINY = {"weights": None, "input_shape": (32, 32, 3), "fc_units": 16}


def _data(n=16, size=32, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    ages = rng.integers(1, 90, size=n).astype("float32")
    # Brightness encodes the age, so every head has something to learn; agekit models
    # take RGB pixels in [0, 255] and scale them themselves.
    x = (ages[:, None, None, None] / 90.0 + rng.normal(0, 0.05, (n, size, size, channels)))
    return (np.clip(x, 0, 1) * 255).astype("float32"), ages


def _targets(head, ages):
    if head == "dex":
        return encode_dex(ages)
    if head == "regression":
        return ages[:, None]
    if head == "coral":
        return encode_coral(np.floor(ages), 101)
    return bin_ages(ages, head.split(":")[1])


@pytest.mark.parametrize("head", ["dex", "regression", "coral", "bins:utk7"])
def test_every_head_trains_and_its_loss_falls(head):
    # The heads are the same `Head` layers on every trunk: a small one keeps this fast.
    x, ages = _data()
    model = basic_cnn(layers=2, base_filters=4, hidden=16, dropout=0.0, input_shape=(32, 32, 3),
                      head=head)
    compile_model(model, learning_rate=3e-3)
    history = model.fit(x, _targets(head, ages), epochs=8, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0], losses
    assert any(name.endswith(("mae", "macro_f1")) for name in history.history)


def test_multi_output_model_with_loss_weights_trains():
    x, ages = _data()
    gender = (ages > 45).astype("int32")
    model = build_model("vgg16", "dex", outputs={"gender": 2, "ethnicity": 5},
                        loss_weights={"gender": 2.0}, learning_rate=1e-3, **TINY)
    assert sorted(model.output_names) == ["age", "ethnicity", "gender"]
    y = {"age": encode_dex(ages), "gender": gender, "ethnicity": np.zeros(16, "int32")}
    history = model.fit(x, y, epochs=4, batch_size=16, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    assert "age_expected_age_mae" in history and "gender_accuracy" in history


def test_models_are_flat():
    model = build_model("vgg16", "dex", **TINY)
    assert not any(isinstance(layer, keras.Model) for layer in model.layers)
    assert model.get_layer("block5_conv1").output.shape[-1] == 512
    assert model.output_shape == (None, 101)


@pytest.mark.slow
@pytest.mark.parametrize("backbone", sorted(BACKBONES))
def test_every_backbone_builds_flat(backbone):
    if keras.backend.backend() == "jax" and backbone not in ("vgg16", "mobilenet_v2"):
        pytest.skip("building the large backbones under JAX is slow; the code path is shared")
    shape = (75, 75, 3) if backbone == "inception_v3" else (32, 32, 3)
    model = build_model(backbone, "regression", weights=None, input_shape=shape, top="gap",
                        compile=False)
    assert not any(isinstance(layer, keras.Model) for layer in model.layers)
    assert model.output_shape == (None, 1)
    assert isinstance(model.layers[-1], Head)


def test_freeze_table_of_the_vgg16_study():
    model = build_model("vgg16", "dex", **TINY)
    assert len(counted_layers(model)) == 22
    expected = {
        1: ["age"],
        2: ["fc2", "age"],
        3: ["fc1", "fc2", "age"],
        8: ["block5_conv1", "block5_conv2", "block5_conv3", "fc1", "fc2", "age"],
    }
    for last, names in expected.items():
        assert set_trainable(model, last=last) == names
        assert trainable_summary(model)["weights"] == 2 * len(names)
    everything = set_trainable(model, last=22)
    assert len(everything) == 13 + 2 + 1  # 13 conv layers, fc1, fc2, age
    assert set_trainable(model, last="all") == everything
    assert set_trainable(model, from_layer="block5_conv1") == expected[8]


def test_freeze_keeps_batchnorm_in_inference_mode():
    model = basic_cnn(input_shape=(32, 32, 1), base_filters=4, hidden=8)
    set_trainable(model, from_layer="block4_conv", train_batchnorm=False)
    assert not model.get_layer("block4_bn").trainable
    assert model.get_layer("block4_conv").trainable
    assert not model.get_layer("block1_bn").trainable
    x = np.random.default_rng(0).normal(size=(4, 32, 32, 1)).astype("float32")
    before = [w.copy() for w in model.get_layer("block1_bn").get_weights()]
    compile_model(model)
    model.fit(x, np.zeros(4, "int32"), epochs=1, verbose=0)
    for old, new in zip(before, model.get_layer("block1_bn").get_weights()):
        np.testing.assert_array_equal(old, new)  # moving statistics untouched


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"backbone": "alexnet"}, ValueError, r"Unknown `backbone`. .*Received: backbone='alexnet'"),
        ({"head": "ordinal"}, ValueError, r"Unknown `head`. .*Received: head='ordinal'"),
        ({"head": "bins:decades"}, ValueError, r"Unknown age-bin scheme"),
        ({"top": "mlp"}, ValueError, r"Unknown `top`. .*Received: top='mlp'"),
        ({"weights": "missing.h5"}, FileNotFoundError, r"Received: weights='missing.h5' \(no such file\)"),
        ({"weights": "imagenet", "input_shape": (32, 32, 1)}, ValueError, r"Expected 3 input channels for ImageNet weights"),
        ({"input_shape": (16, 16, 3)}, ValueError, r"Expected input sides of at least 32 px"),
    ],
)
def test_build_model_errors(kwargs, error, match):
    args = {**TINY, **kwargs}
    backbone = args.pop("backbone", "vgg16")
    head = args.pop("head", "dex")
    with pytest.raises(error, match=match):
        build_model(backbone, head, **args)


def test_set_trainable_errors():
    model = build_model("vgg16", "dex", **TINY)
    with pytest.raises(ValueError, match=r"Expected exactly one of `last` and `from_layer`"):
        set_trainable(model)
    with pytest.raises(ValueError, match=r"Expected last to be 'all' or a whole number in \[1, 22\]"):
        set_trainable(model, last=23)
    with pytest.raises(ValueError, match=r"Expected the name of a layer .*Received: from_layer='block9'"):
        set_trainable(model, from_layer="block9")


def test_local_weights_file_is_loaded(tmp_path):
    source = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = tmp_path / "vgg16_notop.weights.h5"
    source.save_weights(path)
    model = build_model("vgg16", "dex", **{**TINY, "weights": str(path)})
    np.testing.assert_array_equal(
        model.get_layer("block3_conv2").get_weights()[0],
        source.get_layer("block3_conv2").get_weights()[0],
    )


def test_imagenet_weights_offline_say_how_to_get_them(monkeypatch):
    from keras.src.utils import file_utils

    def offline(fname, origin, **kwargs):  # what Keras raises without internet
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -3] Temporary failure")  # noqa: TRY002

    monkeypatch.setattr(file_utils, "get_file", offline)
    with pytest.raises(FileNotFoundError, match=r"~/.keras/models/ has no "
                       r"vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 .*weights='weights/"):
        build_model("vgg16", "dex", **{**TINY, "weights": "imagenet"})


def test_scratch_networks_follow_the_studies():
    levi = levi_hassner_cnn()
    assert levi.count_params() == 51_980_936  # the Adience study's model summary
    assert levi.get_layer("conv1").output.shape[1:] == (221, 221, 96)
    assert levi.get_layer("pool3").output.shape[1:] == (16, 16, 384)
    assert levi.output_shape == (None, 8)
    agecnn = basic_cnn()
    # greyscale: the model takes RGB and converts inside, its convolutions see one channel
    assert agecnn.input_shape == (None, 224, 224, 3)
    assert agecnn.get_layer("block1_conv").input.shape[1:] == (224, 224, 1)
    assert agecnn.get_layer("fc1").units == 132
    assert agecnn.get_layer("dropout").rate == 0.6
    assert agecnn.get_layer("block4_conv").filters == 512
    branches = two_branch_cnn()
    assert branches.get_layer("age_conv").filters == 128
    assert branches.get_layer("gender_conv").filters == 64
    shapes = {name: tuple(t.shape) for name, t in zip(branches.output_names, branches.outputs)}
    assert shapes == {"age": (None, 1), "gender": (None, 2)}


@pytest.mark.parametrize(
    "make",
    [
        lambda: build_model("vgg16", "dex", **TINY),
        lambda: build_model("vgg16", "coral", top="gap", **TINY),
        lambda: build_model("vgg16", "regression", outputs={"gender": 2}, **TINY),
        lambda: build_model("vgg16", "bins:adience", **TINY),
        lambda: compile_model(two_branch_cnn(input_shape=(32, 32, 3)), loss_weights={"gender": 50}),
        lambda: compile_model(basic_cnn(input_shape=(32, 32, 1), base_filters=4, hidden=8)),
        lambda: compile_model(levi_hassner_cnn(input_shape=(64, 64, 3))),
    ],
)
def test_keras_round_trip_is_exact(make, tmp_path):
    model = make()
    x = np.random.default_rng(1).normal(size=(3, *model.input_shape[1:])).astype("float32")
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    before, after = model.predict(x, verbose=0), loaded.predict(x, verbose=0)
    if isinstance(before, dict):
        for name in before:
            np.testing.assert_array_equal(before[name], after[name])
    else:
        np.testing.assert_array_equal(before, after)
    assert [layer.kind for layer in loaded.layers if isinstance(layer, Head)] == [
        layer.kind for layer in model.layers if isinstance(layer, Head)
    ]


def test_a_bins_head_predicts_the_group_center():
    """Adience 60+ is one age everywhere: 65 in the loader and in the head (it was 60 here)."""
    from agekit.datasets.adience import _group_ages
    from agekit.labels import get_bins
    from agekit.models.heads import Head

    ages = Head("bins", bins="adience").to_age(np.eye(8))
    assert ages[-1] == _group_ages()[-1] == 65.0
    np.testing.assert_allclose(ages, _group_ages())
    np.testing.assert_allclose(ages, get_bins("adience").centers)


def test_basic_cnn_norm_after_pool_swaps_pool_and_batch_norm():
    model = basic_cnn(layers=2, base_filters=4, hidden=8, input_shape=(16, 16, 3),
                      norm_after_pool=True)
    names = [layer.name for layer in model.layers]
    assert names.index("block1_pool") < names.index("block1_bn") < names.index("block2_conv")
    assert model.get_layer("block1_bn").output.shape == (None, 8, 8, 4)
    default = basic_cnn(layers=2, base_filters=4, hidden=8, input_shape=(16, 16, 3))
    assert default.get_layer("block1_bn").output.shape == (None, 16, 16, 4)
    assert model.count_params() == default.count_params()
