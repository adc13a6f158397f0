"""Data augmentation: the studies' random affine warp plus optional photometric noise.

`Augment` is a small frozen configuration. It runs in two places with the same maths:

- inside `make_dataset`, on the CPU: the affine warp by OpenCV (`cv2.warpAffine`,
  about four times faster than TensorFlow's `ImageProjectiveTransformV3` kernel on
  CPU, with the resize folded into the same warp), the photometric part by
  TensorFlow ops on each batch; the random numbers come from the dataset seed, chunk
  by chunk, so the output is reproducible although chunks run in parallel;
- as the first layer of a model (`Augment(...).layer()` / `.as_model()`), a Keras 3
  layer written with `keras.ops`, so it runs on the GPU under any backend and only
  when `training=True`.

Rotation, shift, zoom, shear and flip are composed into ONE affine transform per image
and applied with a single bilinear resampling (Keras' separate `RandomRotation`,
`RandomTranslation`, `RandomZoom` and `RandomFlip` layers resample the image four
times: four times the blur and, measured on CPU, about four times the cost).
The transform maps a point `p` of the input to `c + s * R(angle) * H * F * (p - c) + t`,
with `c` the image centre, `s` the zoom, `H` the shear, `F` the optional mirror and `t`
the shift.

Each operation can be applied to a random part of the images only (`p_affine`,
`p_brightness`, `p_contrast`, `p_blur`), as albumentations' `p=` does: the UTKFace
study's `ShiftScaleRotate`, `GaussianBlur` and `RandomBrightnessContrast` each ran
with probability 0.5. The maths always runs in float32, also in a `mixed_float16`
model (the layer casts its result back to the layer's compute dtype).
"""

import math
from dataclasses import asdict, dataclass
from types import SimpleNamespace

import cv2
import keras
import numpy as np

from agekit._validation import fail

FILL_MODES = ("nearest", "constant", "reflect", "wrap")
CONTRAST_MODES = ("mean", "gain")
# Uniform draws per image: angle, zoom, dx, dy, flip, brightness, contrast, blur (the
# first 8, drawn as before the others existed, so old seeds give the same images), then
# shear, the affine gate, the brightness/contrast gate and the blur gate (drawn only when
# `shear` or a probability below 1 needs them; zeros otherwise).
_NUM_BASE = 8
_NUM_RANDOM = 12
_SHEAR, _GATE_AFFINE, _GATE_BC, _GATE_BLUR = 8, 9, 10, 11


@dataclass(frozen=True)
class Augment:
    """Random augmentation of face images in [0, 255]; defaults follow the ChaLearn study.

    Args:
        rotation: Maximum rotation in degrees; the angle is uniform in
            `[-rotation, rotation]`.
        shift: Maximum shift as a fraction of the width / height, drawn independently
            and uniformly in `[-shift, shift]` for each axis.
        zoom: Zoom factor uniform in `[1 - zoom, 1 + zoom]` (> 1 enlarges the face).
        flip: Mirror left-right with probability 1/2.
        brightness: None, or the maximum brightness change as a fraction of 255
            (a value uniform in `[-brightness, brightness] * 255` is added).
        contrast: None, or the maximum contrast change: pixel deviations from the
            image's per-channel mean are scaled by a factor in
            `[1 - contrast, 1 + contrast]`.
        blur: None, or a Gaussian sigma in pixels; each image is mixed with its blurred
            version by a random amount in [0, 1].
        fill_mode: How pixels pulled in from outside the image are filled:
            `"nearest"` (the studies' ImageDataGenerator default), `"constant"` (black),
            `"reflect"` or `"wrap"`.
        seed: Seed of the model layer's random numbers; in `make_dataset` the
            dataset's `seed` is used when this is None.
        shear: Maximum shear angle in degrees, uniform in `[-shear, shear]`, as
            ImageDataGenerator's `shear_range` (degrees since Keras 2.1.3; the
            Adience study's `shear_range=0.2` is 0.2 degrees).
        p_affine: Probability that an image gets the rotation, shift, zoom and shear
            (the others keep the identity; the flip has its own 1/2).
        p_brightness, p_contrast: Probabilities of the brightness and the contrast
            change. Both compare the SAME random number with their probability, so
            with equal values they are applied together or not at all, as
            albumentations' `RandomBrightnessContrast(p=...)`.
        p_blur: Probability of the blur.
        contrast_mode: `"mean"`: deviations from the image's per-channel mean are
            scaled (after the brightness change); `"gain"`: pixels are multiplied by
            the factor before the brightness is added, `x * factor + delta`, as
            albumentations' `RandomBrightnessContrast` does.

    Example:
        >>> import tempfile
        >>> import keras
        >>> from agekit.data import make_dataset
        >>> from agekit.datasets import load_utkface, make_synthetic
        >>> df = load_utkface(make_synthetic(tempfile.mkdtemp(), 8, format="utkface"))
        >>> aug = Augment(rotation=10, shift=0.1, zoom=0.1, flip=True)
        >>> agecnn = Augment(rotation=15, shift=0.05, zoom=0.05, flip=False, p_affine=0.5,
        ...                  brightness=0.2, contrast=0.2, contrast_mode="gain",
        ...                  p_brightness=0.5, p_contrast=0.5, blur=2.0, p_blur=0.5)
        >>> train = make_dataset(df, image_size=64, augment=aug, seed=0)  # on the CPU, in tf.data
        >>> model = keras.Sequential(  # or on the GPU, as the model's first layer
        ...     [keras.Input((224, 224, 3)), aug.layer(), keras.layers.Rescaling(1 / 255)]
        ... )
    """

    rotation: float = 10.0
    shift: float = 0.1
    zoom: float = 0.1
    flip: bool = True
    brightness: float | None = None
    contrast: float | None = None
    blur: float | None = None
    fill_mode: str = "nearest"
    seed: int | None = None
    shear: float = 0.0
    p_affine: float = 1.0
    p_brightness: float = 1.0
    p_contrast: float = 1.0
    p_blur: float = 1.0
    contrast_mode: str = "mean"

    def __post_init__(self):
        if not 0 <= self.rotation < 180:
            fail("rotation in degrees, 0 <= rotation < 180", "rotation", self.rotation)
        for name in ("shift", "zoom"):
            if not 0 <= getattr(self, name) < 1:
                fail(f"{name} as a fraction, 0 <= {name} < 1", name, getattr(self, name))
        for name in ("brightness", "contrast"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                fail(f"{name} None or in [0, 1]", name, value)
        if self.blur is not None and not self.blur > 0:
            fail("blur None or a sigma > 0 (pixels)", "blur", self.blur)
        if self.fill_mode not in FILL_MODES:
            fail(f"fill_mode to be one of {FILL_MODES}", "fill_mode", self.fill_mode)
        if not 0 <= self.shear < 90:
            fail("shear in degrees, 0 <= shear < 90", "shear", self.shear)
        for name in ("p_affine", "p_brightness", "p_contrast", "p_blur"):
            value = getattr(self, name)
            if isinstance(value, bool) or not 0 <= value <= 1:
                fail(f"{name} a probability in [0, 1]", name, value)
        if self.contrast_mode not in CONTRAST_MODES:
            fail(f"contrast_mode to be one of {CONTRAST_MODES}", "contrast_mode",
                 self.contrast_mode)

    @property
    def geometric(self):
        return bool(self.rotation or self.shift or self.zoom or self.shear or self.flip)

    @property
    def _extra_draws(self):
        """Whether the shear and gate columns are needed (else they stay zeros)."""
        probabilities = (self.p_affine, self.p_brightness, self.p_contrast, self.p_blur)
        return bool(self.shear) or min(probabilities) < 1

    def layer(self, *, name="augment"):
        """A new Keras layer applying this augmentation (only when `training=True`)."""
        return AugmentLayer(**asdict(self), name=name)

    def as_model(self, input_shape=(224, 224, 3)):
        """A `keras.Sequential` with just this augmentation, for `input_shape` images."""
        return keras.Sequential([keras.Input(input_shape), self.layer()], name="augment")

    @property
    def photometric(self):
        return bool(self.brightness or self.contrast or self.blur)

    def draw(self, rng, n):
        """`n` rows of uniform random draws in [0, 1) from a numpy Generator."""
        base = rng.random((n, _NUM_BASE), dtype=np.float32)
        if self._extra_draws:
            extra = rng.random((n, _NUM_RANDOM - _NUM_BASE), dtype=np.float32)
        else:
            extra = np.zeros((n, _NUM_RANDOM - _NUM_BASE), np.float32)
        return np.concatenate([base, extra], axis=1)

    def warp(self, image, u, *, image_size):
        """Geometric part for one uint8 image (numpy + OpenCV), in the CPU pipeline.

        The resize to `image_size` is folded into the same warp, so an image of any
        size is resampled once (images over twice the output size are first shrunk
        by area averaging, against aliasing).

        Args:
            image: `uint8` array `(height, width, channels)`.
            u: The image's random draws in [0, 1) (from `draw`).
            image_size: `(height, width)` of the output.

        Returns:
            `uint8` array of `image_size` with the same channels.
        """
        return self.warp_all([image], np.asarray(u)[None], image_size=image_size)[0]

    def warp_all(self, images, draws, *, image_size, out=None):
        """`warp` for a sequence of images (their transforms computed in one go).

        Args:
            images: Sequence of `uint8` arrays `(height, width, channels)`, any sizes.
            draws: `(len(images), 12)` random draws in [0, 1) (from `draw`).
            image_size: `(height, width)` of the output.
            out: Optional `uint8` array `(len(images), height, width, channels)` to
                write into.

        Returns:
            `out`, the warped images.
        """
        out_h, out_w = image_size
        transforms = _affine_transforms(np.asarray(draws), float(out_h), float(out_w), self, np)
        if out is None:
            out = np.empty((len(images), out_h, out_w, images[0].shape[2]), np.uint8)
        border = getattr(cv2, _CV2_BORDERS[self.fill_mode])
        for k, (image, t) in enumerate(zip(images, transforms)):
            if image.shape[0] > 2 * out_h and image.shape[1] > 2 * out_w:
                image = cv2.resize(image, (2 * out_w, 2 * out_h), interpolation=cv2.INTER_AREA)
                image = image.reshape(2 * out_h, 2 * out_w, -1)
            sx, sy = image.shape[1] / out_w, image.shape[0] / out_h  # resize, half-pixel
            matrix = np.array(
                [[sx * t[0], sx * t[1], sx * (t[2] + 0.5) - 0.5],
                 [sy * t[3], sy * t[4], sy * (t[5] + 0.5) - 0.5]]
            )  # fmt: skip
            target = out[k] if image.ndim == 3 and image.shape[2] > 1 else out[k].reshape(out_h, out_w)
            cv2.warpAffine(  # written straight into `out` (no copy per image)
                image, matrix, (out_w, out_h), dst=target,
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=border, borderValue=0,
            )  # fmt: skip
        return out

    def photometric_tf(self, images, u):
        """Brightness / contrast / blur of a float32 batch in [0, 255] (tf.data).

        Args:
            images: float32 tensor `(batch, height, width, channels)`.
            u: float32 tensor `(batch, 12)`, the images' random draws.
        """
        return _photometric(images, u, self, _tf_backend())


_CV2_BORDERS = {"nearest": "BORDER_REPLICATE", "constant": "BORDER_CONSTANT",
                "reflect": "BORDER_REFLECT", "wrap": "BORDER_WRAP"}  # fmt: skip


def _gate(u, column, p, k):
    """1.0 where the image gets an operation of probability `p`, else 0.0 (None: always)."""
    return None if p >= 1 else k.where(u[:, column] < p, 1.0, 0.0)


def _affine_transforms(u, height, width, cfg, k):
    """Per-image projective transforms (output pixel -> input pixel), shape (B, 8)."""
    on = _gate(u, _GATE_AFFINE, cfg.p_affine, k)
    gated = (lambda x: x) if on is None else (lambda x: x * on)
    angle = gated((2.0 * u[:, 0] - 1.0) * (cfg.rotation * math.pi / 180.0))
    scale = 1.0 + gated((2.0 * u[:, 1] - 1.0) * cfg.zoom)
    tx = gated((2.0 * u[:, 2] - 1.0) * (cfg.shift * width))
    ty = gated((2.0 * u[:, 3] - 1.0) * (cfg.shift * height))
    mirror = k.where(u[:, 4] < 0.5, -1.0, 1.0) if cfg.flip else k.ones_like(angle)
    cos, sin = k.cos(angle) / scale, k.sin(angle) / scale
    # Inverse of p -> c + s R H F (p - c) + t is q -> c + F H^-1 R^T (q - c - t) / s,
    # with H^-1 = [[cos(phi), 0], [-sin(phi), 1]] (ImageDataGenerator's shear matrix).
    a0, a1, b0, b1 = mirror * cos, mirror * sin, -sin, cos
    if cfg.shear:
        phi = gated((2.0 * u[:, _SHEAR] - 1.0) * (cfg.shear * math.pi / 180.0))
        cos_phi, sin_phi = k.cos(phi), k.sin(phi)
        b0, b1 = b0 - sin_phi * cos, b1 - sin_phi * sin
        a0, a1 = a0 * cos_phi, a1 * cos_phi
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    qx, qy = cx + tx, cy + ty
    a2 = cx - a0 * qx - a1 * qy
    b2 = cy - b0 * qx - b1 * qy
    zero = k.zeros_like(angle)
    return k.stack([a0, a1, a2, b0, b1, b2, zero, zero], axis=1)


def _augment(images, u, cfg, k):
    """The augmentation maths, for a backend namespace `k` (TensorFlow or keras.ops)."""
    if cfg.geometric:
        shape = k.shape(images)
        height = k.cast(shape[1], "float32")
        width = k.cast(shape[2], "float32")
        transforms = _affine_transforms(u, height, width, cfg, k)
        images = k.affine(images, transforms, cfg.fill_mode)
    return _photometric(images, u, cfg, k)


def _photometric(images, u, cfg, k):
    delta = factor = None
    if cfg.brightness:
        delta = (2.0 * u[:, 5] - 1.0) * (cfg.brightness * 255.0)
        on = _gate(u, _GATE_BC, cfg.p_brightness, k)
        delta = (delta if on is None else delta * on)[:, None, None, None]
    if cfg.contrast:
        factor = (2.0 * u[:, 6] - 1.0) * cfg.contrast
        on = _gate(u, _GATE_BC, cfg.p_contrast, k)
        factor = 1.0 + (factor if on is None else factor * on)[:, None, None, None]
    if cfg.contrast_mode == "gain":  # albumentations: x * alpha + beta * 255
        images = images if factor is None else images * factor
        images = images if delta is None else images + delta
    else:
        images = images if delta is None else images + delta
        if factor is not None:
            mean = k.mean(images, axis=(1, 2), keepdims=True)
            images = (images - mean) * factor + mean
    if cfg.blur:
        amount = u[:, 7]
        on = _gate(u, _GATE_BLUR, cfg.p_blur, k)
        amount = (amount if on is None else amount * on)[:, None, None, None]
        images = images + amount * (k.blur(images, cfg.blur) - images)
    if cfg.brightness or cfg.contrast:
        images = k.clip(images, 0.0, 255.0)
    return images


def _gaussian_kernel(sigma, channels):
    radius = max(1, math.ceil(3 * sigma))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-0.5 * (x / sigma) ** 2)
    g = (g / g.sum()).astype(np.float32)
    rows = np.tile(g[:, None, None, None], (1, 1, channels, 1))
    return radius, rows, rows.transpose(1, 0, 2, 3)


def _tf_backend():
    """The TensorFlow ops `_photometric` needs inside tf.data."""
    import tensorflow as tf

    def blur(images, sigma):
        radius, rows, cols = _gaussian_kernel(sigma, images.shape[-1])
        pad = [[0, 0], [radius, radius], [radius, radius], [0, 0]]
        padded = tf.pad(images, pad, mode="SYMMETRIC")
        out = tf.nn.depthwise_conv2d(padded, rows, [1, 1, 1, 1], "VALID")
        return tf.nn.depthwise_conv2d(out, cols, [1, 1, 1, 1], "VALID")

    return SimpleNamespace(mean=tf.reduce_mean, clip=tf.clip_by_value, blur=blur, where=tf.where)


def _keras_backend():
    ops = keras.ops

    def affine(images, transforms, fill_mode):
        return ops.image.affine_transform(
            images, transforms, interpolation="bilinear", fill_mode=fill_mode
        )

    def blur(images, sigma):
        radius, rows, cols = _gaussian_kernel(sigma, images.shape[-1])
        pad = [[0, 0], [radius, radius], [radius, radius], [0, 0]]
        padded = ops.pad(images, pad, mode="symmetric")
        out = ops.depthwise_conv(padded, rows, padding="valid")
        return ops.depthwise_conv(out, cols, padding="valid")

    return SimpleNamespace(
        shape=ops.shape, cast=ops.cast, cos=ops.cos, sin=ops.sin, where=ops.where,
        ones_like=ops.ones_like, zeros_like=ops.zeros_like, stack=ops.stack,
        mean=ops.mean, clip=ops.clip, affine=affine, blur=blur,
    )  # fmt: skip


@keras.saving.register_keras_serializable(package="agekit")
class AugmentLayer(keras.layers.Layer):
    """Keras layer form of `Augment`: identity at inference, random when training.

    Takes float images `(batch, height, width, channels)` in [0, 255] (augment before
    the backbone's preprocessing). Arguments are those of `Augment`. The maths runs in
    float32 whatever the dtype policy; the result has the layer's compute dtype
    (float16 under `mixed_float16`).

    Example:
        >>> import numpy as np
        >>> layer = Augment(rotation=10).layer()
        >>> tuple(layer(np.zeros((2, 32, 32, 3), "float32"), training=True).shape)
        (2, 32, 32, 3)
    """

    def __init__(self, rotation=10.0, shift=0.1, zoom=0.1, flip=True, brightness=None,
                 contrast=None, blur=None, fill_mode="nearest", seed=None, shear=0.0,
                 p_affine=1.0, p_brightness=1.0, p_contrast=1.0, p_blur=1.0,
                 contrast_mode="mean", **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.augment = Augment(rotation, shift, zoom, flip, brightness, contrast, blur,
                              fill_mode, seed, shear, p_affine, p_brightness, p_contrast,
                              p_blur, contrast_mode)  # fmt: skip
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training:
            return inputs
        ops = keras.ops
        images = ops.cast(inputs, "float32")  # float16 breaks the blur and the additions
        batch = ops.shape(images)[0]
        u = keras.random.uniform((batch, _NUM_BASE), seed=self.seed_generator)
        extra = (batch, _NUM_RANDOM - _NUM_BASE)
        if self.augment._extra_draws:
            u = ops.concatenate([u, keras.random.uniform(extra, seed=self.seed_generator)], 1)
        else:
            u = ops.concatenate([u, ops.zeros(extra, "float32")], axis=1)
        return ops.cast(_augment(images, u, self.augment, _keras_backend()), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), **asdict(self.augment)}
