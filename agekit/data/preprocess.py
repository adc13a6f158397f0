"""The backbones' own input scaling, applied to float images in [0, 255].

`PREPROCESSING` maps each mode to what it does; the numbers are those of
`keras.applications` (checked against its `preprocess_input` functions in the tests):

- `"vgg16"` (alias `"caffe"`; VGG16/VGG19/ResNet50): RGB -> BGR, then subtract the
  ImageNet mean `[103.939, 116.779, 123.68]` (BGR order); no scaling.
- `"tf"` (Inception, MobileNet, Xception): scale to [-1, 1].
- `"torch"` (DenseNet): scale to [0, 1], subtract `[0.485, 0.456, 0.406]`, divide by
  `[0.229, 0.224, 0.225]`.
- `"0-1"`: scale to [0, 1].
- `"none"`: leave the values in [0, 255] (as float32).

For one-channel (greyscale) images, the per-channel constants are replaced by their
averages, so grey images are centred the same way as colour ones on average.

agekit models apply their preprocessing themselves (their first layer,
`agekit.models.Preprocess`, uses the same constants), so the input pipeline passes RGB
in [0, 255] by default; these functions remain for plain Keras models that expect their
input preprocessed outside (see `agekit.models.describe`).
"""

import sys
from collections.abc import Callable

import numpy as np

from agekit._validation import fail

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601 luma, as OpenCV's RGB2GRAY
TORCH_MEAN = (0.485, 0.456, 0.406)
TORCH_STD = (0.229, 0.224, 0.225)

PREPROCESSING = {
    "vgg16": "RGB->BGR, minus the ImageNet mean (caffe)",
    "caffe": "same as vgg16",
    "tf": "scaled to [-1, 1]",
    "torch": "scaled to [0, 1], ImageNet mean/std normalised",
    "0-1": "scaled to [0, 1]",
    "none": "unchanged, [0, 255]",
}


def check_preprocess(mode):
    """Validate a preprocessing mode (a name of `PREPROCESSING` or a callable)."""
    if callable(mode):
        return mode
    if mode not in PREPROCESSING:
        fail(f"preprocess to be one of {sorted(PREPROCESSING)} or a callable", "preprocess", mode)
    return mode


def _is_tf(images):
    tf = sys.modules.get("tensorflow")
    return tf is not None and tf.is_tensor(images)


def preprocess_images(images, mode: str | Callable = "vgg16"):
    """Apply a backbone's preprocessing to images in [0, 255] (last axis channels).

    Works on numpy arrays and on TensorFlow tensors (inside tf.data). Integer input
    (uint8) is converted to float32 here, after the channel swap of `"vgg16"` (4x
    less memory to move than swapping floats).

    Args:
        images: Array/tensor `(..., height, width, channels)`, 1 or 3 channels,
            values in [0, 255], RGB order; uint8 or float.
        mode: A key of `PREPROCESSING`, or a callable applied as is (to float32).

    Returns:
        The preprocessed images, float32.

    Example:
        >>> preprocess_images(np.full((1, 1, 3), 255.0), "tf").tolist()
        [[[1.0, 1.0, 1.0]]]
    """
    mode = check_preprocess(mode)
    if _is_tf(images):
        import tensorflow as tf

        reverse, cast = (lambda x: tf.reverse(x, [-1])), (lambda x: tf.cast(x, tf.float32))
    else:
        images = np.asarray(images)
        reverse, cast = (lambda x: x[..., ::-1]), (lambda x: np.asarray(x, np.float32))
    grey = images.shape[-1] == 1
    if mode in ("vgg16", "caffe"):
        if grey:
            return cast(images) - np.float32(np.mean(CAFFE_MEAN_BGR))
        return cast(reverse(images)) - np.asarray(CAFFE_MEAN_BGR, np.float32)
    images = cast(images)
    if callable(mode):
        return mode(images)
    if mode == "tf":
        return images / np.float32(127.5) - np.float32(1.0)
    if mode == "torch":
        mean = np.asarray(TORCH_MEAN, np.float32)
        std = np.asarray(TORCH_STD, np.float32)
        if grey:
            mean, std = mean.mean(keepdims=True), std.mean(keepdims=True)
        return (images / np.float32(255.0) - mean) / std
    if mode == "0-1":
        return images / np.float32(255.0)
    return images



def preprocess_uint8(images: np.ndarray, mode: str = "none") -> np.ndarray:
    """`preprocess_images` for uint8 images, in one OpenCV pass where it can.

    `"none"` is a cast; `"vgg16"` / `"caffe"` a channel swap of the uint8 images and one
    subtraction into float32 (`cv2.subtract(..., dtype=CV_32F)`); every other mode maps
    each channel's 256 possible values independently, so it is a lookup table
    (`cv2.LUT`) made by `preprocess_images` itself. The result equals
    `preprocess_images(images, mode)` exactly (the tests check every value), at a
    fraction of the cost of numpy's or TensorFlow's cast, swap and arithmetic passes.

    Args:
        images: uint8 array `(..., height, width, channels)`, 1 or 3 channels, RGB.
        mode: A key of `PREPROCESSING`.

    Returns:
        float32 array of the same shape.

    Example:
        >>> x = np.array([[[[0, 128, 255]]]], np.uint8)
        >>> preprocess_uint8(x, "vgg16").tolist() == preprocess_images(x, "vgg16").tolist()
        True
    """
    import cv2

    mode = check_preprocess(mode)
    images = np.asarray(images)
    if images.dtype != np.uint8 or callable(mode):
        fail("uint8 images and a named mode", "images.dtype, mode", (str(images.dtype), mode))
    if mode == "none":
        return images.astype(np.float32)
    channels = images.shape[-1]
    flat = np.ascontiguousarray(images).reshape(-1, images.shape[-2], channels)
    if mode in ("vgg16", "caffe") and channels == 3:
        bgr = cv2.cvtColor(flat, cv2.COLOR_RGB2BGR)
        return cv2.subtract(bgr, (*CAFFE_MEAN_BGR, 0.0), dtype=cv2.CV_32F).reshape(images.shape)
    table = _lookup_table(mode, channels)
    if channels == 1:
        return cv2.LUT(flat[..., 0], table[..., 0]).reshape(images.shape)
    return cv2.LUT(flat, table).reshape(images.shape)


_TABLES = {}


def _lookup_table(mode, channels):
    """`(1, 256, channels)` float32: `preprocess_images` of each value in every channel."""
    key = (mode, channels)
    if key not in _TABLES:
        ramp = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], channels, axis=2)
        _TABLES[key] = np.ascontiguousarray(preprocess_images(ramp, mode), np.float32)
    return _TABLES[key]
