"""The studies' from-scratch networks, layer for layer, with agekit heads.

- `levi_hassner_cnn`: the Adience study's Keras version of Levi & Hassner (2015).
- `two_branch_cnn`: the UTKFace age + gender study's shared trunk and two branches.
- `basic_cnn`: the UTKFace study's "Basic CNN" family; `layers=4` with 64 base filters,
  132 hidden units, dropout 0.6 and greyscale input is its best model, AGECNN.
- `split_branch_cnn`: the other UTKFace age + gender study's "CNN A", two branches
  straight from the input.

Each returns an uncompiled flat functional model whose input takes RGB images in
[0, 255] (its first layer, `Preprocess`, converts greyscale models' input and scales it:
`preprocess="0-1"` by default, as the studies' `rescale=1./255`) and whose outputs are
`Head` layers, so `compile_model`, `set_trainable`, `card_of` and `.keras` saving work as
for `build_model`.
"""

import keras
import numpy as np
from keras import layers

from agekit._validation import fail
from agekit.models.build import attach_heads
from agekit.models.card import image_input, set_card
from agekit.models.heads import Head, parse_head


def levi_hassner_cnn(*, input_shape=(227, 227, 3), head="bins:adience", outputs=None, preprocess="0-1"):
    """Levi & Hassner's age CNN as the Adience study built it.

    conv 96 7x7 ReLU -> max-pool 3x3/2 -> batch norm -> conv 256 5x5 ReLU -> max-pool
    3x3/2 -> batch norm -> conv 384 3x3 ReLU -> max-pool 3x3 -> flatten -> dense 512
    ReLU -> dropout 0.5 -> dense 256 ReLU -> dropout 0.5 -> 8-way softmax (the Adience
    groups). Weights start from N(0, 0.01) as in the study.

    Args:
        input_shape: 227x227 RGB in the study.
        head: `"bins:adience"` (the study) or any other agekit head.
        outputs: Extra softmax outputs such as `{"gender": 2}`.
        preprocess: Input scaling inside the model (`"0-1"`: the study's 1/255).

    Example:
        >>> levi_hassner_cnn().count_params()
        51980936
    """
    init = keras.initializers.RandomNormal(stddev=0.01)
    inputs, x = image_input(input_shape, preprocess=preprocess)
    x = layers.Conv2D(96, 7, activation="relu", kernel_initializer=init, name="conv1")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    x = layers.BatchNormalization(name="norm1")(x)
    x = layers.Conv2D(256, 5, activation="relu", kernel_initializer=init, name="conv2")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool2")(x)
    x = layers.BatchNormalization(name="norm2")(x)
    x = layers.Conv2D(384, 3, activation="relu", kernel_initializer=init, name="conv3")(x)
    x = layers.MaxPooling2D(3, name="pool3")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(512, activation="relu", kernel_initializer=init, name="fc1")(x)
    x = layers.Dropout(0.5, name="dropout1")(x)
    x = layers.Dense(256, activation="relu", kernel_initializer=init, name="fc2")(x)
    x = layers.Dropout(0.5, name="dropout2")(x)
    kind, bins = parse_head(head)
    return _named(keras.Model(inputs, attach_heads(x, kind, bins, outputs), name="levi_hassner_cnn"),
                  "levi_hassner_cnn")


def _named(model, backbone):
    set_card(model, backbone=backbone)
    return model


def _conv_block(x, filters, kernel, name, *, norm=True):
    x = layers.Conv2D(filters, kernel, padding="same", activation="relu", name=f"{name}_conv")(x)
    x = layers.MaxPooling2D(2, name=f"{name}_pool")(x)
    return layers.BatchNormalization(name=f"{name}_bn")(x) if norm else x


def _branch(x, prefix, last_filters, dropout, l2):
    x = _conv_block(x, 64, 3, f"{prefix}_block1")
    x = _conv_block(x, 128, 2, f"{prefix}_block2")
    x = layers.Conv2D(last_filters, 2, padding="same", activation="relu", name=f"{prefix}_conv")(x)
    x = layers.Flatten(name=f"{prefix}_flatten")(x)
    reg = keras.regularizers.L2(l2) if l2 else None
    x = layers.Dense(128, activation="relu", kernel_regularizer=reg, name=f"{prefix}_fc1")(x)
    x = layers.Dropout(dropout, name=f"{prefix}_dropout")(x)
    return layers.Dense(16, activation="relu", kernel_regularizer=reg, name=f"{prefix}_fc2")(x)


def two_branch_cnn(*, input_shape=(128, 128, 3), head="regression", dropout=0.3, l2=1e-4,
                   age_filters=128, gender_filters=64, preprocess="0-1"):
    """The UTKFace age + gender network: a shared trunk, then an age and a gender branch.

    Trunk: conv 64 3x3, conv 64 3x3, max-pool 2, batch norm, conv 128 3x3, max-pool 2.
    Each branch: conv 64 3x3 / pool / BN, conv 128 2x2 / pool / BN, conv 2x2 (128
    filters for age, 64 for gender), flatten, dense 128 and 16 (ReLU, dropout, L2).
    Outputs `{"age": ..., "gender": ...}`: a linear age (or any agekit age head) and a
    2-way softmax for gender (the study's single sigmoid unit, in the form agekit's
    gender labels and metrics use). The study weighted the losses 1:50 towards gender
    with an MSE age loss and decayed Adam's learning rate exponentially:
    `compile_model(model, losses={"age": "mse"}, loss_weights={"gender": 50},
    schedule={"kind": "exponential", ...})`. The study tuned the dropout rate, the L2
    factor and the branches' last conv widths with keras.tuner and reports only the
    widths (128 age, 64 gender): `dropout=0.3` and `l2=1e-4` are placeholders.

    Example:
        >>> sorted(two_branch_cnn().output_names)
        ['age', 'gender']
    """
    inputs, x = image_input(input_shape, preprocess=preprocess)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="trunk_conv1")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="trunk_conv2")(x)
    x = layers.MaxPooling2D(2, name="trunk_pool1")(x)
    x = layers.BatchNormalization(name="trunk_bn")(x)
    x = layers.Conv2D(128, 3, padding="same", activation="relu", name="trunk_conv3")(x)
    x = layers.MaxPooling2D(2, name="trunk_pool2")(x)
    kind, bins = parse_head(head)
    age = Head(kind, bins=bins, name="age", dtype="float32")(
        _branch(x, "age", age_filters, dropout, l2)
    )
    gender = Head("class", num_classes=2, name="gender", dtype="float32")(
        _branch(x, "gender", gender_filters, dropout, l2)
    )
    return _named(keras.Model(inputs, {"age": age, "gender": gender}, name="two_branch_cnn"),
                  "two_branch_cnn")


def basic_cnn(*, layers=4, base_filters=64, hidden=132, dropout=0.6,
              input_shape=(224, 224, 1), head="bins:utk7", outputs=None, preprocess="0-1",
              bn_momentum=0.99, rescale=None, norm_after_pool=False):
    """The UTKFace study's Basic CNN; the defaults are its best model, AGECNN.

    `layers` blocks of conv 3x3 (same padding) -> ReLU -> batch norm -> max-pool 2, the
    filters doubling from `base_filters`; then flatten, dense `hidden` ReLU, dropout
    `dropout` and the head. Greyscale 224x224 input and 7 UTK age bins by default.
    The model takes RGB in [0, 255] (one input channel in `input_shape` makes it
    convert to grey inside) and scales it by `preprocess` (`"0-1"`: divide by 255;
    `"none"`: raw pixels); `rescale=1 / 255` is the older spelling of `"0-1"`. `bn_momentum`
    is that of the batch-norm moving statistics: Keras' 0.99 needs thousands of steps to
    settle; 0.9 suits short runs on small data (a few hundred steps), where inference
    with lagging statistics is far worse than the training loss suggests.
    `norm_after_pool=True` swaps the last two layers of each block (conv -> ReLU ->
    max-pool -> batch norm): the batch norm then sees a quarter of the pixels, which
    makes a training step about 30% cheaper on a CPU at no loss of accuracy
    (`benchmarks/ablate_recipe.py`).

    Example:
        >>> basic_cnn(input_shape=(32, 32, 1), base_filters=8).output_shape
        (None, 7)
    """
    depth = layers
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 6:
        fail("layers to be a whole number in [1, 6]", "layers", depth)
    if min(input_shape[:2]) < 2**depth:
        fail(f"input sides of at least {2**depth} px for {depth} blocks", "input_shape",
             input_shape)
    if rescale is not None:
        if not np.isclose(rescale, 1 / 255):
            fail("rescale=1/255 (or preprocess='0-1')", "rescale", rescale)
        preprocess = "0-1"
    inputs, x = image_input(input_shape, preprocess=preprocess)
    for i in range(depth):
        x = keras.layers.Conv2D(base_filters * 2**i, 3, padding="same", name=f"block{i + 1}_conv")(x)
        x = keras.layers.ReLU(name=f"block{i + 1}_relu")(x)
        norm = keras.layers.BatchNormalization(momentum=bn_momentum, name=f"block{i + 1}_bn")
        pool = keras.layers.MaxPooling2D(2, name=f"block{i + 1}_pool")
        x = norm(pool(x)) if norm_after_pool else pool(norm(x))
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(hidden, activation="relu", name="fc1")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    kind, bins = parse_head(head)
    model = keras.Model(inputs, attach_heads(x, kind, bins, outputs), name=f"basic_cnn_{depth}")
    return _named(model, "basic_cnn")


def split_branch_cnn(*, input_shape=(128, 128, 3), head="regression", filters=(16, 32, 64, 128),
                     kernel=3, pool=2, block_dropout=0.25, dense_units=(128,), dense_dropout=0.5,
                     dense_norm=True, preprocess="0-1"):
    """The UTKFace age + gender study's "CNN A": two branches straight from the input.

    Each branch (one for age, one for gender, nothing shared) repeats the study's block
    conv -> ReLU -> batch norm -> max-pool -> dropout with the filters doubling
    16 -> 32 -> 64 -> 128, then flattens into dense ReLU layers and its output: a linear
    age (or any agekit age head) and a 2-way softmax for gender (the study's single
    sigmoid unit, in the form agekit's gender labels and metrics use).

    The study text gives the block order, the filter counts, the two branches from the
    input, the 128x128 input and the outputs; it says kernel size, pool size, dropout
    rates and the dense layers were "selected by manual testing" without values. The
    defaults for those come from the tutorial the study cites for its structure
    (Bressan 2020, "Building a multi-output convolutional neural network with Keras":
    3x3 convolutions, dropout 0.25 in the blocks, dense 128 -> ReLU -> batch norm ->
    dropout 0.5), with 2x2 pooling throughout.

    Args:
        input_shape: 128x128 RGB in the study.
        head: The age head: `"regression"` (the study) or any other agekit head.
        filters: Filters of the conv blocks, one block each.
        kernel, pool: Convolution kernel and max-pool size.
        block_dropout: Dropout after each block (0 for none).
        dense_units: Widths of the dense ReLU layers before each output.
        dense_dropout: Dropout after each dense layer (0 for none).
        dense_norm: Batch norm after each dense layer's ReLU.
        preprocess: Input scaling inside the model (`"0-1"`: divide by 255).

    Returns:
        An uncompiled flat functional model with outputs `{"age": ..., "gender": ...}`.
        The study's age loss was MSE: `compile_model(model, losses={"age": "mse"})`.

    Example:
        >>> model = split_branch_cnn(input_shape=(32, 32, 3), filters=(4, 8))
        >>> sorted(model.output_names), model.get_layer("gender_block1_conv").input.shape
        (['age', 'gender'], (None, 32, 32, 3))
    """
    if not filters:
        fail("at least one conv block", "filters", filters)
    if min(input_shape[:2]) < pool ** len(filters):
        fail(f"input sides of at least {pool ** len(filters)} px for {len(filters)} blocks",
             "input_shape", input_shape)
    for name, rate in (("block_dropout", block_dropout), ("dense_dropout", dense_dropout)):
        if not 0 <= rate < 1:
            fail(f"0 <= {name} < 1", name, rate)
    inputs, pixels = image_input(input_shape, preprocess=preprocess)

    def branch(prefix):
        x = pixels
        for i, n in enumerate(filters, start=1):
            x = layers.Conv2D(n, kernel, padding="same", name=f"{prefix}_block{i}_conv")(x)
            x = layers.ReLU(name=f"{prefix}_block{i}_relu")(x)
            x = layers.BatchNormalization(name=f"{prefix}_block{i}_bn")(x)
            x = layers.MaxPooling2D(pool, name=f"{prefix}_block{i}_pool")(x)
            if block_dropout:
                x = layers.Dropout(block_dropout, name=f"{prefix}_block{i}_dropout")(x)
        x = layers.Flatten(name=f"{prefix}_flatten")(x)
        for i, units in enumerate(dense_units, start=1):
            x = layers.Dense(units, activation="relu", name=f"{prefix}_fc{i}")(x)
            if dense_norm:
                x = layers.BatchNormalization(name=f"{prefix}_fc{i}_bn")(x)
            if dense_dropout:
                x = layers.Dropout(dense_dropout, name=f"{prefix}_fc{i}_dropout")(x)
        return x

    kind, bins = parse_head(head)
    age = Head(kind, bins=bins, name="age", dtype="float32")(branch("age"))
    gender = Head("class", num_classes=2, name="gender", dtype="float32")(branch("gender"))
    return _named(keras.Model(inputs, {"age": age, "gender": gender}, name="split_branch_cnn"),
                  "split_branch_cnn")
