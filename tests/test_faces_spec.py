"""CropSpec: validation, JSON round trip, coercion; cut_face / face_crops by a spec."""

import json

import numpy as np
import pytest

from agekit.faces import (
    CropSpec,
    FaceBox,
    crop_face,
    crop_spec,
    cut_face,
    cut_faces,
    cut_photos,
    face_crops,
)


@pytest.mark.parametrize("spec", [
    CropSpec(template="utkface"),
    CropSpec(template="utkface", detector="cnn", upsample=1, max_side=512, size=64, pad="reflect"),
    CropSpec(margin="loose", points=5, detector="cnn"),
    CropSpec(margin=0.25, align=False, detector="hog"),
    CropSpec(margin="raw", align=False),
])
def test_a_spec_round_trips_through_json(spec):
    data = json.loads(json.dumps(spec.to_dict()))
    assert CropSpec.from_dict(data) == spec
    assert crop_spec(data) == spec
    assert crop_spec(spec) is spec


def test_to_dict_holds_every_field():
    assert CropSpec(template="utkface").to_dict() == {
        "template": "utkface", "margin": None, "align": True, "points": 68, "detector": "auto",
        "upsample": 0, "max_side": None, "size": None, "pad": "constant",
    }
    # Numbers come back as plain Python numbers, ready for json.dumps.
    spec = CropSpec(margin=np.float32(0.5), size=np.int64(32), align=False)
    assert type(spec.margin) is float and type(spec.size) is int


def test_crop_spec_from_names_and_numbers():
    assert crop_spec("utkface") == CropSpec(template="utkface")
    assert crop_spec("tight") == CropSpec(margin="tight")
    assert crop_spec(0.3) == CropSpec(margin=0.3)
    assert crop_spec("raw") == CropSpec(margin="raw", align=False)
    with pytest.raises(TypeError, match=r"Expected a CropSpec, its dict, .* Received: crop=None"):
        crop_spec(None)
    with pytest.raises(ValueError, match=r"Expected `margin` in .* Received: margin='wide'"):
        crop_spec("wide")


@pytest.mark.parametrize("kwargs, message", [
    ({}, r"exactly one of `template` and `margin`. Received: \(template, margin\)=\[None, None\]"),
    ({"template": "utkface", "margin": "tight"}, r"exactly one of `template` and `margin`"),
    ({"template": "imdb"}, r"Expected `template` in \('utkface',\). Received: template='imdb'"),
    ({"template": "utkface", "align": False}, r"align=True with a template"),
    ({"template": "utkface", "points": 5}, r"points=68 with a template"),
    ({"margin": -0.1}, r"Expected `margin` as a number >= 0. Received: margin=-0.1"),
    ({"margin": "raw"}, r"align=False with margin='raw'"),
    ({"margin": "tight", "points": 12}, r"Expected `points` in \(5, 68\). Received: points=12"),
    ({"margin": "tight", "detector": "mtcnn"}, r"Expected `detector` in \('auto', 'cnn', 'hog'\)"),
    ({"margin": "tight", "upsample": 5}, r"Received: upsample=5"),
    ({"margin": "tight", "max_side": 8}, r"Received: max_side=8"),
    ({"margin": "tight", "size": 0}, r"Received: size=0"),
    ({"margin": "tight", "pad": "wrap"}, r"Expected `pad` in \('constant', 'reflect'\)"),
])
def test_bad_specs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CropSpec(**kwargs)


def test_from_dict_refuses_unknown_fields():
    with pytest.raises(ValueError, match=r"Expected crop fields among .* Received: unknown fields=\['scale'\]"):
        CropSpec.from_dict({"template": "utkface", "scale": 2})
    with pytest.raises(TypeError, match=r"Expected a dict"):
        CropSpec.from_dict("utkface")
    assert CropSpec.from_dict({"margin": "tight"}).align is True  # missing fields: defaults


def test_a_margin_spec_cuts_what_crop_face_cuts():
    image = np.random.default_rng(0).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    box = FaceBox(30, 20, 70, 60)
    spec = CropSpec(margin="loose", align=False, size=24)
    np.testing.assert_array_equal(cut_face(image, box, spec), crop_face(image, box, margin="loose", size=24))
    np.testing.assert_array_equal(face_crops(image, [box], crop=spec)[0], cut_face(image, box, spec))
    with pytest.raises(ValueError, match=r"either `crop` or `align` / `margin` / `size`"):
        face_crops(image, [box], crop=spec, margin="tight")
    # "raw": the whole image, padded square, whatever the box.
    boxes, crops = cut_faces(image, "raw")
    assert boxes == [FaceBox(0, 0, 120, 90)] and crops[0].shape == (120, 120, 3)


def test_cut_photos_reports_every_photo_in_order(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    blank = np.zeros((40, 40, 3), np.uint8)
    results = list(cut_photos([blank, tmp_path / "notes.txt", tmp_path / "missing.jpg"], "tight"))
    assert [r.status for r in results] == ["no_face", "unreadable", "missing"]
    assert results[0].source == 0 and results[1].source == str(tmp_path / "notes.txt")
    assert results[1].error.startswith("Expected") and results[0].crops == ()
    with pytest.raises(ValueError, match=r"Received: workers=0"):
        list(cut_photos([blank], "tight", workers=0))
    with pytest.raises(TypeError, match=r"not one path"):
        list(cut_photos("photo.jpg"))


@pytest.mark.real_data
def test_threads_and_processes_cut_what_one_worker_cuts(shared_data):
    photos = sorted((shared_data / "fgnet" / "images").iterdir())[:6]
    serial = list(cut_photos(photos, "utkface"))
    assert [r.status for r in serial] == ["ok"] * 6
    for parallel in (list(cut_photos(photos, "utkface", workers=2)),
                     list(cut_photos(photos[:2], "utkface", workers=2, processes=True))):
        for one, other in zip(serial, parallel):
            assert one.source == other.source == str(photos[serial.index(one)])
            assert one.boxes == other.boxes
            np.testing.assert_array_equal(one.crops[0], other.crops[0])
