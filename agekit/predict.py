"""Loading trained models and predicting ages from images.

A model saved by agekit (`fit`'s `final.keras`, a recipe's `model.keras`) carries what
prediction needs: its input size (`model.input_shape`), its head kinds (`Head` layers)
and its preprocessing: `build_model` names a model after its backbone (`vgg16_dex`), whose
ImageNet preprocessing its input expects (`preprocessing_of`), and the from-scratch
networks take RGB in [0, 255] (rescaling, if any, is their first layer).
"""

import os
from pathlib import Path

import numpy as np
import pandas as pd

from agekit._validation import fail
from agekit.errors import InvalidValueError, MissingFileError

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
        raise MissingFileError(f"Expected a model file. Received: path={str(path)!r} (no such file)")
    tried = [d / f"{name_or_path}.keras" for d in _search_dirs()]
    for candidate in tried:
        if candidate.is_file():
            return candidate
    raise MissingFileError(
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
        raise InvalidValueError(f"Expected a Keras model file. Received: path={str(path)!r} ({error})") from error


def preprocessing_of(model) -> str:
    """The `agekit.data` preprocessing mode that a model's input expects.

    Models from `build_model` are named `<backbone>_<head>` and expect their backbone's
    ImageNet preprocessing; every other model (the from-scratch networks, the recipes)
    takes RGB values in [0, 255] (mode `"none"`).

    Example:
        >>> from agekit.models import build_model
        >>> preprocessing_of(build_model("mobilenet_v2", weights=None, input_shape=(32, 32, 3),
        ...                              top="gap", compile=False))
        'tf'
    """
    from agekit.models.build import BACKBONES, preprocessing_for

    for backbone in sorted(BACKBONES, key=len, reverse=True):
        if model.name.startswith(f"{backbone}_"):
            return preprocessing_for(backbone)
    return "none"


def prepare_inputs(model, inputs, *, preprocess=None) -> np.ndarray:
    """Images as the model's input: read, resized to its input size, preprocessed.

    Args:
        model: A Keras model (its `input_shape` gives the size and channels).
        inputs: A DataFrame with a `path` column, image paths, or RGB arrays (one image
            `(h, w, 3)`, a batch `(n, h, w, 3)` or a list); greyscale is repeated to RGB.
        preprocess: A mode of `agekit.data.PREPROCESSING`; `None` uses
            `preprocessing_of(model)`.

    Returns:
        float32 array `(n, height, width, channels)`.

    Example:
        >>> x = prepare_inputs(model, ["face.jpg"])  # doctest: +SKIP
    """
    from agekit.data.preprocess import preprocess_images

    _, height, width, channels = model.input_shape
    x = _images(inputs, (height, width), channels)
    return preprocess_images(x, preprocessing_of(model) if preprocess is None else preprocess)


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
        images = [p if isinstance(p, np.ndarray) else read_image(p) for p in inputs]
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


def predictions_table(heads, outputs) -> pd.DataFrame:
    """A model's raw outputs as a table: `age`, and `gender` / `ethnicity` when present.

    Args:
        heads: `agekit.models.heads_of(model)`.
        outputs: What `model.predict` returned (an array, or a dict keyed by output).

    Returns:
        DataFrame with `age` in years, plus `gender` (`"male"` / `"female"`) and
        `p_female`, `ethnicity` and `p_ethnicity`, for the outputs the model has.
    """
    from agekit.labels import ETHNICITY_LABELS, GENDER_LABELS

    if not isinstance(outputs, dict):
        outputs = {"age": outputs}
    table = pd.DataFrame({"age": heads["age"].to_age(outputs["age"])})
    if "gender" in outputs:
        probs = np.asarray(outputs["gender"])
        table["gender"] = [GENDER_LABELS[k] for k in probs.argmax(axis=1)]
        table["p_female"] = probs[:, 1]
    if "ethnicity" in outputs:
        probs = np.asarray(outputs["ethnicity"])
        table["ethnicity"] = [ETHNICITY_LABELS[k] for k in probs.argmax(axis=1)]
        table["p_ethnicity"] = probs.max(axis=1)
    return table


def predict_age(model, inputs, *, batch_size=64, preprocess=None):
    """Predict ages (and gender / ethnicity where the model has them).

    Args:
        model: A loaded agekit model (or a name / path for `load_model`).
        inputs: A DataFrame with a `path` column, a list of image paths, or face crops
            as an array `(n, height, width, 3)` / a list of RGB arrays.
        batch_size: Images per forward pass.
        preprocess: The input preprocessing; `None` uses `preprocessing_of(model)`.

    Returns:
        DataFrame with `age` in years, plus `gender` (`"male"` / `"female"`) and
        `p_female`, `ethnicity` and its probability, when the model has those outputs.

    Example:
        >>> predict_age("utkface", ["face.jpg"])["age"]
    """
    from agekit.models import heads_of

    if not hasattr(model, "predict"):
        model = load_model(model)
    heads = heads_of(model)
    if "age" not in heads:
        fail("a model with an agekit `age` head", "model", getattr(model, "name", model))
    x = prepare_inputs(model, inputs, preprocess=preprocess)
    outputs = model.predict(x, batch_size=batch_size, verbose=0)
    table = predictions_table(heads, outputs)
    if isinstance(inputs, pd.DataFrame):
        table.index = inputs.index
    return table


def predict_faces(
    model,
    image,
    *,
    boxes=None,
    detector: str = "cnn",
    upsample: int = 0,
    max_side: int | None = None,
    align: bool = True,
    margin: str | float = "loose",
    batch_size: int = 64,
    preprocess=None,
) -> pd.DataFrame:
    """Find every face in a photo and predict its age (and gender / ethnicity).

    Each face is detected (`agekit.faces.detect_faces`), aligned so its eyes are level
    (5-point landmarks, `align_face`) or cropped (`crop_face`), and predicted.

    Args:
        model: A loaded agekit model, or a name / path for `load_model`.
        image: An RGB array or an image path (greyscale / RGBA / 16-bit are converted).
        boxes: `FaceBox`es already found in `image`; `None` detects them.
        detector: `"cnn"` or `"hog"`.
        upsample: Detector upsampling steps (0 finds faces from about 80 px, 1 from
            about 40 px at 4x the time).
        max_side: Detect on a copy shrunk to this longer side (faster on big photos).
        align: Level the eyes before cropping.
        margin: Crop margin around the face box (`"tight"`, `"loose"`, `"very_loose"`
            or a fraction); use the one the model was trained with.
        batch_size: Faces per forward pass.
        preprocess: Input preprocessing; `None` uses `preprocessing_of(model)`.

    Returns:
        One row per face, most confident first: `face` (0, 1, ...), the box `left`,
        `top`, `right`, `bottom` (pixels, right/bottom exclusive), the detector `score`,
        then the columns of `predict_age`. No face gives an empty table.

    Example:
        >>> predict_faces("utkface", "two_people.jpg")[["left", "top", "age"]]  # doctest: +SKIP
    """
    from agekit.faces import detect_faces, face_crops
    from agekit.images import as_rgb, read_image

    image = as_rgb(read_image(image) if isinstance(image, (str, os.PathLike)) else image)
    if boxes is None:
        boxes = detect_faces(image, model=detector, upsample=upsample, max_side=max_side)
    columns = ["face", "left", "top", "right", "bottom", "score"]
    faces = pd.DataFrame([(i, b.left, b.top, b.right, b.bottom, b.score) for i, b in enumerate(boxes)],
                         columns=columns)
    if not boxes:
        return faces
    crops = face_crops(image, boxes, align=align, margin=margin)
    table = predict_age(model, crops, batch_size=batch_size, preprocess=preprocess)
    return pd.concat([faces, table], axis=1)


def annotate(image, faces: pd.DataFrame) -> np.ndarray:
    """Draw each face's box and predicted age (and gender) on a copy of the image.

    Args:
        image: The RGB photo (array or path) that `faces` was predicted on.
        faces: A `predict_faces` table.

    Returns:
        RGB uint8 array of the same size; write it with `agekit.images.write_image`.

    Example:
        >>> marked = annotate("two_people.jpg", predict_faces("utkface", "two_people.jpg"))  # doctest: +SKIP
    """
    import cv2

    from agekit.images import as_rgb, read_image

    image = as_rgb(read_image(image) if isinstance(image, (str, os.PathLike)) else image).copy()
    thickness = max(1, round(max(image.shape[:2]) / 400))
    for row in faces.itertuples():
        label = f"{row.age:.0f}"
        if "gender" in faces.columns:
            label += f" {row.gender[0].upper()}"
        cv2.rectangle(image, (int(row.left), int(row.top)), (int(row.right) - 1, int(row.bottom) - 1),
                      (0, 255, 0), thickness)
        scale = max(0.4, (row.right - row.left) / 120)
        (width, height), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = max(int(row.top) - height - 6, 0)
        cv2.rectangle(image, (int(row.left), top), (int(row.left) + width + 4, top + height + 6),
                      (0, 255, 0), -1)
        cv2.putText(image, label, (int(row.left) + 2, top + height + 2), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, (0, 0, 0), thickness, cv2.LINE_AA)
    return image
