"""The `[photos]` stage: fine-tuning on whole photos cut by the model's own photo crop."""

import shutil

import pytest

from agekit.datasets import make_synthetic
from agekit.experiment import Experiment
from agekit.experiment.photo_tuning import PhotosConfig


def test_photos_section_is_validated_when_read():
    assert Experiment.from_dict({"photos": {"root": "fgnet", "epochs": 2}}).photos.epochs == 2
    with pytest.raises(ValueError, match=r"\[photos\] format"):
        PhotosConfig(format="utkface", root="x")
    with pytest.raises(ValueError, match=r"\[photos\] epochs"):
        PhotosConfig(root="x", epochs=0)
    with pytest.raises(TypeError, match=r"\[photos\] root"):
        PhotosConfig()


@pytest.mark.slow
@pytest.mark.real_data
def test_a_run_fine_tunes_on_photos_and_records_it(shared_data, tmp_path):
    from agekit.experiment import run_experiment
    from agekit.models import card_of
    from agekit.predict import load_model

    photos = tmp_path / "fgnet"
    for part in ("images", "points"):
        (photos / part).mkdir(parents=True)
    for image in sorted((shared_data / "fgnet" / "images").iterdir())[:12]:  # subject 001
        shutil.copy(image, photos / "images")
        shutil.copy(shared_data / "fgnet" / "points" / f"{image.stem.lower()}.pts", photos / "points")
    root = make_synthetic(tmp_path / "utk", 120, format="utkface", image_size=32)
    experiment = Experiment.from_dict({
        "data": {"format": "utkface", "root": str(root), "image_size": 32, "batch_size": 16},
        "model": {"layers": 2, "base_filters": 4, "hidden": 8, "outputs": {"gender": 2}},
        "train": {"epochs": 1, "run_dir": str(tmp_path / "run"), "lr_schedule": "cosine"},  # recompiled
        "photos": {"root": str(photos), "epochs": 1, "mix": 20, "exclude": [2]},
    })
    metrics = run_experiment(experiment, verbose=0)
    assert metrics["photos"]["photos"] == 12 and metrics["photos"]["faces"] >= 11
    assert metrics["photos"]["mix"] == 20 and len(metrics["photos"]["loss"]) == 1
    card = card_of(load_model(tmp_path / "run" / "model.keras"))
    assert card.data == "utkface+fgnet" and card.crop["template"] == "utkface"
    assert card.age_range[0] <= 2  # FG-NET subject 001 was photographed from age 2
    assert (tmp_path / "run" / "model_before_photos.keras").is_file()
