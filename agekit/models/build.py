"""Transfer-learning models: a `keras.applications` backbone, a top, and age heads.

`build_model` returns one flat functional `keras.Model`: its input takes RGB images in
[0, 255]; its first layer (`Preprocess`) applies the backbone's ImageNet scaling and
carries the model card (`card_of`); the backbone is built on that layer's output
(`keras.applications`' `input_tensor`), so its layers are the model's own layers, never
a nested model, and layer lookup by name (`block5_conv1`), freezing, activation maps and
Grad-CAM all work.
"""

from pathlib import Path

import keras

from agekit._validation import fail
from agekit.errors import InvalidValueError, MissingFileError
from agekit.models.card import image_input, model_input_shape, set_card
from agekit.models.heads import Head, head_loss_and_metrics, heads_of, parse_head

# name -> (keras.applications constructor, agekit.data preprocessing mode, min input side)
BACKBONES = {
    "vgg16": ("VGG16", "vgg16", 32),
    "vgg19": ("VGG19", "vgg16", 32),
    "resnet50": ("ResNet50", "caffe", 32),
    "inception_v3": ("InceptionV3", "tf", 75),
    "mobilenet_v2": ("MobileNetV2", "tf", 32),
    "efficientnet_b0": ("EfficientNetB0", "none", 32),
}
TOPS = ("vgg", "gap")


def preprocessing_for(backbone):
    """The `agekit.data` preprocessing mode a backbone's ImageNet weights expect.

    Example:
        >>> preprocessing_for("inception_v3")
        'tf'
    """
    if backbone not in BACKBONES:
        fail(f"backbone to be one of {sorted(BACKBONES)}", "backbone", backbone)
    return BACKBONES[backbone][1]


def _check_weights(weights, input_shape):
    if weights is None:
        return None
    if weights == "imagenet":
        if input_shape[-1] != 3:
            fail("3 input channels for ImageNet weights (or weights=None)", "input_shape",
                 input_shape)
        return weights
    path = Path(weights)
    if not path.is_file():
        raise MissingFileError(
            "Expected weights='imagenet', None, or the path of a weights file. "
            f"Received: weights={str(weights)!r} (no such file)"
        )
    return str(path)


def _base(backbone, weights, tensor, keep_vgg_top):
    """The backbone's layers applied to `tensor` (the preprocessed input), flat."""
    constructor, _, min_side = BACKBONES[backbone]
    shape = tuple(tensor.shape[1:])
    if min(shape[:2]) < min_side:
        fail(f"input sides of at least {min_side} px for {backbone}", "input_shape", shape)
    application = getattr(keras.applications, constructor)
    try:
        # keep_vgg_top: the ImageNet fc1/fc2 of VGG, as the VGG16 study used them
        return application(include_top=keep_vgg_top, weights=weights, input_tensor=tensor,
                           input_shape=shape)
    except Exception as error:  # Keras' download: "URL fetch failure on https://..."
        if weights != "imagenet" or "fetch failure" not in str(error):
            raise
        raise _no_imagenet_weights(backbone, str(error)) from None


def _no_imagenet_weights(backbone, message):
    """The error for ImageNet weights Keras could not download (a machine offline)."""
    import re

    url = re.search(r"https?://\S+?\.h5", message)
    file = url.group(0).rsplit("/", 1)[-1] if url else "the backbone's .h5 file"
    return MissingFileError(
        f"Expected the ImageNet weights of {backbone} in Keras' cache or a local file. Received: "
        f"weights='imagenet' (~/.keras/models/ has no {file} and its download failed: "
        f"{url.group(0) if url else message}). Put {file}, downloaded elsewhere, into "
        f"~/.keras/models/, or into weights/ and pass weights='weights/{file}' (see "
        f"weights/README.md); weights=None trains from scratch")


def build_model(
    backbone="vgg16",
    head="dex",
    *,
    weights="imagenet",
    input_shape=(224, 224, 3),
    color=None,
    top="vgg",
    dropout=0.5,
    fc_units=4096,
    outputs=None,
    loss_weights=None,
    learning_rate=1e-4,
    compile=True,
):
    """Build a flat transfer-learning age model.

    Args:
        backbone: One of `BACKBONES` (`vgg16`, `vgg19`, `resnet50`, `inception_v3`,
            `mobilenet_v2`, `efficientnet_b0`).
        head: `"dex"` (101-way softmax), `"regression"`, `"coral"` or `"bins:<scheme>"`.
        weights: `"imagenet"` (Keras' download and cache), `None` (random), or the path
            of a local weights file in the layout `keras.applications` expects (for the
            VGG top at 224 px, the file *with* the top; otherwise a `notop` file).
        input_shape: `(height, width, channels)`; one channel builds a greyscale
            model (random weights only). The model's input always takes RGB in
            [0, 255]; it converts and scales inside (`card_of(model)` tells how).
        color: `"rgb"`, `"grayscale_rgb"` (grey in three channels: works with ImageNet
            weights) or `"grayscale"`; None: from `input_shape`.
        top: `"vgg"`: flatten, `fc1` and `fc2` dense ReLU layers of `fc_units`, dropout
            (the VGG16 study's best model; with a VGG backbone at 224x224x3 and
            `fc_units=4096` the ImageNet fc1/fc2 weights are kept); `"gap"`: global
            average pooling then dropout.
        dropout: Dropout rate before the heads (0 for none).
        fc_units: Width of fc1 and fc2 (use a small value in tests).
        outputs: Extra softmax outputs such as `{"gender": 2, "ethnicity": 5}`. With
            extras the model's outputs are a dict keyed `"age"`, `"gender"`, ...
        loss_weights: Dict of output name -> loss weight (default 1 each).
        learning_rate: Adam learning rate used when `compile=True`.
        compile: Compile with each head's loss and metrics (`compile_model`).

    Returns:
        A `keras.Model`. Freeze layers with `agekit.models.set_trainable`.

    Example:
        >>> model = build_model("vgg16", "dex", weights=None, input_shape=(32, 32, 3),
        ...                     fc_units=16)
        >>> model.get_layer("block5_conv1").name, model.output_shape
        ('block5_conv1', (None, 101))
    """
    if backbone not in BACKBONES:
        raise InvalidValueError(
            f"Unknown `backbone`. Expected one of {sorted(BACKBONES)}. Received: backbone={backbone!r}"
        )
    if top not in TOPS:
        raise InvalidValueError(f"Unknown `top`. Expected one of {TOPS}. Received: top={top!r}")
    if not 0 <= dropout < 1:
        fail("0 <= dropout < 1", "dropout", dropout)
    kind, bins = parse_head(head)
    input_shape = model_input_shape(input_shape, color)
    weights = _check_weights(weights, input_shape)
    keep_vgg_top = (
        top == "vgg" and backbone in ("vgg16", "vgg19")
        and input_shape == (224, 224, 3) and fc_units == 4096
    )
    inputs, x = image_input(input_shape, preprocess=preprocessing_for(backbone), color=color)
    base = _base(backbone, weights, x, keep_vgg_top)
    if keep_vgg_top:
        x = base.get_layer("fc2").output
    elif top == "vgg":
        x = keras.layers.Flatten(name="flatten")(base.output)
        x = keras.layers.Dense(fc_units, activation="relu", name="fc1")(x)
        x = keras.layers.Dense(fc_units, activation="relu", name="fc2")(x)
    else:
        x = keras.layers.GlobalAveragePooling2D(name="gap")(base.output)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    model = keras.Model(inputs, attach_heads(x, kind, bins, outputs), name=f"{backbone}_{kind}")
    set_card(model, backbone=backbone)
    if compile:
        compile_model(model, learning_rate=learning_rate, loss_weights=loss_weights)
    return model


def attach_heads(features, kind="dex", bins=None, outputs=None):
    """The age `Head` on `features`, plus one softmax `Head` per extra output.

    Returns the age tensor alone, or a dict `{"age": ..., "gender": ...}` with extras.
    """
    # Heads compute in float32 even under a mixed_float16 policy (stable softmax).
    age = Head(kind, bins=bins, name="age", dtype="float32")(features)
    if not outputs:
        return age
    if not isinstance(outputs, dict) or "age" in outputs:
        fail("a dict of extra outputs such as {'gender': 2, 'ethnicity': 5}", "outputs", outputs,
             error=TypeError)
    extras = {
        name: Head("class", num_classes=n, name=name, dtype="float32")(features)
        for name, n in outputs.items()
    }
    return {"age": age, **extras}


def compile_model(model, *, learning_rate=1e-4, optimizer="adam", loss_weights=None,
                  schedule=None, weight_decay=None, weight_decay_mode="decoupled",
                  label_smoothing=0.0, losses=None, optimizer_options=None, **kwargs):
    """Compile with the loss and metrics each `Head` needs (again after freezing changes).

    Args:
        learning_rate: Initial learning rate of a named optimizer.
        optimizer: One of `agekit.models.optimizers.OPTIMIZERS` (`"adam"`, `"adamw"`,
            `"nadam"`, `"sgd"`, `"rmsprop"`) or a `keras.optimizers.Optimizer`.
        loss_weights: Dict of output name -> weight.
        schedule: Learning-rate decay of a named optimizer, such as
            `{"kind": "inverse_time", "decay_rate": 1e-5}` (Keras 2's `decay=1e-5`) or
            `{"kind": "exponential", "decay_rate": 0.9, "decay_steps": 1000}`; see
            `agekit.models.optimizers.make_schedule`.
        weight_decay: Weight decay of a named optimizer (None: none).
        weight_decay_mode: `"decoupled"` (Keras') or `"l2"` (PyTorch's, added to the
            gradient: the UTKFace study's NAdam `weight_decay=0.1`).
        label_smoothing: Label smoothing of the softmax heads (`dex`, `bins`, gender,
            ethnicity): a number for all of them, or a dict output name -> number.
        losses: Dict of output name -> Keras loss replacing agekit's default for that
            output, such as `{"age": "mse"}` (the UTKFace two-branch studies' age loss;
            agekit's regression default is MAE).
        optimizer_options: More keyword arguments of a named optimizer (`momentum`,
            `nesterov`, `beta_1`, `epsilon`, ...; see `make_optimizer`).
        **kwargs: Passed to `model.compile` (e.g. `jit_compile`).

    Example:
        >>> from agekit.models import basic_cnn, build_model, set_trainable
        >>> model = build_model("vgg16", "dex", weights=None, input_shape=(32, 32, 3))
        >>> _ = set_trainable(model, last=8)
        >>> model = compile_model(model, learning_rate=1e-5)  # again after set_trainable
        >>> round(float(model.optimizer.learning_rate), 8)
        1e-05
        >>> agecnn = compile_model(basic_cnn(input_shape=(32, 32, 1)), optimizer="nadam",
        ...                        weight_decay=0.1, weight_decay_mode="l2",
        ...                        label_smoothing=0.001)  # the UTKFace study's AGECNN
        >>> type(agecnn.optimizer).__name__
        'NadamL2'
    """
    from agekit.losses import SparseCategoricalCrossentropy
    from agekit.models.optimizers import make_optimizer

    heads = heads_of(model)
    if not heads:
        fail("a model with agekit Head outputs (build_model or the scratch networks)", "model",
             getattr(model, "name", model), error=TypeError)
    if isinstance(optimizer, str):
        optimizer = make_optimizer(optimizer, learning_rate=learning_rate, schedule=schedule,
                                   weight_decay=weight_decay,
                                   weight_decay_mode=weight_decay_mode,
                                   **(optimizer_options or {}))
    elif schedule is not None or weight_decay or optimizer_options:
        fail("an optimizer name with schedule or weight_decay or optimizer_options (an "
             "optimizer object brings its own)", "optimizer", type(optimizer).__name__,
             error=TypeError)
    specs = {name: head_loss_and_metrics(layer) for name, layer in heads.items()}
    smoothing = (label_smoothing if isinstance(label_smoothing, dict)
                 else {name: label_smoothing for name, layer in heads.items()
                       if layer.kind in ("dex", "bins", "class")})
    for name in {**smoothing, **(losses or {})}:
        if name not in specs:
            fail(f"label_smoothing and losses for the outputs {sorted(specs)}", "output", name)
    for name, value in smoothing.items():
        kind = heads[name].kind
        if value and kind == "dex":
            specs[name] = (keras.losses.CategoricalCrossentropy(label_smoothing=value),
                           specs[name][1])
        elif value and kind in ("bins", "class"):
            specs[name] = (SparseCategoricalCrossentropy(label_smoothing=value), specs[name][1])
        elif value:
            fail("label smoothing only on softmax heads (dex, bins, class)", name, value)
    for name, loss in (losses or {}).items():
        specs[name] = (loss, specs[name][1])
    if len(model.outputs) == 1:
        (loss, metrics), = specs.values()
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)
        return model
    unknown = set(loss_weights or {}) - set(specs)
    if unknown:
        fail(f"loss weights for the outputs {sorted(specs)}", "loss_weights", sorted(unknown))
    model.compile(
        optimizer=optimizer,
        loss={name: loss for name, (loss, _) in specs.items()},
        metrics={name: metrics for name, (_, metrics) in specs.items()},
        loss_weights={name: float((loss_weights or {}).get(name, 1.0)) for name in specs},
        **kwargs,
    )
    return model
