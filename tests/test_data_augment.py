"""Augmentation stays within its bounds, on an image with a known marker."""

import math

import keras
import numpy as np
import pytest

from agekit.data import Augment, AugmentLayer
from agekit.data.augment import _augment, _keras_backend

SIZE = 64
DOT = (20.0, 44.0)  # (row, column) of the marker, off-centre
CENTRE = (SIZE - 1) / 2


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)
    keras.utils.set_random_seed(0)


def marker(size=SIZE, dot=DOT):
    """Black image with a bright 3x3 dot centred on `dot`."""
    image = np.zeros((size, size, 3), np.uint8)
    r, c = int(dot[0]), int(dot[1])
    image[r - 1 : r + 2, c - 1 : c + 2] = 255
    return image


def centroid(image):
    """(row, column) of the brightness centroid."""
    weight = np.asarray(image, np.float64).sum(axis=-1)
    assert weight.sum() > 0, "the marker left the image"
    rows, cols = np.indices(weight.shape)
    return np.array([(rows * weight).sum(), (cols * weight).sum()]) / weight.sum()


def forward(u, cfg, point=DOT, size=SIZE):
    """Where the augmentation should move `point` (row, col), from the draws `u`."""
    angle = (2 * u[0] - 1) * math.radians(cfg.rotation)
    scale = 1 + (2 * u[1] - 1) * cfg.zoom
    t = np.array([(2 * u[3] - 1) * cfg.shift * size, (2 * u[2] - 1) * cfg.shift * size])
    y, x = point[0] - CENTRE, point[1] - CENTRE
    if cfg.flip and u[4] < 0.5:
        x = -x
    # image axes: x right, y down; R(angle) = [[cos, -sin], [sin, cos]] on (x, y)
    xr = scale * (math.cos(angle) * x - math.sin(angle) * y)
    yr = scale * (math.sin(angle) * x + math.cos(angle) * y)
    return np.array([CENTRE + yr, CENTRE + xr]) + t


def test_warp_moves_the_marker_exactly_where_the_draws_say():
    cfg = Augment(rotation=10, shift=0.1, zoom=0.1, flip=True, fill_mode="constant")
    draws = cfg.draw(np.random.default_rng(1), 40)
    for u in draws:
        moved = centroid(cfg.warp(marker(), u, image_size=(SIZE, SIZE)))
        np.testing.assert_allclose(moved, forward(u, cfg), atol=0.6)


def test_displacement_stays_within_rotation_shift_zoom_bounds_and_uses_them():
    cfg = Augment(rotation=10, shift=0.1, zoom=0.1, flip=False, fill_mode="constant")
    radius = np.hypot(DOT[0] - CENTRE, DOT[1] - CENTRE)
    worst_turn = math.sqrt(1.1**2 + 1 - 2 * 1.1 * math.cos(math.radians(10)))
    bound = radius * worst_turn + math.hypot(0.1 * SIZE, 0.1 * SIZE) + 0.6
    shifts = []
    for u in cfg.draw(np.random.default_rng(2), 60):
        moved = centroid(cfg.warp(marker(), u, image_size=(SIZE, SIZE)))
        shifts.append(np.hypot(*(moved - DOT)))
    assert max(shifts) <= bound
    assert max(shifts) > 0.5 * bound  # the range is used, not just the identity


def test_rotation_alone_keeps_the_distance_and_turns_at_most_10_degrees():
    cfg = Augment(rotation=10, shift=0, zoom=0, flip=False, fill_mode="constant")
    before = np.array(DOT) - CENTRE
    angles = []
    for u in cfg.draw(np.random.default_rng(3), 30):
        after = centroid(cfg.warp(marker(), u, image_size=(SIZE, SIZE))) - CENTRE
        assert abs(np.hypot(*after) - np.hypot(*before)) < 0.5
        turn = math.degrees(math.atan2(after[0], after[1]) - math.atan2(before[0], before[1]))
        angles.append(turn)
    assert max(np.abs(angles)) <= 10.5 and max(np.abs(angles)) > 5


def test_zoom_alone_scales_the_distance_by_0_9_to_1_1():
    cfg = Augment(rotation=0, shift=0, zoom=0.1, flip=False, fill_mode="constant")
    r0 = np.hypot(DOT[0] - CENTRE, DOT[1] - CENTRE)
    ratios = [
        np.hypot(*(centroid(cfg.warp(marker(), u, image_size=(SIZE, SIZE))) - CENTRE)) / r0
        for u in cfg.draw(np.random.default_rng(4), 30)
    ]
    assert 0.9 - 0.02 <= min(ratios) and max(ratios) <= 1.1 + 0.02
    assert max(ratios) - min(ratios) > 0.1


def test_flip_mirrors_about_the_vertical_axis_half_of_the_time():
    cfg = Augment(rotation=0, shift=0, zoom=0, flip=True, fill_mode="constant")
    image = marker()
    outs = [cfg.warp(image, u, image_size=(SIZE, SIZE)) for u in cfg.draw(np.random.default_rng(5), 40)]
    flipped = [np.array_equal(out, image[:, ::-1]) for out in outs]
    same = [np.array_equal(out, image) for out in outs]
    assert all(f or s for f, s in zip(flipped, same))
    assert 10 <= sum(flipped) <= 30


def test_warp_folds_the_resize_in():
    cfg = Augment(rotation=0, shift=0, zoom=0, flip=False)
    image = np.zeros((40, 40, 3), np.uint8)
    image[10:20, 20:30] = 255  # square centred at (14.5, 24.5) in 40 px
    out = cfg.warp(image, np.full(8, 0.75, np.float32), image_size=(80, 80))
    assert out.shape == (80, 80, 3)
    np.testing.assert_allclose(centroid(out), [29.5, 49.5], atol=0.3)  # (x + 0.5) * 2 - 0.5


@pytest.mark.backend_agnostic
def test_keras_layer_is_identity_at_inference_and_bounded_in_training():
    cfg = Augment(rotation=10, shift=0.1, zoom=0.1, flip=False, fill_mode="constant", seed=1)
    layer = cfg.layer()
    batch = np.repeat(marker()[None].astype("float32"), 16, axis=0)
    assert np.array_equal(keras.ops.convert_to_numpy(layer(batch, training=False)), batch)
    out = keras.ops.convert_to_numpy(layer(batch, training=True))
    assert out.shape == batch.shape and out.dtype == np.float32
    radius = np.hypot(DOT[0] - CENTRE, DOT[1] - CENTRE)
    bound = radius * 0.2084 + math.hypot(6.4, 6.4) + 0.6
    moves = [np.hypot(*(centroid(image) - DOT)) for image in out]
    assert max(moves) <= bound and len({round(m, 3) for m in moves}) > 8


@pytest.mark.backend_agnostic
def test_keras_layer_and_cpu_warp_compute_the_same_transform():
    cfg = Augment(rotation=10, shift=0.1, zoom=0.1, flip=True, fill_mode="nearest")
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    smooth = np.stack([xx * 3, yy * 3, (xx + yy) * 1.5], axis=-1).astype(np.uint8)
    draws = cfg.draw(np.random.default_rng(6), 4)
    images = np.repeat(smooth[None].astype("float32"), 4, axis=0)
    via_keras = keras.ops.convert_to_numpy(_augment(images, draws, cfg, _keras_backend()))
    for k, u in enumerate(draws):
        via_cv2 = cfg.warp(smooth, u, image_size=(SIZE, SIZE)).astype(np.float32)
        inner = (slice(8, -8), slice(8, -8))
        assert np.abs(via_keras[k][inner] - via_cv2[inner]).max() <= 2.0


@pytest.mark.backend_agnostic
def test_photometric_options_change_values_within_range():
    cfg = Augment(rotation=0, shift=0, zoom=0, flip=False, brightness=0.2, contrast=0.3, blur=1.0)
    assert not cfg.geometric and cfg.photometric
    images = np.random.randint(0, 256, (8, 16, 16, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(cfg.layer()(images, training=True))
    assert out.min() >= 0 and out.max() <= 255 and not np.allclose(out, images)


def test_brightness_shift_is_bounded():
    cfg = Augment(rotation=0, shift=0, zoom=0, flip=False, brightness=0.1)
    images = np.full((32, 4, 4, 3), 100.0, np.float32)
    draws = cfg.draw(np.random.default_rng(7), 32)
    out = np.asarray(cfg.photometric_tf(images, draws))
    delta = out[:, 0, 0, 0] - 100.0
    assert np.all(np.abs(delta) <= 25.5 + 1e-4) and delta.max() - delta.min() > 20
    np.testing.assert_allclose(delta, (2 * draws[:, 5] - 1) * 25.5, atol=1e-3)


@pytest.mark.backend_agnostic
def test_layer_config_round_trips_and_in_a_model(tmp_path):
    layer = Augment(rotation=5, brightness=0.1, seed=3).layer()
    clone = AugmentLayer.from_config(layer.get_config())
    assert clone.augment == layer.augment == Augment(rotation=5, brightness=0.1, seed=3)
    model = Augment().as_model((32, 32, 3))
    assert model.output_shape == (None, 32, 32, 3)
    model.save(tmp_path / "augment.keras")
    loaded = keras.saving.load_model(tmp_path / "augment.keras")
    assert isinstance(loaded.layers[0], AugmentLayer) and loaded.layers[0].augment == Augment()


def test_invalid_options_are_rejected():
    with pytest.raises(ValueError, match="rotation in degrees"):
        Augment(rotation=200)
    with pytest.raises(ValueError, match="shift as a fraction"):
        Augment(shift=10)
    with pytest.raises(ValueError, match="fill_mode to be one of"):
        Augment(fill_mode="mirror")
    with pytest.raises(ValueError, match="blur None or a sigma"):
        Augment(blur=0)
    with pytest.raises(ValueError, match="shear in degrees"):
        Augment(shear=90)
    with pytest.raises(ValueError, match="p_blur a probability"):
        Augment(p_blur=1.5)
    with pytest.raises(ValueError, match="contrast_mode to be one of"):
        Augment(contrast_mode="linear")



MIXED_OPS = {
    "rotation": {"rotation": 10},
    "shift": {"shift": 0.1},
    "zoom": {"zoom": 0.1},
    "flip": {"flip": True},
    "brightness": {"brightness": 0.2},
    "contrast": {"contrast": 0.3},
    "blur": {"blur": 1.0},
    "shear": {"shear": 10},
    "gated": {"rotation": 10, "p_affine": 0.5, "brightness": 0.2, "p_brightness": 0.5,
              "contrast": 0.2, "p_contrast": 0.5, "contrast_mode": "gain", "blur": 1.0,
              "p_blur": 0.5},
}


@pytest.fixture
def mixed_float16():
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    yield
    keras.mixed_precision.set_dtype_policy("float32")


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("op", sorted(MIXED_OPS))
def test_every_op_runs_under_mixed_float16(op, mixed_float16):
    """Issue 20: brightness failed ("AddV2 expected half"), blur (DepthwiseConv2dNative)."""
    off = {"rotation": 0, "shift": 0, "zoom": 0, "flip": False}
    cfg = Augment(**{**off, **MIXED_OPS[op]}, fill_mode="constant", seed=1)
    layer = cfg.layer()
    assert layer.compute_dtype == "float16"
    images = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3)).astype("float32")
    out = layer(images, training=True)
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    out = keras.ops.convert_to_numpy(out).astype(np.float32)
    keras.mixed_precision.set_dtype_policy("float32")
    reference = keras.ops.convert_to_numpy(cfg.layer()(images, training=True))  # same seed
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 255
    np.testing.assert_allclose(out, reference, atol=0.5)  # float16 rounding of [0, 255]



STILL = {"rotation": 0, "shift": 0, "zoom": 0, "flip": False}


def test_default_draws_are_the_old_eight_columns_then_zeros():
    """Old seeds give the same augmentation: the new columns are only drawn when needed."""
    draws = Augment().draw(np.random.default_rng(9), 5)
    np.testing.assert_array_equal(draws[:, :8], np.random.default_rng(9).random((5, 8), np.float32))
    assert draws.shape == (5, 12) and not draws[:, 8:].any()
    assert Augment(p_blur=0.5).draw(np.random.default_rng(9), 5)[:, 8:].all()


def test_shear_moves_the_marker_as_image_data_generator_does():
    cfg = Augment(**STILL, shear=20, fill_mode="constant")
    for u in cfg.draw(np.random.default_rng(10), 20):
        phi = (2 * u[8] - 1) * math.radians(20)
        y, x = DOT[0] - CENTRE, DOT[1] - CENTRE  # input -> output is H = inverse of
        expected = [CENTRE + y + math.tan(phi) * x, CENTRE + x / math.cos(phi)]  # [[c,0],[-s,1]]
        moved = centroid(cfg.warp(marker(), u, image_size=(SIZE, SIZE)))
        np.testing.assert_allclose(moved, expected, atol=0.6)


def test_affine_probability_leaves_the_other_images_untouched():
    cfg = Augment(rotation=10, shift=0.1, zoom=0.1, flip=False, p_affine=0.5, fill_mode="constant")
    draws = cfg.draw(np.random.default_rng(11), 40)
    unchanged = [np.array_equal(cfg.warp(marker(), u, image_size=(SIZE, SIZE)), marker())
                 for u in draws]
    np.testing.assert_array_equal(unchanged, draws[:, 9] >= 0.5)
    assert 10 < sum(unchanged) < 30


def test_brightness_and_contrast_share_their_gate_and_blur_has_its_own():
    cfg = Augment(**STILL, brightness=0.2, contrast=0.2, p_brightness=0.5, p_contrast=0.5,
                  contrast_mode="gain", blur=1.0, p_blur=0.3)
    images = np.random.default_rng(0).integers(20, 200, (64, 8, 8, 3)).astype(np.float32)
    draws = cfg.draw(np.random.default_rng(12), 64)
    out = np.asarray(cfg.photometric_tf(images, draws))
    bc_on, blur_on = draws[:, 10] < 0.5, draws[:, 11] < 0.3
    for k in range(64):
        factor = 1 + (2 * draws[k, 6] - 1) * 0.2 if bc_on[k] else 1.0
        delta = (2 * draws[k, 5] - 1) * 51.0 if bc_on[k] else 0.0
        expected = np.clip(images[k] * factor + delta, 0, 255)  # gain mode: x * a + b
        if blur_on[k]:
            assert not np.allclose(out[k], expected, atol=1e-3)
        else:
            np.testing.assert_allclose(out[k], expected, atol=1e-3)
    assert 16 < bc_on.sum() < 48 and 5 < blur_on.sum() < 35


@pytest.mark.backend_agnostic
def test_keras_layer_applies_nothing_with_zero_probabilities():
    cfg = Augment(rotation=20, shift=0.2, zoom=0.2, shear=10, flip=False, brightness=0.3,
                  contrast=0.3, blur=2.0, p_affine=0, p_brightness=0, p_contrast=0, p_blur=0)
    images = np.random.default_rng(1).integers(0, 256, (6, 16, 16, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(cfg.layer()(images, training=True))
    np.testing.assert_allclose(out, images, atol=1e-3)
    assert AugmentLayer.from_config(cfg.layer().get_config()).augment == cfg


def test_study_augmentations_run_in_make_dataset_and_repeat_with_a_seed(tmp_path):
    import cv2
    import pandas as pd

    from agekit.data import make_dataset

    paths = []
    for i in range(6):
        path = tmp_path / f"{i}.png"
        cv2.imwrite(str(path), marker(size=24, dot=(8.0, 15.0)) // (i + 1))
        paths.append(str(path))
    df = pd.DataFrame({"path": paths, "age": np.arange(6.0) * 10})
    agecnn = Augment(rotation=15, shift=0.05, zoom=0.05, flip=False, p_affine=0.5,
                     brightness=0.2, contrast=0.2, contrast_mode="gain", p_brightness=0.5,
                     p_contrast=0.5, blur=2.0, p_blur=0.5)
    adience = Augment(rotation=0, shift=0.2, zoom=0.2, shear=0.2, flip=True)
    for cfg, color in ((agecnn, "grayscale"), (adience, "rgb")):
        runs = [next(iter(make_dataset(df, target="regression", image_size=24, preprocess="none",
                                       color=color, augment=cfg, batch_size=6, seed=3)))[0]
                for _ in range(2)]
        assert runs[0].shape == (6, 24, 24, 1 if color == "grayscale" else 3)
        np.testing.assert_array_equal(runs[0], runs[1])
