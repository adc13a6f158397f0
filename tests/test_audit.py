"""agekit.audit: group errors and age-threshold decisions against hand-computed values."""

import json

import numpy as np
import pandas as pd
import pytest

from agekit.audit import (
    audit,
    audit_markdown,
    bootstrap_mae,
    group_errors,
    threshold_decisions,
)

pytestmark = pytest.mark.backend_agnostic


def small_table():
    """Six faces; errors pred - true: +2, -4, 0, -6, +1, -10."""
    return pd.DataFrame({
        "age": [10, 15, 20, 30, 45, 70],
        "pred_age": [12, 11, 20, 24, 46, 60],
        "gender": pd.array([0, 1, 0, 1, pd.NA, 0], dtype="Int64"),
        "ethnicity": ["White", "Asian", "Asian", "White", "White", "Indian"],
        "pred_age_low": [8, 9, 18, 25, 40, 55],
        "pred_age_high": [14, 16, 22, 28, 50, 65],
    })


def test_group_errors_by_hand():
    groups = group_errors(small_table(), n_boot=200).set_index(["group", "value"])
    everyone = groups.loc[("all", "all")]
    assert everyone["n"] == 6
    assert everyone["mae"] == pytest.approx(23 / 6)  # 2 + 4 + 0 + 6 + 1 + 10
    assert everyone["bias"] == pytest.approx(-17 / 6)
    assert everyone["cs5"] == pytest.approx(4 / 6)  # all but -6 and -10
    assert everyone["coverage"] == pytest.approx(4 / 6)  # 30 is above [25, 28], 70 above [55, 65]
    assert everyone["width"] == pytest.approx((6 + 7 + 4 + 3 + 10 + 10) / 6)
    male = groups.loc[("gender", "male")]  # errors +2, 0, -10; the <NA> row is left out
    assert (male["n"], male["mae"], male["bias"]) == (3, 4.0, pytest.approx(-8 / 3))
    assert groups.loc[("gender", "female"), "mae"] == 5.0  # -4, -6
    white = groups.loc[("ethnicity", "White")]  # +2, -6, +1
    assert (white["n"], white["mae"], white["cs5"]) == (3, 3.0, pytest.approx(2 / 3))
    assert groups.loc[("ethnicity", "Asian"), "coverage"] == 1.0
    assert ("ethnicity", "Black") not in groups.index  # absent groups are not listed
    bands = groups.loc["age_band"]
    assert list(bands.index) == ["0-12", "13-17", "18-24", "25-39", "40-59", "60+"]
    assert bands["n"].tolist() == [1, 1, 1, 1, 1, 1]
    assert bands.loc["60+", "bias"] == -10.0
    assert bands.loc["25-39", "coverage"] == 0.0


def test_group_errors_confidence_interval_of_the_mae():
    groups = group_errors(small_table(), n_boot=300, seed=1).set_index(["group", "value"])
    for _, row in groups[groups["n"] > 0].iterrows():
        assert row["mae_low"] <= row["mae"] <= row["mae_high"]
    single = groups.loc[("age_band", "60+")]
    assert (single["mae_low"], single["mae_high"]) == (10.0, 10.0)  # one face: no spread
    again = group_errors(small_table(), n_boot=300, seed=1).set_index(["group", "value"])
    pd.testing.assert_frame_equal(groups, again)


def test_bootstrap_mae():
    assert bootstrap_mae([3.0, -3.0, 3.0]) == (3.0, 3.0)
    low, high = bootstrap_mae(np.r_[np.zeros(50), np.full(50, 2.0)], n_boot=2000)
    # The MAE of 100 draws of {0, 2}: mean 1, standard error 0.1; 95% about 1 -/+ 0.2.
    assert low == pytest.approx(0.8, abs=0.05) and high == pytest.approx(1.2, abs=0.05)
    assert all(np.isnan(bootstrap_mae([])))
    with pytest.raises(ValueError, match="confidence in \\(0, 1\\). Received: confidence=95"):
        bootstrap_mae([1.0], confidence=95)
    with pytest.raises(ValueError, match="whole number of resamples >= 1. Received: n_boot=0"):
        bootstrap_mae([1.0], n_boot=0)


def test_group_errors_without_labels_or_intervals():
    table = pd.DataFrame({"age": [10, 30], "pred_age": [12, 26]})
    groups = group_errors(table, n_boot=10)
    assert groups["group"].unique().tolist() == ["all", "age_band"]
    assert groups["coverage"].isna().all()
    plain = table.assign(age_low=[9, 20], age_high=[11, 29])  # predict_age's names
    assert group_errors(plain, n_boot=10)["coverage"][0] == 0.5
    with pytest.raises(ValueError, match="a `pred_age` column"):
        group_errors(table.rename(columns={"pred_age": "p"}))
    with pytest.raises(ValueError, match="`gender` codes in 0..1 or names. Received: gender=2"):
        group_errors(table.assign(gender=[0, 2]))


def test_threshold_decisions_by_hand():
    true = [12, 15, 17, 17, 18, 19, 25, 40]
    pred = [14, 19, 16, 18, 17, 21, 22, 38]
    table = threshold_decisions(true, pred, thresholds=[13, 18], buffers=[0, 2],
                                target_false_accept=0.0)
    rows = {(r.threshold, r.rule, r.buffer): r for r in table.itertuples()}
    at18 = rows[(18, "buffer", 0)]
    # Under 18: 12, 15, 17, 17 -> predicted 14, 19, 16, 18: two at or over 18.
    assert (at18.n_under, at18.n_over, at18.false_accept) == (4, 4, 0.5)
    assert at18.false_reject == 0.25  # 18 predicted 17
    at20 = rows[(18, "buffer", 2)]  # accept from 20: no minor (best 19); 18 -> 17 still out
    assert (at20.false_accept, at20.false_reject) == (0.0, 0.25)
    target = rows[(18, "target", 2)]  # buffer 1 still lets 15 (-> 19) in; 2 does not
    assert (target.false_accept, target.false_reject) == (0.0, 0.25)
    at13 = rows[(13, "buffer", 0)]  # under 13: 12 -> 14 accepted; over: none below 13
    assert (at13.n_under, at13.false_accept, at13.false_reject) == (1, 1.0, 0.0)
    assert rows[(13, "target", 2)].false_accept == 0.0  # 14 < 15
    assert table.columns.tolist() == ["threshold", "rule", "buffer", "n_under", "n_over",
                                      "false_accept", "false_reject"]


def test_threshold_decisions_target_and_lower_bound():
    true = [16, 17, 20, 30]
    pred = [19, 17, 20, 30]
    table = threshold_decisions(true, pred, thresholds=[18], buffers=[], max_buffer=3,
                                target_false_accept=0.0, low=[15, 16, 18, 25])
    target, bound = table.itertuples()
    assert (target.rule, target.buffer, target.false_accept) == ("target", 2, 0.0)  # 19 < 20
    assert target.false_reject == 0.0  # 20 and 30 pass 20
    assert (bound.rule, bound.false_accept, bound.false_reject) == ("lower_bound", 0.0, 0.0)
    none = threshold_decisions(true, pred, thresholds=[18], buffers=[], max_buffer=0,
                               target_false_accept=0.0)
    assert pd.isna(none["buffer"][0]) and np.isnan(none["false_accept"][0])
    with pytest.raises(ValueError, match="target false-accept rate in \\[0, 1\\)"):
        threshold_decisions(true, pred, target_false_accept=5)
    with pytest.raises(ValueError, match="same length"):
        threshold_decisions(true[:2], pred)


def test_audit_is_json_ready():
    report = audit(small_table(), n_boot=50)
    text = json.dumps(report, allow_nan=False)  # no NaN, no numpy types
    again = json.loads(text)
    assert again["groups"][0]["mae"] == pytest.approx(23 / 6)
    empty = [g for g in again["groups"] if g["n"] == 0]
    assert empty == []  # every band has a face here
    rules = {(t["threshold"], t["rule"]) for t in again["thresholds"]}
    assert (18, "lower_bound") in rules and (25, "target") in rules
    assert again["settings"]["age_bands"][-1] == "60+"


def test_audit_markdown_renders_both_tables_by_hand():
    report = audit(small_table(), thresholds=[18], buffers=[0, 2], n_boot=50)
    text = audit_markdown(report)
    lines = text.splitlines()
    # all: MAE 23/6 = 3.83, bias -17/6 = -2.83, CS5 4/6, coverage 4/6, width 40/6
    row = next(line for line in lines if line.startswith("| all |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[0:2] == ["all", "6"] and cells[2].startswith("3.83 (")
    assert cells[3:] == ["-2.83", "66.7%", "66.7%", "6.67"]
    assert "| gender: male | 3 | 4.00 (" in text and "| age 60+ | 1 | 10.00 (10.00-10.00) | -10.00 |" in text
    # T = 18: under 18 are ages 10, 15 (pred 12, 11: none accepted); 18 or older: 20, 30, 45, 70
    # with preds 20, 24, 46, 60 (all >= 20: Challenge-20 rejects nobody) and lows 18, 25, 40, 55
    assert ("| T | n under T / T or older | predicted >= T | Challenge-(T+2) | smallest buffer for "
            "false accept <= 5.0% | interval's low end >= T |") in text
    assert "| 18 | 2 / 4 | 0.0% / 0.0% | 0.0% / 0.0% | +0: 0.0% / 0.0% | 0.0% / 0.0% |" in text
    with pytest.raises(TypeError, match="an audit dict or evaluate_model's scores"):
        audit_markdown({"mae": 3.0})


def test_audit_markdown_takes_evaluation_scores_and_marks_missing_values():
    report = audit(pd.DataFrame({"age": [30.0], "pred_age": [31.0]}), thresholds=[18], n_boot=10)
    curve = [{"method": "raw", "level": 0.9, "coverage": 0.93, "width": 26.15},
             {"method": "absolute", "level": 0.9, "coverage": 0.879, "width": 24.0},
             {"method": "normalized", "level": 0.9, "coverage": 0.8925, "width": 22.24},
             {"method": "normalized", "level": 0.5, "coverage": 0.5, "width": 9.0}]
    text = audit_markdown({"audit": report, "interval": {"level": 0.9, "method": "normalized"},
                           "coverage_by_level": curve, "n": 1})
    assert "coverage and mean width of the 90% (normalized) age interval" in text
    lines = text.splitlines()
    start = lines.index("| method | interval | coverage | mean width (years) |")
    assert lines[start + 2:start + 5] == [  # default first, the uncalibrated quantiles last
        "| normalized | age -/+ q * the head's spread (default) | 89.2% | 22.24 |",
        "| absolute | age -/+ q (one width for every face) | 87.9% | 24.00 |",
        "| raw | the head's own quantiles, uncalibrated | 93.0% | 26.15 |"]
    assert "| all | 1 | 1.00 (1.00-1.00) | 1.00 | 100.0% | - | - |" in text
    assert "| age 0-12 | 0 | - | - | - | - | - |" in text  # an empty band
    assert "| 18 | 0 / 1 | - / 0.0% | - / 0.0% | - / 0.0% | +0: - / 0.0% |" in text  # nobody under 18
