"""Test-time augmentation: what a model's card says every prediction averages over.

A model whose card has `tta="flip"` (`set_card(model, tta="flip")`, the runner's
`[model] tta = "flip"`) is predicted on each face and on its mirror image, and the two
outputs are averaged: the DEX, bins and CORAL distributions and the class
probabilities as probabilities, regression ages as ages. `predict_outputs` is the one
place agekit calls `model.predict`, so prediction (`predict_age`), evaluation and
calibration (`evaluate_model`, `calibrate_model`) all see the same averaged outputs.
"""

import numpy as np

from agekit._validation import fail


def predict_outputs(model, inputs, *, batch_size=None, tta="card"):
    """`model.predict(inputs)`, averaged over the test-time augmentation of its card.

    Args:
        model: A Keras model (an agekit model, or one described with `describe`).
        inputs: Images as an array `(n, height, width, channels)`, or a `tf.data`
            dataset of image batches (optionally `(images, ...)` tuples).
        batch_size: Images per forward pass (arrays only).
        tta: `"card"` (the card's `tta`), None (none) or `"flip"`.

    Returns:
        What `model.predict` returns (an array, or a dict per output), averaged.

    Example:
        >>> from agekit.models import basic_cnn
        >>> model = basic_cnn(input_shape=(16, 16, 3), layers=1, base_filters=2, hidden=4,
        ...                   head="regression")
        >>> x = np.zeros((2, 16, 16, 3), "float32")
        >>> predict_outputs(model, x, tta="flip").shape
        (2, 1)
    """
    if tta == "card":
        from agekit.models.card import card_of

        tta = card_of(model).tta
    if tta not in (None, "flip"):
        fail("tta 'card', None or 'flip'", "tta", tta)
    outputs = model.predict(inputs, batch_size=batch_size, verbose=0)
    if tta is None:
        return outputs
    mirrored = model.predict(flip_images(inputs), batch_size=batch_size, verbose=0)
    if isinstance(outputs, dict):
        return {name: (np.asarray(value) + np.asarray(mirrored[name])) / 2.0 for name, value in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return [(np.asarray(a) + np.asarray(b)) / 2.0 for a, b in zip(outputs, mirrored)]
    return (np.asarray(outputs) + np.asarray(mirrored)) / 2.0


def flip_images(inputs):
    """The mirror images (left-right) of an image array or a dataset of image batches.

    Example:
        >>> flip_images(np.arange(4.0).reshape(1, 1, 4, 1)).ravel().tolist()
        [3.0, 2.0, 1.0, 0.0]
    """
    if hasattr(inputs, "map") and hasattr(inputs, "element_spec"):  # a tf.data dataset
        import tensorflow as tf

        def mirror(images, *rest):
            return (tf.reverse(images, axis=[2]), *rest) if rest else tf.reverse(images, axis=[2])

        return inputs.map(mirror, num_parallel_calls=tf.data.AUTOTUNE)
    images = np.asarray(inputs)
    if images.ndim != 4:
        fail("images as an array (n, height, width, channels)", "inputs.shape", images.shape)
    return images[:, :, ::-1]
