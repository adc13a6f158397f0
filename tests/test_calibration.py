"""agekit.calibration: head distributions, split-conformal tables and intervals.

Golden values are worked out by hand in the comments; the coverage test draws a
synthetic population whose true spread the head knows only up to a factor.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from agekit.calibration import (
    LEVELS,
    age_distribution,
    coverage_table,
    fit_calibration,
    outside_age_range,
    predict_interval,
)
from agekit.models.heads import Head

pytestmark = pytest.mark.backend_agnostic


def test_dex_distribution_std_and_quantiles():
    head = Head("dex", num_classes=3)
    dist = age_distribution(head, [[0.25, 0.5, 0.25]])
    # Cells [-0.5, 0.5), [0.5, 1.5), [1.5, 2.5); mean 1;
    # variance = sum p (c^2 + 1/12) - 1 = 0.5 + 1 / 12.
    assert dist.age.tolist() == [1.0]
    assert dist.std[0] == pytest.approx(np.sqrt(0.5 + 1 / 12))
    assert dist.quantile(0.5)[0] == pytest.approx(1.0)
    assert dist.quantile(0.125)[0] == pytest.approx(0.0)  # halfway through cell 0
    assert dist.quantile(0.9)[0] == pytest.approx(2.1)  # 1.5 + (0.9 - 0.75) / 0.25


def test_dex_std_is_the_export_formula():
    probs = np.random.default_rng(0).dirichlet(np.ones(101), size=5)
    dist = age_distribution(Head("dex"), probs)
    ages = np.arange(101)
    mean = probs @ ages
    expected = np.sqrt((probs * (ages[None] - mean[:, None]) ** 2).sum(axis=1) + 1 / 12)
    np.testing.assert_allclose(dist.age, mean)
    np.testing.assert_allclose(dist.std, expected)


def test_dex_min_age_shifts_everything():
    dist = age_distribution(Head("dex", num_classes=3, min_age=10), [[0, 1.0, 0]])
    assert dist.age.tolist() == [11.0]
    assert dist.quantile(0.25)[0] == pytest.approx(10.75)


def test_coral_distribution_is_made_rank_consistent():
    head = Head("coral", num_classes=5)
    logits = np.log([[0.9 / 0.1, 0.6 / 0.4, 0.2 / 0.8, 0.3 / 0.7]])  # P(rank > k)
    dist = age_distribution(head, logits)
    # P(rank > 3) = 0.3 > P(rank > 2) = 0.2 is cut to 0.2: pmf 0.1, 0.3, 0.4, 0, 0.2.
    np.testing.assert_allclose(dist.probs[0], [0.1, 0.3, 0.4, 0.0, 0.2])
    assert dist.age.tolist() == head.to_age(logits).tolist()
    assert dist.quantile(0.5)[0] == pytest.approx(1.5 + 0.1 / 0.4)


def test_bins_distribution_skips_the_gaps_of_adience():
    head = Head("bins", bins="adience")
    probs = np.zeros((1, 8))
    probs[0, [1, 2]] = 0.5  # 4-6 is [4, 7), 8-13 is [8, 14)
    dist = age_distribution(head, probs)
    assert dist.quantile(0.5)[0] == pytest.approx(7.0)
    assert dist.quantile(0.75)[0] == pytest.approx(11.0)  # 8 + 0.25 / 0.5 * 6
    # mean 8.25; E[x^2] = 0.5 (5.5^2 + 9/12) + 0.5 (11^2 + 36/12) = 77.5
    assert dist.std[0] == pytest.approx(np.sqrt(77.5 - 8.25**2))
    assert dist.age.tolist() == [5.0]  # Head.to_age: middle of the first most likely group
    top = age_distribution(head, np.eye(8)[[7]], max_age=80)
    assert top.quantile(0.5)[0] == pytest.approx(70.5)  # 60+ is [60, 81)


def test_regression_has_no_spread_and_only_the_absolute_method():
    head = Head("regression")
    dist = age_distribution(head, [[20.0], [30.0]])
    assert np.isnan(dist.std).all()
    cal = fit_calibration(head, [[20.0], [30.0], [40.0]], [21, 28, 40])
    assert cal["method"] == "absolute" and list(cal["scores"]) == ["absolute"]
    with pytest.raises(ValueError, match="a method among \\('absolute',\\)"):
        fit_calibration(head, [[20.0]], [21], method="cqr")
    with pytest.raises(ValueError, match="distribution .* for method 'raw'"):
        predict_interval(head, [[20.0]], None, method="raw")


def test_conformal_quantile_is_the_ceil_n_plus_1_level_th_score():
    head = Head("dex")
    probs = np.eye(101)[[20, 30, 40, 50]]
    cal = fit_calibration(head, probs, [22, 30, 37, 51])  # |errors| 2, 0, 3, 1
    absolute = dict(zip(cal["levels"], cal["scores"]["absolute"]))
    assert absolute[0.5] == 2.0  # k = ceil(5 * 0.5) = 3rd smallest of 0, 1, 2, 3
    assert absolute[0.8] == 3.0  # k = 4
    assert absolute[0.81] is None  # k = 5 > n
    # One-hot rows: std = sqrt(1/12) < min_std 0.5, so normalised scores are |e| / 0.5.
    assert dict(zip(cal["levels"], cal["scores"]["normalized"]))[0.5] == 4.0
    assert cal["n"] == 4 and cal["head"] == "dex" and cal["levels"] == list(LEVELS)
    frame = predict_interval(head, np.eye(101)[[60]], cal, level=0.5)
    assert frame[["age_low", "age_high"]].values.tolist() == [[58.0, 62.0]]  # 60 -/+ 4 * 0.5
    with pytest.raises(ValueError, match="large enough for \\(n=4 faces\\). Received: level=0.85"):
        predict_interval(head, probs, cal, level=0.85)


def test_a_level_between_two_tabulated_ones_uses_the_next_one_up():
    cal = {"version": 1, "method": "absolute", "n": 9, "levels": [0.5, 0.8, 0.9],
           "min_std": 0.5, "scores": {"absolute": [1.0, 2.0, 3.0]}}
    probs = np.eye(101)[[30]]
    assert predict_interval(Head("dex"), probs, cal, level=0.6)["age_high"][0] == 32.0
    assert predict_interval(Head("dex"), probs, cal, level=0.9)["age_high"][0] == 33.0
    with pytest.raises(ValueError, match="a level <= 0.9"):
        predict_interval(Head("dex"), probs, cal, level=0.95)


def test_cqr_widens_the_head_quantiles():
    head = Head("dex", num_classes=3)
    probs = np.array([[0.25, 0.5, 0.25]])
    cal = {"version": 1, "method": "cqr", "n": 9, "levels": [0.5], "min_std": 0.5,
           "scores": {"cqr": [1.5]}}
    frame = predict_interval(head, probs, cal, level=0.5)
    # Head quartiles: 0.5 + (0.25 - 0.25) / 0.5 = 0.5 and 0.5 + 0.5 / 0.5 = 1.5.
    assert frame["age_low"][0] == 0.0  # 0.5 - 1.5, cut at 0
    assert frame["age_high"][0] == pytest.approx(3.0)
    raw = predict_interval(head, probs, None, level=0.5, method="raw")
    assert raw[["age_low", "age_high"]].values.tolist() == [[0.5, 1.5]]


def _population(n, rng):
    """True ages whose noise grows with age; the head knows the spread, 0.6x too small."""
    centre = rng.uniform(5, 80, n)
    spread = 1 + 0.12 * centre
    true = np.clip(centre + rng.normal(0, spread), 0, 100).round()
    grid = np.arange(101)
    logits = -0.5 * ((grid[None] - centre[:, None]) / (0.6 * spread[:, None])) ** 2
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    return probs / probs.sum(axis=1, keepdims=True), true


def test_calibrated_intervals_cover_the_level_on_new_faces():
    rng = np.random.default_rng(0)
    head = Head("dex")
    cal_probs, cal_true = _population(2000, rng)
    test_probs, test_true = _population(2000, rng)
    cal = json.loads(json.dumps(fit_calibration(head, cal_probs, cal_true)))  # JSON-ready
    table = coverage_table(head, test_probs, test_true, cal, levels=[0.9]).set_index("method")
    for method in ("normalized", "absolute", "cqr"):
        assert 0.87 <= table.loc[method, "coverage"] <= 0.93
    assert table.loc["raw", "coverage"] < 0.8  # an overconfident head, uncalibrated
    assert table.loc["normalized", "width"] < table.loc["absolute", "width"]


def test_bad_inputs_are_rejected():
    head = Head("dex", num_classes=3)
    with pytest.raises(ValueError, match="shape \\(n, 3\\) for a 'dex' head"):
        age_distribution(head, np.ones((2, 4)) / 4)
    with pytest.raises(ValueError, match="probabilities >= 0"):
        age_distribution(head, [[0.5, 0.6, -0.1]])
    with pytest.raises(ValueError, match="an age head"):
        age_distribution(Head("class", num_classes=2), [[0.5, 0.5]])
    with pytest.raises(TypeError, match="an agekit `Head` layer or a dict"):
        age_distribution("dex", [[1.0, 0, 0]])
    cal = fit_calibration(head, np.eye(3), [0, 1, 2])
    with pytest.raises(ValueError, match="a level in \\(0, 1\\). Received: level=1.2"):
        predict_interval(head, np.eye(3), cal, level=1.2)
    with pytest.raises(ValueError, match="a method among"):
        predict_interval(head, np.eye(3), cal, method="bayes")
    with pytest.raises(TypeError, match="a calibration dict from fit_calibration"):
        predict_interval(head, np.eye(3), {"scores": {}})
    with pytest.raises(ValueError, match="same length"):
        fit_calibration(head, np.eye(3), [1, 2])
    with pytest.raises(ValueError, match="increasing levels in \\(0, 1\\)"):
        fit_calibration(head, np.eye(3), [0, 1, 2], levels=[0.9, 0.5])


def test_calibration_and_audit_import_no_tensorflow():
    code = ("import sys, agekit.calibration, agekit.audit; "
            "print('tensorflow' in sys.modules or 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_outside_age_range_warns_once_with_the_count():
    with pytest.warns(UserWarning, match="2 of 3 predicted ages fall outside .* \\(16-90\\)"):
        mask = outside_age_range([10, 50, 95], (16, 90))
    assert mask.tolist() == [True, False, True]
    assert not outside_age_range([10], None).any()


def test_the_export_formula_in_keras_ops_matches_predict_interval():
    """What an exported model computes (module docstring), written with keras.ops."""
    from keras import ops

    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.full(101, 0.3), size=50).astype("float32")
    probs[:5] = np.eye(101, dtype="float32")[[0, 3, 50, 99, 100]]  # sharp rows hit min_std
    cal = fit_calibration(Head("dex"), rng.dirichlet(np.ones(101), size=200),
                          rng.integers(0, 101, 200))
    level = 0.9
    q = cal["scores"]["normalized"][cal["levels"].index(level)]
    p = ops.convert_to_tensor(probs)
    ages = ops.arange(101, dtype="float32")
    age = ops.sum(p * ages, axis=-1)
    variance = ops.sum(p * ((ages[None] - age[:, None]) ** 2 + 1 / 12), axis=-1)
    std = ops.maximum(ops.sqrt(variance), cal["min_std"])
    low, high = ops.maximum(age - q * std, 0.0), age + q * std
    expected = predict_interval(Head("dex"), probs, cal, level=level)
    np.testing.assert_allclose(ops.convert_to_numpy(low), expected["age_low"], atol=1e-4)
    np.testing.assert_allclose(ops.convert_to_numpy(high), expected["age_high"], atol=1e-4)
