"""agekit.explain: known-answer occlusion and Grad-CAM, activations on every backbone.

The known-answer model sees only the top-left quadrant of its input (1x1 convs, then a
fixed mask, then global average pooling and an agekit `Head` whose weights make the
age grow with the quadrant's brightness), so occluding anything else changes nothing
and the maps must peak in that quadrant.
"""

import matplotlib

matplotlib.use("Agg")

import keract
import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest

from agekit import explain
from agekit.data.preprocess import preprocess_images
from agekit.labels import bin_ages
from agekit.models import (
    BACKBONES,
    Head,
    basic_cnn,
    build_model,
    describe,
    image_input,
    levi_hassner_cnn,
)

SIZE = 32
HALF = SIZE // 2


@pytest.fixture(autouse=True)
def _no_keract_get_activations(monkeypatch):
    """keract's get_activations is broken under Keras 3: agekit must never call it."""

    def broken(*args, **kwargs):
        raise AssertionError("keract.get_activations was called")

    monkeypatch.setattr(keract, "get_activations", broken)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


class QuadrantMask(keras.layers.Layer):
    """Zero every feature outside the top-left quadrant."""

    def call(self, x):
        mask = np.zeros((1, x.shape[1], x.shape[2], 1), "float32")
        mask[:, : x.shape[1] // 2, : x.shape[2] // 2] = 1.0
        return x * mask


def quadrant_model(kind="dex", *, bins=None):
    """Output depends on the top-left quadrant only; brighter means older."""
    inputs = keras.Input((SIZE, SIZE, 3), name="image")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = keras.layers.Conv2D(4, 1, activation="relu", name="conv")(x)
    x = QuadrantMask(name="mask")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    head = Head(kind, bins=bins, num_classes=5 if kind == "class" else None, name="age")
    model = keras.Model(inputs, head(x))
    model.get_layer("conv").set_weights([np.full((1, 1, 3, 4), 1 / 3, "float32"),
                                         np.zeros(4, "float32")])
    units = head.kernel.shape[1]
    if kind == "coral":
        kernel = np.ones((4, 1))
    elif kind == "regression":
        kernel = np.full((4, 1), 25.0)
    else:  # softmax: logits grow with brightness the more, the older the class
        kernel = np.tile(np.linspace(0, 20, units), (4, 1))
    head.kernel.assign(kernel.astype("float32"))
    return model


def bright_image(seed=0):
    """A bright textured image: occluding any part of it with grey changes the input."""
    rng = np.random.default_rng(seed)
    return rng.integers(200, 256, (SIZE, SIZE, 3)).astype("uint8")


def assert_peaks_top_left(result, patch, stride):
    starts = np.arange(result.heatmap.shape[0]) * stride
    inside = starts < HALF  # patches that overlap the quadrant
    outside = ~(inside[:, None] & inside[None, :])
    np.testing.assert_allclose(result.heatmap[outside], 0, atol=1e-6)
    row, col = np.unravel_index(result.heatmap.argmax(), result.heatmap.shape)
    assert result.heatmap.max() > 0
    assert starts[row] < HALF and starts[col] < HALF
    up = result.upsampled
    assert up.shape == (SIZE, SIZE)
    assert up[:HALF, :HALF].mean() > 0
    # pixels no patch overlapping the quadrant covers have zero sensitivity
    np.testing.assert_allclose(up[HALF + stride:, :], 0, atol=1e-6)
    np.testing.assert_allclose(up[:, HALF + stride:], 0, atol=1e-6)


CASES = [
    ("dex", None, "class", None),
    ("dex", None, "true_class", 100),
    ("bins", "utk4", "true_class", 70),
    ("dex", None, "expected_age", None),
    ("regression", None, "expected_age", None),
    ("coral", None, "expected_age", None),
]


@pytest.mark.backend_agnostic
@pytest.mark.parametrize(("kind", "bins", "target", "true_age"), CASES)
def test_occlusion_peaks_where_the_model_looks(kind, bins, target, true_age):
    model = quadrant_model(kind, bins=bins)
    result = explain.occlusion_map(model, bright_image(), patch=8, stride=4, target=target,
                                   true_age=true_age, batch_size=16)
    assert result.heatmap.shape == (7, 7)
    assert_peaks_top_left(result, 8, 4)
    if target == "class":
        assert result.class_index == 100  # bright input: the oldest class
    if target == "true_class":
        expected = 100 if kind == "dex" else int(bin_ages([true_age], bins)[0])
        assert result.class_index == expected
    if target == "expected_age":
        assert result.class_index is None
        np.testing.assert_allclose(result.heatmap, np.abs(result.scores - result.baseline))
    else:
        np.testing.assert_allclose(result.heatmap, result.baseline - result.scores)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize(("kind", "bins", "target", "true_age"), CASES)
def test_grad_cam_peaks_where_the_model_looks(kind, bins, target, true_age):
    model = quadrant_model(kind, bins=bins)
    heat = explain.grad_cam(model, bright_image(), target=target, true_age=true_age)
    assert heat.shape == (SIZE, SIZE)  # default layer: the mask, the last 4-D layer
    assert heat.max() == pytest.approx(1.0)
    np.testing.assert_allclose(heat[HALF:, :], 0, atol=1e-6)
    np.testing.assert_allclose(heat[:, HALF:], 0, atol=1e-6)
    assert heat[:HALF, :HALF].min() > 0.5


def naive_occlusion(model, x, patch, stride, fill, class_index):
    """The per-patch loop: one copy and one predict call per position."""
    starts = np.arange(0, SIZE - patch + stride, stride)
    out = np.empty((len(starts), len(starts)))
    for i, top in enumerate(starts):
        for j, left in enumerate(starts):
            copy = x.copy()
            copy[:, top:top + patch, left:left + patch] = fill
            out[i, j] = keras.ops.convert_to_numpy(model(copy))[0, class_index]
    return out


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("batch_size", [4, 64])
def test_batched_occlusion_equals_per_patch_loop(batch_size):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu")(x)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(x))
    image = bright_image(1).astype("float32")  # float: taken as model input as is
    result = explain.occlusion_map(model, image, patch=12, stride=10, batch_size=batch_size,
                                   fill=(10.0, 20.0, 30.0))
    assert result.heatmap.shape == (3, 3)  # starts 0, 10, 20: the last passes the edge
    naive = naive_occlusion(model, image[None], 12, 10, (10.0, 20.0, 30.0),
                            result.class_index)
    np.testing.assert_allclose(result.scores, naive, rtol=1e-4, atol=1e-6)
    assert 0.01 < result.baseline < 0.99  # not saturated: the comparison means something


@pytest.mark.backend_agnostic
def test_occluder_is_grey_in_the_models_input_space():
    """Grey (127.5) is painted into the pixels; the model's own first layer scales it like
    the rest of the image. A described plain model gets the fill preprocessed outside."""
    grey = np.full((1, 1, 3), 127.5, "float32")
    expected = preprocess_images(grey, "vgg16").reshape(3)
    raw = np.zeros((8, 8, 3), "uint8")
    # an agekit-style model: Preprocess("vgg16") first, then a probe of pixel (0, 0)
    inputs, x = image_input((8, 8, 3), preprocess="vgg16")
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: t[:, 0, 0, :])(x))
    np.testing.assert_allclose(explain.occlusion._fill_value(None, model, 3), [127.5] * 3)
    result = explain.occlusion_map(model, raw, patch=8, stride=8, target="class")
    assert result.scores[0, 0] == pytest.approx(expected[result.class_index], abs=1e-4)
    # a plain Keras model that expects caffe-preprocessed input, described as such
    inputs = keras.Input((8, 8, 3))
    plain = keras.Model(inputs, keras.layers.Lambda(lambda t: t[:, 0, 0, :])(inputs))
    describe(plain, head={"probe": "class:3"}, preprocess="vgg16")
    np.testing.assert_allclose(explain.occlusion._fill_value(None, plain, 3), expected, rtol=1e-6)
    result = explain.occlusion_map(plain, raw, patch=8, stride=8, target="class")
    assert result.scores[0, 0] == pytest.approx(expected[result.class_index], abs=1e-4)


def smallest(backbone):
    return (BACKBONES[backbone][2],) * 2 + (3,)


EXPECTED_LAYERS = {
    "vgg16": ["block1_pool", "block2_pool", "block3_pool", "block4_pool", "block5_pool"],
    "vgg19": ["block1_pool", "block2_pool", "block3_pool", "block4_pool", "block5_pool"],
    "resnet50": ["pool1_pool", "conv2_block3_out", "conv3_block4_out", "conv4_block6_out",
                 "conv5_block3_out"],
    "inception_v3": ["max_pooling2d", "max_pooling2d_1", "mixed2", "mixed7", "mixed10"],
    "mobilenet_v2": ["expanded_conv_project_BN", "block_2_add", "block_5_add", "block_12_add",
                     "out_relu"],
    "efficientnet_b0": ["block1a_project_bn", "block2b_add", "block3b_add", "block5c_add",
                        "top_activation"],
}


@pytest.mark.slow
@pytest.mark.backend_agnostic
@pytest.mark.parametrize("backbone", sorted(BACKBONES))
def test_activations_on_every_backbone(backbone):
    if keras.backend.backend() != "tensorflow" and backbone != "vgg16":
        pytest.skip("building the large backbones under JAX is slow; the code path is shared")
    keras.backend.clear_session()
    model = build_model(backbone, "dex", weights=None, input_shape=smallest(backbone),
                        fc_units=8, compile=False)
    names = explain.default_layers(model)
    if backbone.startswith("inception"):  # Keras numbers unnamed layers per session
        names = [n.rstrip("0123456789_") if n.startswith("max") else n for n in names]
        assert names == ["max_pooling2d", "max_pooling2d", *EXPECTED_LAYERS[backbone][2:]]
    else:
        assert names == EXPECTED_LAYERS[backbone]
    acts = explain.activations(model, bright_image())  # uint8 32x32, resized to the input
    assert list(acts) == explain.default_layers(model)
    sides = [a.shape[1] for a in acts.values()]
    assert all(a.ndim == 4 and a.shape[0] == 1 and a.dtype == np.float32 for a in acts.values())
    assert sides == sorted(sides, reverse=True)


@pytest.mark.backend_agnostic
def test_default_layers_of_the_study_cnns():
    assert explain.default_layers(basic_cnn(input_shape=(32, 32, 1), base_filters=4)) == [
        "block1_pool", "block2_pool", "block3_pool", "block4_pool"]
    lh = levi_hassner_cnn(input_shape=(64, 64, 3))
    assert explain.default_layers(lh) == ["pool1", "pool2", "pool3"]
    acts = explain.activations(lh, [bright_image(), bright_image(1)], layers="conv2")
    assert list(acts) == ["conv2"] and acts["conv2"].shape[0] == 2


@pytest.mark.backend_agnostic
def test_activations_of_paths_and_greyscale_models(tmp_path):
    from agekit.images import write_image

    path = write_image(tmp_path / "face.png", bright_image())
    model = basic_cnn(input_shape=(16, 16, 1), layers=2, base_filters=4, rescale=1 / 255)
    acts = explain.activations(model, str(path))
    assert acts["block1_pool"].shape == (1, 8, 8, 4)
    grey = explain.activations(model, bright_image()[..., 0])  # (h, w) greyscale
    np.testing.assert_allclose(grey["block2_pool"], acts["block2_pool"], atol=0.2)


@pytest.mark.backend_agnostic
def test_plot_activations_titles_and_pngs(tmp_path):
    model = basic_cnn(input_shape=(32, 32, 3), layers=2, base_filters=4, rescale=1 / 255)
    acts = explain.activations(model, bright_image())
    figures = explain.plot_activations(acts, bright_image(), title="30.0 / 29.0",
                                       save=tmp_path / "maps")
    assert list(figures) == ["block1_pool", "block2_pool"]
    assert figures["block2_pool"]._suptitle.get_text() == "Conv Block 2 Pool\n30.0 / 29.0"
    pngs = sorted((tmp_path / "maps").glob("*.png"))
    assert [p.name for p in pngs] == ["0_block1_pool.png", "1_block2_pool.png"]
    assert all(p.stat().st_size > 1000 for p in pngs)
    maps = explain.plot_activations(acts, kind="maps", max_filters=2)
    assert len([ax for ax in maps["block1_pool"].axes if ax.images]) == 2


@pytest.mark.backend_agnostic
def test_occlusion_progress_bar(capsys):
    model = quadrant_model("regression")
    quiet = explain.occlusion_map(model, bright_image(), patch=4, stride=2, batch_size=8,
                                  target="expected_age")  # 15 x 15 = 225 copies in 29 batches
    shown = capsys.readouterr().out
    assert "225/225" in shown
    again = explain.occlusion_map(model, bright_image(), patch=4, stride=2, batch_size=8,
                                  target="expected_age", verbose=False)
    assert capsys.readouterr().out == ""
    np.testing.assert_allclose(quiet.scores, again.scores)


@pytest.mark.backend_agnostic
def test_explain_image_writes_every_figure(tmp_path):
    from agekit.images import write_image

    path = write_image(tmp_path / "face.png", bright_image())
    out = explain.explain_image(quadrant_model("dex"), path, tmp_path / "out", true_age=40,
                                patch=8, stride=4)
    assert sorted(out) == ["activations_mask", "grad_cam", "occlusion"]
    for png in out.values():
        assert png.is_file() and png.stat().st_size > 1000
    out = explain.explain_image(quadrant_model("regression"), bright_image(), tmp_path / "r",
                                layers=["conv"])
    assert sorted(out) == ["activations_conv", "grad_cam", "occlusion"]


@pytest.mark.backend_agnostic
def test_overlay():
    image = np.full((6, 8, 3), 100, "uint8")
    heat = np.array([[0.0, 1.0], [0.0, 0.0]])
    out = explain.overlay(image, heat)
    assert out.shape == (6, 8, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(explain.overlay(image, heat, alpha=0), image)
    hot = explain.overlay(image, heat, alpha=1.0)
    assert hot[0, -1, 0] > 100 and hot[-1, 0, 2] > 100  # red where hot, blue where cold
    assert explain.overlay(image[..., 0], heat).shape == (6, 8, 3)


@pytest.mark.backend_agnostic
def test_layer_title():
    assert explain.layer_title("block3_pool") == "Conv Block 3 Pool"
    assert explain.layer_title("pool1") == "Conv Block 1 Pool"
    assert explain.layer_title("conv2_block3_out") == "conv2_block3_out"


@pytest.mark.backend_agnostic
def test_errors():
    model = quadrant_model("dex")
    image = bright_image()
    with pytest.raises(ValueError, match="Unknown layer.*Received: layers=\\['nope'\\]"):
        explain.activations(model, image, layers=["conv", "nope"])
    with pytest.raises(ValueError, match="Unknown target.*Received: target='age'"):
        explain.occlusion_map(model, image, target="age")
    with pytest.raises(ValueError, match="Expected `true_age` for target='true_class'"):
        explain.occlusion_map(model, image, target="true_class")
    with pytest.raises(ValueError, match="Expected non-negative ages"):
        explain.occlusion_map(model, image, target="true_class", true_age=-3)
    with pytest.raises(ValueError, match="softmax output.*Received: kind='regression'"):
        explain.occlusion_map(quadrant_model("regression"), image, target="class")
    with pytest.raises(ValueError, match="dex or bins head.*Received: kind='class'"):
        explain.occlusion_map(quadrant_model("class"), image, target="true_class", true_age=3)
    with pytest.raises(ValueError, match="an age head.*Received: kind='class'"):
        explain.grad_cam(quadrant_model("class"), image, target="expected_age")
    with pytest.raises(ValueError, match="model's input shape.*Received: images.shape"):
        explain.occlusion_map(model, image.astype("float32")[:20])
    with pytest.raises(ValueError, match="Expected an image of shape"):
        explain.occlusion_map(model, np.zeros((8, 8, 2), "uint8"))
    with pytest.raises(ValueError, match="Expected one image. Received: len\\(images\\)=2"):
        explain.occlusion_map(model, np.stack([image, image]))
    with pytest.raises(ValueError, match="whole number >= 1. Received: patch=0"):
        explain.occlusion_map(model, image, patch=0)
    with pytest.raises(ValueError, match="fill value per channel.*Received: fill=\\[1, 2\\]"):
        explain.occlusion_map(model, image, fill=[1, 2])
    with pytest.raises(ValueError, match="Unknown output.*Received: output='gender'"):
        explain.occlusion_map(model, image, output="gender")
    with pytest.raises(ValueError, match="4-D output.*Received: layer='gap'"):
        explain.grad_cam(model, image, layer="gap")
    with pytest.raises(ValueError, match="Unknown layer"):
        explain.grad_cam(model, image, layer="block9_conv")
    with pytest.raises(ValueError, match="0 <= alpha <= 1. Received: alpha=2"):
        explain.overlay(image, np.eye(2), alpha=2)
    with pytest.raises(ValueError, match="colormap name. Received: cmap='nope'"):
        explain.overlay(image, np.eye(2), cmap="nope")
    acts = {"conv": np.zeros((1, 4, 4, 2), "float32")}
    with pytest.raises(ValueError, match="kind to be 'heatmaps' or 'maps'"):
        explain.plot_activations(acts, kind="both")
    with pytest.raises(ValueError, match="an image to draw heatmaps over.*Received: image=None"):
        explain.plot_activations(acts, kind="heatmaps")


@pytest.mark.backend_agnostic
def test_grad_cam_needs_a_layer_on_every_path():
    inputs = keras.Input((8, 8, 3))
    a = keras.layers.Conv2D(2, 1, name="a")(inputs)
    b = keras.layers.Conv2D(2, 1, name="b")(a)
    x = keras.layers.Add(name="add")([a, b])
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    image = bright_image()[:8, :8].astype("float32")  # a plain model: float input as is
    assert explain.grad_cam(model, image).shape == (8, 8)  # default: "add"
    with pytest.raises(ValueError, match="every path to output .* Received: layer='b'"):
        explain.grad_cam(model, image, layer="b")
    assert explain.default_layers(model) == ["add"]
