"""Calibrated age intervals: split-conformal prediction on a model's age head (numpy only).

`age_distribution` reads an age head's raw outputs as a distribution over ages, with
the head's own conventions (`Head.to_age` gives the point estimate):

- `"dex"`: the softmax over the ages `min_age + 0..K-1`; class k (age k in completed
  years) is spread over [k - 0.5, k + 0.5), so the mean is `Head.to_age`'s.
- `"coral"`: the K-1 logits of P(rank > k); the sigmoids, made non-increasing, give
  P(rank = r) = P(rank > r-1) - P(rank > r), spread over [r - 0.5, r + 0.5) likewise.
- `"bins"`: the softmax over the groups of an `agekit.labels` scheme; group (low, high)
  holds the ages [low, high + 1) (an age belongs to the year it has completed), an
  open last group ends at `max_age + 1`; gaps between groups get no probability.
- `"regression"`: one number and no spread (`std` is NaN, no quantiles).

Probability is spread uniformly within a cell: the CDF is piecewise linear. How an interval is calibrated (split conformal prediction, Vovk et al. 2005; Lei et al.
2018; Romano et al. 2019). On n faces held out from training (the calibration split)
each method computes a score s_i that measures how far the true age y_i falls from the
head's prediction, and stores, for each level L of `LEVELS`, the k-th smallest score
with k = ceil((n + 1) L). A new face gets the set of ages whose score would be at most
that value:

- `"normalized"`: s = |y - age| / std; interval age -/+ q * std (wider when the head
  is unsure).
- `"absolute"`: s = |y - age|; interval age -/+ q (the same width for every face).
- `"cqr"` (conformalised quantile regression): with the head's own quantiles
  lo = Q((1 - L) / 2), hi = Q((1 + L) / 2), s = max(lo - y, y - hi); interval
  [lo - q, hi + q].
- `"raw"`: the head's quantiles [lo, hi] themselves, uncalibrated (no table).

Guarantee: when the calibration faces and the new faces are exchangeable (drawn
alike from the same population, and the model never trained on either), the interval
holds the true age with probability at least L, averaged over faces (marginal
coverage), whatever the model; with continuous scores, at most L + 1/(n + 1). Limits:
coverage is not guaranteed for any group (the old, one ethnicity, one photo source):
a constant-width interval over-covers children and under-covers the old, and an
adaptive one (`"normalized"`, `"cqr"`) narrows that gap without closing it; and it
does not hold for data unlike the calibration split (another dataset, other crops).
Nor is it exact when the calibration split also chose the epoch or the learning-rate
drops (a validation split): the selected model fits it a little better than new faces,
so its scores are a little small and coverage falls short (UTKFace recipe: 1-4 points
below nominal, `benchmarks/bench_intervals.py`). Calibrate on a split held out from
training and used for nothing else.

The fitted calibration is a JSON-ready dict (the model card's `calibration`):

    {"version": 1, "method": "normalized", "head": "dex", "n": 1971, "min_std": 0.5,
     "levels": [0.01, ..., 0.99], "scores": {"normalized": [...], "absolute": [...], "cqr": [...]}}

`scores[m][i]` is the score quantile q of method m for `levels[i]` (None where n is too
small for that level). A level between two of `levels` uses the next one up (coverage
is then at least the level asked); levels above 0.99 are refused.

What an exported model computes for the default `"normalized"` method at level
`levels[i]`, with q = scores["normalized"][i] a constant: from the head's probabilities
p over cells with centres c_j and widths w_j (constants of the head, `edges` of
`age_distribution`; DEX: c_j = min_age + j, w_j = 1),

    age  = the head's point estimate (Head.to_age; DEX: mean)
    mean = sum_j p_j c_j
    std  = max(sqrt(sum_j p_j ((c_j - mean)^2 + w_j^2 / 12)), min_std)
    low  = max(age - q * std, 0);  high = age + q * std   (centred: float32 stays exact)

CORAL: p_r = s_(r-1) - s_r, s_k = sigmoid(running minimum of the logits up to k), s_(-1) = 1,
s_(K-1) = 0. A regression head has only `"absolute"`: age -/+ q. `"cqr"`
needs the quantile function instead (`AgeDistribution.quantile`: a cumulative sum, a count and an interpolation).
"""

from dataclasses import dataclass
from math import ceil

import numpy as np
import pandas as pd

from agekit._validation import as_ages, as_float_array, fail, same_length
from agekit.errors import InvalidValueError

LEVELS = tuple(round(0.01 * k, 2) for k in range(1, 100))
METHODS = ("normalized", "absolute", "cqr", "raw")
CALIBRATED = ("normalized", "absolute", "cqr")
DEFAULT_METHOD = "normalized"
MIN_STD = 0.5
VERSION = 1


@dataclass(frozen=True)
class AgeDistribution:
    """What an age head says about each face: a point, a spread and a distribution.

    Attributes:
        age: `(n,)` point estimates in years (`Head.to_age`).
        std: `(n,)` standard deviations of the head's distribution in years (NaN for a
            regression head).
        edges: `(m + 1,)` increasing cell edges in years, or None (regression).
        probs: `(n, m)` probability of each cell, rows summing to one, or None.
        kind: The head kind it came from (`"dex"`, `"coral"`, `"bins"`, `"regression"`).
    """

    age: np.ndarray
    std: np.ndarray
    edges: np.ndarray | None = None
    probs: np.ndarray | None = None
    kind: str | None = None

    def quantile(self, q) -> np.ndarray:
        """The `q`-quantile of each face's age, for a `q` in (0, 1).

        Example:
            >>> dist = AgeDistribution(np.array([1.0]), np.array([0.6]),
            ...                        np.array([-0.5, 0.5, 1.5, 2.5]), np.array([[0.25, 0.5, 0.25]]))
            >>> dist.quantile(0.5).tolist()
            [1.0]
        """
        if self.probs is None:
            fail("a head with a distribution (dex, coral or bins) for quantiles", "std", "NaN")
        if not 0 < q < 1:
            fail("a quantile in (0, 1)", "q", q)
        cdf = np.cumsum(self.probs, axis=1)
        cdf = np.concatenate([np.zeros((len(cdf), 1)), cdf / cdf[:, -1:]], axis=1)
        # The first edge whose CDF reaches q closes the cell that holds the quantile.
        upper = np.minimum((cdf < q).sum(axis=1), len(self.edges) - 1)
        lower = upper - 1
        rows = np.arange(len(cdf))
        mass = cdf[rows, upper] - cdf[rows, lower]
        share = np.divide(q - cdf[rows, lower], mass, out=np.zeros(len(cdf)), where=mass > 0)
        return self.edges[lower] + share * (self.edges[upper] - self.edges[lower])


def _head_spec(head):
    if isinstance(head, dict):
        from agekit.models.heads import Head

        head = Head(**head)
    for name in ("kind", "num_classes", "bins", "min_age", "to_age"):
        if not hasattr(head, name):
            fail("an agekit `Head` layer or a dict of its config", "head", type(head).__name__,
                 error=TypeError)
    if head.kind not in ("dex", "coral", "bins", "regression"):
        fail("an age head (dex, coral, bins or regression)", "head.kind", head.kind)
    return head


def _cells(head, max_age):
    """Cell edges and, for bins, where each group's probability goes."""
    from agekit.labels import get_bins

    if head.kind in ("dex", "coral"):
        return head.min_age + np.arange(head.num_classes + 1) - 0.5, None
    scheme = get_bins(head.bins)
    highs = np.where(np.isinf(scheme.highs), np.maximum(max_age, scheme.lows), scheme.highs) + 1
    edges, slots = [scheme.lows[0]], []
    for low, high in zip(scheme.lows, highs):
        if low > edges[-1]:  # a gap between two groups: a cell with no probability
            edges.append(low)
        slots.append(len(edges) - 1)
        edges.append(high)
    return np.asarray(edges, dtype=np.float64), np.asarray(slots)


def _coral_probs(logits):
    above = 1.0 / (1.0 + np.exp(-logits))
    above = np.minimum.accumulate(above, axis=1)  # P(rank > k) cannot grow with k
    ones, zeros = np.ones((len(above), 1)), np.zeros((len(above), 1))
    return np.concatenate([ones, above], axis=1) - np.concatenate([above, zeros], axis=1)


def age_distribution(head, outputs, *, max_age: float = 100.0) -> AgeDistribution:
    """Read an age head's raw outputs as a distribution over ages.

    Args:
        head: The model's age `Head` (`agekit.models.heads_of(model)["age"]`) or a
            dict of its config (`{"kind": "dex", "num_classes": 101, ...}`).
        outputs: What the head output for n faces: `(n, K)` probabilities (dex, bins),
            `(n, K - 1)` logits (coral) or `(n,)` / `(n, 1)` ages (regression).
        max_age: Where an open last age group ("60+") ends, for bins heads.

    Returns:
        An `AgeDistribution`: `age` from `head.to_age`, `std` in years (the spread of
        the head's distribution, uncalibrated), and the cells for `quantile`.

    Example:
        >>> dist = age_distribution({"kind": "dex", "num_classes": 3}, [[0.0, 1.0, 0.0]])
        >>> dist.age.tolist(), dist.quantile(0.95).round(2).tolist()
        ([1.0], [1.45])
    """
    head = _head_spec(head)
    outputs = as_float_array(outputs, "outputs")
    if head.kind == "regression":
        age = np.asarray(head.to_age(outputs), dtype=np.float64)
        return AgeDistribution(age, np.full(len(age), np.nan), kind=head.kind)
    outputs = np.atleast_2d(outputs)
    width = head.num_classes - 1 if head.kind == "coral" else head.num_classes
    if outputs.ndim != 2 or outputs.shape[1] != width:
        raise InvalidValueError(f"Expected `outputs` of shape (n, {width}) for a {head.kind!r} head. "
                         f"Received: outputs.shape={outputs.shape}")
    if head.kind == "coral":
        probs = _coral_probs(outputs)
    else:
        if np.any(outputs < 0) or np.any(outputs.sum(axis=1) <= 0):
            fail("probabilities >= 0 with a positive sum per row", "outputs", outputs)
        probs = outputs / outputs.sum(axis=1, keepdims=True)
    edges, slots = _cells(head, max_age)
    if slots is not None:
        cells = np.zeros((len(probs), len(edges) - 1))
        cells[:, slots] = probs
        probs = cells
    centres, widths = (edges[1:] + edges[:-1]) / 2, np.diff(edges)
    mean = probs @ centres
    variance = (probs * (centres[None] - mean[:, None]) ** 2).sum(axis=1) + probs @ (widths**2 / 12)
    age = np.asarray(head.to_age(outputs), dtype=np.float64).reshape(-1)
    return AgeDistribution(age, np.sqrt(variance), edges, probs, head.kind)


def _as_distribution(head, outputs):
    if isinstance(outputs, AgeDistribution):
        return outputs
    if head is None:
        fail("a head, or outputs as an AgeDistribution", "head", head, error=TypeError)
    return age_distribution(head, outputs)


def _check_level(level):
    if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)) or not 0 < level < 1:
        fail("a level in (0, 1)", "level", level)
    return float(level)


def _level_index(levels, level):
    level = _check_level(level)
    above = [i for i, value in enumerate(levels) if value >= level - 1e-9]
    if not above:
        fail(f"a level <= {max(levels)} (the largest calibrated level)", "level", level)
    return above[0]


def _raw_bounds(dist, level):
    if dist.probs is None:
        fail("a head with a distribution (dex, coral or bins) for method 'raw' or 'cqr'",
             "std", "NaN (regression head)")
    return dist.quantile((1 - level) / 2), dist.quantile((1 + level) / 2)


def _scores(method, dist, true, level, min_std):
    if method == "absolute":
        return np.abs(true - dist.age)
    if method == "normalized":
        return np.abs(true - dist.age) / np.maximum(dist.std, min_std)
    low, high = _raw_bounds(dist, level)
    return np.maximum(low - true, true - high)


def _methods_for(dist):
    return ("absolute",) if dist.probs is None else CALIBRATED


def fit_calibration(head, outputs, true, *, method: str | None = None, levels=LEVELS,
                    min_std: float = MIN_STD) -> dict:
    """Fit split-conformal intervals on a calibration split (see the module docstring).

    Args:
        head: The age `Head` (or its config dict); None when `outputs` is an
            `AgeDistribution`.
        outputs: The head's raw outputs on the calibration faces, or their
            `AgeDistribution`.
        true: The true ages of those faces.
        method: The default method stored in the dict (`"normalized"`, `"absolute"` or
            `"cqr"`); None picks `DEFAULT_METHOD` (`"absolute"` for a regression head,
            which has no spread).
        levels: Increasing levels in (0, 1) to tabulate.
        min_std: Floor on the head's std for `"normalized"` (years).

    Returns:
        The JSON-ready calibration dict (module docstring), with a table for every
        method the head supports.

    Example:
        >>> probs = np.eye(101)[[20, 30, 40, 50]]
        >>> cal = fit_calibration({"kind": "dex"}, probs, [22, 30, 37, 50])
        >>> cal["method"], cal["scores"]["absolute"][cal["levels"].index(0.5)]
        ('normalized', 2.0)
    """
    dist = _as_distribution(head, outputs)
    true = as_ages(true, "true")
    same_length(outputs=dist.age, true=true)
    levels = [float(v) for v in levels]
    if not levels or any(not 0 < v < 1 for v in levels) or sorted(set(levels)) != levels:
        fail("increasing levels in (0, 1)", "levels", levels)
    methods = _methods_for(dist)
    if method is None:
        method = DEFAULT_METHOD if DEFAULT_METHOD in methods else methods[0]
    if method not in methods:
        fail(f"a method among {methods} for this head", "method", method)
    n, table = len(true), {}
    for name in methods:
        fixed = None if name == "cqr" else np.sort(_scores(name, dist, true, None, min_std))
        table[name] = []
        for level in levels:
            scores = np.sort(_scores(name, dist, true, level, min_std)) if fixed is None else fixed
            k = ceil((n + 1) * level - 1e-9)  # the k-th smallest score
            table[name].append(float(scores[k - 1]) if k <= n else None)
    return {"version": VERSION, "method": method, "head": dist.kind, "n": n,
            "levels": levels, "min_std": float(min_std), "scores": table}


def _check_calibration(calibration):
    if not isinstance(calibration, dict) or not {"levels", "scores", "method"} <= set(calibration):
        fail("a calibration dict from fit_calibration", "calibration",
             type(calibration).__name__, error=TypeError)
    if calibration.get("version", VERSION) > VERSION:
        fail(f"calibration version <= {VERSION}", "version", calibration["version"])


def predict_interval(head, outputs, calibration: dict | None, *, level: float = 0.9,
                     method: str | None = None) -> pd.DataFrame:
    """Point estimate, spread and an interval that holds the true age at `level`.

    Args:
        head: The age `Head` (or its config dict); None when `outputs` is an
            `AgeDistribution`.
        outputs: The head's raw outputs, or their `AgeDistribution`.
        calibration: A `fit_calibration` dict (the model card's `calibration`); None
            only with `method="raw"`.
        level: Coverage level in (0, 1); a level between two tabulated ones uses the
            next one up.
        method: `"normalized"`, `"absolute"`, `"cqr"` or `"raw"` (the head's own,
            uncalibrated quantiles); None uses the calibration's method.

    Returns:
        DataFrame with `age`, `age_low`, `age_high` (years; `age_low` >= 0) and
        `age_std` (the head's spread, NaN for regression).

    Example:
        >>> cal = fit_calibration({"kind": "dex"}, np.eye(101)[[20, 30]], [22, 29])
        >>> predict_interval({"kind": "dex"}, np.eye(101)[[40]], cal, level=0.5,
        ...                  method="absolute")[["age_low", "age_high"]].values.tolist()
        [[38.0, 42.0]]
    """
    dist = _as_distribution(head, outputs)
    if method != "raw":
        if calibration is None:
            fail("a calibration dict, or method='raw'", "calibration", None, error=TypeError)
        _check_calibration(calibration)
        method = calibration["method"] if method is None else method
    if method not in METHODS:
        fail(f"a method among {METHODS}", "method", method)
    if method == "raw":
        low, high = _raw_bounds(dist, _check_level(level))
    else:
        if method not in calibration["scores"]:
            fail(f"a method the calibration has {sorted(calibration['scores'])}", "method", method)
        index = _level_index(calibration["levels"], level)
        q = calibration["scores"][method][index]
        if q is None:
            raise InvalidValueError(
                f"Expected a level the calibration split is large enough for (n={calibration.get('n')} "
                f"faces). Received: level={level}")
        if method == "cqr":
            low, high = _raw_bounds(dist, calibration["levels"][index])
            low, high = low - q, high + q
        else:
            spread = 1.0 if method == "absolute" else np.maximum(dist.std, calibration["min_std"])
            low, high = dist.age - q * spread, dist.age + q * spread
    return pd.DataFrame({"age": dist.age, "age_low": np.maximum(low, 0.0), "age_high": high,
                         "age_std": dist.std})


def outside_age_range(ages, age_range, *, warn: bool = True) -> np.ndarray:
    """Which predictions fall outside the ages the model was trained on (and warn once).

    The calibration split covers the same ages: its guarantee says nothing about those.

    Args:
        ages: Predicted ages (or interval bounds).
        age_range: `(youngest, oldest)` age of the training data (the model card's
            `age_range`); None checks nothing.
        warn: Issue one `UserWarning` with the count when any is outside.

    Returns:
        Boolean array, True where the age is below the youngest or above the oldest.

    Example:
        >>> outside_age_range([10, 50, 95], (16, 90), warn=False).tolist()
        [True, False, True]
    """
    ages = np.atleast_1d(as_float_array(ages, "ages")).reshape(-1)
    if age_range is None:
        return np.zeros(len(ages), dtype=bool)
    low, high = (float(v) for v in age_range)
    outside = (ages < low) | (ages > high)
    if warn and outside.any():
        import warnings

        warnings.warn(f"{int(outside.sum())} of {len(ages)} predicted ages fall outside the "
                      f"age range the model was trained on ({low:g}-{high:g}); their ages and "
                      "intervals are extrapolations.", UserWarning, stacklevel=2)
    return outside


def coverage_table(head, outputs, true, calibration: dict, *, levels=(0.5, 0.6, 0.7, 0.8, 0.9, 0.95),
                   methods=METHODS) -> pd.DataFrame:
    """Observed coverage and mean width of each method's intervals on labelled faces.

    Args:
        head: The age `Head` (or its config dict); None when `outputs` is an
            `AgeDistribution`.
        outputs: The head's raw outputs on faces NOT used for calibration, or their
            `AgeDistribution`.
        true: Their true ages.
        calibration: A `fit_calibration` dict.
        levels: Nominal levels.
        methods: Methods to compare (those the head cannot do are left out).

    Returns:
        Tidy DataFrame: `method`, `level`, `coverage` (share of true ages inside
        [age_low, age_high]), `width` (mean of age_high - age_low, years).

    Example:
        >>> cal = fit_calibration({"kind": "dex"}, np.eye(101)[[20, 30, 40]], [21, 30, 38])
        >>> coverage_table({"kind": "dex"}, np.eye(101)[[25]], [26], cal, levels=[0.5],
        ...                methods=["absolute"])[["coverage", "width"]].values.tolist()
        [[1.0, 2.0]]
    """
    dist = _as_distribution(head, outputs)
    true = as_ages(true, "true")
    same_length(outputs=dist.age, true=true)
    rows = []
    for method in methods:
        if method != "raw" and method not in calibration["scores"]:
            continue
        if method in ("raw", "cqr") and dist.probs is None:
            continue
        for level in levels:
            frame = predict_interval(None, dist, calibration, level=level, method=method)
            inside = (frame["age_low"] <= true) & (true <= frame["age_high"])
            rows.append({"method": method, "level": float(level), "coverage": float(inside.mean()),
                         "width": float((frame["age_high"] - frame["age_low"]).mean())})
    return pd.DataFrame(rows, columns=["method", "level", "coverage", "width"])


__all__ = [
    "CALIBRATED",
    "DEFAULT_METHOD",
    "LEVELS",
    "METHODS",
    "AgeDistribution",
    "age_distribution",
    "coverage_table",
    "fit_calibration",
    "outside_age_range",
    "predict_interval",
]
