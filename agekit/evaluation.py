"""Scoring a trained model on a labelled dataset: one call, the study's numbers.

`evaluate_model` predicts every image of a DataFrame (through the same `tf.data`
pipeline as training, fed as the model's card says, so unreadable files are skipped and
counted, never fatal, and each file reaches the model exactly as `predict_age` would
bring it) and scores the predictions with `agekit.metrics`: MAE, cumulative score at 5
years, the ChaLearn epsilon-error when the data has `age_std`, classification scores
over age bins, gender / ethnicity accuracy when the model has those outputs, and the
MAE of always predicting a baseline age (the training median), which every model
should beat. It also scores for whom the model fails and how sure it is
(`agekit.audit`: errors per gender, ethnicity and age band, decisions at age
thresholds; the coverage of its age intervals).

`calibrate_model` predicts held-out labelled faces the same way and records
split-conformal interval calibration (`agekit.calibration`) in the model's card.
"""

import logging

import numpy as np
import pandas as pd

from agekit._validation import fail

log = logging.getLogger(__name__)


def _predict_outputs(model, df, batch_size):
    """`(card, readable rows, raw outputs by name, skipped)` through the training pipeline."""
    from agekit.data import make_dataset
    from agekit.data.decode import UNDECODABLE
    from agekit.data.skipped import REASONS
    from agekit.models.card import card_of
    from agekit.models.tta import predict_outputs
    from agekit.predict import outputs_by_name

    card = card_of(model)
    if "age" not in card.heads:
        fail("a model with an agekit `age` head", "model", getattr(model, "name", model))
    if "path" not in df.columns:
        fail("a DataFrame with a `path` column", "columns", list(df.columns))
    ds = make_dataset(df, target=None, card=card, shuffle=False, batch_size=batch_size)
    outputs = outputs_by_name(card, predict_outputs(model, ds))
    skipped = ds.skipped.reasons()
    # The pipeline streams, in order, every row whose file passed its first check; a row
    # that then failed to decode holds a stand-in image, whose prediction is dropped here.
    reason = df["path"].astype(str).map(skipped)
    streamed = (reason.isna() | reason.eq(REASONS[UNDECODABLE])).to_numpy()
    good = reason.isna().to_numpy()[streamed]
    outputs = {name: np.asarray(values)[good] for name, values in outputs.items()}
    return card, df[reason.isna().to_numpy()], outputs, skipped


def _prediction_table(card, df, kept, outputs, skipped, interval):
    from agekit.predict import age_intervals, predictions_table

    parts = [predictions_table(card.head_layers(), outputs)]
    if interval is not None:
        parts.append(age_intervals(card, outputs["age"], level=interval))
    table = pd.concat(parts, axis=1).add_prefix("pred_")
    table.index = kept.index
    result = pd.concat([kept, table], axis=1)
    result.attrs = {**df.attrs, "skipped": skipped}
    return result


def predict_dataset(model, df: pd.DataFrame, *, batch_size: int = 64,
                    interval: float | None = None) -> pd.DataFrame:
    """Predict the images of a dataset DataFrame, skipping (and counting) unreadable files.

    Args:
        model: A loaded agekit model with an `age` head (or a described Keras model).
        df: DataFrame with a `path` column (any `agekit.datasets` loader).
        batch_size: Images per forward pass.
        interval: Also predict an age interval at this level (`agekit.predict_age`):
            `pred_age_low`, `pred_age_high`, `pred_age_std`, `pred_interval_method`.

    Returns:
        `df`'s readable rows with the columns of `agekit.predict_age` added under
        `pred_` names (`pred_age`, `pred_gender`, ...); `attrs["skipped"]` maps each
        skipped path to its reason.

    Example:
        >>> table = predict_dataset(model, load_utkface("UTKFace/"), interval=0.9)  # doctest: +SKIP
    """
    if interval is not None:
        from agekit.predict import _check_interval

        _check_interval(interval)
    card, kept, outputs, skipped = _predict_outputs(model, df, batch_size)
    return _prediction_table(card, df, kept, outputs, skipped, interval)


def calibrate_model(model, df: pd.DataFrame, *, batch_size: int = 64, method: str | None = None,
                    min_std: float = 0.5, source=None) -> dict:
    """Calibrate a trained model's age intervals on held-out faces; record it in its card.

    The faces are predicted exactly as `evaluate_model` predicts them; their true ages
    and the age head's outputs fit split-conformal intervals
    (`agekit.calibration.fit_calibration`), stored as the card's `calibration`
    (`agekit.models.set_card`; saved with the model), which `predict_age(...,
    interval=0.9)`, `evaluate_model` and exported models then use. Use faces the model
    never trained on and nothing else chose (not the split that stopped training early:
    its errors are a little small, so intervals would cover 1-4 points less than asked),
    and like the faces it will see (same data source, same crops).

    Args:
        model: A trained agekit model with an `age` head.
        df: Labelled DataFrame (`path`, `age`) of the calibration faces.
        batch_size: Images per forward pass.
        method: `"normalized"` (default; `"absolute"` for a regression head),
            `"absolute"` or `"cqr"` (see `agekit.calibration`).
        min_std: Floor on the head's spread for `"normalized"` (years).
        source: What the faces are, recorded in the calibration as `source` (JSON-ready,
            such as `{"split_csv": "split.csv", "split": "calib"}`).

    Returns:
        The calibration dict (`agekit.calibration`), also in `card_of(model).calibration`.

    Example:
        >>> from agekit.datasets import load_dataset
        >>> from agekit.models import basic_cnn, card_of
        >>> held_out = load_dataset("utkface", n=20, image_size=32, synthetic_dir="faces")
        >>> model = basic_cnn(layers=2, base_filters=4, hidden=8, input_shape=(32, 32, 3))
        >>> calibration = calibrate_model(model, held_out, source={"split": "calib"})
        >>> calibration["n"], card_of(model).calibration["method"]
        (20, 'normalized')
    """
    from agekit.calibration import fit_calibration
    from agekit.models.card import set_card

    if "age" not in df.columns:
        fail("a labelled DataFrame with an `age` column", "columns", list(df.columns))
    card, kept, outputs, skipped = _predict_outputs(model, df, batch_size)
    if len(kept) == 0:
        fail("at least one readable image to calibrate on", "skipped", len(skipped))
    calibration = fit_calibration(card.age_head(), outputs["age"], kept["age"].to_numpy(float),
                                  method=method, min_std=min_std)
    if source is not None:
        calibration["source"] = source
    set_card(model, calibration=calibration)
    log.info("calibrate_model: %s intervals from %d faces (%d skipped)", calibration["method"],
             len(kept), len(skipped))
    return calibration


def score_predictions(table: pd.DataFrame, *, baseline_age: float | None = None,
                      bins="utk7") -> dict:
    """Score a `predict_dataset` table against its labels.

    Args:
        table: Rows with `age` and `pred_age` (and optionally `age_std`, `gender` /
            `pred_gender`, `ethnicity` / `pred_ethnicity`).
        baseline_age: Report `baseline_mae`, the MAE of always predicting this age
            (use the training set's median); `None` uses the median of `table` itself.
        bins: Age bins for the classification scores (`"utk7"`, `"adience"`, ...).

    Returns:
        A JSON-ready dict: `n`, `mae`, `cs5`, `baseline_age`, `baseline_mae`,
        `{bins}_accuracy`, `{bins}_macro_f1`, and `epsilon_error`, `gender_accuracy`,
        `ethnicity_accuracy` when the table has what they need.

    Example:
        >>> score_predictions(pd.DataFrame({"age": [20, 40], "pred_age": [22, 40]}))["mae"]
        1.0
    """
    from agekit.labels import ETHNICITY_LABELS, GENDER_LABELS, bin_ages
    from agekit.metrics import (
        classification_summary,
        cumulative_score,
        epsilon_error,
        mae,
    )

    for column in ("age", "pred_age"):
        if column not in table.columns:
            fail(f"a `{column}` column", "columns", list(table.columns))
    if len(table) == 0:
        fail("at least one predicted row", "len(table)", 0)
    true = table["age"].to_numpy(dtype=float)
    pred = table["pred_age"].to_numpy(dtype=float)
    baseline = float(np.median(true) if baseline_age is None else baseline_age)
    # a regression head may predict a little below 0: it is then in the youngest group
    summary = classification_summary(bin_ages(true, bins), bin_ages(np.clip(pred, 0, None), bins),
                                     labels=bins)
    scores = {
        "n": len(table),
        "mae": mae(true, pred),
        "cs5": cumulative_score(true, pred, threshold=5),
        "baseline_age": baseline,
        "baseline_mae": mae(true, np.full_like(true, baseline)),
        f"{bins}_accuracy": summary.accuracy,
        f"{bins}_macro_f1": summary.macro_f1,
    }
    if "age_std" in table.columns and table["age_std"].notna().all():
        scores["epsilon_error"] = epsilon_error(mean=true, std=table["age_std"].to_numpy(dtype=float),
                                                y_pred=pred)
    for column, names in (("gender", GENDER_LABELS), ("ethnicity", ETHNICITY_LABELS)):
        if column in table.columns and f"pred_{column}" in table.columns:
            known = table[column].notna().to_numpy()
            if known.any():
                truth = np.asarray([names[int(k)] for k in table.loc[known, column]])
                scores[f"{column}_accuracy"] = float(np.mean(truth == table.loc[known, f"pred_{column}"]))
    return {k: (float(v) if isinstance(v, np.floating) else v) for k, v in scores.items()}


COVERAGE_LEVELS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def json_ready(value):
    """A nest of dicts, lists, numpy and pandas values as plain JSON values; NaN and inf -> None.

    Example:
        >>> json_ready({"a": np.float32(0.5), "b": [np.nan, np.int64(3)], "c": (1, float("inf"))})
        {'a': 0.5, 'b': [None, 3], 'c': [1, None]}
    """
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_ready(v) for v in value]
    if value is None or value is pd.NA or isinstance(value, (bool, np.bool_)):
        return None if value is None or value is pd.NA else bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


def _interval_scores(card, table, outputs, level):
    """The interval's summary at `level` and the coverage curve (nominal vs observed)."""
    from agekit.calibration import age_distribution, coverage_table

    if level is None or table["pred_interval_method"].iloc[0] == "none":
        return None, []
    true = table["age"].to_numpy(dtype=float)
    low, high = table["pred_age_low"].to_numpy(float), table["pred_age_high"].to_numpy(float)
    calibration = card.calibration
    summary = {"level": level, "method": table["pred_interval_method"].iloc[0],
               "calibrated": calibration is not None,
               "n_calibration": None if calibration is None else calibration.get("n"),
               "coverage": float(np.mean((low <= true) & (true <= high))),
               "width": float(np.mean(high - low))}
    dist = age_distribution(card.age_head(), outputs["age"])
    if calibration is None:
        methods, levels = ("raw",), COVERAGE_LEVELS
    else:  # every method the calibration has, at the levels its split is large enough for
        methods = (*calibration["scores"], *(("raw",) if dist.probs is not None else ()))
        def tabulated(level):  # the next calibrated level up has a score for every method
            above = [i for i, v in enumerate(calibration["levels"]) if v >= level - 1e-9]
            return bool(above) and all(calibration["scores"][m][above[0]] is not None
                                       for m in calibration["scores"])

        levels = [v for v in COVERAGE_LEVELS if tabulated(v)]
    curve = coverage_table(None, dist, true, calibration, levels=levels, methods=methods)
    return summary, curve.to_dict(orient="records")


def evaluate_model(model, df: pd.DataFrame, *, baseline_age: float | None = None, bins="utk7",
                   batch_size: int = 64, interval: float | None = 0.9,
                   n_boot: int = 1000) -> tuple[dict, pd.DataFrame]:
    """Predict a labelled dataset and score it: overall, per group, at age thresholds.

    Args:
        model: A loaded agekit model, or a name / path for `agekit.load_model`.
        df: Labelled DataFrame (`path`, `age`, ...).
        baseline_age: Age of the constant baseline (the training median); `None` uses
            the median of `df`.
        bins: Age bins for the classification scores.
        batch_size: Images per forward pass.
        interval: Level of the age intervals scored (`predict_age`'s, calibrated when the
            card holds a calibration); None: no intervals.
        n_boot: Bootstrap resamples of the per-group MAE intervals.

    Returns:
        `(scores, table)`: the per-image predictions (`predict_dataset`, with the
        interval columns) and a JSON-ready dict (no NaN: None) with the keys of
        `score_predictions`, `skipped` (the number of unreadable images) and

        - `interval`: `level`, `method`, `calibrated`, `n_calibration`, `coverage` (share
          of true ages inside the interval), `width` (mean, years); None without one;
        - `coverage_by_level`: rows `method`, `level`, `coverage`, `width` for every
          method the calibration has and the head's raw quantiles
          (`agekit.calibration.coverage_table`, for `plots.plot_coverage`);
        - `audit`: `groups`, `thresholds` and `settings` of `agekit.audit.audit`: per
          gender, ethnicity and age band n, MAE with its 95% bootstrap interval, mean
          signed error, CS5, interval coverage and width; false accept / false reject
          at ages 13, 16, 18, 21, 25 (plain, Challenge-N buffers, the buffer reaching
          5% false accept, the interval's low end).

    Example:
        >>> scores, table = evaluate_model("utkface", test_df)  # doctest: +SKIP
        >>> scores["mae"] < scores["baseline_mae"]  # doctest: +SKIP
        True
    """
    from agekit.audit import audit

    if not hasattr(model, "predict"):
        from agekit.predict import load_model

        model = load_model(model)
    if interval is not None:
        from agekit.predict import _check_interval

        _check_interval(interval)
    card, kept, outputs, skipped = _predict_outputs(model, df, batch_size)
    table = _prediction_table(card, df, kept, outputs, skipped, interval)
    scores = score_predictions(table, baseline_age=baseline_age, bins=bins)
    scores["skipped"] = len(skipped)
    scores["interval"], scores["coverage_by_level"] = _interval_scores(card, table, outputs, interval)
    with_interval = scores["interval"] is not None
    scores["audit"] = audit(table if with_interval else table.drop(
        columns=["pred_age_low", "pred_age_high"], errors="ignore"), n_boot=n_boot)
    scores = json_ready(scores)
    log.info("evaluate_model: %s", {k: v for k, v in scores.items()
                                    if k not in ("audit", "coverage_by_level")})
    return scores, table
