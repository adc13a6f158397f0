"""For whom an age estimator fails, and what an age gate built on it would decide.

`group_errors` splits a table of predictions by every label column it has (`gender`,
`ethnicity`, named as in `agekit.labels`) and by age band of the true age (`AGE_BANDS`:
0-12, 13-17, 18-24, 25-39, 40-59, 60+) and reports, per group: n, MAE with a
percentile-bootstrap confidence interval (resampling the group's faces, seeded), the
mean signed error (pred - true: negative means the group is predicted younger), CS5
(the share within 5 years) and, when the table has intervals, their coverage and mean
width.

`threshold_decisions` scores the decision "is this person at least T years old?" at
`THRESHOLDS` (13, 16, 18, 21, 25): false accept is the share of people under T who
are let through, false reject the share of people T or older who are turned away.
The "Challenge-N" policy of age-restricted sales (ask for ID unless the person looks
at least N + buffer) is scored for each buffer of `BUFFERS`, and for the smallest
whole-year buffer that brings false accept down to a target.

`audit` does both and returns a JSON-ready dict (for `agekit evaluate --json` and run
reports); `audit_markdown` renders its two tables as Markdown. numpy and pandas only.
"""

import numpy as np
import pandas as pd

from agekit._validation import as_ages, as_float_array, fail, same_length
from agekit.labels import ETHNICITY_LABELS, GENDER_LABELS, AgeBins, bin_ages

AGE_BANDS = AgeBins.from_edges([0, 13, 18, 25, 40, 60], name="audit")
THRESHOLDS = (13, 16, 18, 21, 25)
BUFFERS = (0, 2, 5)
LABEL_NAMES = {"gender": GENDER_LABELS, "ethnicity": ETHNICITY_LABELS}
GROUP_COLUMNS = ["group", "value", "n", "mae", "mae_low", "mae_high", "bias", "cs5",
                 "coverage", "width"]
DECISION_COLUMNS = ["threshold", "rule", "buffer", "n_under", "n_over", "false_accept",
                    "false_reject"]


def bootstrap_mae(errors, *, n_boot: int = 1000, confidence: float = 0.95,
                  seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the mean absolute error.

    Args:
        errors: Signed or absolute errors of one group (years).
        n_boot: Resamples (with replacement, of the same size).
        confidence: Two-sided confidence level in (0, 1).
        seed: Seed of the resampling (the same seed gives the same interval).

    Returns:
        `(low, high)`; `(nan, nan)` for an empty group.

    Example:
        >>> bootstrap_mae([2.0, -2.0, 2.0])
        (2.0, 2.0)
    """
    errors = np.abs(np.asarray(errors, dtype=np.float64).reshape(-1))
    if not 0 < confidence < 1:
        fail("a confidence in (0, 1)", "confidence", confidence)
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        fail("a whole number of resamples >= 1", "n_boot", n_boot)
    if len(errors) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for start in range(0, n_boot, 256):  # bounded memory for large groups
        stop = min(start + 256, n_boot)
        picks = rng.integers(0, len(errors), size=(stop - start, len(errors)))
        means[start:stop] = errors[picks].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def _label_values(column, values):
    """Label names for a column of codes (0/1, 0-4) or names; <NA> stays missing."""
    names = LABEL_NAMES.get(column)
    out = []
    for value in values:
        if pd.isna(value):
            out.append(None)
        elif names is not None and isinstance(value, (int, float, np.integer, np.floating)):
            code = int(value)
            if code != value or not 0 <= code < len(names):
                fail(f"`{column}` codes in 0..{len(names) - 1} or names", column, value)
            out.append(names[code])
        else:
            out.append(str(value))
    return np.asarray(out, dtype=object)


def _interval_columns(table, low, high):
    if low in table.columns and high in table.columns:
        return low, high
    if "age_low" in table.columns and "age_high" in table.columns and low == "pred_age_low":
        return "age_low", "age_high"
    return None


def _row(group, value, true, pred, inside, width, *, n_boot, confidence, seed):
    error = pred - true
    n = len(error)
    row = {"group": group, "value": value, "n": n}
    if n == 0:
        return {**row, **{k: None for k in GROUP_COLUMNS[3:]}}
    low, high = bootstrap_mae(error, n_boot=n_boot, confidence=confidence, seed=seed)
    row.update(mae=float(np.mean(np.abs(error))), mae_low=low, mae_high=high,
               bias=float(np.mean(error)), cs5=float(np.mean(np.abs(error) <= 5)))
    row["coverage"] = None if inside is None else float(np.mean(inside))
    row["width"] = None if width is None else float(np.mean(width))
    return row


def group_errors(table: pd.DataFrame, *, true: str = "age", pred: str = "pred_age",
                 low: str = "pred_age_low", high: str = "pred_age_high",
                 columns=("gender", "ethnicity"), bands=AGE_BANDS, n_boot: int = 1000,
                 confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Errors per group: every label column present, and age bands of the true age.

    Args:
        table: One row per face with the true age and the prediction (such as
            `agekit.evaluation.predict_dataset`'s table), and optionally label columns
            (codes as in `agekit.labels` or names; <NA> rows are left out of that
            column's groups) and an interval.
        true: Column of true ages.
        pred: Column of predicted ages.
        low: Column of interval lower bounds (`age_low` is used when `low` is
            missing); coverage and width are reported when both bounds exist.
        high: Column of interval upper bounds (or `age_high`).
        columns: Label columns to group by, when present.
        bands: Age bands of the true age (`AgeBins`, scheme name or edges; `AGE_BANDS`
            by default: 0-12, 13-17, 18-24, 25-39, 40-59, 60+).
        n_boot: Bootstrap resamples of the MAE interval.
        confidence: Level of the MAE interval.
        seed: Bootstrap seed (each group gets the same seed: reproducible tables).

    Returns:
        Tidy DataFrame, one row per group (first `("all", "all")`), columns `group`,
        `value`, `n`, `mae`, `mae_low`, `mae_high`, `bias` (mean of pred - true), `cs5`,
        `coverage`, `width` (None where they do not apply). Empty age bands keep a row
        with n=0.

    Example:
        >>> df = pd.DataFrame({"age": [10, 30], "pred_age": [12, 26], "gender": [0, 1]})
        >>> group_errors(df)[["group", "value", "n", "mae", "bias"]].values.tolist()[:3]
        [['all', 'all', 2, 3.0, -1.0], ['gender', 'male', 1, 2.0, 2.0], ['gender', 'female', 1, 4.0, -4.0]]
    """
    for column in (true, pred):
        if column not in table.columns:
            fail(f"a `{column}` column", "columns", list(table.columns))
    true_age = as_ages(table[true].to_numpy(dtype=np.float64), true)
    pred_age = as_float_array(table[pred].to_numpy(dtype=np.float64), pred, ndim=1)
    interval = _interval_columns(table, low, high)
    inside = width = None
    if interval is not None:
        lower = table[interval[0]].to_numpy(dtype=np.float64)
        upper = table[interval[1]].to_numpy(dtype=np.float64)
        inside, width = (lower <= true_age) & (true_age <= upper), upper - lower
    options = {"n_boot": n_boot, "confidence": confidence, "seed": seed}

    def row(group, value, mask):
        return _row(group, value, true_age[mask], pred_age[mask],
                    None if inside is None else inside[mask],
                    None if width is None else width[mask], **options)

    rows = [row("all", "all", np.ones(len(table), dtype=bool))]
    for column in columns:
        if column not in table.columns:
            continue
        values = _label_values(column, table[column])
        order = list(LABEL_NAMES.get(column, ()))
        order += sorted({v for v in values if v is not None} - set(order))
        rows += [row(column, name, values == name) for name in order if np.any(values == name)]
    from agekit.labels import get_bins

    scheme = get_bins(bands)
    band = bin_ages(true_age, scheme)
    rows += [row("age_band", label, band == i) for i, label in enumerate(scheme.labels)]
    return pd.DataFrame(rows, columns=GROUP_COLUMNS)


def _rates(true, accepted, threshold):
    under, over = true < threshold, true >= threshold
    fa = float(np.mean(accepted[under])) if under.any() else None
    fr = float(np.mean(~accepted[over])) if over.any() else None
    return int(under.sum()), int(over.sum()), fa, fr


def threshold_decisions(y_true, y_pred, *, thresholds=THRESHOLDS, buffers=BUFFERS,
                        target_false_accept: float | None = 0.05, max_buffer: int = 30,
                        low=None) -> pd.DataFrame:
    """False accept / false reject of age-threshold decisions made from predictions.

    A person is accepted as "at least T" when the prediction is at least T + buffer
    (buffer 0: the plain decision; buffer N: "Challenge-(T + N)"). False accept is the
    share of people under T (true age < T) accepted; false reject the share of people
    T or older rejected.

    Args:
        y_true: True ages.
        y_pred: Predicted ages.
        thresholds: Ages T to decide on.
        buffers: Buffers (years) to score, rule `"buffer"`.
        target_false_accept: Also report, rule `"target"`, the smallest whole-year
            buffer in 0..`max_buffer` whose false accept is at most this (None: skip;
            the row's buffer is None when no buffer reaches it).
        max_buffer: Largest buffer tried for the target.
        low: Optional interval lower bounds: also report rule `"lower_bound"`, accept
            when the lower bound is at least T.

    Returns:
        Tidy DataFrame: `threshold`, `rule`, `buffer`, `n_under`, `n_over`,
        `false_accept`, `false_reject` (None when that side has nobody).

    Example:
        >>> threshold_decisions([16, 17, 19, 30], [17, 19, 20, 30], thresholds=[18],
        ...                     buffers=[0], target_false_accept=None).values.tolist()[0]
        [18, 'buffer', 0, 2, 2, 0.5, 0.0]
    """
    true = as_ages(y_true, "y_true")
    pred = np.atleast_1d(as_float_array(y_pred, "y_pred")).reshape(-1)
    same_length(y_true=true, y_pred=pred)
    if low is not None:
        low = np.asarray(low, dtype=np.float64).reshape(-1)
        same_length(y_pred=pred, low=low)
    if target_false_accept is not None and not 0 <= target_false_accept < 1:
        fail("a target false-accept rate in [0, 1)", "target_false_accept", target_false_accept)
    rows = []
    for threshold in thresholds:
        for buffer in buffers:
            rates = _rates(true, pred >= threshold + buffer, threshold)
            rows.append((threshold, "buffer", buffer, *rates))
        if target_false_accept is not None:
            found = None
            for buffer in range(max_buffer + 1):
                rates = _rates(true, pred >= threshold + buffer, threshold)
                if rates[2] is None or rates[2] <= target_false_accept:
                    found = (threshold, "target", buffer, *rates)
                    break
            if found is None:
                found = (threshold, "target", None, *_rates(true, np.zeros_like(pred, bool),
                                                             threshold)[:2], None, None)
            rows.append(found)
        if low is not None:
            rows.append((threshold, "lower_bound", None, *_rates(true, low >= threshold, threshold)))
    frame = pd.DataFrame(rows, columns=DECISION_COLUMNS)
    return frame.astype({"buffer": "Int64", "false_accept": "float64", "false_reject": "float64"})


def _records(frame):
    """DataFrame rows as dicts of plain Python values (NaN -> None), for JSON."""
    out = []
    for record in frame.to_dict(orient="records"):
        clean = {}
        for key, value in record.items():
            if value is None or value is pd.NA:
                value = None
            elif isinstance(value, np.integer):
                value = int(value)
            elif isinstance(value, (float, np.floating)):
                value = None if np.isnan(value) else float(value)
            clean[key] = value
        out.append(clean)
    return out


def audit(table: pd.DataFrame, *, true: str = "age", pred: str = "pred_age",
          low: str = "pred_age_low", high: str = "pred_age_high", thresholds=THRESHOLDS,
          buffers=BUFFERS, target_false_accept: float | None = 0.05, n_boot: int = 1000,
          seed: int = 0) -> dict:
    """`group_errors` and `threshold_decisions` of a prediction table, JSON-ready.

    Args:
        table: Predictions with true ages (see `group_errors`).
        true, pred, low, high: Column names (see `group_errors`).
        thresholds, buffers, target_false_accept: See `threshold_decisions`.
        n_boot, seed: Bootstrap of the MAE intervals.

    Returns:
        `{"groups": [...], "thresholds": [...], "settings": {...}}`: the rows of both
        tables as lists of dicts (None for missing values), and the settings used.

    Example:
        >>> report = audit(pd.DataFrame({"age": [10, 30], "pred_age": [12, 26]}))
        >>> report["groups"][0]["mae"], report["thresholds"][0]["threshold"]
        (3.0, 13)
    """
    groups = group_errors(table, true=true, pred=pred, low=low, high=high, n_boot=n_boot,
                          seed=seed)
    interval = _interval_columns(table, low, high)
    decisions = threshold_decisions(
        table[true].to_numpy(dtype=np.float64), table[pred].to_numpy(dtype=np.float64),
        thresholds=thresholds, buffers=buffers, target_false_accept=target_false_accept,
        low=None if interval is None else table[interval[0]].to_numpy(dtype=np.float64))
    settings = {"age_bands": list(AGE_BANDS.labels), "bootstrap": n_boot, "confidence": 0.95,
                "seed": seed, "target_false_accept": target_false_accept}
    return {"groups": _records(groups), "thresholds": _records(decisions), "settings": settings}


def _cell(value, kind):
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    if kind == "share":
        return f"{100 * value:.1f}%"
    return f"{value:.2f}" if kind == "years" else str(value)


def _rule_column(row):
    """The threshold table's column of a `threshold_decisions` row, and its order."""
    if row["rule"] == "buffer":
        return (0, row["buffer"]), ("predicted >= T" if row["buffer"] == 0
                                    else f"Challenge-(T+{row['buffer']})")
    if row["rule"] == "target":
        return (1, 0), "smallest buffer for false accept <= {target}"
    return (2, 0), "interval's low end >= T"


def _threshold_lines(report):
    target = _cell(report.get("settings", {}).get("target_false_accept"), "share")
    columns, cells, counts = {}, {}, {}
    for row in report["thresholds"]:
        order, title = _rule_column(row)
        columns[order] = title.format(target=target)
        rates = f"{_cell(row['false_accept'], 'share')} / {_cell(row['false_reject'], 'share')}"
        if row["rule"] == "target":
            rates = "none" if row["buffer"] is None else f"+{row['buffer']}: {rates}"
        cells[row["threshold"], order] = rates
        counts[row["threshold"]] = f"{row['n_under']} / {row['n_over']}"
    order = sorted(columns)
    caption = ("Age-threshold decisions \"is this person at least T?\", each cell false accept / "
               "false reject: false accept = share of people under T accepted, false reject = "
               "share of people T or older rejected; Challenge-N accepts only when the predicted "
               "age is at least N.")
    lines = [caption, "", " | ".join(["| T", "n under T / T or older", *(columns[o] for o in order)])
             + " |", "| ---: | ---: | " + " | ".join("---:" for _ in order) + " |"]
    for threshold, count in counts.items():
        lines.append(" | ".join([f"| {threshold}", count, *(cells.get((threshold, o), "-")
                                                            for o in order)]) + " |")
    return lines


INTERVAL_METHODS = {
    "normalized": "age -/+ q * the head's spread (default)",
    "cqr": "the head's quantiles, widened by q",
    "absolute": "age -/+ q (one width for every face)",
    "raw": "the head's own quantiles, uncalibrated",
}


def _interval_lines(scores):
    """The methods' coverage and width at the reported level (evaluate_model's scores)."""
    interval, curve = scores.get("interval"), scores.get("coverage_by_level") or []
    rows = [row for row in curve if interval and abs(row["level"] - interval["level"]) < 1e-9]
    if not rows:
        return []
    caption = (f"Age intervals at {interval['level']:.0%} on {scores.get('n', '?')} faces "
               f"(coverage: share of true ages inside; target {interval['level']:.0%}); the model "
               f"reports `{interval['method']}`.")
    lines = [caption, "", "| method | interval | coverage | mean width (years) |",
             "| --- | --- | ---: | ---: |"]
    for row in sorted(rows, key=lambda r: list(INTERVAL_METHODS).index(r["method"])
                      if r["method"] in INTERVAL_METHODS else 99):
        lines.append(f"| {row['method']} | {INTERVAL_METHODS.get(row['method'], '')} | "
                     f"{_cell(row['coverage'], 'share')} | {_cell(row['width'], 'years')} |")
    return [*lines, ""]


def audit_markdown(report: dict) -> str:
    """An evaluation's intervals, errors by group and threshold decisions as Markdown tables.

    Args:
        report: An `audit` dict, or `agekit.evaluation.evaluate_model`'s scores (which
            hold one under `"audit"`, the interval under `"interval"` and each method's
            coverage under `"coverage_by_level"`).

    Returns:
        Markdown text, each table after a caption: with evaluation scores, first the
        coverage and mean width of every interval method at the reported level; then
        errors per group (n, MAE with its 95% bootstrap interval, mean signed error,
        CS5, interval coverage and mean width); then age-threshold decisions (false
        accept: share of people under T accepted; false reject: share of people T or
        older rejected).

    Example:
        >>> text = audit_markdown(audit(pd.DataFrame({"age": [10, 30], "pred_age": [12, 26]}),
        ...                             thresholds=[18], buffers=[0]))
        >>> print(text.splitlines()[4])
        | all | 2 | 3.00 (2.00-4.00) | -1.00 | 100.0% | - | - |
    """
    scores = report if "audit" in report else {}
    interval = scores.get("interval")
    report = scores.get("audit", report)
    if not isinstance(report, dict) or not {"groups", "thresholds"} <= set(report):
        fail("an audit dict or evaluate_model's scores", "report", type(report).__name__,
             error=TypeError)
    level = f" {interval['level']:.0%} ({interval['method']})" if interval else ""
    caption = (f"Errors by group: MAE with its 95% bootstrap interval; mean signed error = mean "
               f"of predicted - true age (below 0: predicted younger); CS5 = share within 5 "
               f"years; coverage and mean width of the{level} age interval.")
    lines = [*_interval_lines(scores), caption, "",
             "| group | n | MAE (95% CI) | mean signed error | CS5 | coverage | mean width |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in report["groups"]:
        name = {"all": "all", "age_band": f"age {row['value']}"}.get(
            row["group"], f"{row['group']}: {row['value']}")
        mae = (f"{_cell(row['mae'], 'years')} ({_cell(row['mae_low'], 'years')}-"
               f"{_cell(row['mae_high'], 'years')})" if row["mae"] is not None else "-")
        lines.append(f"| {name} | {row['n']} | {mae} | {_cell(row['bias'], 'years')} | "
                     f"{_cell(row['cs5'], 'share')} | {_cell(row['coverage'], 'share')} | "
                     f"{_cell(row['width'], 'years')} |")
    lines += ["", *_threshold_lines(report)]
    return "\n".join(lines) + "\n"


__all__ = [
    "AGE_BANDS",
    "BUFFERS",
    "THRESHOLDS",
    "audit",
    "audit_markdown",
    "bootstrap_mae",
    "group_errors",
    "threshold_decisions",
]
