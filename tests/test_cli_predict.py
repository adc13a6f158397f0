"""`agekit predict` as a user meets it: folders and globs, non-image files skipped and
counted, clean JSON and CSV, the model found by name after the recipe installed it."""

import json
import shutil

import pandas as pd
import pytest

from agekit.cli import main
from agekit.cli.photos import photo_paths


def test_photo_paths_expands_folders_and_globs_and_sets_non_images_apart(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("a.jpg", "b.PNG", "sub/c.jpeg", "LICENSE", "notes.csv"):
        (tmp_path / name).write_bytes(b"x")
    photos, skipped = photo_paths([str(tmp_path)])
    assert [p.split("/")[-1] for p in photos] == ["a.jpg", "b.PNG", "c.jpeg"]
    assert sorted(p.split("/")[-1] for p in skipped) == ["LICENSE", "notes.csv"]
    photos, skipped = photo_paths([str(tmp_path / "*.jpg"), str(tmp_path / "**" / "*.jpeg")])
    assert [p.split("/")[-1] for p in photos] == ["a.jpg", "c.jpeg"] and skipped == []
    assert photo_paths([str(tmp_path / "LICENSE")])[0] == [str(tmp_path / "LICENSE")]  # named: tried
    with pytest.raises(FileNotFoundError, match=r"Expected files matching the pattern"):
        photo_paths([str(tmp_path / "*.gif")])
    with pytest.raises(ValueError, match=r"none an image"):
        photo_paths([str(tmp_path / "*.csv")])


@pytest.mark.slow
@pytest.mark.real_data
def test_predict_a_folder_by_the_installed_model(shared_data, tmp_path, monkeypatch, capsys):
    from agekit.models import basic_cnn, compile_model, set_card
    from agekit.store import install_model

    model = compile_model(basic_cnn(layers=2, base_filters=4, hidden=8, dropout=0, head="dex",
                                    outputs={"gender": 2}, input_shape=(32, 32, 3)))
    set_card(model, crop={"template": "utkface"})
    model.save(tmp_path / "tiny.keras")
    monkeypatch.setenv("AGEKIT_HOME", str(tmp_path / "home"))
    install_model(tmp_path / "tiny.keras", "utkface")  # what the recipe does at its end
    photos = tmp_path / "my photos"
    photos.mkdir()
    shutil.copy(shared_data / "faces" / "face_recognition" / "two_people.jpg", photos)
    fgnet = sorted((shared_data / "fgnet" / "images").iterdir())[:3]
    for path in fgnet:
        shutil.copy(path, photos)
    (photos / "LICENSE").write_text("not a photo")
    monkeypatch.chdir(tmp_path)

    assert main(["predict", str(photos), "--json", "-q"]) == 0  # no --model: the installed one
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert {row["image"] for row in rows} >= {str(photos / "two_people.jpg")}
    assert "\\/" not in captured.out and all(row["age"] == round(row["age"], 2) for row in rows)
    assert "1 non-image files skipped (LICENSE)" in captured.err

    assert main(["predict", str(photos / "*.jpg"), "--csv", "-q"]) == 0
    table = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert {"image", "face", "left", "top", "right", "bottom", "age", "gender"} <= set(table.columns)
    assert (table["image"] == str(photos / "two_people.jpg")).sum() == 2
