"""Loading trained models and predicting ages from images.

A model saved by agekit (`fit`'s `final.keras`, a run's `model.keras`) carries its model
card (`agekit.models.card_of`): its input size, colour and scaling (applied by its own
first layer), its heads, the age range and face-crop geometry it was trained on. So
prediction needs no arguments beyond the images: every image goes through
`agekit.images.model_batch` (any file, bytes or array -> RGB -> the model's size, the
same rule as the training pipeline) and every output through its head.

A plain Keras model not built by agekit is usable once described:
`agekit.models.describe(model, head="dex", preprocess="vgg16")`, or
`load_model(path, head="dex", preprocess="vgg16")`.
"""

import dataclasses

import numpy as np
import pandas as pd

from agekit._validation import fail
from agekit.errors import InvalidValueError
from agekit.store import WEIGHTS_DIR, find_model  # noqa: F401 (agekit.predict.find_model)


def load_model(name_or_path, *, compile=True, **facts):
    """Load a `.keras` model with agekit's custom layers, losses and metrics.

    The model's card comes with it (`agekit.models.card_of`). A file saved before
    agekit models carried a card loads too, with a warning naming the facts it lacks
    (it is then fed RGB in [0, 255] without preprocessing); pass those facts here
    (`preprocess="vgg16"`, `color=...`, `head="dex"` for a plain Keras model, ...) to
    describe it instead (`agekit.models.describe`).

    Args:
        name_or_path: A `.keras` file, or a model name in the weights folders
            (see `find_model`).
        compile: Restore the training configuration too.
        **facts: For a model without a card: what `agekit.models.describe` takes.

    Example:
        >>> model = load_model("runs/utkface/model.keras")  # doctest: +SKIP
        >>> agekit.models.card_of(model).input_size        # doctest: +SKIP
        (64, 64)
    """
    import keras

    import agekit.losses
    import agekit.metrics
    import agekit.models
    from agekit.models.card import card_of, describe, warn_if_missing

    path = find_model(name_or_path)
    try:
        model = keras.saving.load_model(path, compile=compile)
    except (ValueError, OSError) as error:  # a file that is not a Keras model
        raise InvalidValueError(f"Expected a Keras model file. Received: path={str(path)!r} ({error})") from error
    if any(isinstance(layer, agekit.models.Preprocess) for layer in model.layers):
        if facts:
            fail("no facts for a model that carries its own card (agekit.models.set_card changes "
                 "what training recorded)", "facts", sorted(facts))
        return model
    if not agekit.models.heads_of(model):
        if not facts:
            fail("an agekit model, or the facts of a plain Keras model (for example head='dex', "
                 "preprocess='vgg16')", "model", str(path), error=TypeError)
        return describe(model, **facts)
    card = card_of(model)  # an agekit model saved before the card: heads, no preprocessing
    if facts:
        known = {"preprocess", "color", "resize", "input_size", *agekit.models.card.FACTS}
        unknown = sorted(set(facts) - known)
        if unknown:
            fail(f"facts among {sorted(known)}", "facts", unknown)
        model._agekit_card = dataclasses.replace(card, **facts, missing=())
        return model
    warn_if_missing(card, f"The model file {str(path)!r}")
    model._agekit_card = card
    return model


def prepare_inputs(model, inputs) -> np.ndarray:
    """Images as the model's input batch (`agekit.images.model_batch` with its card).

    Args:
        model: A Keras model with a card (`agekit.models.card_of`).
        inputs: A DataFrame with a `path` column, image paths, bytes, or arrays (one
            image `(h, w[, c])`, a batch `(n, h, w, c)` or a list; any colour type and
            bit depth).

    Returns:
        float32 array `(n, height, width, channels)`: RGB in [0, 255] for agekit models.

    Example:
        >>> import numpy as np
        >>> from agekit.models import basic_cnn
        >>> model = basic_cnn(input_shape=(32, 32, 1))  # greyscale: it converts inside
        >>> prepare_inputs(model, [np.zeros((48, 40), "uint16")]).shape  # 16-bit grey photo
        (1, 32, 32, 3)
    """
    from agekit.images import model_batch
    from agekit.models.card import card_of

    if isinstance(inputs, pd.DataFrame):
        if "path" not in inputs.columns:
            fail("a DataFrame with a `path` column", "columns", list(inputs.columns))
        inputs = inputs["path"].tolist()
    return model_batch(inputs, card_of(model))


def outputs_by_name(card, outputs) -> dict:
    """A model's raw outputs keyed by the card's output names.

    Keras returns an array for one output, a dict for agekit's multi-output models, and
    a list for a plain multi-output model (taken in the card's `heads` order).
    """
    names = list(card.heads)
    if isinstance(outputs, dict):
        return outputs
    if isinstance(outputs, (list, tuple)):
        if len(outputs) != len(names):
            fail(f"{len(names)} outputs as the card's heads {names}", "outputs", len(outputs))
        return dict(zip(names, outputs))
    return {names[0] if len(names) == 1 else "age": outputs}


def predictions_table(heads, outputs) -> pd.DataFrame:
    """A model's raw outputs as a table: `age`, and `gender` / `ethnicity` when present.

    Args:
        heads: Output name -> `Head` (`card_of(model).head_layers()`).
        outputs: What `model.predict` returned, keyed by output (`outputs_by_name`).

    Returns:
        DataFrame with `age` in years, plus `gender` (`"male"` / `"female"`) and
        `p_female`, `ethnicity` and `p_ethnicity`, for the outputs the model has.
    """
    from agekit.labels import ETHNICITY_LABELS, GENDER_LABELS

    if not isinstance(outputs, dict):
        outputs = {"age": outputs}
    if "age" not in heads:
        fail("a model with an `age` output (an agekit head)", "outputs", sorted(heads))
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


def _check_interval(interval):
    number = isinstance(interval, (int, float, np.floating)) and not isinstance(interval, bool)
    if interval is not None and not (number and 0 < interval < 1):
        fail("an interval level in (0, 1), such as 0.9, or None", "interval", interval)


def age_intervals(card, age_outputs, *, level: float) -> pd.DataFrame:
    """An interval around each predicted age that holds the true age with probability `level`.

    Calibrated when the card holds a calibration (`agekit.calibration`, fitted by
    `agekit.evaluation.calibrate_model`); otherwise the age head's own quantiles,
    uncalibrated, with a warning (a regression head has none: NaN).

    Args:
        card: The model's card (`agekit.models.card_of`).
        age_outputs: The age head's raw outputs for n faces.
        level: Coverage level in (0, 1).

    Returns:
        DataFrame of n rows: `age_low`, `age_high` (years), `age_std` (the spread of the
        head's distribution over ages, NaN for regression) and `interval_method`
        (`"normalized"`, `"absolute"` or `"cqr"` when calibrated; `"raw"`; `"none"`).

    Example:
        >>> from agekit.models import ModelCard
        >>> card = ModelCard(input_size=(8, 8), heads={"age": {"kind": "dex", "num_classes": 3}})
        >>> import warnings
        >>> with warnings.catch_warnings(record=True):  # no calibration: raw quantiles
        ...     age_intervals(card, [[0.0, 1.0, 0.0]], level=0.9).round(2).values.tolist()
        [[0.55, 1.45, 0.29, 'raw']]
    """
    import warnings

    from agekit.calibration import age_distribution, predict_interval

    _check_interval(level)
    head = card.age_head()
    dist = age_distribution(head, age_outputs)
    calibration, method = card.calibration, "none"
    if calibration is not None:
        if calibration.get("head", head.kind) != head.kind:
            fail(f"a calibration of the model's {head.kind!r} age head", "calibration['head']",
                 calibration["head"])
        method = calibration["method"]
        index = [i for i, v in enumerate(calibration["levels"]) if v >= level - 1e-9]
        if index and calibration["scores"][method][index[0]] is None:
            warnings.warn(f"The calibration split (n={calibration.get('n')}) is too small for a "
                          f"{level:g} interval: it is unbounded (age_high = inf).", stacklevel=3)
            return _interval_frame(np.zeros(len(dist.age)), np.full(len(dist.age), np.inf),
                                   dist.std, method)
        frame = predict_interval(None, dist, calibration, level=level)
        return _interval_frame(frame["age_low"], frame["age_high"], dist.std, method)
    if dist.probs is not None:
        method = "raw"
        frame = predict_interval(None, dist, None, level=level, method="raw")
        low, high = frame["age_low"], frame["age_high"]
        what = ("age_low / age_high are the age head's own quantiles, uncalibrated (they need not "
                f"hold the true age for {level:.0%} of faces)")
    else:
        low = high = np.full(len(dist.age), np.nan)
        what = "a regression head has no spread, so age_low / age_high are NaN"
    warnings.warn(f"The model card holds no interval calibration: {what}. Calibrate on held-out "
                  "labelled faces: agekit.calibrate_model(model, df).", stacklevel=3)
    return _interval_frame(low, high, dist.std, method)


def _interval_frame(low, high, std, method):
    return pd.DataFrame({"age_low": np.asarray(low, dtype=np.float64),
                         "age_high": np.asarray(high, dtype=np.float64),
                         "age_std": np.asarray(std, dtype=np.float64), "interval_method": method})


def predict_age(model, inputs, *, batch_size=64, interval: float | None = None):
    """Predict ages (and gender / ethnicity where the model has them), with intervals.

    The images are brought to the model's input by `prepare_inputs` (its card says
    how); the outputs become years by the model's heads. A warning names the faces
    predicted outside the age range the model was trained on (its card's `age_range`).

    With `interval` (such as 0.9), each face also gets `age_low` and `age_high`, an
    interval meant to hold its true age with that probability, and `age_std`, the spread
    of the head's distribution over ages. How: when the model's card holds a calibration
    (`agekit.evaluation.calibrate_model`, fitted on labelled faces held out from
    training), the interval is split-conformal (`agekit.calibration`): with the default
    `"normalized"` method it is `age -/+ q * age_std`, q being the `interval`-quantile
    of |true age - age| / age_std over the calibration faces, so it widens where the
    head is unsure. On new faces like the calibration faces (same population, same
    crops) it then holds the true age for at least `interval` of them on average;
    not for every group (the old are covered less often: see `agekit.audit`), and not
    on other data. Without a calibration it is the head's own quantiles of its
    distribution over ages (DEX, CORAL, bins), which need not hold at the level
    (`interval_method` says `"raw"`, and a warning); a regression head then has none
    (NaN, `"none"`).

    Args:
        model: A loaded agekit model (or a name / path for `load_model`), or a plain
            Keras model described with `agekit.models.describe`.
        inputs: A DataFrame with a `path` column, a list of image paths, or face crops
            as an array `(n, height, width, 3)` / a list of arrays of any size.
        batch_size: Images per forward pass.
        interval: Coverage level in (0, 1) of the age interval, or None (no interval).

    Returns:
        DataFrame with `age` in years, plus `gender` (`"male"` / `"female"`) and
        `p_female`, `ethnicity` and its probability, when the model has those outputs;
        with `interval`, `age_low`, `age_high`, `age_std` and `interval_method` (see
        `age_intervals`).

    Example:
        >>> predict_age("utkface", ["face.jpg"], interval=0.9)[["age", "age_low", "age_high"]]  # doctest: +SKIP
    """
    from agekit.calibration import outside_age_range
    from agekit.models.card import card_of
    from agekit.models.tta import predict_outputs

    _check_interval(interval)
    if not hasattr(model, "predict"):
        model = load_model(model)
    card = card_of(model)
    heads = card.head_layers()
    if "age" not in heads:
        fail("a model with an agekit `age` head", "model", getattr(model, "name", model))
    x = prepare_inputs(model, inputs)
    outputs = outputs_by_name(card, predict_outputs(model, x, batch_size=batch_size))  # the card's tta
    table = predictions_table(heads, outputs)
    if interval is not None:
        table = pd.concat([table, age_intervals(card, outputs["age"], level=interval)], axis=1)
    if isinstance(inputs, pd.DataFrame):
        table.index = inputs.index
    outside_age_range(table["age"].to_numpy(), card.age_range)
    return table


def __getattr__(name):
    """`agekit.predict.predict_faces` and friends moved to `agekit.photos`."""
    if name in ("predict_faces", "face_crops_for", "annotate", "predict_photos"):
        import agekit.photos

        return getattr(agekit.photos, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
