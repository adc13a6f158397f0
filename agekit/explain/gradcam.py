"""Grad-CAM (Selvaraju et al. 2017): feature maps weighted by the gradient of a score.

The model is split at a 4-D layer into a feature extractor and the rest (the tail),
so the gradient flows through Keras layers only; the gradient itself comes from the
backend's autodiff (`tf.GradientTape` or `jax.grad`: one small private function each).
"""

import keras
import numpy as np

from agekit._validation import fail
from agekit.explain import inputs, targets
from agekit.explain.layers import last_feature_layer, layer_names, spatial_size, tail


def _gradient_tensorflow(fn, value):
    import tensorflow as tf

    value = tf.convert_to_tensor(value)
    with tf.GradientTape() as tape:
        tape.watch(value)
        total = tf.reduce_sum(fn(value))
    return tape.gradient(total, value).numpy()


def _gradient_jax(fn, value):
    import jax
    import jax.numpy as jnp

    return np.asarray(jax.grad(lambda v: jnp.sum(fn(v)))(jnp.asarray(value)))


def _gradient(fn, value):
    """d sum(fn(value)) / d value, with the backend's autodiff (TensorFlow or JAX)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _gradient_tensorflow(fn, value)
    if backend == "jax":
        return _gradient_jax(fn, value)
    fail("the tensorflow or jax Keras backend for grad_cam", "backend", backend)


def grad_cam(
    model: keras.Model,
    image,
    *,
    layer: str | None = None,
    output: str | None = None,
    target: str = "class",
    true_age: float | None = None,
) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017): feature maps weighted by the target's gradient.

    `ReLU(sum_k alpha_k A_k)` with `alpha_k` the spatial mean of d score / d `A_k`.
    The model is split at `layer` into a feature extractor and the rest, so the
    gradient flows through Keras layers only; the gradient itself comes from the
    backend (`tf.GradientTape` or `jax.grad`).

    Args:
        model: A functional model (`build_model`, the scratch CNNs, a loaded model).
        image: One image (path, uint8 array, or float model input).
        layer: A 4-D layer that every path to the output passes through; default the
            last such layer that is not a pooling layer (`block5_conv3` for VGG16,
            `conv5_block3_out` for ResNet50, `mixed10` for InceptionV3).
        output: Which output to explain (default the `age` head or the only output).
        target: `"class"`, `"true_class"` or `"expected_age"` (see `occlusion_map`;
            for CORAL the expected rank is the sum of the task probabilities).
        true_age: For `"true_class"`.

    Returns:
        float array `(layer height, layer width)` in [0, 1] (all zeros when nothing
        raises the score); `overlay` draws it over the image.

    Example:
        >>> import numpy as np
        >>> from agekit.models import basic_cnn
        >>> model = basic_cnn(input_shape=(32, 32, 3), layers=2, base_filters=4)
        >>> face = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype="uint8")
        >>> heat = grad_cam(model, face)  # at block2's last layer before its pooling
        >>> heat.shape, bool(0 <= heat.min() and heat.max() <= 1)
        ((16, 16), True)
        >>> from agekit.plots import overlay
        >>> overlay(face, heat).shape
        (32, 32, 3)
    """
    x = inputs.single(model, image)
    name, head, scorer = targets.output_of(model, output)
    tensor = model.get_layer(name).output
    if layer is None:
        layer, rest = last_feature_layer(model, tensor)
    else:
        layer_names(model, layer)
        if spatial_size(model.get_layer(layer)) is None:
            fail("a layer with 4-D output (height, width, channels)", "layer", layer)
        rest = tail(model, layer, tensor)
        if rest is None:
            fail(f"a layer that every path to output {name!r} passes through", "layer", layer)
    baseline = inputs.forward(scorer, x)
    class_index = targets.class_index(head, target, baseline, true_age)
    maps = inputs.forward(inputs.submodel(model, model.get_layer(layer).output), x)
    grads = _gradient(
        lambda a: targets.score_tensor(head, class_index, rest(a, training=False)), maps)
    weights = grads.mean(axis=(1, 2))  # (1, channels)
    cam = np.maximum(np.einsum("bhwc,bc->hw", maps.astype(np.float64), weights), 0)
    top = cam.max()
    return cam / top if top > 0 else cam
