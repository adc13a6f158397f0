"""Loaders whose labels are in file or folder names: UTKFace, FG-NET, class folders."""

import logging

import pandas as pd
import pytest

from agekit.datasets import (
    leave_one_subject_out,
    load_fgnet,
    load_image_folders,
    load_utkface,
    make_synthetic,
    read_pts,
)


def _touch(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")
    return folder


UTK_NAMES = [
    "25_0_1_20170116220224657.jpg.chip.jpg",
    "39_1_20170116174525125.jpg.chip.jpg",     # real quirk: no race field
    "24_0_1_20170116220224658 .jpg.chip.jpg",  # real quirk: space before the extension
    "55_0_0_20170116232725357jpg.chip.jpg",    # real quirk: missing dot
    "1_1_4_20161221193016140.jpg.chip.jpg",
    "x_1_2_20170116174525125.jpg.chip.jpg",    # malformed: age
    "30_2_1_20170116174525125.jpg.chip.jpg",   # invalid gender
    "30_1_7_20170116174525125.jpg.chip.jpg",   # invalid race
    "notes.txt",
]


def test_utkface_names_golden(tmp_path, caplog):
    root = _touch(tmp_path / "utk", UTK_NAMES)
    with caplog.at_level(logging.WARNING, logger="agekit.datasets"):
        df = load_utkface(root)
    by_age = df.set_index("age")
    assert sorted(df["age"].tolist()) == [1.0, 24.0, 25.0, 39.0, 55.0]
    assert by_age.loc[39.0, "gender"] == 1 and pd.isna(by_age.loc[39.0, "ethnicity"])
    assert by_age.loc[1.0, "ethnicity"] == 4 and by_age.loc[25.0, "gender"] == 0
    assert df["gender"].dtype == "Int8" and df["ethnicity"].dtype == "Int8"
    assert df.attrs["dropped"] == {"not_an_image": 1, "malformed_name": 1, "invalid_label": 2}
    assert df.attrs["incomplete"] == {"missing_ethnicity": 1}
    assert "x_1_2_20170116174525125.jpg.chip.jpg" in caplog.text
    with pytest.raises(ValueError, match=r"Expected an image file.*notes\.txt"):
        load_utkface(root, errors="raise")


def test_utkface_round_trip_recursive_and_missing(tmp_path):
    root = make_synthetic(tmp_path / "a" / "part1", 12, format="utkface", seed=5, image_size=32)
    df = load_utkface(root)
    assert len(df) == 12 and df.attrs["dropped"] == {}
    assert df["path"].map(lambda p: p.startswith(str(root))).all()
    assert len(load_utkface(tmp_path / "a")) == 0
    assert len(load_utkface(tmp_path / "a", recursive=True)) == 12
    with pytest.raises(FileNotFoundError, match="missing_folder"):
        load_utkface(tmp_path / "missing_folder")


@pytest.mark.real_data
def test_utkface_real_data(shared_data):
    root = shared_data / "utkface"
    if not root.is_dir():
        pytest.skip(f"{root} is absent")
    df = load_utkface(root)
    assert len(df) == 19_708
    assert df["age"].min() == 1 and df["age"].max() == 116
    assert df.attrs["dropped"] == {}
    assert df.attrs["incomplete"] == {"missing_ethnicity": 3}
    missing = df[df["ethnicity"].isna()]
    assert {p.rsplit("/", 1)[1] for p in missing["path"]} >= {
        "39_1_20170116174525125.jpg.chip.jpg"}
    assert set(df["gender"].unique()) == {0, 1}
    assert set(df["ethnicity"].dropna().unique()) == {0, 1, 2, 3, 4}


def test_fgnet_names_landmarks_and_lopo(tmp_path):
    images = _touch(tmp_path / "images", ["001A02.JPG", "001A43a.JPG", "001A43b.JPG",
                                          "082A10.jpg", "bad.JPG", "Thumbs.db"])
    (tmp_path / "points").mkdir()
    (tmp_path / "points" / "001a02.pts").write_text(
        "version: 1\nn_points: 3\n{\n1 2\n3 4\n5.5 6\n}\n", encoding="ascii")
    df = load_fgnet(tmp_path)
    assert df["age"].tolist() == [2.0, 43.0, 43.0, 10.0]
    assert df["subject"].tolist() == [1, 1, 1, 82]
    assert df["path"].iloc[0] == str(images / "001A02.JPG")
    assert df["landmarks_path"].iloc[0].endswith("001a02.pts")
    assert df["landmarks_path"].iloc[1:].isna().all()
    assert df.attrs["dropped"] == {"not_an_image": 1, "malformed_name": 1}
    assert read_pts(df["landmarks_path"].iloc[0]).tolist() == [[1, 2], [3, 4], [5.5, 6]]
    folds = leave_one_subject_out(df)
    assert [sorted(set(test["subject"])) for _, test in folds] == [[1], [82]]
    assert all(set(tr["subject"]).isdisjoint(te["subject"]) for tr, te in folds)
    with pytest.raises(ValueError, match=r"Expected an image file.*Thumbs\.db"):
        load_fgnet(tmp_path, errors="raise")


def test_fgnet_round_trip_and_bad_pts(tmp_path):
    root = make_synthetic(tmp_path, 30, format="fgnet", seed=0, image_size=32)
    df = load_fgnet(root)
    assert len(df) == 30 and df["subject"].nunique() == 2
    assert df["landmarks_path"].notna().all()
    assert read_pts(df["landmarks_path"].iloc[0]).shape == (68, 2)
    (tmp_path / "broken.pts").write_text("version: 1\nn_points: 68\n{\n1 2\n}\n")
    with pytest.raises(ValueError, match=r"n_points.*broken\.pts"):
        read_pts(tmp_path / "broken.pts")
    with pytest.raises(FileNotFoundError, match="nope"):
        load_fgnet(tmp_path / "nope")


def test_image_folders(tmp_path):
    _touch(tmp_path / "22", ["a.jpg", "b.png"])
    _touch(tmp_path / "7.5" / "nested", ["c.jpg"])
    _touch(tmp_path / "old", ["d.jpg"])
    _touch(tmp_path, ["stray.jpg", "labels.csv"])
    df = load_image_folders(tmp_path)
    assert df["age"].tolist() == [22.0, 22.0, 7.5]
    assert df["path"].iloc[0] == str(tmp_path / "22" / "a.jpg")
    assert df.attrs["dropped"] == {"not_an_image": 1, "outside_class_folder": 1,
                                   "non_numeric_folder": 1}
    labels = load_image_folders(tmp_path, column="label")
    assert sorted(labels["label"].unique()) == ["22", "7.5", "old"]
    with pytest.raises(ValueError, match=r"Expected an image file.*labels\.csv"):
        load_image_folders(tmp_path, errors="raise")


def test_image_folders_round_trip(tmp_path):
    root = make_synthetic(tmp_path, 15, format="folders", seed=4, image_size=32)
    df = load_image_folders(root)
    assert len(df) == 15 and df.attrs["dropped"] == {}
    assert (df["age"] == df["path"].map(lambda p: float(p.split("/")[-2]))).all()
