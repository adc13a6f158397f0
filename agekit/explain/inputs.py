"""Images as the user has them -> the model's input, and forward passes.

An image path, or uint8 RGB (or greyscale, RGBA, 16-bit) arrays, are brought to the
model's input by `agekit.predict.prepare_inputs` (`agekit.images.model_batch` with the
model's card), as `predict_age` does: agekit models take RGB in [0, 255] and scale it
themselves. Float arrays are taken as model input already (they must match the model's
input shape).

The explain modules call these helpers through the module (`inputs.forward(...)`), so
one patch of `agekit.explain.inputs.forward` sees every array a model is given.
"""

import dataclasses

import keras
import numpy as np

from agekit._validation import fail
from agekit.errors import InvalidValueError


def model_input(model, images):
    """Images (paths, uint8 arrays, or float model input) -> float32 `(n, h, w, c)`."""
    from agekit.images import as_rgb
    from agekit.predict import prepare_inputs

    _, height, width, channels = model.input_shape
    if isinstance(images, np.ndarray) and np.issubdtype(images.dtype, np.floating):
        x = images[None] if images.ndim == 3 else images
        if x.ndim != 4 or tuple(x.shape[1:]) != (height, width, channels):
            raise InvalidValueError(
                f"Expected float images of the model's input shape {(height, width, channels)} "
                f"(or uint8 images of any size). Received: images.shape={images.shape}"
            )
        return np.asarray(x, np.float32)
    if isinstance(images, np.ndarray):  # greyscale, RGBA, one image or a batch -> RGB
        images = [as_rgb(image) for image in (images if images.ndim == 4 else [images])]
    return np.asarray(prepare_inputs(model, images), np.float32)


def single(model, image):
    """One image as a model batch `(1, h, w, c)`; more than one is an error."""
    x = model_input(model, image)
    if len(x) != 1:
        fail("one image", "len(images)", len(x))
    return x


def display_image(model, image):
    """The image as the model sees it (its input size), as RGB uint8 for drawing."""
    from agekit.images import as_rgb, model_batch
    from agekit.models.card import card_of

    if isinstance(image, np.ndarray) and np.issubdtype(image.dtype, np.floating):
        x = np.asarray(image, np.float64).reshape(image.shape[-3:])
        span = np.ptp(x)
        return as_rgb(((x - x.min()) / span if span else np.zeros_like(x)).astype(np.float32))
    card = card_of(model)  # the pixels before any preprocessing outside the model
    pixels = model_batch(image, dataclasses.replace(card, preprocess="none"))[0]
    return as_rgb(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))


def forward(model, x):
    """One forward pass (inference mode) as numpy.

    Eager under TensorFlow (tracing a function for one batch costs more than running
    it); compiled under other backends, whose eager op-by-op dispatch is slow.
    """
    if keras.backend.backend() != "tensorflow":
        return model.predict_on_batch(x)
    return keras.tree.map_structure(keras.ops.convert_to_numpy, model(x, training=False))


def submodel(model, outputs):
    """A model from `model`'s input to `outputs` (layer output tensors)."""
    return keras.Model(model.input if len(model.inputs) == 1 else model.inputs, outputs)
