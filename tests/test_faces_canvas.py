"""Crop parity: a UTKFace chip pasted into a photo-like canvas comes back as the chip.

The acceptance check of the photo path: paste a chip (1-3x, turned up to 10 degrees,
on a busy background), detect and cut it with the defaults (`"utkface"` template,
`"auto"` detector), and a model should predict nearly what it predicts on the chip.
In CI the model is a stand-in trained in the test (ridge regression on 16x16 grey
pixels: far more sensitive to the crop's geometry than a CNN). The check on a real model
over all 400 sample chips runs when one is at hand: AGEKIT_TEST_MODEL (a `.keras` file),
else the `utkface` model the recipe installed for this user (`~/.agekit/weights`).
"""

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from agekit.faces import cut_faces
from agekit.faces.canvas import paste_face
from agekit.images import read_image


def test_paste_face_is_seeded_and_maps_the_chip():
    chip = np.zeros((50, 40, 3), np.uint8)
    chip[10, 30] = (255, 255, 255)
    photo, matrix = paste_face(chip, seed=3)
    again, _ = paste_face(chip, seed=3)
    np.testing.assert_array_equal(photo, again)
    assert not np.array_equal(photo, paste_face(chip, seed=4)[0])
    # The matrix takes chip pixels to canvas pixels: the chip's corners land inside.
    corners = cv2.transform(np.array([[[0, 0], [39, 0], [0, 49], [39, 49]]], np.float64), matrix)[0]
    assert corners.min() >= 0 and (corners.max(axis=0) < photo.shape[1::-1]).all()
    scale = np.sqrt(np.linalg.det(matrix[:, :2]))
    assert 1.0 <= scale <= 3.0 and abs(np.degrees(np.arctan2(matrix[1, 0], matrix[0, 0]))) <= 10
    with pytest.raises(ValueError, match=r"Expected `scale` as \(low, high\)"):
        paste_face(chip, seed=0, scale=(2.0, 1.0))


def _sample(shared_data):
    names = (shared_data / "utkface-sample-400.txt").read_text().split()
    return [shared_data / "utkface" / name for name in names]


def _round_trip(chips, crop="utkface"):
    """The crop each pasted chip comes back as (None when no face covers it)."""
    crops = []
    for seed, chip in enumerate(chips):
        photo, matrix = paste_face(chip, seed=seed)
        centre = matrix @ ((chip.shape[1] - 1) / 2, (chip.shape[0] - 1) / 2, 1.0)
        boxes, cut = cut_faces(photo, crop)
        hits = [k for k, b in enumerate(boxes)
                if b.left <= centre[0] <= b.right and b.top <= centre[1] <= b.bottom]
        crops.append(cut[max(hits, key=lambda k: boxes[k].area)] if hits else None)
    return crops


def _grey16(images):
    small = [cv2.resize(cv2.cvtColor(i, cv2.COLOR_RGB2GRAY), (16, 16), interpolation=cv2.INTER_AREA)
             for i in images]
    return np.c_[np.stack(small).reshape(len(small), -1) / 255.0, np.ones(len(small))]


def test_pasted_chips_come_back_as_the_chip(shared_data):
    paths = _sample(shared_data)
    chips = [read_image(p) for p in paths]
    ages = np.array([float(p.name.split("_")[0]) for p in paths])
    test = list(range(0, len(chips), 10))  # 40 chips; the stand-in trains on the other 360
    train = [i for i in range(len(chips)) if i % 10]
    crops = _round_trip([chips[i] for i in test])
    found = [c is not None for c in crops]
    assert np.mean(found) >= 0.97
    kept = [i for i, ok in zip(test, found) if ok]
    crops = [c for c in crops if c is not None]
    assert all(c.shape == (200, 200, 3) for c in crops)
    # Pixels: inside the chip's central 150x150 the crops differ from the chips by a few
    # grey levels (median 5.1 over the 400 chips; the chips' own spread about the template,
    # 3% in scale, 0.8 degrees, 1.7 px, is the floor).
    centre = [np.abs(c.astype(int) - chips[i].astype(int))[25:175, 25:175].mean() for c, i in zip(crops, kept)]
    assert np.median(centre) < 8
    # A stand-in model trained on the other chips predicts nearly the same age on both
    # (0.9 years here, where a `loose` or `tight` margin crop of the same photos gives 7).
    x = _grey16([chips[i] for i in train])
    weights = np.linalg.solve(x.T @ x + 10 * np.eye(x.shape[1]), x.T @ ages[train])
    on_chips, on_crops = _grey16([chips[i] for i in kept]) @ weights, _grey16(crops) @ weights
    assert np.mean(np.abs(on_chips - on_crops)) <= 1.5


INSTALLED = Path(os.environ.get("AGEKIT_USER_HOME", Path.home() / ".agekit")) / "weights" / "utkface.keras"
REAL_MODEL = Path(os.environ["AGEKIT_TEST_MODEL"]) if os.environ.get("AGEKIT_TEST_MODEL") else INSTALLED


@pytest.mark.slow
@pytest.mark.skipif(not REAL_MODEL.is_file(), reason="no trained model: set AGEKIT_TEST_MODEL, or run the "
                    "UTKFace recipe (it installs ~/.agekit/weights/utkface.keras)")
def test_a_real_model_predicts_the_pasted_chip_as_the_chip(shared_data):
    from agekit.photos import model_crop
    from agekit.predict import load_model, predict_age

    model = load_model(REAL_MODEL)
    chips = [read_image(p) for p in _sample(shared_data)]
    crops = _round_trip(chips, crop=model_crop(model))  # the defaults: the model card's crop
    found = [c is not None for c in crops]
    assert np.mean(found) >= 0.97, f"{found.count(False)} of {len(found)} pasted chips not detected"
    on_chips = predict_age(model, [c for c, ok in zip(chips, found) if ok])["age"].to_numpy()
    on_crops = predict_age(model, [c for c in crops if c is not None])["age"].to_numpy()
    # Measured with the README recipe model (utkface-v0): 1.14 years (median 0.56), all
    # 400 detected; that model moves 0.62 years on average when a chip shifts by half a
    # pixel, so re-aligning chips that vary 3% in scale cannot get much closer.
    difference = np.mean(np.abs(on_chips - on_crops))
    assert difference <= 1.0, f"mean |crop - chip| = {difference:.2f} years"
