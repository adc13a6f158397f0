"""IMDb-WIKI .mat loading and cleaning: golden rows built by hand, and error messages."""

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy.io import savemat

from agekit.datasets import CleaningRules, load_imdb_wiki, make_synthetic

NAN = math.nan
# (birth date, photo year, IMDb gender 1=male, face score, second face score)
ROWS = [
    (date(1981, 5, 5), 2009, 1.0, 2.5, NAN),   # 0 kept: 28 / yu4u 28
    (date(1981, 8, 10), 2009, 0.0, 0.5, NAN),  # 1 kept: 28 / yu4u low face score
    (date(1990, 7, 1), 2000, NAN, 3.0, NAN),   # 2 kept: 10, gender <NA> / yu4u gender
    (date(1970, 1, 1), 2000, 1.0, -math.inf, NAN),  # 3 no face
    (date(1970, 1, 1), 2000, 1.0, 3.0, 1.2),   # 4 second face
    (date(1850, 1, 1), 1960, 1.0, 3.0, NAN),   # 5 age 110
    (date(1911, 3, 1), 2012, 0.0, 3.0, NAN),   # 6 age 101: seed keeps, yu4u drops
    (date(2010, 12, 1), 2009, 1.0, 3.0, NAN),  # 7 age -1 (uint16 would wrap to 65535)
    (None, 2000, 1.0, 3.0, NAN),               # 8 no birth date
    (date(1981, 8, 10), 2010, 0.0, 1.5, NAN),  # 9 kept: 29 / yu4u 28 (born after June)
]


def _cell(items):
    out = np.empty((1, len(items)), dtype=object)
    out[0, :] = items
    return out


def write_mat(path, rows=ROWS, *, key="imdb", celeb_ids=True, skip=()):
    n = len(rows)
    dob = [NAN if d is None else d.toordinal() + 366 + 0.25 for d, *_ in rows]
    boxes = np.empty((1, n), dtype=object)
    for i in range(n):
        boxes[0, i] = np.array([[10.0 + i, 20.0, 110.0, 140.0]])
    struct = {
        "dob": np.array([dob]),
        "photo_taken": np.array([[r[1] for r in rows]], dtype=np.uint16),
        "full_path": _cell([f"{i:02d}/nm{i:07d}_rm1_x_{r[1]}.jpg" for i, r in enumerate(rows)]),
        "gender": np.array([[r[2] for r in rows]]),
        "name": _cell([f"Person {i % 4}" for i in range(n)]),
        "face_location": boxes,
        "face_score": np.array([[r[3] for r in rows]]),
        "second_face_score": np.array([[r[4] for r in rows]]),
    }
    if celeb_ids:
        struct["celeb_id"] = np.array([[i % 4 + 1 for i in range(n)]], dtype=np.uint16)
        struct["celeb_names"] = _cell([f"Person {i}" for i in range(4)])
    for field in skip:
        del struct[field]
    savemat(path, {key: struct})
    return path


def test_seed_rules_golden(tmp_path):
    df = load_imdb_wiki(write_mat(tmp_path / "imdb.mat"))
    assert df["age"].tolist() == [28.0, 28.0, 10.0, 101.0, 29.0]
    assert df["age"].dtype == np.float64
    assert df.attrs["dropped"] == {
        "no_face": 1, "second_face": 1, "invalid_date": 1, "age_out_of_range": 2,
    }
    # IMDb-WIKI 1 = male becomes agekit 0 = male; NaN becomes <NA>.
    assert df["gender"].dtype == "Int8"
    assert df["gender"].tolist()[:2] == [0, 1] and df["gender"].isna().tolist()[2]
    assert df.attrs["incomplete"] == {"unknown_gender": 1}
    assert df["face_box"].iloc[0] == (10.0, 20.0, 110.0, 140.0)
    assert df["path"].iloc[0] == str(tmp_path / "00" / "nm0000000_rm1_x_2009.jpg")
    assert df["subject"].tolist() == [1, 2, 3, 3, 2]


def test_yu4u_rules_golden(tmp_path):
    df = load_imdb_wiki(write_mat(tmp_path / "imdb.mat"), rules="yu4u")
    assert df["age"].tolist() == [28.0, 28.0]
    assert df["photo_taken"].tolist() == [2009, 2010]
    assert df.attrs["dropped"] == {
        "no_face": 1, "low_face_score": 1, "second_face": 1, "invalid_date": 1,
        "age_out_of_range": 3, "unknown_gender": 1,
    }


def test_custom_rules_and_reference_loop(tmp_path):
    """Vectorised ages equal the per-row reference `date.fromordinal(int(dob) - 366)`."""
    mat = make_synthetic(tmp_path, 300, format="imdb_wiki", seed=3, metadata_only=True)
    rules = CleaningRules(drop_no_face=False, drop_second_face=False, min_age=-1e9,
                          max_age=1e9)
    df = load_imdb_wiki(mat, rules=rules)
    from scipy.io import loadmat

    s = loadmat(mat)["imdb"][0, 0]
    expected = [int(t) - date.fromordinal(int(d) - 366).year
                for d, t in zip(s["dob"][0], s["photo_taken"][0])]
    assert df["age"].astype(int).tolist() == expected
    assert len(df) == 300 and df.attrs["dropped"] == {}


def test_wiki_struct_uses_name_as_subject(tmp_path):
    mat = write_mat(tmp_path / "wiki.mat", key="wiki", celeb_ids=False)
    df = load_imdb_wiki(mat, images_root=tmp_path)
    assert df["subject"].tolist() == ["Person 0", "Person 1", "Person 2", "Person 2",
                                      "Person 1"]


def test_check_files_drops_missing_images(tmp_path):
    mat = make_synthetic(tmp_path, 30, format="imdb_wiki", seed=1, image_size=32)
    full = load_imdb_wiki(mat, check_files=True)
    assert "missing_image" not in full.attrs["dropped"]
    (tmp_path / full["path"].iloc[0]).unlink()
    df = load_imdb_wiki(mat, check_files=True)
    assert df.attrs["dropped"]["missing_image"] == 1 and len(df) == len(full) - 1


def test_single_row_file(tmp_path):
    df = load_imdb_wiki(write_mat(tmp_path / "one.mat", ROWS[:1]))
    assert df["age"].tolist() == [28.0]
    assert df["face_box"].tolist() == [(10.0, 20.0, 110.0, 140.0)]


def test_missing_file_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.mat"):
        load_imdb_wiki(tmp_path / "nothere.mat")


def test_missing_fields_name_file_and_fields(tmp_path):
    mat = write_mat(tmp_path / "bad.mat", skip=("face_score",))
    with pytest.raises(ValueError, match=r"bad\.mat.*missing \['face_score'\]"):
        load_imdb_wiki(mat)


def test_wrong_struct_and_lengths(tmp_path):
    savemat(tmp_path / "other.mat", {"a": np.ones(3), "b": np.ones(2)})
    with pytest.raises(ValueError, match=r"'imdb' or 'wiki' struct in .*other\.mat"):
        load_imdb_wiki(tmp_path / "other.mat")
    mat = write_mat(tmp_path / "len.mat")
    from scipy.io import loadmat

    struct = {k: v for k, v in zip(loadmat(mat)["imdb"].dtype.names, loadmat(mat)["imdb"][0, 0])}
    struct["face_score"] = struct["face_score"][:, :4]
    savemat(mat, {"imdb": struct})
    with pytest.raises(ValueError, match=r"len\(face_score\)=4"):
        load_imdb_wiki(mat)


def test_rules_validation(tmp_path):
    with pytest.raises(ValueError, match="Unknown cleaning preset.*rules='dex'"):
        load_imdb_wiki(write_mat(tmp_path / "imdb.mat"), rules="dex")
    with pytest.raises(ValueError, match="min_age <= max_age"):
        CleaningRules(min_age=10, max_age=5)
    assert CleaningRules.preset("seed") == CleaningRules()
    assert isinstance(load_imdb_wiki(write_mat(tmp_path / "i.mat")), pd.DataFrame)


def test_birth_dates_match_python_dates():
    from agekit.datasets.imdb_wiki import _birth_dates

    rng = np.random.default_rng(0)
    dob = np.concatenate([rng.uniform(367, 800_000, 20_000),
                          [367, 719_529.9, 730_545.0, 730_546.0, np.nan, 12.0, np.inf]])
    year, month, valid = _birth_dates(dob)
    assert valid.tolist()[-4:] == [True, False, False, False]
    ref = [date.fromordinal(int(d) - 366) for d in dob[valid]]
    assert year[valid].tolist() == [d.year for d in ref]
    assert month[valid].tolist() == [d.month for d in ref]


def test_not_a_mat_file(tmp_path):
    (tmp_path / "imdb.mat").write_bytes(b"this is not a MATLAB file at all" * 10)
    with pytest.raises(ValueError, match=r"Expected a MATLAB \.mat file.*imdb\.mat"):
        load_imdb_wiki(tmp_path / "imdb.mat")


def test_empty_wiki_names_have_no_subject(tmp_path):
    mat = write_mat(tmp_path / "wiki.mat", key="wiki", celeb_ids=False)
    from scipy.io import loadmat

    raw = loadmat(mat)["wiki"]
    struct = {k: raw[0, 0][k] for k in raw.dtype.names}
    struct["name"] = _cell(["", *[f"Person {i}" for i in range(1, len(ROWS))]])
    savemat(mat, {"wiki": struct})
    df = load_imdb_wiki(mat)
    assert df["name"].iloc[0] == "" and pd.isna(df["subject"].iloc[0])
    assert df["subject"].iloc[1] == "Person 1"
