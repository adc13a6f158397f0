"""Age intervals and audits wired in: predict_age, predict_faces, calibrate_model, evaluate_model.

Hand-computed: calibrating on faces whose true ages are the model's own predictions
plus known offsets makes the conformal score quantile that offset, exactly, so the
interval is `age -/+` a number known in advance.
"""

import json
import warnings

import keras
import numpy as np
import pandas as pd
import pytest

from agekit.datasets import load_dataset
from agekit.evaluation import (
    calibrate_model,
    evaluate_model,
    json_ready,
    predict_dataset,
)
from agekit.faces import FaceBox
from agekit.models import basic_cnn, card_of, set_card
from agekit.predict import predict_age, predict_faces

OFFSETS = np.arange(1.0, 10.0)  # |errors| 1..9: at 0.9, k = ceil(10 * 0.9) = 9 -> q = 9


def _model(head="dex"):
    keras.utils.set_random_seed(0)
    model = basic_cnn(layers=2, base_filters=4, hidden=8, dropout=0, input_shape=(32, 32, 3), head=head,
                      outputs={"gender": 2} if head == "dex" else None)
    if head == "regression":  # untrained: ages near 50, like the other heads
        model.get_layer("age").bias.assign([50.0])
    return model


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """21 synthetic UTKFace files (32 px): 9 to calibrate on, 12 to evaluate."""
    df = load_dataset("utkface", n=21, image_size=32, synthetic_dir=tmp_path_factory.mktemp("utk"))
    return df.iloc[:9].reset_index(drop=True), df.iloc[9:].reset_index(drop=True)


def _shifted(model, df):
    """`df` with true ages set to the model's predictions -/+ OFFSETS (never below 0)."""
    pred = predict_dataset(model, df)["pred_age"].to_numpy()
    signs = np.where(np.arange(len(df)) % 2 == 0, 1.0, -1.0)
    if np.any(pred - OFFSETS < 0):
        signs[:] = 1.0
    return df.assign(age=pred + signs * OFFSETS[: len(df)])


@pytest.mark.parametrize("head", ["dex", "coral", "bins:utk7", "regression"])
def test_calibrate_model_then_predict_age_gives_the_hand_computed_interval(head, faces):
    calib, test = faces
    model = _model(head)
    calibration = calibrate_model(model, _shifted(model, calib), method="absolute",
                                  source={"split": "calib"})
    assert card_of(model).calibration == calibration  # recorded in the card
    assert calibration["source"] == {"split": "calib"}
    assert (calibration["n"], calibration["head"], calibration["method"]) == (9, head.split(":")[0], "absolute")
    assert calibration["scores"]["absolute"][calibration["levels"].index(0.9)] == pytest.approx(9.0, abs=1e-4)
    assert calibration["scores"]["absolute"][calibration["levels"].index(0.5)] == pytest.approx(5.0, abs=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # calibrated, and no age range recorded: no warning
        table = predict_age(model, test["path"].tolist(), interval=0.9)
    assert (table["interval_method"] == "absolute").all()
    np.testing.assert_allclose(table["age_low"], np.maximum(table["age"] - 9, 0), atol=1e-3)
    np.testing.assert_allclose(table["age_high"], table["age"] + 9, atol=1e-3)
    assert table["age_std"].isna().all() == (head == "regression")
    half = predict_age(model, test["path"].tolist(), interval=0.5)
    np.testing.assert_allclose(half["age_high"] - half["age"], 5.0, atol=1e-3)


def test_the_default_normalized_interval_scales_with_the_heads_spread(faces):
    calib, test = faces
    model = _model("dex")
    calibration = calibrate_model(model, _shifted(model, calib))
    assert calibration["method"] == "normalized"
    q = calibration["scores"]["normalized"][calibration["levels"].index(0.9)]
    table = predict_age(model, test["path"].tolist(), interval=0.9)
    assert list(table.columns) == ["age", "gender", "p_female", "age_low", "age_high", "age_std",
                                   "interval_method"]
    std = np.maximum(table["age_std"], calibration["min_std"])
    np.testing.assert_allclose(table["age_high"], table["age"] + q * std, atol=1e-6)
    np.testing.assert_allclose(table["age_low"], np.maximum(table["age"] - q * std, 0), atol=1e-6)
    assert (table["age_std"] > 0).all() and table["age_std"].nunique() > 1  # per face


def test_without_calibration_raw_quantiles_and_a_warning(faces):
    _, test = faces
    paths = test["path"].tolist()[:3]
    model = _model("dex")
    assert list(predict_age(model, paths).columns) == ["age", "gender", "p_female"]  # no interval asked
    with pytest.warns(UserWarning, match="holds no interval calibration: age_low / age_high are the age "
                                         "head's own quantiles, uncalibrated"):
        table = predict_age(model, paths, interval=0.9)
    assert (table["interval_method"] == "raw").all()
    assert (table["age_low"] <= table["age"]).all() and (table["age"] <= table["age_high"]).all()
    with pytest.warns(UserWarning, match="a regression head has no spread"):
        table = predict_age(_model("regression"), paths, interval=0.9)
    assert table["age_low"].isna().all() and (table["interval_method"] == "none").all()
    with pytest.raises(ValueError, match=r"an interval level in \(0, 1\).*Received: interval=90"):
        predict_age(model, paths, interval=90)


def test_a_calibration_split_too_small_for_the_level_gives_an_unbounded_interval(faces):
    calib, test = faces
    model = _model("dex")
    calibrate_model(model, calib.iloc[:4])  # n = 4: k = ceil(5 * 0.9) = 5 > 4
    with pytest.warns(UserWarning, match=r"calibration split \(n=4\) is too small for a 0.9 interval"):
        table = predict_age(model, test["path"].tolist()[:2], interval=0.9)
    assert (table["age_low"] == 0).all() and np.isinf(table["age_high"]).all()
    with pytest.raises(ValueError, match="a labelled DataFrame with an `age` column"):
        calibrate_model(model, calib.drop(columns="age"))


@pytest.mark.filterwarnings("ignore:The model card holds no interval calibration")
def test_predictions_outside_the_training_age_range_warn(faces):
    _, test = faces
    paths = test["path"].tolist()[:3]
    model = _model("dex")
    set_card(model, age_range=(95, 100))  # an untrained DEX head predicts about 50
    with pytest.warns(UserWarning, match=r"3 of 3 predicted ages fall outside the age range the model "
                                         r"was trained on \(95-100\)"):
        predict_age(model, paths)
    set_card(model, age_range=(0, 116))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        predict_age(model, paths)
    image = np.full((40, 40, 3), 120, np.uint8)
    set_card(model, age_range=(95, 100))
    with pytest.warns(UserWarning, match="1 of 1 predicted ages fall outside"):
        found = predict_faces(model, image, boxes=[FaceBox(0, 0, 40, 40)], align=False, margin="tight",
                              interval=0.9)
    assert {"face", "left", "age", "age_low", "age_high", "interval_method"} <= set(found.columns)


def test_evaluate_model_reports_intervals_groups_and_thresholds(faces):
    calib, test = faces
    model = _model("dex")
    calibrate_model(model, calib)
    scores, table = evaluate_model(model, test, n_boot=50)
    json.dumps(scores, allow_nan=False)  # JSON-ready, no NaN
    for key in ("n", "mae", "cs5", "baseline_mae", "utk7_macro_f1", "gender_accuracy", "skipped"):
        assert key in scores  # the scores evaluate_model always had
    true, low, high = table["age"], table["pred_age_low"], table["pred_age_high"]
    interval = scores["interval"]
    assert (interval["level"], interval["method"], interval["calibrated"], interval["n_calibration"]) == (
        0.9, "normalized", True, 9)
    assert interval["coverage"] == pytest.approx(((low <= true) & (true <= high)).mean())
    assert interval["width"] == pytest.approx((high - low).mean())
    curve = pd.DataFrame(scores["coverage_by_level"])
    assert set(curve["method"]) == {"normalized", "absolute", "cqr", "raw"}
    assert sorted(set(curve["level"])) == [0.5, 0.6, 0.7, 0.8, 0.9]  # n = 9 is too small for 0.95
    groups = pd.DataFrame(scores["audit"]["groups"]).set_index(["group", "value"])
    everyone = groups.loc[("all", "all")]
    assert everyone["n"] == len(table) and everyone["mae"] == pytest.approx(scores["mae"])
    assert everyone["coverage"] == pytest.approx(interval["coverage"])
    assert {"gender", "ethnicity", "age_band"} <= set(groups.index.get_level_values(0))
    assert list(groups.loc["age_band"].index) == ["0-12", "13-17", "18-24", "25-39", "40-59", "60+"]
    decisions = pd.DataFrame(scores["audit"]["thresholds"])
    assert sorted(set(decisions["threshold"])) == [13, 16, 18, 21, 25]
    assert set(decisions["rule"]) == {"buffer", "target", "lower_bound"}
    under = true < 18
    plain = decisions.query("threshold == 18 and rule == 'buffer' and buffer == 0").iloc[0]
    if under.any():
        assert plain["false_accept"] == pytest.approx((table["pred_age"][under] >= 18).mean())


def test_evaluate_model_without_calibration_or_interval(faces):
    _, test = faces
    with pytest.warns(UserWarning, match="no interval calibration"):
        scores, _ = evaluate_model(_model("dex"), test, n_boot=20)
    assert scores["interval"]["method"] == "raw" and scores["interval"]["calibrated"] is False
    assert {row["method"] for row in scores["coverage_by_level"]} == {"raw"}
    scores, table = evaluate_model(_model("dex"), test, interval=None, n_boot=20)
    assert scores["interval"] is None and scores["coverage_by_level"] == []
    assert "pred_age_low" not in table.columns
    assert scores["audit"]["groups"][0]["coverage"] is None
    with pytest.warns(UserWarning, match="a regression head has no spread"):
        scores, _ = evaluate_model(_model("regression"), test, n_boot=20)
    assert scores["interval"] is None and scores["audit"]["groups"][0]["coverage"] is None


def test_json_ready():
    value = {"a": np.float32(0.5), "b": [np.nan, np.int64(3), pd.NA], "c": (True, float("-inf")),
             "d": np.array([1.0, np.inf])}
    assert json_ready(value) == {"a": 0.5, "b": [None, 3, None], "c": [True, None], "d": [1.0, None]}
