"""Export a model for serving where agekit is not installed: SavedModel, ONNX, TFLite.

The exported graph is the model card's other face. It takes what a camera or a web
server has, a batch of RGB images as uint8 `(n, height, width, 3)` at the model's input
size, and returns a dict: `age` in years (the age head's output turned into years, as
`agekit.predict_age` does) plus every other head's probabilities under its name
(`gender`, `ethnicity`). When the card holds an interval calibration
(`agekit.evaluation.calibrate_model`), also `age_low` and `age_high`: the calibrated
interval at the level chosen at export (`interval=0.9`), computed in the graph as
`agekit.predict_age(..., interval=0.9)` computes it (the formula in
`agekit.calibration`'s docstring; the level is written in the card file beside the
graph, under `calibration["served_level"]`). The scaling and colour conversion are
inside (the model's own `Preprocess` layer, or added for a described plain model), so a
server only resizes to the input size (`agekit.images.fit_to`'s rule: area averaging to
shrink, bilinear to enlarge).

- `"savedmodel"`: a TensorFlow SavedModel folder whose `serving_default` signature takes
  `image` (uint8) and returns the dict; load it with `tf.saved_model.load` and nothing
  else. The card is written beside the graph as `agekit_card.json`.
- `"onnx"`: a `.onnx` file (Keras' exporter, which needs `tf2onnx`: `pip install
  "agekit[export]"`), run with onnxruntime; the card as `<file>.card.json`.
- `"tflite"`: a `.tflite` file (Keras' LiteRT exporter), for phones and small devices;
  the card as `<file>.card.json`.

Example:

    agekit export runs/utkface/model.keras exported/utkface              # SavedModel
    agekit export runs/utkface/model.keras utkface.onnx --format onnx

    import tensorflow as tf                        # in a process without agekit
    serve = tf.saved_model.load("exported/utkface").signatures["serving_default"]
    ages = serve(image=tf.constant(batch_uint8))["age"]
"""

import json
import warnings
from pathlib import Path

import keras
import numpy as np
from keras import ops

from agekit._validation import fail

FORMATS = {"savedmodel": "tf_saved_model", "onnx": "onnx", "tflite": "litert"}
CARD_FILE = "agekit_card.json"


class _Pixels(keras.layers.Layer):
    """uint8 images -> float32 pixels in [0, 255] (what agekit models take)."""

    def call(self, images):
        return ops.cast(images, "float32")


class _Mirror(keras.layers.Layer):
    """Images flipped left-right (the card's test-time augmentation, `tta="flip"`)."""

    def call(self, images):
        return ops.flip(images, axis=2)


class _Mean(keras.layers.Layer):
    """The mean of an output on the images and on their mirror images."""

    def call(self, a, b):
        return (a + b) / 2.0


class _Years(keras.layers.Layer):
    """A head's outputs -> ages in years (`agekit.models.heads.age_tensor`)."""

    def __init__(self, head, **kwargs):
        super().__init__(**kwargs)
        # the head's settings only (a Head layer held here would be tracked as unbuilt)
        self.settings = {"kind": head.kind, "num_classes": head.num_classes, "bins": head.bins,
                         "min_age": head.min_age}

    def call(self, outputs):
        from types import SimpleNamespace

        from agekit.models.heads import age_tensor

        return age_tensor(SimpleNamespace(**self.settings), outputs)


class _Interval(keras.layers.Layer):
    """A head's outputs -> `(age_low, age_high)`: the calibrated interval (`agekit.calibration`).

    The head's distribution over age cells (centres c, widths w; DEX, CORAL, bins) gives
    `std = max(sqrt(sum p ((c - mean)^2 + w^2 / 12)), min_std)`; `"normalized"`: age -/+
    q * std, `"absolute"`: age -/+ q, `"cqr"`: the head's quantiles widened by q.
    """

    def __init__(self, head, calibration, level, **kwargs):
        super().__init__(**kwargs)
        from agekit.calibration import age_distribution

        self.kind, self.method = head.kind, calibration["method"]
        above = [i for i, v in enumerate(calibration["levels"]) if v >= level - 1e-9]
        if not above or calibration["scores"][self.method][above[0]] is None:
            fail(f"a level the calibration can serve (<= {max(calibration['levels'])}, and n="
                 f"{calibration.get('n')} faces large enough for it)", "interval", level)
        self.q = float(calibration["scores"][self.method][above[0]])
        self.tail = (1.0 - calibration["levels"][above[0]]) / 2
        self.min_std = float(calibration.get("min_std", 0.5))
        self.settings = {"kind": head.kind, "num_classes": head.num_classes, "bins": head.bins,
                         "min_age": head.min_age}
        if head.kind == "regression":
            return
        width = head.num_classes - 1 if head.kind == "coral" else head.num_classes
        # Where each output's probability goes among the cells (identity for DEX).
        cells = age_distribution(head, np.eye(width) if head.kind != "coral" else np.zeros((1, width)))
        self.edges = cells.edges.astype("float32")
        self.to_cells = cells.probs.astype("float32") if head.kind == "bins" else None

    def _probs(self, outputs):
        if self.kind == "coral":  # P(rank > k), made non-increasing, -> P(rank = r)
            above = ops.sigmoid(outputs)
            k = self.settings["num_classes"] - 1
            earlier = np.tril(np.ones((k, k), bool))  # row j: the tasks 0..j
            above = ops.min(ops.where(earlier[None], above[:, None, :], 1.0), axis=-1)
            ones, zeros = ops.ones_like(above[:, :1]), ops.zeros_like(above[:, :1])
            return ops.concatenate([ones, above], axis=-1) - ops.concatenate([above, zeros], axis=-1)
        probs = outputs / ops.sum(outputs, axis=-1, keepdims=True)
        return probs if self.to_cells is None else ops.matmul(probs, self.to_cells)

    def _quantile(self, probs, q):
        """`AgeDistribution.quantile` in keras.ops: a cumulative sum, a count, an interpolation."""
        cdf = ops.cumsum(probs, axis=-1)
        cdf = ops.concatenate([ops.zeros_like(cdf[:, :1]), cdf / cdf[:, -1:]], axis=-1)
        upper = ops.minimum(ops.sum(ops.cast(cdf < q, "int32"), axis=-1), len(self.edges) - 1)
        lower = upper - 1
        at_upper = ops.take_along_axis(cdf, upper[:, None], axis=-1)[:, 0]
        at_lower = ops.take_along_axis(cdf, lower[:, None], axis=-1)[:, 0]
        mass = at_upper - at_lower
        share = ops.where(mass > 0, (q - at_lower) / ops.where(mass > 0, mass, 1.0), 0.0)
        edges = ops.convert_to_tensor(self.edges)
        low_edge, high_edge = ops.take(edges, lower), ops.take(edges, upper)
        return low_edge + share * (high_edge - low_edge)

    def call(self, outputs):
        from types import SimpleNamespace

        from agekit.models.heads import age_tensor

        outputs = ops.cast(outputs, "float32")
        age = age_tensor(SimpleNamespace(**self.settings), outputs)
        if self.method == "absolute":
            low, high = age - self.q, age + self.q
        else:
            probs = self._probs(outputs)
            if self.method == "cqr":
                low = self._quantile(probs, self.tail) - self.q
                high = self._quantile(probs, 1.0 - self.tail) + self.q
            else:
                edges = self.edges
                centres = ops.convert_to_tensor((edges[1:] + edges[:-1]) / 2)
                spread = ops.convert_to_tensor((edges[1:] - edges[:-1]) ** 2 / 12)
                mean = ops.sum(probs * centres, axis=-1, keepdims=True)
                variance = ops.sum(probs * ((centres - mean) ** 2 + spread), axis=-1)
                std = ops.maximum(ops.sqrt(variance), self.min_std)
                low, high = age - self.q * std, age + self.q * std
        return ops.maximum(low, 0.0), high


def serving_model(model, *, interval: float | None = 0.9) -> keras.Model:
    """The model as served: uint8 RGB images in, `{"age": years, other heads...}` out.

    A model whose card asks for test-time flip averaging (`tta="flip"`) is served with
    it, so the exported model answers as `predict_age` does.

    Args:
        model: An agekit model (or a plain Keras model described with
            `agekit.models.describe`).
        interval: When the card holds a calibration, also output `age_low` and
            `age_high`, the calibrated interval at this level; None: no interval.

    Returns:
        A `keras.Model` (it calls `model`; it is for export, not for training).

    Example:
        >>> import numpy as np
        >>> from agekit.models import basic_cnn
        >>> model = basic_cnn(input_shape=(32, 32, 1), head="dex", outputs={"gender": 2})
        >>> served = serving_model(model)(np.zeros((1, 32, 32, 3), "uint8"))
        >>> {name: tuple(value.shape) for name, value in served.items()}  # years, probabilities
        {'age': (1,), 'gender': (1, 2)}
    """
    from agekit.models.card import Preprocess, card_of
    from agekit.predict import outputs_by_name

    card = card_of(model)
    heads = card.head_layers()
    if "age" not in heads:
        fail("a model with an `age` head", "heads", sorted(heads))
    images = keras.Input((*card.input_size, 3), dtype="uint8", name="image")
    x = _Pixels(name="pixels")(images)
    if not card.in_model:
        x = Preprocess(card.preprocess, color=card.color, name="external_preprocess")(x)
    outputs = outputs_by_name(card, model(x))
    if card.tta == "flip":  # as predict_age does: the outputs averaged with the mirror image's
        mirrored = outputs_by_name(card, model(_Mirror(name="mirror")(x)))
        outputs = {name: _Mean(name=f"{name}_tta")(outputs[name], mirrored[name]) for name in outputs}
    served = {}
    for name, head in heads.items():
        served[name] = outputs[name] if head.kind == "class" else _Years(head, name=f"{name}_years")(
            outputs[name])
    if interval is not None and card.calibration is not None:
        served["age_low"], served["age_high"] = _Interval(heads["age"], card.calibration, interval,
                                                          name="age_interval")(outputs["age"])
    return keras.Model(images, served, name=f"{model.name}_serving")


def export_model(model, out, *, format: str = "savedmodel", interval: float | None = 0.9,
                 verbose: bool = False) -> Path:
    """Export a model for serving without agekit (see the module docstring).

    Args:
        model: An agekit model, a path or a name for `agekit.load_model`.
        out: The SavedModel folder, or the `.onnx` / `.tflite` file.
        format: `"savedmodel"`, `"onnx"` or `"tflite"`.
        interval: Level of the served `age_low` / `age_high` (when the card holds a
            calibration; a warning says when it holds none); None: no interval.
        verbose: Let Keras' exporter print what it does.

    Returns:
        The path written (and the card beside it, see the module docstring).

    Example:
        >>> export_model("runs/utkface/model.keras", "exported/utkface")  # doctest: +SKIP
        PosixPath('exported/utkface')
    """
    from agekit.models.card import card_of

    if format not in FORMATS:
        fail(f"format to be one of {sorted(FORMATS)}", "format", format)
    if not hasattr(model, "predict"):
        from agekit.predict import load_model

        model = load_model(model, compile=False)
    if format == "onnx":
        try:
            import tf2onnx  # noqa: F401
        except ImportError as error:
            raise ImportError('ONNX export needs tf2onnx: pip install "agekit[export]"') from error
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    served = serving_model(model, interval=interval)
    served.predict(np.zeros((1, *served.input_shape[1:]), np.uint8), verbose=0)  # exporters need a call
    served.export(str(out), format=FORMATS[format], verbose=verbose)
    card = card_of(model).to_dict()
    if interval is not None and card["calibration"] is not None:
        card["calibration"]["served_level"] = float(interval)
    elif interval is not None:
        warnings.warn("The model card holds no interval calibration: exported without age_low / "
                      "age_high (calibrate first: agekit.calibrate_model(model, df)).", stacklevel=2)
    card = json.dumps(card, indent=2)
    (out / CARD_FILE if format == "savedmodel" else out.with_name(out.name + ".card.json")).write_text(card)
    return out
