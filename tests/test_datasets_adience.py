"""Adience fold files: the age-label rule, genders, paths, malformed rows, folds."""

import logging

import pytest

from agekit.datasets import (
    adience_folds,
    load_adience,
    make_synthetic,
    parse_adience_ages,
)

HEADER = ("user_id\toriginal_image\tface_id\tage\tgender\tx\ty\tdx\tdy\ttilt_ang\t"
          "fiducial_yaw_angle\tfiducial_score")


def _fold(folder, k, rows):
    lines = [HEADER] + ["\t".join(map(str, r)) for r in rows]
    (folder / f"fold_{k}_data.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _row(user, face, age, gender="m"):
    return (user, f"{face}_abc_o.jpg", face, age, gender, 10, 20, 100, 120, 0, 0, 50)


def test_age_rule_golden():
    labels = ["(0, 2)", "(4, 6)", "(8, 12)", "(8, 13)", "(15, 20)", "(25, 32)", "(27, 32)",
              "(38, 43)", "(38, 42)", "(48, 53)", "(60, 100)", "2", "13", "35", "57",
              "(38, 48)", "(8, 23)", "None", "", "old"]
    groups, reasons = parse_adience_ages(labels)
    assert groups.tolist() == [0, 1, 2, 2, 3, 4, 4, 5, 5, 6, 7, 0, 2, -1, -1,
                               -1, -1, -1, -1, -1]
    assert reasons.tolist()[-7:] == ["age_between_groups"] * 2 + ["ambiguous_age"] * 2 + [
        "missing_age", "missing_age", "malformed_age"]
    # gaps="nearest": 35 is 3 years above 25-32 and 3 below 38-43 -> the younger group.
    assert parse_adience_ages(["35", "57", "3"], gaps="nearest")[0].tolist() == [4, 7, 0]


def test_load_adience_golden(tmp_path, caplog):
    _fold(tmp_path, 0, [_row("u1@N00", 1, "(25, 32)", "f"), _row("u1@N00", 2, "None"),
                        _row("u2@N00", 3, "35", "u"), _row("u2@N00", 4, "(60, 100)", "")])
    _fold(tmp_path, 1, [_row("u3@N00", 5, "(0, 2)"), ("u3@N00", "x.jpg", 6, "(4, 6)"),
                        _row("u3@N00", 7, "(38, 48)", "f"), _row("u3@N00", 8, "3", "x")])
    with caplog.at_level(logging.WARNING, logger="agekit.datasets"):
        df = load_adience(tmp_path, folds=[0, 1], check_files=False)
    assert df["age_group"].tolist() == [4, 7, 0]
    assert df["age"].tolist() == [28.5, 65.0, 1.0]
    assert df["gender"].tolist()[0] == 1 and df["gender"].isna().tolist()[1]
    assert df["gender"].tolist()[2] == 0
    assert df["subject"].tolist() == ["u1@N00", "u2@N00", "u3@N00"]
    assert df["fold"].tolist() == [0, 0, 1]
    assert df["face_box"].iloc[0] == (10.0, 20.0, 110.0, 140.0)
    assert df["path"].iloc[0] == str(
        tmp_path / "aligned" / "u1@N00" / "landmark_aligned_face.1.1_abc_o.jpg")
    assert df.attrs["dropped"] == {"malformed_row": 1, "missing_age": 1,
                                   "ambiguous_age": 1, "age_between_groups": 2}
    assert "fold_1_data.txt:3" in caplog.text  # the short row
    faces = load_adience(tmp_path, folds=[0], layout="faces", gaps="nearest",
                         check_files=False)
    assert faces["age_group"].tolist() == [4, 4, 7]
    assert "/faces/u1@N00/coarse_tilt_aligned_face.1." in faces["path"].iloc[0]


def test_load_adience_errors(tmp_path):
    _fold(tmp_path, 0, [_row("u1", 1, "(25, 32)"), _row("u1", 2, "(25, 32)", "q")])
    with pytest.raises(ValueError, match=r"gender m, f, u or empty.*fold_0_data\.txt:3"):
        load_adience(tmp_path, folds=[0], errors="raise", check_files=False)
    with pytest.raises(FileNotFoundError, match="fold_1_data.txt"):
        load_adience(tmp_path, check_files=False)
    (tmp_path / "fold_2_data.txt").write_text("user_id,age\nu1,(0, 2)\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"fold_2_data\.txt.*Received: columns="):
        load_adience(tmp_path, folds=[2])
    with pytest.raises(ValueError, match="layout='crops'"):
        load_adience(tmp_path, layout="crops")


def test_adience_round_trip_and_folds(tmp_path):
    root = make_synthetic(tmp_path, 60, format="adience", seed=3, image_size=32)
    df = load_adience(root)
    total = sum(len((root / f"fold_{k}_data.txt").read_text().splitlines()) - 1
                for k in range(5))
    assert len(df) + sum(df.attrs["dropped"].values()) == total == 60
    assert "missing_image" not in df.attrs["dropped"]
    assert set(df["age_group"]) <= set(range(8))
    folds = adience_folds(df)
    assert len(folds) == 5
    for train, test in folds:
        assert set(train["subject"]).isdisjoint(test["subject"])
        assert len(train) + len(test) == len(df)
    with pytest.raises(ValueError, match="'fold' column"):
        adience_folds(df.drop(columns="fold"))
