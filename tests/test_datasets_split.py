"""`split`: no subject in two splits (property test over random frames), stable, stratified."""

import numpy as np
import pandas as pd
import pytest

from agekit.datasets import split, split_labels


def _random_frame(rng, n):
    """People with 1..30 photos (a few with no id), ages around a per-person age."""
    sizes = rng.integers(1, 30, size=n)
    subject = np.repeat(np.arange(n), sizes)
    age = np.clip(np.repeat(rng.uniform(0, 95, n), sizes) + rng.normal(0, 3, len(subject)),
                  0, 100)
    df = pd.DataFrame({"age": age, "subject": pd.array(subject, dtype="Int64")})
    df.loc[rng.random(len(df)) < 0.05, "subject"] = pd.NA
    return df.sample(frac=1, random_state=int(rng.integers(1000))).reset_index(drop=True)


def test_property_no_subject_in_two_splits():
    rng = np.random.default_rng(0)
    for trial in range(40):
        df = _random_frame(rng, int(rng.integers(1, 120)))
        val, test = [(0.2, 0.0), (0.1, 0.1), (0.3, 0.2), (0.05, 0.5)][trial % 4]
        parts = split(df, val=val, test=test, seed=trial)
        assert len(parts) == (3 if test else 2)
        index = np.concatenate([p.index.to_numpy() for p in parts])
        assert sorted(index.tolist()) == list(range(len(df)))  # a partition of the rows
        people = [set(p["subject"].dropna()) for p in parts]
        for i in range(len(parts)):
            for j in range(i + 1, len(parts)):
                assert people[i].isdisjoint(people[j]), (trial, i, j)


def test_stable_for_a_seed_and_proportions():
    rng = np.random.default_rng(1)
    df = _random_frame(rng, 800)
    a = split_labels(df, val=0.2, test=0.1, seed=7)
    assert (a == split_labels(df, val=0.2, test=0.1, seed=7)).all()
    assert (a != split_labels(df, val=0.2, test=0.1, seed=8)).any()
    shares = pd.Series(a).value_counts(normalize=True)
    assert abs(shares["val"] - 0.2) < 0.04 and abs(shares["test"] - 0.1) < 0.04


def test_stratified_by_age_bin_without_groups():
    rng = np.random.default_rng(2)
    ages = np.concatenate([rng.uniform(0, 10, 900), rng.uniform(60, 70, 100)])
    df = pd.DataFrame({"age": ages})
    _, val = split(df, val=0.2, seed=0)
    assert len(val) == 200
    assert (val["age"] >= 60).sum() == 20  # the rare bin is split in proportion too
    # Without a subject column, grouping is off; groups=False also turns it off.
    df["subject"] = 1
    with_groups = split(df, val=0.2)
    assert min(len(with_groups[0]), len(with_groups[1])) == 0
    assert len(split(df, val=0.2, groups=False)[1]) == 200


def test_categorical_stratify_and_errors():
    df = pd.DataFrame({"age": [1.0, 2, 3, 4], "gender": ["m", "f", "m", "f"],
                       "user": [1, 2, 3, 4]})
    _, val = split(df, val=0.5, stratify="gender", groups="user", seed=0)
    assert sorted(val["gender"]) == ["f", "m"]
    with pytest.raises(ValueError, match="val \\+ test < 1"):
        split(df, val=0.6, test=0.4)
    with pytest.raises(ValueError, match="val in \\[0, 1\\)"):
        split(df, val=-0.1)
    with pytest.raises(ValueError, match="groups='person'"):
        split(df, groups="person")
    with pytest.raises(ValueError, match="stratify='height'"):
        split(df, stratify="height")
    with pytest.raises(ValueError, match="missing in 'age'"):
        split(df.assign(age=[1.0, None, 3, 4]))
    with pytest.raises(ValueError, match="len\\(df\\)=0"):
        split(df.iloc[:0])


def test_split_counts_takes_exact_numbers_of_rows_at_random():
    from agekit.datasets import split_counts

    df = pd.DataFrame({"age": np.arange(17_000) % 90, "subject": np.arange(17_000) // 4})
    train, val, test = split_counts(df, train=11_000, val=3_500, test=2_500, seed=1)
    assert (len(train), len(val), len(test)) == (11_000, 3_500, 2_500)
    ids = [set(part.index) for part in (train, val, test)]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    # photo-level: people straddle splits, as in the Adience study's random split
    assert set(train["subject"]) & set(test["subject"])
    again = split_counts(df, train=11_000, val=3_500, test=2_500, seed=1)
    assert all(a.index.equals(b.index) for a, b in zip((train, val, test), again))
    rest, small = split_counts(df.iloc[:10], val=3)
    assert (len(rest), len(small)) == (7, 3)
    with pytest.raises(ValueError, match="more rows than the split asks for"):
        split_counts(df.iloc[:10], train=8, val=3)
    with pytest.raises(ValueError, match="val as a whole number"):
        split_counts(df, val=0.2)
