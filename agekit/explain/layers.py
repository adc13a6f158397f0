"""Layer-graph analysis: which layers of a model to show, and where Grad-CAM can cut it.

A model's *trunk* is the layers every path from its input to its outputs passes
through (not the branches of an Inception or residual block). `default_layers` picks
each downsampling stage's output from the trunk; `last_feature_layer` is the last 4-D
layer Grad-CAM can split the model at.
"""

import re

import keras

from agekit._validation import fail
from agekit.errors import InvalidValueError

POOLS = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
MERGES = (keras.layers.Add, keras.layers.Concatenate)


def inbound(layer):
    """The layers whose outputs `layer` takes."""
    return [t._keras_history.operation for t in keras.tree.flatten(layer.input)]


def spatial_size(layer):
    """The smaller side of a 4-D layer's feature maps; None for other layers."""
    shape = layer.output.shape
    if len(shape) != 4 or shape[1] is None or shape[2] is None:
        return None
    return min(shape[1], shape[2])


def trunk(model):
    """Layers (in order) and whether every path from input to output passes through each."""
    layers = [la for la in model.layers if not isinstance(la, keras.layers.InputLayer)]
    position = {id(la): i for i, la in enumerate(layers)}
    furthest = {}
    for i, layer in enumerate(layers):
        for source in inbound(layer):
            if id(source) in position:
                furthest[id(source)] = max(furthest.get(id(source), -1), i)
    on_trunk, reach = [], -1
    for i, layer in enumerate(layers):
        on_trunk.append(reach <= i)
        reach = max(reach, furthest.get(id(layer), -1))
    return layers, on_trunk


def default_layers(model: keras.Model) -> list[str]:
    """The layers whose activations `activations` shows by default: each stage's output.

    Only trunk layers count (those every path from input to output passes through, so
    not the branches of an Inception or residual block). They are grouped into stages
    where the feature maps shrink by 1.5x or more; the full-resolution stage is skipped.
    A stage's outputs are the pooling layer that opens it (VGG's `blockN_pool`, the
    study CNNs' pools, ResNet's `pool1_pool`) and its last `Add` / `Concatenate`
    (with the activation right after it: ResNet's `convN_blockM_out`, MobileNetV2's
    `block_N_add`, EfficientNet's `blockNx_add`, Inception's `mixedN`); a stage with
    neither, and not closed by a pooling layer, gives its last narrowest layer (the
    inverted-residual bottleneck of MobileNetV2 / EfficientNet's first stage). The
    last stage gives the last 4-D trunk layer (`block5_pool`, `conv5_block3_out`,
    `mixed10`, `out_relu`, `top_activation`; the only one for a model that never
    downsamples).

    Args:
        model: A functional Keras model with 4-D (image-like) layers.

    Returns:
        The layer names, in model order.

    Example:
        >>> from agekit.models import basic_cnn
        >>> default_layers(basic_cnn(input_shape=(32, 32, 3), layers=2, base_filters=4))
        ['block1_pool', 'block2_pool']
    """
    layers, on_trunk = trunk(model)
    maps = [i for i, layer in enumerate(layers) if on_trunk[i] and spatial_size(layer) is not None]
    if not maps:
        fail("a model with 4-D (image-like) layers", "model", model.name)
    size, stages = min(model.input_shape[1:3]), [[]]
    for i in maps:
        side = spatial_size(layers[i])
        if side * 1.5 <= size:
            stages.append([])
        size = min(size, side)
        stages[-1].append(i)
    opened_by_pool = [bool(s) and isinstance(layers[s[0]], POOLS) for s in stages] + [False]
    chosen = []
    for number, stage in enumerate(stages[1:], start=1):
        if opened_by_pool[number]:
            chosen.append(stage[0])
        if number == len(stages) - 1:
            break
        merges = [i for i in stage if isinstance(layers[i], MERGES)]
        if merges:
            i = merges[-1]
            while (i + 1 in stage and not layers[i + 1].weights
                   and inbound(layers[i + 1]) == [layers[i]]):  # fmt: skip
                i += 1
            chosen.append(i)
        elif not opened_by_pool[number] and not opened_by_pool[number + 1]:
            side = min(spatial_size(layers[i]) for i in stage)
            same = [i for i in stage if spatial_size(layers[i]) == side]
            narrowest = min(layers[i].output.shape[-1] for i in same)
            chosen.append([i for i in same if layers[i].output.shape[-1] == narrowest][-1])
    chosen.append(maps[-1])  # the last stage (or the only one)
    return [layers[i].name for i in dict.fromkeys(chosen)]


def layer_names(model, layers):
    """`layers` (a name, names, or None for `default_layers`) checked against the model."""
    if layers is None:
        return default_layers(model)
    names = [layers] if isinstance(layers, str) else list(layers)
    known = {layer.name for layer in model.layers}
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise InvalidValueError(
            f"Unknown layer. Expected names of layers of model {model.name!r} (such as "
            f"{default_layers(model)[:3]}). Received: layers={unknown or names!r}"
        )
    return names


def layer_title(name: str) -> str:
    """The study's figure title for a layer: `block3_pool` -> `'Conv Block 3 Pool'`.

    Args:
        name: A layer name.

    Returns:
        "Conv Block N Pool" for VGG's `blockN_pool` and the study CNNs' `poolN`, else
        the name itself.

    Example:
        >>> layer_title("block5_pool"), layer_title("pool2"), layer_title("mixed7")
        ('Conv Block 5 Pool', 'Conv Block 2 Pool', 'mixed7')
    """
    match = re.fullmatch(r"(?:.*_)?block(\d+)_pool|pool(\d+)", name)
    if match:
        return f"Conv Block {match.group(1) or match.group(2)} Pool"
    return name


def tail(model, name, tensor):
    """The part of the model from layer `name`'s output to `tensor` (None if not cut)."""
    try:
        return keras.Model(model.get_layer(name).output, tensor)
    except ValueError:
        return None


def last_feature_layer(model, tensor):
    """Grad-CAM's default cut: `(layer name, the model from it to tensor)`.

    The last 4-D layer that is not a pooling layer (VGG's `block5_conv3`), else the
    last pooling layer, that every path to `tensor` passes through.
    """
    maps = [la for la in reversed(model.layers)
            if spatial_size(la) is not None and not isinstance(la, keras.layers.InputLayer)]
    candidates = [la.name for la in maps if not isinstance(la, POOLS)] + [
        la.name for la in maps if isinstance(la, POOLS)]
    for name in candidates:
        rest = tail(model, name, tensor)
        if rest is not None:
            return name, rest
    fail("a model with a 4-D layer that all paths to the output pass through", "model", model.name)
