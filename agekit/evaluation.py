"""Scoring a trained model on a labelled dataset: one call, the study's numbers.

`evaluate_model` predicts every image of a DataFrame (through the same `tf.data`
pipeline as training, fed as the model's card says, so unreadable files are skipped and
counted, never fatal, and each file reaches the model exactly as `predict_age` would
bring it) and
scores the predictions with `agekit.metrics`: MAE, cumulative score at 5 years, the
ChaLearn epsilon-error when the data has `age_std`, classification scores over age bins,
gender / ethnicity accuracy when the model has those outputs, and the MAE of always
predicting a baseline age (the training median), which every model should beat.
"""

import logging

import numpy as np
import pandas as pd

from agekit._validation import fail

log = logging.getLogger(__name__)


def predict_dataset(model, df: pd.DataFrame, *, batch_size: int = 64) -> pd.DataFrame:
    """Predict the images of a dataset DataFrame, skipping (and counting) unreadable files.

    Args:
        model: A loaded agekit model with an `age` head (or a described Keras model).
        df: DataFrame with a `path` column (any `agekit.datasets` loader).
        batch_size: Images per forward pass.

    Returns:
        `df`'s readable rows with the columns of `agekit.predict_age` added under
        `pred_` names (`pred_age`, `pred_gender`, ...); `attrs["skipped"]` maps each
        skipped path to its reason.

    Example:
        >>> table = predict_dataset(model, load_utkface("UTKFace/"))  # doctest: +SKIP
    """
    from agekit.data import make_dataset
    from agekit.data.decode import UNDECODABLE
    from agekit.data.skipped import REASONS
    from agekit.models.card import card_of
    from agekit.predict import outputs_by_name, predictions_table

    card = card_of(model)
    heads = card.head_layers()
    if "age" not in heads:
        fail("a model with an agekit `age` head", "model", getattr(model, "name", model))
    ds = make_dataset(df, target=None, card=card, shuffle=False, batch_size=batch_size)
    outputs = outputs_by_name(card, model.predict(ds, verbose=0))
    skipped = ds.skipped.reasons()
    # The pipeline streams, in order, every row whose file passed its first check; a row
    # that then failed to decode holds a stand-in image, whose prediction is dropped here.
    reason = df["path"].astype(str).map(skipped)
    streamed = (reason.isna() | reason.eq(REASONS[UNDECODABLE])).to_numpy()
    good = reason.isna().to_numpy()[streamed]
    outputs = {name: np.asarray(values)[good] for name, values in outputs.items()}
    kept = df[reason.isna().to_numpy()]
    table = predictions_table(heads, outputs).add_prefix("pred_")
    table.index = kept.index
    result = pd.concat([kept, table], axis=1)
    result.attrs = {**df.attrs, "skipped": skipped}
    return result


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


def evaluate_model(model, df: pd.DataFrame, *, baseline_age: float | None = None, bins="utk7",
                   batch_size: int = 64) -> tuple[dict, pd.DataFrame]:
    """Predict a labelled dataset and score it (`predict_dataset` + `score_predictions`).

    Args:
        model: A loaded agekit model, or a name / path for `agekit.load_model`.
        df: Labelled DataFrame (`path`, `age`, ...).
        baseline_age: Age of the constant baseline (the training median); `None` uses
            the median of `df`.
        bins: Age bins for the classification scores.
        batch_size: Images per forward pass.

    Returns:
        `(scores, table)`: the dict of `score_predictions` (plus `skipped`, the number
        of unreadable images) and the per-image predictions.

    Example:
        >>> scores, table = evaluate_model("utkface", test_df)  # doctest: +SKIP
        >>> scores["mae"] < scores["baseline_mae"]
        True
    """
    if not hasattr(model, "predict"):
        from agekit.predict import load_model

        model = load_model(model)
    table = predict_dataset(model, df, batch_size=batch_size)
    scores = score_predictions(table, baseline_age=baseline_age, bins=bins)
    scores["skipped"] = len(table.attrs["skipped"])
    log.info("evaluate_model: %s", scores)
    return scores, table
