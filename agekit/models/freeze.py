"""Which layers train: the VGG16 study's "trainable layers" counted from the output.

`set_trainable(model, last=N)` counts layers backwards from the output the way the
VGG16 study's table does, for agekit's VGG16 model (with or without its dropout):

    1  = the age layer (all output heads count as one)
    2  = + fc2
    3  = + fc1
    8  = + flatten, block5_pool and the conv block 5 (block5_conv1..3)
    22 = every layer of the model

Dropout, noise and random-augmentation layers have no weights and are not counted; the
input layer and the `Preprocess` layer (the model's own input scaling) are not counted. Frozen `BatchNormalization` layers run in inference mode
(Keras 3 does this for `trainable=False`), so their statistics are kept.

Remember to compile again after changing what is trainable (`compile_model`).
"""

import keras

from agekit._validation import fail
from agekit.errors import InvalidValueError
from agekit.models.card import Preprocess
from agekit.models.heads import Head

_NOT_COUNTED = (
    keras.layers.InputLayer,
    Preprocess,
    keras.layers.Dropout,
    keras.layers.SpatialDropout1D,
    keras.layers.SpatialDropout2D,
    keras.layers.GaussianNoise,
    keras.layers.GaussianDropout,
    keras.layers.AlphaDropout,
    keras.layers.RandomFlip,
    keras.layers.RandomRotation,
    keras.layers.RandomTranslation,
    keras.layers.RandomZoom,
    keras.layers.RandomContrast,
    keras.layers.RandomBrightness,
)


def counted_layers(model):
    """The layers `last=N` counts, last first: the heads as one group, then the rest.

    Returns:
        A list of lists of layers: element 0 holds every output head, each following
        element one layer, going backwards from the output.
    """
    heads = [layer for layer in model.layers if isinstance(layer, Head)]
    if not heads:  # a model without agekit heads: its last layer is "the age layer"
        heads = [model.layers[-1]]
    rest = [
        layer for layer in model.layers
        if layer not in heads and not isinstance(layer, _NOT_COUNTED)
    ]
    return [heads] + [[layer] for layer in reversed(rest)]


def set_trainable(model, *, last=None, from_layer=None, train_batchnorm=True):
    """Freeze a model except for its last layers.

    Args:
        model: A flat functional model (`build_model`, the scratch networks).
        last: How many layers, counted from the output, train (see the module
            docstring), or `"all"`.
        from_layer: Instead of `last`: the name of the first trainable layer (such as
            `"block5_conv1"`); it and every layer after it in `model.layers` train.
        train_batchnorm: When False, BatchNormalization layers stay frozen (inference
            mode) even inside the trainable part, a common choice when fine-tuning a
            pretrained backbone on little data.

    Returns:
        The names of the layers that now hold trainable weights, in model order.

    Example:
        >>> from agekit.models import build_model
        >>> model = build_model("vgg16", "dex", weights=None, input_shape=(32, 32, 3))
        >>> set_trainable(model, last=8)[:3]
        ['block5_conv1', 'block5_conv2', 'block5_conv3']
    """
    if (last is None) == (from_layer is None):
        raise InvalidValueError(
            "Expected exactly one of `last` and `from_layer`. "
            f"Received: last={last!r}, from_layer={from_layer!r}"
        )
    if last is not None:
        groups = counted_layers(model)
        if last == "all":
            last = len(groups)
        if isinstance(last, bool) or not isinstance(last, int) or not 1 <= last <= len(groups):
            fail(f"last to be 'all' or a whole number in [1, {len(groups)}]", "last", last)
        trainable = {id(layer) for group in groups[:last] for layer in group}
        # Layers between counted ones (dropout, ...) follow the earliest trainable layer.
        first = min(model.layers.index(layer) for group in groups[:last] for layer in group)
        trainable |= {id(layer) for layer in model.layers[first:] if isinstance(layer, _NOT_COUNTED)}
    else:
        names = [layer.name for layer in model.layers]
        if from_layer not in names:
            raise InvalidValueError(
                f"Expected the name of a layer of {model.name!r}, such as {names[-3]!r}. "
                f"Received: from_layer={from_layer!r}"
            )
        trainable = {id(layer) for layer in model.layers[names.index(from_layer):]}
    for layer in model.layers:
        train = id(layer) in trainable
        if not train_batchnorm and isinstance(layer, keras.layers.BatchNormalization):
            train = False
        layer.trainable = train
    return [layer.name for layer in model.layers if layer.trainable and layer.weights]


def trainable_summary(model):
    """Counts of trainable layers (with weights), weight tensors and parameters.

    Example:
        >>> from agekit.models import basic_cnn
        >>> model = basic_cnn(input_shape=(32, 32, 1), layers=2, base_filters=4, hidden=8)
        >>> trainable_summary(model)  # 2 x (conv, batch norm), the hidden dense, the head
        {'layers': 6, 'weights': 12, 'params': 4527}
    """
    layers = [layer for layer in model.layers if layer.trainable and layer.trainable_weights]
    return {
        "layers": len(layers),
        "weights": len(model.trainable_weights),
        "params": int(sum(int(keras.ops.size(w)) for w in model.trainable_weights)),
    }
