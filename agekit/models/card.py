"""The model card: what a model needs to see its input the way it was trained.

Like torchvision's weights, which carry their transforms, every agekit model carries its
card inside its `.keras` file, so nothing downstream guesses:

- the input: size, colour mode, how an image is fitted to the size, and the backbone's
  scaling, which the model applies itself: its first layer, `Preprocess`, takes RGB in
  [0, 255] (float32, 3 channels) and converts it (greyscale models convert inside);
- the heads (kind, classes, age bins) and the age range the model was trained on;
- the face-crop geometry of its training images (a dict of `agekit.faces`), the
  training data's name and the split it was validated on, and its interval
  calibration (`agekit.calibration`).

`card_of(model)` reads the card of any model; `set_card(model, **facts)` records what
training learns (age range, crop, data, split, calibration) before saving; a plain Keras
model not built by agekit is described once with `describe(model, head="dex",
preprocess="vgg16")`, after which every agekit function (prediction, evaluation,
explanation, export) treats it like an agekit model, preprocessing its input outside.
"""

import dataclasses
import json
import warnings
from dataclasses import dataclass, field

import keras
import numpy as np
from keras import ops

from agekit._validation import fail
from agekit.data.preprocess import (
    CAFFE_MEAN_BGR,
    LUMA,
    PREPROCESSING,
    TORCH_MEAN,
    TORCH_STD,
)

CARD_VERSION = 1
COLORS = ("rgb", "grayscale", "grayscale_rgb")
RESIZE_MODES = ("stretch", "pad")
LAYER_MODES = tuple(m for m in PREPROCESSING)
# What a card records beyond the input and the heads (set_card may change these).
FACTS = ("age_range", "crop", "data", "validation", "calibration", "backbone", "tta")
TTA_MODES = (None, "flip")


@dataclass(frozen=True)
class ModelCard:
    """Everything a model needs to see its input as in training, and what it outputs.

    Args:
        input_size: `(height, width)` of the model's input.
        color: What the model converts RGB input to: `"rgb"`, `"grayscale"` (one
            channel) or `"grayscale_rgb"` (grey in three channels).
        preprocess: The backbone's scaling, a mode of `agekit.data.PREPROCESSING`.
        resize: How an image is fitted to `input_size`: `"stretch"` or `"pad"`.
        heads: Output name -> head config (`kind`, `num_classes`, `bins`, `min_age`),
            as the `Head` layers hold them.
        age_range: `(youngest, oldest)` age of the training labels, or None (unknown).
        crop: The face-crop geometry of the training images (a JSON-ready dict of
            `agekit.faces`), or None (unknown: images used as given).
        data: Name of the training data, such as `"utkface"`.
        validation: The split the model was validated on (a JSON-ready dict or text).
        calibration: The interval calibration (`agekit.calibration`), or None.
        backbone: The network's name (`"vgg16"`, `"basic_cnn"`, ...).
        tta: Test-time augmentation every agekit prediction applies
            (`agekit.models.predict_outputs`): None, or `"flip"` (the outputs for each
            face and its mirror image, averaged).
        in_model: True when the model applies `preprocess` and `color` itself (every
            agekit model); False for a plain Keras model described with `describe`,
            whose input agekit preprocesses outside.
        missing: Facts the model file did not record (an older file), for messages.

    Example:
        >>> card = ModelCard(input_size=(64, 64), preprocess="0-1")
        >>> ModelCard.from_dict(card.to_dict()) == card
        True
    """

    input_size: tuple
    color: str = "rgb"
    preprocess: str = "none"
    resize: str = "stretch"
    heads: dict = field(default_factory=dict)
    age_range: tuple | None = None
    crop: dict | None = None
    data: str | None = None
    validation: dict | str | None = None
    calibration: dict | None = None
    backbone: str | None = None
    tta: str | None = None
    in_model: bool = True
    missing: tuple = ()
    version: int = CARD_VERSION

    def __post_init__(self):
        from agekit.images import size_pair

        object.__setattr__(self, "input_size", size_pair(self.input_size))
        if self.color not in COLORS:
            fail(f"color to be one of {COLORS}", "color", self.color)
        if self.preprocess not in PREPROCESSING:
            fail(f"preprocess to be one of {sorted(PREPROCESSING)}", "preprocess", self.preprocess)
        if self.resize not in RESIZE_MODES:
            fail(f"resize to be one of {RESIZE_MODES}", "resize", self.resize)
        if self.age_range is not None:
            low, high = (float(a) for a in self.age_range)
            if not (np.isfinite(low) and np.isfinite(high) and low <= high):
                fail("age_range (youngest, oldest) with youngest <= oldest", "age_range", self.age_range)
            object.__setattr__(self, "age_range", (low, high))
        if self.tta not in TTA_MODES:
            fail(f"tta to be one of {TTA_MODES}", "tta", self.tta)
        for name in ("crop", "calibration"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, dict):
                fail(f"{name} as a dict or None", name, value, error=TypeError)
        object.__setattr__(self, "heads", {k: dict(v) for k, v in self.heads.items()})
        object.__setattr__(self, "missing", tuple(self.missing))

    def to_dict(self) -> dict:
        """The card as a JSON-ready dict."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, values: dict) -> "ModelCard":
        """A card from `to_dict()`'s output; unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            fail(f"model card keys among {sorted(known)}", "keys", unknown)
        values = dict(values)
        for name in ("input_size", "age_range", "missing"):
            if values.get(name) is not None:
                values[name] = tuple(values[name])
        return cls(**values)

    def head_layers(self) -> dict:
        """Output name -> an (unbuilt) `Head` per head, for turning outputs into ages."""
        from agekit.models.heads import Head

        return {name: Head(**config, name=name) for name, config in self.heads.items()}

    def age_head(self):
        """The `Head` of the `age` output (error when the model has none)."""
        heads = self.head_layers()
        if "age" not in heads:
            fail("a model with an `age` output (an agekit head)", "outputs", sorted(heads))
        return heads["age"]


@keras.saving.register_keras_serializable(package="agekit")
class Preprocess(keras.layers.Layer):
    """An agekit model's first layer: RGB in [0, 255] -> what its backbone expects.

    It converts the colour (`"grayscale"`: one channel of ITU-R 601 luma;
    `"grayscale_rgb"`: that luma in three channels) and applies the backbone's scaling
    (a mode of `agekit.data.PREPROCESSING`, the same constants as `keras.applications`).
    It has no weights, computes in float32 whatever the dtype policy, and carries the
    model card's recorded facts (`set_card`), so they are saved with the model.

    Example:
        >>> layer = Preprocess("tf")
        >>> np.asarray(layer(np.full((1, 1, 1, 3), 255.0, "float32"))).ravel().tolist()
        [1.0, 1.0, 1.0]
    """

    def __init__(self, mode="none", *, color="rgb", resize="stretch", facts=None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        kwargs.setdefault("name", "preprocess")
        super().__init__(**kwargs)
        if mode not in PREPROCESSING:
            fail(f"mode to be one of {sorted(PREPROCESSING)}", "mode", mode)
        if color not in COLORS:
            fail(f"color to be one of {COLORS}", "color", color)
        if resize not in RESIZE_MODES:
            fail(f"resize to be one of {RESIZE_MODES}", "resize", resize)
        self.mode, self.color, self.resize = mode, color, resize
        self.facts_json = json.dumps(facts or {})

    @property
    def facts(self) -> dict:
        return json.loads(self.facts_json)

    def call(self, images):
        x = ops.cast(images, "float32")
        if self.color != "rgb":
            x = ops.sum(x * ops.convert_to_tensor(LUMA, "float32"), axis=-1, keepdims=True)
            if self.color == "grayscale_rgb":
                x = ops.repeat(x, 3, axis=-1)
        grey = self.color == "grayscale"
        if self.mode in ("vgg16", "caffe"):
            if grey:
                return x - float(np.mean(CAFFE_MEAN_BGR))
            return ops.flip(x, axis=-1) - ops.convert_to_tensor(CAFFE_MEAN_BGR, "float32")
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "torch":
            mean, std = np.asarray(TORCH_MEAN, "float32"), np.asarray(TORCH_STD, "float32")
            if grey:
                mean, std = mean.mean(keepdims=True), std.mean(keepdims=True)
            return (x / 255.0 - ops.convert_to_tensor(mean)) / ops.convert_to_tensor(std)
        if self.mode == "0-1":
            return x / 255.0
        return x

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 1 if self.color == "grayscale" else 3)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "color": self.color,
                "resize": self.resize, "facts": self.facts}


def image_input(input_shape, *, preprocess="none", color=None, name="image"):
    """An agekit model's input and its `Preprocess` layer: `(inputs, preprocessed)`.

    Args:
        input_shape: `(height, width)` or `(height, width, channels)`; one channel means
            a greyscale model (its input still takes RGB, converted inside).
        preprocess: A mode of `agekit.data.PREPROCESSING`.
        color: `"rgb"`, `"grayscale"` or `"grayscale_rgb"`; None: from the channels.

    Example:
        >>> inputs, x = image_input((32, 32, 1), preprocess="0-1")
        >>> tuple(inputs.shape), tuple(x.shape)
        ((None, 32, 32, 3), (None, 32, 32, 1))
    """
    shape = model_input_shape(input_shape, color)
    color = color or ("grayscale" if shape[-1] == 1 else "rgb")
    inputs = keras.Input((*shape[:2], 3), name=name)
    return inputs, Preprocess(preprocess, color=color)(inputs)


def model_input_shape(input_shape, color=None) -> tuple:
    """`(height, width, channels)` the network after `Preprocess` sees (1 for grey).

    Example:
        >>> model_input_shape((64, 64, 3), "grayscale")
        (64, 64, 1)
    """
    shape = tuple(int(s) for s in input_shape)
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[-1] not in (1, 3)):
        fail("input_shape (height, width[, 1 or 3 channels])", "input_shape", input_shape)
    if color is not None and color not in COLORS:
        fail(f"color to be one of {COLORS}", "color", color)
    if color is None:
        return shape if len(shape) == 3 else (*shape, 3)
    return (*shape[:2], 1 if color == "grayscale" else 3)


def _preprocess_layer(model):
    layers = [layer for layer in model.layers if isinstance(layer, Preprocess)]
    return layers[0] if layers else None


def card_of(model) -> ModelCard:
    """The card of a model: an agekit model's own, or the one `describe` attached.

    A model file saved before agekit models carried a card (or a model with agekit
    heads but no `Preprocess` layer) gets a card that assumes RGB input in [0, 255]
    with no preprocessing, listing what it lacks in `missing`.

    Raises:
        TypeError: a plain Keras model that was never described (see `describe`).

    Example:
        >>> from agekit.models import build_model
        >>> card_of(build_model("vgg16", weights=None, input_shape=(32, 32, 3),
        ...                     fc_units=8)).preprocess
        'vgg16'
    """
    attached = getattr(model, "_agekit_card", None)
    if attached is not None:
        return attached
    from agekit.models.heads import heads_of

    heads = {name: head_config(layer) for name, layer in heads_of(model).items()}
    layer = _preprocess_layer(model)
    _, height, width, channels = model.input_shape
    if layer is None:
        if not heads:
            fail("an agekit model, or a Keras model described with agekit.models.describe(model, "
                 "head='dex', preprocess=...)", "model", getattr(model, "name", model), error=TypeError)
        return ModelCard(input_size=(height, width), color="grayscale" if channels == 1 else "rgb",
                         heads=heads, in_model=False, missing=("preprocess", "color", *FACTS))
    return ModelCard(input_size=(height, width), color=layer.color, preprocess=layer.mode,
                     resize=layer.resize, heads=heads, **layer.facts)


def head_config(layer) -> dict:
    """A `Head` layer's kind, classes, bins and youngest age, as a card records them."""
    return {"kind": layer.kind, "num_classes": layer.num_classes, "bins": layer.bins,
            "min_age": layer.min_age}


def set_card(model, **facts) -> ModelCard:
    """Record facts in an agekit model's card (saved with the model); returns the card.

    Args:
        model: An agekit model (it has a `Preprocess` layer).
        **facts: Any of `age_range`, `crop`, `data`, `validation`, `calibration`,
            `backbone`, `tta` (see `ModelCard`); None removes a fact.

    Example:
        >>> from agekit.models import basic_cnn
        >>> model = basic_cnn(input_shape=(32, 32, 1))
        >>> set_card(model, age_range=(1, 116), data="utkface").data
        'utkface'
    """
    unknown = sorted(set(facts) - set(FACTS))
    if unknown:
        fail(f"facts among {FACTS} (input size, colour, scaling and heads are fixed when a model "
             f"is built)", "facts", unknown)
    layer = _preprocess_layer(model)
    if layer is None:
        attached = getattr(model, "_agekit_card", None)
        if attached is None:
            fail("an agekit model (with a Preprocess layer) or a described model", "model",
                 getattr(model, "name", model), error=TypeError)
        model._agekit_card = dataclasses.replace(attached, **facts)
        return model._agekit_card
    merged = {**layer.facts, **facts}
    card = ModelCard(input_size=(1, 1), **merged)  # validates the values
    layer.facts_json = json.dumps({name: getattr(card, name) for name in FACTS
                                   if getattr(card, name) is not None})
    return card_of(model)


def describe(model, *, head="dex", preprocess="none", color=None, resize="stretch", input_size=None,
             **facts):
    """Describe a plain Keras model so agekit can feed it and read its outputs.

    Args:
        model: A Keras model taking images.
        head: The age output's kind: `"dex"` (a 101-way softmax over ages 0..100),
            `"regression"`, `"coral"`, `"bins:<scheme>"`; or a dict output name ->
            kind, with `"class:N"` for an N-way softmax such as `{"age": "dex",
            "gender": "class:2"}`.
        preprocess: The scaling its input expects (a mode of
            `agekit.data.PREPROCESSING`), applied by agekit before the model.
        color: `"rgb"`, `"grayscale"`, `"grayscale_rgb"`; None: from its channels.
        resize: `"stretch"` or `"pad"`.
        input_size: `(height, width)`; None: from `model.input_shape`.
        **facts: Other card facts (`age_range`, `crop`, `data`, ...).

    Returns:
        The model, with its card attached (`card_of(model)`).

    Example:
        >>> vgg = keras.saving.load_model("dex_vgg16.keras")  # doctest: +SKIP
        >>> describe(vgg, head="dex", preprocess="vgg16")     # doctest: +SKIP
    """
    from agekit.models.heads import Head, parse_head

    if _preprocess_layer(model) is not None:
        fail("a plain Keras model (this one is an agekit model with its own card: use set_card)",
             "model", model.name, error=TypeError)
    _, height, width, channels = model.input_shape
    kinds = head if isinstance(head, dict) else {"age": head}
    heads = {}
    for name, spec in kinds.items():
        kind, _, rest = str(spec).partition(":")
        if kind == "class":
            layer = Head("class", num_classes=int(rest) if rest else None)
        else:
            kind, bins = parse_head(spec)
            layer = Head(kind, bins=bins)
        heads[name] = head_config(layer)
    if color is None:
        color = "grayscale" if channels == 1 else "rgb"
    model._agekit_card = ModelCard(input_size=input_size or (height, width), color=color,
                                   preprocess=preprocess, resize=resize, heads=heads, in_model=False,
                                   **facts)
    return model


def warn_if_missing(card: ModelCard, source) -> None:
    """Warn once about a model file that predates the card, naming what it lacks."""
    if card.missing:
        warnings.warn(
            f"{source} carries no agekit model card (saved by an older agekit, or not built by "
            f"agekit): it lacks {', '.join(card.missing)}. agekit assumes RGB input in [0, 255] "
            f"with no preprocessing and unknown crop geometry; if the model expects otherwise, "
            f"load it with agekit.load_model(path, preprocess=...), or describe it.",
            stacklevel=3,
        )
