"""Loading trained models and predicting ages from images.

A model saved by agekit (`fit`'s `final.keras`, a recipe's `model.keras`) carries what
prediction needs: its input size (`model.input_shape`), its head kinds (`Head` layers)
and, for the recipes and any model built with in-model rescaling, its preprocessing.
"""

import os
from pathlib import Path

import numpy as np
import pandas as pd

from agekit._validation import fail

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"


def _search_dirs():
    dirs = []
    if os.environ.get("AGEKIT_WEIGHTS"):
        dirs.append(Path(os.environ["AGEKIT_WEIGHTS"]))
    dirs += [Path.cwd() / "weights", WEIGHTS_DIR]
    return list(dict.fromkeys(dirs))


def find_model(name_or_path):
    """Resolve a model path, or a name such as `"utkface"` in the weights folders.

    Names are looked up as `<name>.keras` in `$AGEKIT_WEIGHTS`, `./weights/` and the
    `weights/` folder beside the agekit package (a development checkout).
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    if path.suffix or os.sep in str(name_or_path):
        raise FileNotFoundError(f"Expected a model file. Received: path={str(path)!r} (no such file)")
    tried = [d / f"{name_or_path}.keras" for d in _search_dirs()]
    for candidate in tried:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"Expected a model file or the name of one in the weights folders. Received: "
        f"name={name_or_path!r}; looked for {[str(t) for t in tried]}"
    )


def load_model(name_or_path, *, compile=True):
    """Load an agekit `.keras` model with its custom layers, losses and metrics.

    Args:
        name_or_path: A `.keras` file, or a model name in the weights folders
            (see `find_model`).
        compile: Restore the training configuration too.

    Example:
        >>> model = load_model("runs/utkface/model.keras")
    """
    import keras

    import agekit.losses
    import agekit.metrics
    import agekit.models  # noqa: F401

    path = find_model(name_or_path)
    try:
        return keras.saving.load_model(path, compile=compile)
    except (ValueError, OSError) as error:  # a file that is not a Keras model
        raise ValueError(f"Expected a Keras model file. Received: path={str(path)!r} ({error})") from error


def _images(inputs, size, channels):
    import cv2

    from agekit.images import read_image

    if isinstance(inputs, pd.DataFrame):
        if "path" not in inputs.columns:
            fail("a DataFrame with a `path` column", "columns", list(inputs.columns))
        inputs = inputs["path"].tolist()
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    if isinstance(inputs, np.ndarray) and inputs.ndim in (3, 4):
        images = list(inputs[None] if inputs.ndim == 3 else inputs)
    else:
        images = [read_image(p) for p in inputs]
    out = np.empty((len(images), size[0], size[1], channels), dtype=np.float32)
    for i, image in enumerate(images):
        image = np.asarray(image)
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=-1)
        if image.dtype != np.uint8:
            image = np.clip(image, 0, 255).astype(np.uint8)
        image = cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_AREA)
        if channels == 1:
            image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None]
        out[i] = image
    return out


def predict_age(model, inputs, *, batch_size=64):
    """Predict ages (and gender / ethnicity where the model has them).

    Args:
        model: A loaded agekit model (or a name / path for `load_model`) whose input is
            RGB in [0, 255] (its preprocessing inside the model).
        inputs: A DataFrame with a `path` column, a list of image paths, or face crops
            as an array `(n, height, width, 3)` / a list of RGB arrays.
        batch_size: Images per forward pass.

    Returns:
        DataFrame with `age` in years, plus `gender` (`"male"` / `"female"`) and
        `p_female`, `ethnicity` and its probability, when the model has those outputs.

    Example:
        >>> predict_age("utkface", ["face.jpg"])["age"]
    """
    from agekit.labels import ETHNICITY_LABELS, GENDER_LABELS
    from agekit.models import heads_of

    if not hasattr(model, "predict"):
        model = load_model(model)
    heads = heads_of(model)
    if "age" not in heads:
        fail("a model with an agekit `age` head", "model", getattr(model, "name", model))
    _, height, width, channels = model.input_shape
    x = _images(inputs, (height, width), channels)
    outputs = model.predict(x, batch_size=batch_size, verbose=0)
    if not isinstance(outputs, dict):
        outputs = {"age": outputs}
    table = pd.DataFrame({"age": heads["age"].to_age(outputs["age"])})
    if "gender" in outputs:
        probs = outputs["gender"]
        table["gender"] = [GENDER_LABELS[k] for k in probs.argmax(axis=1)]
        table["p_female"] = probs[:, 1]
    if "ethnicity" in outputs:
        probs = outputs["ethnicity"]
        table["ethnicity"] = [ETHNICITY_LABELS[k] for k in probs.argmax(axis=1)]
        table["p_ethnicity"] = probs.max(axis=1)
    if isinstance(inputs, pd.DataFrame):
        table.index = inputs.index
    return table
