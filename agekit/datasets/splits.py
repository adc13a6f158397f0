"""Leak-free splits: stratified by age, and never one person in two splits.

`split` assigns whole groups (people) to train / validation / test. Each group gets the
stratum (age bin) most of its rows fall in; within each stratum the groups are put in a
seeded random order and cut by systematic sampling with a random start, so every stratum
is divided in the requested proportions (in expectation, and as closely as whole groups
allow). Rows without a group id (NaN / <NA>) count as a group of their own.
"""

import numpy as np
import pandas as pd

from agekit.errors import InvalidValueError
from agekit.labels import AgeBins, bin_ages, get_bins

DEFAULT_BINS = AgeBins.from_edges(range(0, 100, 10), name="decades")


def _fraction(value, name):
    if not 0 <= value < 1:
        raise InvalidValueError(f"Expected {name} in [0, 1). Received: {name}={value!r}")
    return float(value)


def _group_codes(df, groups):
    """Integer group id per row, or None when the split is not group-aware."""
    if groups is None:
        groups = "subject" if "subject" in df.columns else False
    if groups is False:
        return None
    if groups not in df.columns:
        raise InvalidValueError(
            f"Expected `groups` to name a column of df. Received: groups={groups!r}, "
            f"columns={list(df.columns)}"
        )
    codes, _ = pd.factorize(df[groups].astype(object).where(df[groups].notna(), None),
                            sort=False, use_na_sentinel=True)
    lonely = codes < 0  # no group id: a group of its own
    codes = codes.astype(np.int64)
    codes[lonely] = codes.max(initial=-1) + 1 + np.arange(int(lonely.sum()))
    return codes


def _strata(df, stratify, bins):
    if stratify is None:
        return np.zeros(len(df), dtype=np.int64)
    if stratify not in df.columns:
        raise InvalidValueError(
            f"Expected `stratify` to name a column of df. Received: stratify={stratify!r}, "
            f"columns={list(df.columns)}"
        )
    values = df[stratify]
    if values.isna().any():
        raise InvalidValueError(
            f"Expected no missing values in the stratify column. Received: "
            f"{int(values.isna().sum())} missing in {stratify!r}"
        )
    if pd.api.types.is_float_dtype(values) or stratify == "age" or bins is not None:
        return bin_ages(values.to_numpy(dtype=np.float64), get_bins(bins or DEFAULT_BINS))
    return pd.factorize(values, sort=True)[0].astype(np.int64)


def split_labels(
    df: pd.DataFrame,
    *,
    val: float = 0.2,
    test: float = 0.0,
    stratify: str | None = "age",
    groups: str | bool | None = None,
    bins=None,
    seed: int = 0,
) -> np.ndarray:
    """The split of each row of `df`: an array of `"train"`, `"val"`, `"test"`.

    Same arguments as `split`; handy to store the split as a column.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"age": [3.0, 30.0, 31.0, 60.0]})
        >>> sorted(set(split_labels(df, val=0.25, seed=1)))
        ['train', 'val']
    """
    val, test = _fraction(val, "val"), _fraction(test, "test")
    if val + test >= 1:
        raise InvalidValueError(f"Expected val + test < 1. Received: val={val}, test={test}")
    n = len(df)
    if n == 0:
        raise InvalidValueError("Expected a DataFrame with at least one row. Received: len(df)=0")
    strata = _strata(df, stratify, bins)
    codes = _group_codes(df, groups)
    if codes is None:
        codes = np.arange(n, dtype=np.int64)
    rows = pd.DataFrame({"group": codes, "stratum": strata})
    counts = rows.value_counts(["group", "stratum"]).reset_index(name="n")
    counts = counts.sort_values(["group", "n", "stratum"], ascending=[True, False, True])
    per_group = counts.drop_duplicates("group").set_index("group")["stratum"]
    sizes = rows.groupby("group").size()
    table = pd.DataFrame({"stratum": per_group, "size": sizes}).sort_index()
    rng = np.random.default_rng(seed)
    table["order"] = rng.permutation(len(table))
    table = table.sort_values(["stratum", "order"])
    cumulative = table.groupby("stratum")["size"].cumsum().to_numpy()
    totals = table.groupby("stratum")["size"].transform("sum").to_numpy()
    offset = rng.random(int(table["stratum"].max()) + 1)[table["stratum"].to_numpy()]
    position = ((cumulative - table["size"].to_numpy() / 2) / totals + offset) % 1.0
    names = np.where(position < test, "test", np.where(position < test + val, "val", "train"))
    assigned = pd.Series(names, index=table.index)
    return assigned.reindex(codes).to_numpy(dtype=object)


def split(
    df: pd.DataFrame,
    *,
    val: float = 0.2,
    test: float = 0.0,
    stratify: str | None = "age",
    groups: str | bool | None = None,
    bins=None,
    seed: int = 0,
) -> tuple[pd.DataFrame, ...]:
    """Split `df` into train / validation (/ test), stratified and group-aware.

    Args:
        df: A loader's DataFrame.
        val: Fraction of rows for validation.
        test: Fraction of rows for test; with 0 (default) no test split is made.
        stratify: Column to stratify on (`"age"`: by age bin), or None.
        groups: Column of person ids that must not straddle splits. None (default) uses
            `subject` when df has it; False turns grouping off.
        bins: Age bins used to stratify a numeric column (a scheme name, `AgeBins` or
            edges); ten-year bins by default.
        seed: The same seed and DataFrame give the same split.

    Returns:
        `(train, val)`, or `(train, val, test)` when `test > 0`: DataFrames keeping the
        index of `df`.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"age": [5, 7, 30, 32, 33, 61], "subject": [1, 1, 2, 3, 3, 4]})
        >>> train, val = split(df, val=0.3, seed=0)
        >>> set(train["subject"]).isdisjoint(val["subject"])
        True
    """
    labels = split_labels(df, val=val, test=test, stratify=stratify, groups=groups,
                          bins=bins, seed=seed)
    parts = [df[labels == "train"], df[labels == "val"]]
    if test > 0:
        parts.append(df[labels == "test"])
    return tuple(parts)


def leave_one_subject_out(
    df: pd.DataFrame, *, groups: str = "subject"
) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """FG-NET's protocol: one `(train, test)` pair per person, the person as test set.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"age": [2, 30, 4], "subject": [1, 2, 1]})
        >>> [len(test) for _, test in leave_one_subject_out(df)]
        [2, 1]
    """
    if groups not in df.columns:
        raise InvalidValueError(
            f"Expected a DataFrame with a {groups!r} column. Received: columns={list(df.columns)}"
        )
    return [(df[df[groups] != s], df[df[groups] == s]) for s in pd.unique(df[groups].dropna())]


def _count(value, name, *, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InvalidValueError(f"Expected {name} as a whole number of rows >= 0. Received: {name}={value!r}")
    return int(value)


def split_counts(
    df: pd.DataFrame,
    *,
    val: int,
    test: int = 0,
    train: int | None = None,
    seed: int = 0,
) -> tuple[pd.DataFrame, ...]:
    """A random split into fixed numbers of rows, ignoring people and ages.

    The protocol of studies that split photos at random by count, such as the Adience
    study's 11,000 train / 3,500 validation / 2,500 test images (Levi & Hassner's own
    protocol, `adience_folds`, keeps each person in one fold instead). The rows are put
    in a seeded random order; the first `test` go to test, the next `val` to
    validation, the next `train` (all the rest when None) to train. Photos of one person
    may land in several splits, so scores are optimistic next to a subject-exclusive
    split.

    Args:
        df: A loader's DataFrame.
        val: Rows for validation.
        test: Rows for test (0: no test split is returned).
        train: Rows for training; None takes every row left.
        seed: The same seed and DataFrame give the same split.

    Returns:
        `(train, val)`, or `(train, val, test)` when `test > 0`, keeping df's index.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"age": range(20)})
        >>> [len(part) for part in split_counts(df, train=11, val=4, test=3, seed=0)]
        [11, 4, 3]
    """
    val, test = _count(val, "val"), _count(test, "test")
    train = _count(train, "train", allow_none=True)
    needed = val + test + (train or 0)
    if needed > len(df) or (train is None and needed == len(df)):
        raise InvalidValueError(
            f"Expected more rows than the split asks for. Received: len(df)={len(df)}, "
            f"train={train}, val={val}, test={test}"
        )
    order = np.random.default_rng(seed).permutation(len(df))
    test_rows, val_rows = order[:test], order[test : test + val]
    rest = order[test + val :]
    train_rows = rest if train is None else rest[:train]
    parts = [df.iloc[np.sort(train_rows)], df.iloc[np.sort(val_rows)]]
    if test > 0:
        parts.append(df.iloc[np.sort(test_rows)])
    return tuple(parts)


__all__ = ["leave_one_subject_out", "split", "split_counts", "split_labels"]
