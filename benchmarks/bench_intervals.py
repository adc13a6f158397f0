"""Calibrated age intervals on a trained model's own held-out test split.

Reads a recipe run folder (`model.keras`, and `split.csv` with a `split` column
train / val / test, and calib when the run held one out), predicts the calibration
faces (`calib`, else `val`) and the test faces once (the age head's raw outputs,
through `make_dataset`), fits `agekit.calibration.fit_calibration` on the former and
reports on test:

1. each method's 90% interval (`--level`): coverage (target: the level; 0.88-0.92 for
   90%), mean and median width, and coverage per true-age band (not guaranteed by the
   method: shows for whom the interval is too narrow). Methods: the default
   (`normalized`: |y - age| / std), `cqr` (conformalised head quantiles), `absolute`
   (the constant-width conformal interval) and `raw` (the head's own quantiles,
   uncalibrated);
2. nominal vs observed coverage at the levels 0.5 ... 0.95 (figure `coverage.png`);
3. is the calibration split exchangeable with test? `val` is not quite: it also chose
   the epoch and the learning-rate drops, so its errors are a little smaller. The test
   split is halved at random 20 times; each time the calibration split and one test
   half (used for nothing in training: coverage nominal by construction) calibrate, and
   both are scored on the other half;
4. errors per group (gender, ethnicity, age band: n, MAE [95% bootstrap], mean
   signed error, CS5, coverage and width of the default interval) and the age-threshold
   decisions at 13, 16, 18, 21, 25 (figure `groups.png`, all in `audit.json`).

Prediction is the only slow part (seconds for ~4,000 64x64 chips on a CPU).

Run:  python benchmarks/bench_intervals.py [MODEL_DIR] [--level 0.9] [--out DIR]
      (MODEL_DIR defaults to runs/utkface; a missing folder is skipped, exit 0)
"""

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing agekit

import numpy as np
import pandas as pd

from agekit.audit import AGE_BANDS, audit, group_errors, threshold_decisions
from agekit.calibration import (
    age_distribution,
    coverage_table,
    fit_calibration,
    predict_interval,
)
from agekit.labels import bin_ages

METHODS = ("normalized", "cqr", "absolute", "raw")
CURVE_LEVELS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def predict_raw(model, df, batch_size=128):
    """The model's raw outputs on `df` (row order), and the rows that could be read."""
    from agekit.data import make_dataset

    _, height, width, channels = model.input_shape
    ds = make_dataset(df, target=None, image_size=(height, width), shuffle=False,
                      batch_size=batch_size, color="rgb" if channels == 3 else "grayscale",
                      preprocess="none")
    outputs = model.predict(ds, verbose=0)
    kept = df[~df["path"].astype(str).isin(ds.skipped.reasons())]
    if not isinstance(outputs, dict):
        outputs = {"age": outputs}
    return {k: np.asarray(v) for k, v in outputs.items()}, kept


def interval_rows(dist, true, calibration, level):
    """Coverage and width of each method at `level`, overall and per age band."""
    band = bin_ages(true, AGE_BANDS)
    rows = []
    for method in METHODS:
        frame = predict_interval(None, dist, calibration, level=level, method=method)
        inside = ((frame["age_low"] <= true) & (true <= frame["age_high"])).to_numpy()
        width = (frame["age_high"] - frame["age_low"]).to_numpy()
        row = {"method": method, "coverage": inside.mean(), "mean_width": width.mean(),
               "median_width": np.median(width)}
        for i, label in enumerate(AGE_BANDS.labels):
            row[label] = inside[band == i].mean() if np.any(band == i) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def split_check(dist_cal, cal_true, dist_test, test_true, levels, repeats=20):
    """Coverage on half the test split: calibrated on the calibration split vs on the
    other half of test (exchangeable with it by construction), mean over `repeats`."""
    from agekit.calibration import AgeDistribution

    def part(dist, index):
        return AgeDistribution(dist.age[index], dist.std[index], dist.edges,
                               dist.probs[index], dist.kind)

    on_split = fit_calibration(None, dist_cal, cal_true)
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(repeats):
        order = rng.permutation(len(test_true))
        half_a, half_b = order[: len(order) // 2], order[len(order) // 2:]
        on_a = fit_calibration(None, part(dist_test, half_a), test_true[half_a])
        truth = test_true[half_b]
        for name, calibration in (("split", on_split), ("test half", on_a)):
            for method in ("normalized", "cqr", "absolute"):
                for level in levels:
                    frame = predict_interval(None, part(dist_test, half_b), calibration,
                                             level=level, method=method)
                    inside = (frame["age_low"] <= truth) & (truth <= frame["age_high"])
                    rows.append({"method": method, "calibrated on": name, "level": level,
                                 "coverage": inside.mean()})
    return (pd.DataFrame(rows).groupby(["method", "calibrated on", "level"])["coverage"]
            .mean().unstack("level"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", nargs="?", default="runs/utkface")
    parser.add_argument("--level", type=float, default=0.9)
    parser.add_argument("--out", default=None, help="folder for figures and audit.json "
                        "(default MODEL_DIR/intervals)")
    parser.add_argument("--boot", type=int, default=1000)
    args = parser.parse_args(argv)
    run = Path(args.model_dir)
    if not (run / "model.keras").is_file() or not (run / "split.csv").is_file():
        print(f"skipped: no model.keras and split.csv in {run}")
        return 0
    out = Path(args.out) if args.out else run / "intervals"
    out.mkdir(parents=True, exist_ok=True)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)

    from agekit.models import heads_of
    from agekit.predict import load_model, predictions_table

    split = pd.read_csv(run / "split.csv")
    model = load_model(run / "model.keras", compile=False)
    heads = heads_of(model)
    head = heads["age"]
    # A split used for nothing in training when the run has one, else val (which also
    # chose the epoch and the learning-rate drops: see section 3).
    cal_name = "calib" if (split["split"] == "calib").any() else "val"
    parts = {}
    for name in (cal_name, "test"):
        outputs, kept = predict_raw(model, split[split["split"] == name])
        parts[name] = (outputs, kept, age_distribution(head, outputs["age"]))
    (_, cal_df, dist_cal), (test_out, test_df, dist_test) = parts[cal_name], parts["test"]
    cal_true, test_true = cal_df["age"].to_numpy(float), test_df["age"].to_numpy(float)
    print(f"model {run}  head {head.kind}  calibration split {cal_name!r} n={len(cal_true)} "
          f"(MAE {np.abs(dist_cal.age - cal_true).mean():.2f})  test n={len(test_true)} "
          f"(MAE {np.abs(dist_test.age - test_true).mean():.2f})")
    calibration = fit_calibration(head, dist_cal, cal_true)
    (out / "calibration.json").write_text(json.dumps(calibration))

    print(f"\n1. {args.level:.0%} intervals on test (coverage target {args.level - 0.02:.2f}-"
          f"{args.level + 0.02:.2f}); coverage per true-age band after the widths")
    rows = interval_rows(dist_test, test_true, calibration, args.level)
    print(rows.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    ratio = rows.set_index("method")["mean_width"]
    print(f"mean width: normalized / absolute = {ratio['normalized'] / ratio['absolute']:.3f}x, "
          f"cqr / absolute = {ratio['cqr'] / ratio['absolute']:.3f}x")

    curve = coverage_table(None, dist_test, test_true, calibration, levels=CURVE_LEVELS,
                           methods=METHODS)
    print("\n2. nominal vs observed coverage on test")
    print(curve.pivot(index="level", columns="method", values="coverage")[list(METHODS)]
          .to_string(float_format=lambda v: f"{v:.3f}"))

    print(f"\n3. coverage on a random half of test, mean of 20 halvings: calibrated on "
          f"{cal_name!r} ('split') vs on the other test half (nominal by construction)")
    print(split_check(dist_cal, cal_true, dist_test, test_true, (0.5, 0.8, args.level, 0.95))
          .to_string(float_format=lambda v: f"{v:.3f}"))

    interval = predict_interval(head, dist_test, calibration, level=args.level)
    table = test_df.reset_index(drop=True)
    pred = predictions_table(heads, test_out).add_prefix("pred_")
    table = pd.concat([table, pred, interval[["age_low", "age_high", "age_std"]]
                       .add_prefix("pred_")], axis=1)
    groups = group_errors(table, n_boot=args.boot)
    print(f"\n4. errors per group on test (MAE with 95% bootstrap interval, {args.boot} "
          f"resamples; bias = mean of pred - true; coverage / width of the "
          f"{calibration['method']} {args.level:.0%} interval)")
    print(groups.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    decisions = threshold_decisions(table["age"], table["pred_age"],
                                    low=table["pred_age_low"])
    print("\n   age-threshold decisions (accept when pred >= T + buffer; target: smallest "
          "buffer with false accept <= 5%; lower_bound: accept when the interval's low end >= T)")
    print(decisions.to_string(index=False, float_format=lambda v: f"{v:.3f}"))

    report = audit(table, n_boot=args.boot)
    (out / "audit.json").write_text(json.dumps(report, indent=1))
    import matplotlib

    matplotlib.use("Agg")
    from agekit import plots

    plots.plot_coverage(curve, save=out / "coverage.png")
    plots.plot_group_errors(groups, save=out / "groups.png")
    print(f"\nwrote {out}/calibration.json, audit.json, coverage.png, groups.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
