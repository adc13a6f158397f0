"""Export a model for serving where agekit is not installed: SavedModel, ONNX, TFLite.

The exported graph is the model card's other face. It takes what a camera or a web
server has, a batch of RGB images as uint8 `(n, height, width, 3)` at the model's input
size, and returns a dict: `age` in years (the age head's output turned into years, as
`agekit.predict_age` does) plus every other head's probabilities under its name
(`gender`, `ethnicity`). The scaling and colour conversion are inside (the model's own
`Preprocess` layer, or added for a described plain model), so a server only resizes to
the input size (`agekit.images.fit_to`'s rule: area averaging to shrink, bilinear to
enlarge).

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


def serving_model(model) -> keras.Model:
    """The model as served: uint8 RGB images in, `{"age": years, other heads...}` out.

    Args:
        model: An agekit model (or a plain Keras model described with
            `agekit.models.describe`).

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
    served = {}
    for name, head in heads.items():
        served[name] = outputs[name] if head.kind == "class" else _Years(head, name=f"{name}_years")(
            outputs[name])
    return keras.Model(images, served, name=f"{model.name}_serving")


def export_model(model, out, *, format: str = "savedmodel", verbose: bool = False) -> Path:
    """Export a model for serving without agekit (see the module docstring).

    Args:
        model: An agekit model, a path or a name for `agekit.load_model`.
        out: The SavedModel folder, or the `.onnx` / `.tflite` file.
        format: `"savedmodel"`, `"onnx"` or `"tflite"`.
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
    served = serving_model(model)
    served.predict(np.zeros((1, *served.input_shape[1:]), np.uint8), verbose=0)  # exporters need a call
    served.export(str(out), format=FORMATS[format], verbose=verbose)
    card = json.dumps(card_of(model).to_dict(), indent=2)
    (out / CARD_FILE if format == "savedmodel" else out.with_name(out.name + ".card.json")).write_text(card)
    return out
