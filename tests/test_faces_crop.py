"""crop_face, FaceBox and primary_face on synthetic images, against numpy slicing / np.pad."""

import numpy as np
import pytest

from agekit.faces import MARGINS, FaceBox, crop_face, primary_face


def _image(height=100, width=80):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_margin_presets_are_documented_fractions():
    assert MARGINS == {"tight": 0.0, "loose": 0.4, "very_loose": 1.0}


def test_tight_crop_is_the_box():
    image = _image()
    crop = crop_face(image, FaceBox(20, 30, 60, 70), margin="tight")
    np.testing.assert_array_equal(crop, image[30:70, 20:60])


def test_loose_crop_adds_40_percent_on_each_side():
    image = _image()
    # box 40 px, side 40 * (1 + 2 * 0.4) = 72 around the centre (40, 50)
    crop = crop_face(image, FaceBox(20, 30, 60, 70), margin="loose")
    np.testing.assert_array_equal(crop, image[14:86, 4:76])


def test_rectangular_box_gives_a_square_on_its_longer_side():
    image = _image()
    crop = crop_face(image, FaceBox(30, 20, 50, 60), margin=0.25)  # 20 x 40 box
    # side 40 * 1.5 = 60 around (40, 40)
    np.testing.assert_array_equal(crop, image[10:70, 10:70])


@pytest.mark.parametrize("pad, mode", [("constant", "constant"), ("reflect", "reflect")])
@pytest.mark.parametrize("box", [
    FaceBox(-10, -5, 30, 35),       # over the top-left corner
    FaceBox(60, 80, 100, 120),      # over the bottom-right corner
    FaceBox(-30, 10, 110, 150),     # wider and taller than the image
    FaceBox(150, 150, 170, 170),    # entirely outside
])
def test_outside_the_image_is_padded_not_shifted(pad, mode, box):
    image = _image()
    crop = crop_face(image, box, margin="loose", pad=pad)
    side = round(max(box.width, box.height) * 1.8)
    left = int(np.floor(box.center[0] - side / 2 + 0.5))
    top = int(np.floor(box.center[1] - side / 2 + 0.5))
    big = 400
    reference = np.pad(image, ((big, big), (big, big), (0, 0)), mode=mode)
    np.testing.assert_array_equal(crop, reference[big + top:big + top + side, big + left:big + left + side])


def test_raw_pads_the_whole_image_to_a_centred_square():
    image = _image(100, 80)
    crop = crop_face(image, None, margin="raw")
    assert crop.shape == (100, 100, 3)
    np.testing.assert_array_equal(crop[:, 10:90], image)
    assert crop[:, :10].max() == 0 and crop[:, 90:].max() == 0


def test_size_resizes_and_accepts_greyscale():
    crop = crop_face(_image()[..., 0], FaceBox(20, 30, 60, 70), margin="very_loose", size=32)
    assert crop.shape == (32, 32, 3) and crop.dtype == np.uint8
    uniform = np.full((50, 50, 3), 77, np.uint8)
    assert np.all(crop_face(uniform, FaceBox(10, 10, 40, 40), margin="tight", size=97) == 77)


def test_crop_errors():
    image, box = _image(), FaceBox(20, 30, 60, 70)
    with pytest.raises(ValueError, match=r"Expected `margin` in .* Received: margin='huge'"):
        crop_face(image, box, margin="huge")
    with pytest.raises(ValueError, match=r"Expected `margin` as a number >= 0. Received: margin=-0.1"):
        crop_face(image, box, margin=-0.1)
    with pytest.raises(ValueError, match=r"Expected `pad` in .* Received: pad='wrap'"):
        crop_face(image, box, pad="wrap")
    with pytest.raises(ValueError, match="Received: size=0"):
        crop_face(image, box, size=0)
    with pytest.raises(TypeError, match="Expected `box` as a FaceBox"):
        crop_face(image, (20, 30, 60, 70))


def test_facebox_geometry_and_validation():
    a, b = FaceBox(0, 0, 10, 10, 1.0), FaceBox(5, 0, 15, 10)
    assert a.iou(b) == pytest.approx(50 / 150)
    assert a.iou(FaceBox(20, 20, 30, 30)) == 0.0
    assert a.scaled(2.0) == FaceBox(0, 0, 20, 20, 1.0)
    assert (a.width, a.height, a.area, a.center) == (10.0, 10.0, 100.0, (5.0, 5.0))
    with pytest.raises(ValueError, match="right > left and bottom > top"):
        FaceBox(10, 0, 5, 10)
    with pytest.raises(ValueError, match="finite"):
        FaceBox(0, 0, float("nan"), 10)


def test_primary_face_rules():
    small_sure = FaceBox(0, 0, 10, 10, 3.0)
    big_unsure = FaceBox(50, 50, 90, 90, 0.2)
    middle = FaceBox(45, 45, 55, 55, 1.0)
    faces = [small_sure, big_unsure, middle]
    assert primary_face(faces) == big_unsure
    assert primary_face(faces, rule="score") == small_sure
    assert primary_face(faces, rule="center", image_shape=(100, 100, 3)) == middle
    assert primary_face([]) is None
    with pytest.raises(ValueError, match="Received: rule='first'"):
        primary_face(faces, rule="first")
    with pytest.raises(ValueError, match="image_shape"):
        primary_face(faces, rule="center")
