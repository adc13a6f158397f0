"""prepare_dataset records the CropSpec it cut with, and accepts one."""

import json

import numpy as np
import pandas as pd
import pytest

from agekit.faces import CropSpec, FaceBox, cut_face, prepare_dataset, read_manifest
from agekit.images import read_image, write_image


def _one_image(folder):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (120, 100, 3), dtype=np.uint8)
    folder.mkdir()
    write_image(folder / "a.png", image)
    return pd.DataFrame({"path": [str(folder / "a.png")], "face_box": [(20, 30, 60, 70)]})


def test_the_legacy_options_are_recorded_as_a_spec(tmp_path):
    df = _one_image(tmp_path / "src")
    manifest = prepare_dataset(df, tmp_path / "out", use_boxes=True, margin="tight", size=32)
    expected = CropSpec(margin="tight", align=False, points=68, detector="cnn", size=32)
    assert manifest.attrs["crop"] == expected.to_dict()
    assert read_manifest(tmp_path / "out").attrs["crop"] == expected.to_dict()
    assert json.loads((tmp_path / "out" / "settings.json").read_text())["crop"] == expected.to_dict()


def test_a_spec_cuts_every_crop_and_is_recorded(tmp_path):
    df = _one_image(tmp_path / "src")
    spec = CropSpec(margin=0.25, align=False, detector="hog", pad="reflect")
    manifest = prepare_dataset(df, tmp_path / "out", crop=spec, use_boxes=True, size=40, image_format="png")
    assert CropSpec.from_dict(manifest.attrs["crop"]) == spec.replace(size=40)  # the folder's one size
    expected = cut_face(read_image(df.path[0]), FaceBox(20, 30, 60, 70), spec.replace(size=40))
    np.testing.assert_array_equal(read_image(manifest.output[0]), expected)
    # A template keeps its own size; a model card's dict works as well as a spec.
    manifest = prepare_dataset(df, tmp_path / "utk", crop={"template": "utkface"}, use_boxes=True)
    assert manifest.attrs["crop"]["size"] == 200 and read_image(manifest.output[0]).shape == (200, 200, 3)


def test_a_spec_and_the_options_it_replaces_are_not_mixed(tmp_path):
    df = _one_image(tmp_path / "src")
    with pytest.raises(ValueError, match=r"either `crop` or the options it replaces.*\['align', 'margin'\]"):
        prepare_dataset(df, tmp_path / "out", crop="utkface", margin="tight", align=True)
    prepare_dataset(df, tmp_path / "out", crop="tight", use_boxes=True, size=24)
    with pytest.raises(ValueError, match=r"settings of the run being resumed.*\['margin', 'template'\]"):
        prepare_dataset(df, tmp_path / "out", crop=CropSpec(template="utkface", size=24), use_boxes=True)
