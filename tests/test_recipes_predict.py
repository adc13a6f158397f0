"""The UTKFace recipe end to end on synthetic UTKFace files, then load_model / predict_age."""

import json

import numpy as np
import pandas as pd
import pytest

from agekit.datasets import make_synthetic
from agekit.models import card_of
from agekit.predict import find_model, load_model, predict_age
from agekit.recipes import utkface
from agekit.store import install_model, weights_home


@pytest.mark.slow
def test_recipe_runs_end_to_end_and_its_model_predicts(tmp_path):
    root = make_synthetic(tmp_path / "utk", 240, format="utkface", seed=1)
    metrics = utkface(root, tmp_path / "run", epochs=2, verbose=0, data={"image_size": 32, "batch_size": 32},
                      model={"layers": 2, "base_filters": 8, "hidden": 16})
    for key in ("mae", "cs5", "utk7_macro_f1", "gender_accuracy", "baseline_mae"):
        assert np.isfinite(metrics[key]), key
    assert metrics["n_train"] + metrics["n_val"] + metrics["n_test"] == 240
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["mae"] == pytest.approx(metrics["mae"])
    split = pd.read_csv(tmp_path / "run" / "split.csv")
    assert set(split["split"]) == {"train", "val", "test"}
    assert not set(split.loc[split["split"] == "test", "path"]) & set(
        split.loc[split["split"] != "test", "path"])

    model = load_model(tmp_path / "run" / "model.keras")
    card = card_of(model)  # the run recorded what the model was trained on
    assert card.data == "utkface" and card.crop["template"] == "utkface"  # UTKFace's chip geometry
    assert card.validation["n"] == metrics["n_val"] and card.age_range[0] <= card.age_range[1]
    assert (card.input_size, card.preprocess) == ((32, 32), "0-1")
    assert card.calibration["source"]["split"] == "val" and card.calibration["n"] == metrics["n_val"]
    assert 0 <= metrics["interval"]["coverage"] <= 1 and "groups" in metrics["audit"]
    test_paths = split.loc[split["split"] == "test", "path"].tolist()
    table = predict_age(model, test_paths)
    assert list(table.columns) == ["age", "gender", "p_female"]
    assert len(table) == len(test_paths)
    # The recipe's own evaluation and predict_age agree (same model, same images).
    true = split.set_index("path").loc[test_paths, "age"].to_numpy()
    assert np.mean(np.abs(table["age"].to_numpy() - true)) == pytest.approx(metrics["mae"], rel=0.02)
    crops = np.stack([np.full((50, 50, 3), 128, np.uint8)] * 2)
    assert len(predict_age(model, crops)) == 2
    # Installed for every working folder: the name finds it ($AGEKIT_HOME, a temporary
    # folder under the tests).
    assert metrics["installed"] == str(find_model("utkface")) and find_model("utkface").parent == weights_home()


def test_find_model_by_name_and_errors(tmp_path, monkeypatch):
    (tmp_path / "mine.keras").write_bytes(b"not a model")
    monkeypatch.setenv("AGEKIT_WEIGHTS", str(tmp_path))
    assert find_model("mine") == tmp_path / "mine.keras"
    with pytest.raises(FileNotFoundError, match=r"Expected a model file or the name of one"):
        find_model("nothing-here")
    with pytest.raises(FileNotFoundError, match=r"Expected a model file. Received: path="):
        find_model(str(tmp_path / "missing.keras"))
    with pytest.raises(ValueError, match=r"Expected a Keras model file"):
        load_model("mine")


def test_install_model_puts_the_file_where_names_are_found(tmp_path, monkeypatch):
    monkeypatch.setenv("AGEKIT_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.keras").write_bytes(b"PK-not-really")
    installed = install_model(tmp_path / "m.keras", "mine")
    assert installed == tmp_path / "home" / "weights" / "mine.keras"
    assert find_model("mine") == installed and installed.read_bytes() == b"PK-not-really"
    with pytest.raises(FileNotFoundError, match=r"python -m agekit.recipes utkface"):
        find_model("utkface")  # the message says how to make it
    with pytest.raises(ValueError, match=r"Expected a plain model name"):
        install_model(tmp_path / "m.keras", "a/b")
