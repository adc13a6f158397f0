"""ChaLearn LAP and APPA-REAL CSV loaders: layouts, header variants, bad rows, errors."""

import logging

import numpy as np
import pandas as pd
import pytest

from agekit.datasets import load_appa_real, load_chalearn, make_synthetic


def _images(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


def test_chalearn_round_trip(tmp_path):
    root = make_synthetic(tmp_path, 20, format="chalearn", seed=2, image_size=32)
    sizes = {}
    for split in ("train", "valid", "test"):
        df = load_chalearn(root, split)
        raw = pd.read_csv(root / f"{split}_gt.csv")
        assert df["path"].tolist() == [str(root / split / n) for n in raw["image"]]
        np.testing.assert_allclose(df["age"], raw["mean"])
        np.testing.assert_allclose(df["age_std"], raw["stdv"])
        assert df.attrs["dropped"] == {}
        sizes[split] = len(df)
    assert sizes == {"train": 12, "valid": 4, "test": 4}
    assert len(load_chalearn(root, "val")) == 4


@pytest.mark.parametrize(
    "text",
    [
        "image,mean,stdv\na.jpg,23.5,4.1\nb.jpg,40,2\n",
        "Image; Mean; Stdv\na.jpg;23.5;4.1\nb.jpg;40;2\n",
        "file_name,apparent_age,std\r\na.jpg,23.5,4.1\r\nb.jpg,40,2\r\n",
        "a.jpg,23.5,4.1\nb.jpg,40,2\n",  # no header
        "\ufeffimage\tmean\tstdv\n\na.jpg\t23.5\t4.1\nb.jpg\t40\t2\n",  # BOM, tabs, blank line
    ],
)
def test_chalearn_header_variants(tmp_path, text):
    (tmp_path / "train_gt.csv").write_text(text, encoding="utf-8")
    _images(tmp_path / "train", ["a.jpg", "b.jpg"])
    df = load_chalearn(tmp_path, "train")
    assert df["age"].tolist() == [23.5, 40.0] and df["age_std"].tolist() == [4.1, 2.0]
    assert df["path"].iloc[1] == str(tmp_path / "train" / "b.jpg")


BAD_CSV = (
    "image,mean,stdv\n"
    "a.jpg,23.5,4.1\n"
    "b.jpg,abc,2\n"       # line 3: age is not a number
    "c.jpg\n"              # line 4: too few fields
    ",30,2\n"              # line 5: no image name
    "d.jpg,-3,2\n"         # line 6: negative age
    "e.jpg,30,\n"          # line 7: no std
    "a.jpg,25,1\n"         # line 8: duplicate
    "gone.jpg,30,2\n"      # line 9: image not on disk
)


def test_chalearn_malformed_rows_dropped_counted_and_logged(tmp_path, caplog):
    (tmp_path / "test_gt.csv").write_text(BAD_CSV, encoding="utf-8")
    _images(tmp_path / "test", ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"])
    with caplog.at_level(logging.WARNING, logger="agekit.datasets"):
        df = load_chalearn(tmp_path, "test")
    assert df["age"].tolist() == [23.5]
    assert df.attrs["dropped"] == {
        "malformed_row": 1, "missing_image_name": 1, "invalid_age": 2, "invalid_std": 1,
        "duplicate_image": 1, "missing_image": 1,
    }
    assert "test_gt.csv:3 ('abc')" in caplog.text
    assert "test_gt.csv:4" in caplog.text and "test_gt.csv:9" in caplog.text
    assert len(load_chalearn(tmp_path, "test", check_files=False)) == 2


def test_chalearn_errors_raise_names_file_and_line(tmp_path):
    (tmp_path / "test_gt.csv").write_text(BAD_CSV, encoding="utf-8")
    with pytest.raises(ValueError, match=r"Expected 3 fields per row.*test_gt\.csv:4"):
        load_chalearn(tmp_path, "test", errors="raise")
    (tmp_path / "test_gt.csv").write_text("image,mean,stdv\nb.jpg,abc,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"mean age >= 0.*test_gt\.csv:2 \('abc'\)"):
        load_chalearn(tmp_path, "test", errors="raise")


def test_chalearn_wrong_columns_missing_files_bad_split(tmp_path):
    (tmp_path / "train_gt.csv").write_text("picture,years\na.jpg,3\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"columns \['image', 'mean', 'stdv'\].*train_gt\.csv"
                       r".*Received: columns=\['picture', 'years'\]"):
        load_chalearn(tmp_path, "train")
    with pytest.raises(FileNotFoundError, match="valid_gt.csv"):
        load_chalearn(tmp_path, "valid")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_chalearn(tmp_path / "nowhere", "train")
    with pytest.raises(ValueError, match="split='dev'"):
        load_chalearn(tmp_path, "dev")
    with pytest.raises(ValueError, match="errors='ignore'"):
        load_chalearn(tmp_path, "train", errors="ignore")


def test_appa_real_round_trip_and_crops(tmp_path):
    root = make_synthetic(tmp_path, 10, format="appa_real", seed=1, image_size=32)
    df = load_appa_real(root, "train")
    raw = pd.read_csv(root / "gt_avg_train.csv")
    assert df["path"].tolist() == [str(root / "train" / n) for n in raw["file_name"]]
    assert df["face_path"].tolist() == [p + "_face.jpg" for p in df["path"]]
    np.testing.assert_allclose(df["age"], raw["apparent_age_avg"])
    np.testing.assert_allclose(df["age_std"], raw["apparent_age_std"])
    assert df["real_age"].tolist() == raw["real_age"].astype(float).tolist()
    assert df["num_ratings"].dtype == "Int64"
    crops = load_appa_real(root, "test", crops=True)
    assert crops["path"].str.endswith(".jpg_face.jpg").all() and len(crops) == 2


def test_appa_real_bad_rows_and_columns(tmp_path):
    text = (
        "file_name,num_ratings,apparent_age_avg,apparent_age_std,real_age\n"
        "000001.jpg,20,30.5,4.0,31\n"
        "000002.jpg,20,30.5,4.0,\n"       # line 3: no real age
        "000003.jpg,20,,4.0,31\n"         # line 4: no apparent age
    )
    (tmp_path / "gt_avg_valid.csv").write_text(text, encoding="utf-8")
    df = load_appa_real(tmp_path, "valid", check_files=False)
    assert df["real_age"].tolist() == [31.0]
    assert df.attrs["dropped"] == {"invalid_age": 1, "invalid_real_age": 1}
    with pytest.raises(ValueError, match=r"apparent age >= 0.*gt_avg_valid\.csv:4 \(''\)"):
        load_appa_real(tmp_path, "valid", errors="raise", check_files=False)
    (tmp_path / "gt_avg_test.csv").write_text("file_name,apparent_age_avg\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"gt_avg_test\.csv.*Received: columns="):
        load_appa_real(tmp_path, "test")
    with pytest.raises(FileNotFoundError, match="gt_avg_train.csv"):
        load_appa_real(tmp_path, "train")


def test_chalearn_unknown_header_is_not_read_as_data(tmp_path):
    (tmp_path / "train_gt.csv").write_text("picture,years,spread\na.jpg,3,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"Received: columns=\['picture', 'years', 'spread'\]"):
        load_chalearn(tmp_path, "train")


def test_chalearn_header_only_and_empty_files(tmp_path):
    (tmp_path / "train_gt.csv").write_text("image,mean,stdv\n", encoding="utf-8")
    df = load_chalearn(tmp_path, "train")
    assert len(df) == 0 and list(df.columns) == ["path", "age", "age_std"]
    (tmp_path / "valid_gt.csv").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match=r"valid_gt\.csv. Received: an empty file"):
        load_chalearn(tmp_path, "valid")
