"""Ages, age bins and label encodings (numpy only).

The age conventions of agekit. They are stated here once; every module follows them
(encodings, heads, losses, metrics, loaders, explanations):

- **Ages are completed years.** An age is a number of years, float or int, >= 0. A
  fractional age (the ChaLearn apparent-age mean 23.9) counts as the year it has
  completed: 23.9 is in year 23 (`floor`, never rounding: 17.5 is 17, 10.5 is 10).
  Whatever turns an age into a whole-year class follows this: `bin_ages`, the DEX
  one-hot classes of `encode_dex`, the CORAL ranks of the `"coral"` target and of
  `CoralLoss`. Scores (MAE, ...) compare with the label as given (23.9).
- **Age groups.** A bin scheme is an ordered tuple of inclusive whole-year ranges
  `(low, high)`; `high` may be `inf` for an open last group ("60+"). The one age a
  group stands for (what a `bins` head predicts, the age of an Adience label) is
  `AgeBins.centers`: the middle of `(low, high)`, and `low + 5` for an open group
  (Adience "60+" is 65).
- **DEX.** Class k is the age `min_age + k` (0..100 by default). The predicted age is
  the expected value `sum_k p_k * age_k` (`expected_age`).
- **CORAL.** Rank r = completed years - `min_age`, encoded as K-1 binary levels, the
  first r set (`encode_coral`). Sparse labels (shape `(n,)` or `(n, 1)`) are *ages in
  years* in every CORAL loss and metric; K-1 levels are accepted too. The predicted age
  is `min_age` + the expected rank, the sum of the K-1 task probabilities
  (`coral_expected_rank`): the CORAL twin of DEX's expected value, used by
  `Head.to_age` (so `predict_age`), `CoralMAE`, `BinnedAccuracy` and the explanations
  (it is differentiable, so Grad-CAM explains the number `predict_age` reports).
  `coral_to_rank` is Cao et al.'s hard count of tasks with p > 0.5, for comparison
  with the paper.
"""

from dataclasses import dataclass
from math import inf

import numpy as np

from agekit._validation import as_ages, as_float_array, fail
from agekit.errors import InvalidValueError

GAP_RULES = ("nearest", "raise", "mark")
# An open last group ("60+") is taken as this many years wide for its center (65).
OPEN_GROUP_SPAN = 10

# One convention for every loader and model output (UTKFace's):
# gender 0 = male, 1 = female; ethnicity 0-4 as below. Unknown is <NA> in DataFrames.
GENDER_LABELS = ("male", "female")
ETHNICITY_LABELS = ("White", "Black", "Asian", "Indian", "Others")


@dataclass(frozen=True)
class AgeBins:
    """An ordered set of age groups, each an inclusive range of whole years.

    Args:
        name: Scheme name (used in titles and file names).
        ranges: Tuple of `(low, high)` pairs in increasing order, not overlapping.
            `high` may be `math.inf`. Gaps between groups are allowed (Adience has them).

    Example:
        >>> AgeBins.from_edges([0, 13, 20, 60], name="utk4").labels
        ('0-12', '13-19', '20-59', '60+')
    """

    name: str
    ranges: tuple

    def __post_init__(self):
        ranges = tuple((float(lo), float(hi)) for lo, hi in self.ranges)
        if not ranges:
            fail("at least one (low, high) range", "ranges", self.ranges)
        next_lows = [lo for lo, _ in ranges[1:]] + [inf]
        for (lo, hi), next_low in zip(ranges, next_lows):
            if not (0 <= lo <= hi and (hi < next_low or hi == next_low == inf)):
                fail(
                    "increasing, non-overlapping ranges with 0 <= low <= high",
                    "ranges",
                    self.ranges,
                )
        object.__setattr__(self, "ranges", ranges)

    @classmethod
    def from_edges(cls, edges, *, name="custom"):
        """Contiguous bins from lower edges: `[0, 13, 20, 60]` -> 0-12, 13-19, 20-59, 60+."""
        edges = [float(e) for e in edges]
        highs = [e - 1 for e in edges[1:]] + [inf]
        return cls(name, tuple(zip(edges, highs)))

    @property
    def labels(self):
        """Human-readable group names such as `'4-6'` or `'60+'`."""
        out = []
        for lo, hi in self.ranges:
            if hi == inf:
                out.append(f"{lo:g}+")
            elif lo == hi:
                out.append(f"{lo:g}")
            else:
                out.append(f"{lo:g}-{hi:g}")
        return tuple(out)

    @property
    def centers(self):
        """The age each group stands for: its middle; `low + 5` for an open group.

        Example:
            >>> get_bins("adience").centers.tolist()[-2:]
            [50.5, 65.0]
        """
        return np.array([lo + OPEN_GROUP_SPAN / 2 if hi == inf else (lo + hi) / 2
                         for lo, hi in self.ranges])

    @property
    def lows(self):
        return np.array([lo for lo, _ in self.ranges])

    @property
    def highs(self):
        return np.array([hi for _, hi in self.ranges])

    def __len__(self):
        return len(self.ranges)


AGE_BINS = {
    "dex": AgeBins("dex", tuple((a, a) for a in range(101))),
    "adience": AgeBins(
        "adience",
        ((0, 2), (4, 6), (8, 13), (15, 20), (25, 32), (38, 43), (48, 53), (60, inf)),
    ),
    "utk7": AgeBins(
        "utk7", ((0, 2), (3, 6), (7, 14), (15, 30), (31, 40), (41, 65), (66, 116))
    ),
    "utk4": AgeBins("utk4", ((0, 12), (13, 19), (20, 59), (60, 116))),
}


def get_bins(bins):
    """Resolve a scheme name, an `AgeBins`, lower edges or `(low, high)` pairs.

    Example:
        >>> len(get_bins("adience")), len(get_bins([0, 18, 65]))
        (8, 3)
    """
    if isinstance(bins, AgeBins):
        return bins
    if isinstance(bins, str):
        if bins not in AGE_BINS:
            raise InvalidValueError(
                f"Unknown age-bin scheme. Expected one of {sorted(AGE_BINS)}, an AgeBins, "
                f"or a sequence of edges. Received: bins={bins!r}"
            )
        return AGE_BINS[bins]
    try:
        items = list(bins)
    except TypeError:
        fail("a scheme name, AgeBins, or a sequence of edges", "bins", bins, error=TypeError)
    if items and all(np.ndim(item) == 1 and len(item) == 2 for item in items):
        return AgeBins("custom", tuple(tuple(item) for item in items))
    return AgeBins.from_edges(items)


def bin_labels(bins):
    """Names of the groups of a scheme.

    Example:
        >>> bin_labels("adience")[-1]
        '60+'
    """
    return get_bins(bins).labels


def bin_ages(ages, bins, *, gaps="nearest"):
    """Map ages to the index of their group.

    An age belongs to the group that holds the year it has completed (`floor(age)`).
    Ages that fall between two groups (Adience has no group for 3, 7, 14, 21-24,
    33-37, 44-47 or 54-59) are handled by `gaps`:

    - `"nearest"` (default): the group nearest in years; on a tie (3 is one year from
      both 0-2 and 4-6) the younger group. Ages past the last group go to the last one.
    - `"raise"`: a `ValueError` listing the ages that fit no group.
    - `"mark"`: index -1 for those ages, so the caller can drop and count them.

    Args:
        ages: 1-D array-like of ages in years (>= 0, finite).
        bins: Scheme name (`"dex"`, `"adience"`, `"utk7"`, `"utk4"`), `AgeBins`, or edges.
        gaps: `"nearest"`, `"raise"` or `"mark"`.

    Returns:
        int64 array of group indices, same length as `ages`.

    Example:
        >>> bin_ages([2, 3, 35, 70], "adience").tolist()
        [0, 0, 4, 7]
    """
    if gaps not in GAP_RULES:
        fail(f"gaps to be one of {GAP_RULES}", "gaps", gaps)
    scheme = get_bins(bins)
    years = np.floor(as_ages(ages))[:, None]
    below = np.clip(scheme.lows[None, :] - years, 0, None)
    above = np.clip(years - scheme.highs[None, :], 0, None)
    distance = below + above
    index = np.argmin(distance, axis=1)  # first minimum: the younger group on a tie
    outside = distance[np.arange(len(index)), index] > 0
    if gaps == "raise" and np.any(outside):
        bad = np.unique(years[outside, 0])
        raise InvalidValueError(
            f"Expected ages inside the groups of the {scheme.name!r} scheme "
            f"{list(scheme.labels)}. Received: ages in no group={bad.tolist()}"
        )
    if gaps == "mark":
        index = np.where(outside, -1, index)
    return index.astype(np.int64)


def _check_num_classes(num_classes):
    if int(num_classes) != num_classes or num_classes < 2:
        fail("an integer num_classes >= 2", "num_classes", num_classes)
    return int(num_classes)


def encode_dex(ages, num_classes=101, sigma=None, *, clip=False):
    """DEX targets: one-hot over the ages 0..num_classes-1, or a Gaussian distribution.

    Without `sigma`, each age is one-hot encoded in the class of the year it has
    completed (`floor`: 37.6 is class 37; see the module docstring).
    With `sigma` (a scalar or one value per age, such as the ChaLearn per-image
    standard deviation) the target is a discretised Gaussian centred on the exact age,
    normalised to sum to one over the classes (label-distribution learning).

    Args:
        ages: 1-D array-like of ages in years.
        num_classes: Number of one-year classes (101 covers 0..100).
        sigma: None, or a positive scalar / array of standard deviations in years.
        clip: Map ages above the last class to the last class. By default such ages
            raise a `ValueError` rather than silently change their label.

    Returns:
        float32 array of shape `(len(ages), num_classes)` whose rows sum to one.

    Example:
        >>> encode_dex([37]).argmax(axis=1).tolist()
        [37]
    """
    num_classes = _check_num_classes(num_classes)
    ages = as_ages(ages)
    top = num_classes - 1
    if np.any(ages > top):
        if not clip:
            fail(
                f"ages in [0, {top}] for {num_classes} DEX classes (or clip=True)",
                "ages",
                ages[ages > top],
            )
        ages = np.minimum(ages, top)
    if sigma is None:
        out = np.zeros((len(ages), num_classes), dtype=np.float32)
        out[np.arange(len(ages)), np.floor(ages).astype(np.int64)] = 1.0
        return out
    sigma = as_float_array(sigma, "sigma")
    if sigma.ndim > 1 or (sigma.ndim == 1 and len(sigma) != len(ages)):
        raise InvalidValueError(
            "Expected `sigma` as a scalar or one value per age. "
            f"Received: sigma.shape={sigma.shape} for {len(ages)} ages"
        )
    if np.any(sigma <= 0):
        fail("sigma > 0", "sigma", sigma[sigma <= 0] if sigma.ndim else sigma)
    sigma = np.broadcast_to(sigma, ages.shape)[:, None]
    grid = np.arange(num_classes)[None, :]
    logits = -0.5 * ((grid - ages[:, None]) / sigma) ** 2
    dist = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (dist / dist.sum(axis=1, keepdims=True)).astype(np.float32)


def encode_coral(ranks, num_classes):
    """CORAL extended binary labels: rank r -> K-1 levels, the first r of them 1.

    Example:
        >>> encode_coral([0, 2], num_classes=4).tolist()
        [[0.0, 0.0, 0.0], [1.0, 1.0, 0.0]]
    """
    num_classes = _check_num_classes(num_classes)
    ranks = as_ages(ranks, "ranks")
    if np.any(ranks != np.round(ranks)) or np.any(ranks > num_classes - 1):
        bad = ranks[(ranks != np.round(ranks)) | (ranks > num_classes - 1)]
        fail(f"integer ranks in [0, {num_classes - 1}]", "ranks", bad)
    levels = np.arange(num_classes - 1)[None, :] < ranks[:, None]
    return levels.astype(np.float32)


def expected_age(probs, ages=None, *, normalize=False, atol=1e-3):
    """DEX expected value: sum over classes of probability times age.

    Args:
        probs: `(n, k)` (or `(k,)`) class probabilities, such as a softmax output.
        ages: The age of each class; defaults to `0..k-1`.
        normalize: Rescale rows that do not sum to one instead of rejecting them.
        atol: Tolerance on the row sums when `normalize` is False.

    Returns:
        float64 array of `n` ages (a scalar for a single distribution).

    Raises:
        ValueError: on negative probabilities, rows that do not sum to one (unless
            `normalize=True`), or `ages` of the wrong length.

    Example:
        >>> float(expected_age(np.full(101, 1 / 101)))
        50.0
    """
    probs = as_float_array(probs, "probs")
    single = probs.ndim == 1
    probs = np.atleast_2d(probs)
    if probs.ndim != 2:
        raise InvalidValueError(f"Expected `probs` of shape (n, k). Received: probs.shape={probs.shape}")
    ages = np.arange(probs.shape[1], dtype=np.float64) if ages is None else as_ages(ages)
    if len(ages) != probs.shape[1]:
        raise InvalidValueError(
            "Expected one age per class. "
            f"Received: probs.shape={probs.shape}, len(ages)={len(ages)}"
        )
    if np.any(probs < 0):
        fail("probabilities >= 0", "probs", probs[probs < 0])
    sums = probs.sum(axis=1, keepdims=True)
    if normalize:
        if np.any(sums == 0):
            fail("rows with a positive sum", "probs", sums[sums == 0])
        probs = probs / sums
    elif np.any(np.abs(sums - 1) > atol):
        fail(
            "rows of probabilities that sum to 1 (pass normalize=True to rescale)",
            "row sums",
            sums[np.abs(sums - 1) > atol],
        )
    out = probs @ ages
    return out[0] if single else out


def coral_expected_rank(logits):
    """Expected CORAL rank: the sum over the K-1 tasks of sigmoid(logit).

    agekit's CORAL prediction (the age is `min_age` plus this; see the module
    docstring). For rank-consistent outputs it is the expected value of the rank.

    Args:
        logits: `(n, K-1)` (or `(K-1,)`) task logits, as a CORAL head outputs them.

    Returns:
        float64 array of `n` expected ranks.

    Example:
        >>> coral_expected_rank([[0.0, 0.0, -80.0]]).tolist()
        [1.0]
    """
    logits = as_float_array(logits, "logits")
    if logits.ndim == 1:
        logits = logits[None, :]
    return (0.5 * (1.0 + np.tanh(logits / 2.0))).sum(axis=-1)  # sigmoid, without overflow


def coral_to_rank(logits):
    """Cao et al.'s CORAL rank: the number of binary tasks with probability > 0.5.

    agekit predicts the expected rank instead (`coral_expected_rank`); this hard count
    is kept for comparison with the paper.

    Example:
        >>> coral_to_rank([[3.0, 1.0, -2.0]]).tolist()
        [2]
    """
    logits = as_float_array(logits, "logits")
    if logits.ndim == 1:
        logits = logits[None, :]
    return (logits > 0).sum(axis=-1).astype(np.int64)


__all__ = [
    "AGE_BINS",
    "ETHNICITY_LABELS",
    "GAP_RULES",
    "GENDER_LABELS",
    "AgeBins",
    "bin_ages",
    "bin_labels",
    "coral_expected_rank",
    "coral_to_rank",
    "encode_coral",
    "encode_dex",
    "expected_age",
    "get_bins",
]
