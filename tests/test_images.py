"""agekit.images: every colour type and bit depth read as RGB uint8; bad files fail clearly."""

import os

import cv2
import numpy as np
import pytest

from agekit.images import as_rgb, encode_image, read_image, write_image


def _pattern(height=6, width=5):
    """An RGB image whose three channels all differ, so a channel swap shows."""
    y, x = np.mgrid[:height, :width]
    return np.dstack([x * 40, y * 30, 255 - x * 10 - y * 5]).astype(np.uint8)


def test_png_is_read_in_rgb_order(tmp_path):
    rgb = _pattern()
    cv2.imwrite(str(tmp_path / "a.png"), rgb[:, :, ::-1])  # OpenCV writes BGR
    out = read_image(tmp_path / "a.png")
    assert out.dtype == np.uint8 and out.shape == (6, 5, 3)
    np.testing.assert_array_equal(out, rgb)


def test_jpeg_is_read_in_rgb_order(tmp_path):
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 255
    cv2.imwrite(str(tmp_path / "red.jpg"), red[:, :, ::-1])
    out = read_image(tmp_path / "red.jpg").astype(int)
    assert out[..., 0].min() > 245 and out[..., 1:].max() < 10


def test_greyscale_becomes_three_equal_channels(tmp_path):
    grey = np.arange(30, dtype=np.uint8).reshape(5, 6) * 8
    cv2.imwrite(str(tmp_path / "g.png"), grey)
    out = read_image(tmp_path / "g.png")
    assert out.shape == (5, 6, 3)
    for channel in range(3):
        np.testing.assert_array_equal(out[..., channel], grey)
    np.testing.assert_array_equal(read_image(tmp_path / "g.png", mode="grey"), grey)


def test_rgba_is_composited_over_black(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., :3] = (200, 100, 50)
    rgba[..., 3] = [[255, 0], [128, 255]]
    cv2.imwrite(str(tmp_path / "a.png"), rgba[:, :, [2, 1, 0, 3]])
    out = read_image(tmp_path / "a.png")
    assert out[0, 0].tolist() == [200, 100, 50]
    assert out[0, 1].tolist() == [0, 0, 0]
    # 200 * 128/255 = 100.4, 100 * 128/255 = 50.2, 50 * 128/255 = 25.1
    assert out[1, 0].tolist() == [100, 50, 25]


def test_16_bit_is_scaled_to_8_bit(tmp_path):
    deep = np.zeros((2, 3, 3), np.uint16)
    deep[0, 0] = (65535, 257 * 100, 0)
    cv2.imwrite(str(tmp_path / "d.png"), deep[:, :, ::-1])
    out = read_image(tmp_path / "d.png")
    assert out.dtype == np.uint8
    assert out[0, 0].tolist() == [255, 100, 0]


def test_as_rgb_conversions():
    assert as_rgb(np.ones((2, 2), bool)).max() == 255
    np.testing.assert_array_equal(as_rgb(np.full((1, 1, 3), 0.5, np.float32)), [[[128, 128, 128]]])
    rgb = _pattern()
    assert as_rgb(rgb) is not None and as_rgb(rgb[..., :1]).shape == (6, 5, 3)
    with pytest.raises(ValueError, match=r"Expected an image of shape .* Received: image.shape=\(2, 2, 2\)"):
        as_rgb(np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(TypeError, match="Received: image.dtype=int64"):
        as_rgb(np.zeros((2, 2), np.int64))
    with pytest.raises(ValueError, match="non-empty"):
        as_rgb(np.zeros((0, 2, 3), np.uint8))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="Expected an existing image file. Received: path="):
        read_image(tmp_path / "nope.jpg")


def test_empty_and_non_image_files(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ValueError, match="non-empty image file"):
        read_image(tmp_path / "empty.jpg")
    with pytest.raises(ValueError, match="readable image file"):
        read_image(tmp_path / "text.png")


def test_truncated_jpeg_is_an_error_not_a_grey_picture(tmp_path):
    data = encode_image(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8), ".jpg")
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(ValueError, match="truncated"):
        read_image(tmp_path / "cut.jpg")
    (tmp_path / "whole.jpg").write_bytes(data)
    assert read_image(tmp_path / "whole.jpg").shape == (64, 64, 3)


def test_bad_mode():
    with pytest.raises(ValueError, match=r"Expected `mode` in \('rgb', 'grey'\). Received: mode='bgr'"):
        read_image("x.jpg", mode="bgr")


def test_write_image_round_trip_leaves_no_temporary_file(tmp_path):
    rgb = _pattern()
    out = write_image(tmp_path / "sub" / "x.png", rgb)
    np.testing.assert_array_equal(read_image(out), rgb)
    assert os.listdir(tmp_path / "sub") == ["x.png"]
    with pytest.raises(ValueError, match="suffix"):
        write_image(tmp_path / "x.nope", rgb)


def test_jpeg_exif_orientation_is_applied(tmp_path):
    """A JPEG tagged 'rotate 90 degrees clockwise' (EXIF orientation 6) comes back upright."""
    import struct

    image = np.zeros((20, 10, 3), np.uint8)
    image[:5] = 255  # white band at the top of the stored pixels
    jpeg = encode_image(image, ".jpg")
    ifd = struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0) + struct.pack(">I", 0)
    exif = b"Exif\x00\x00" + b"MM\x00*" + struct.pack(">I", 8) + ifd
    segment = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    (tmp_path / "turned.jpg").write_bytes(jpeg[:2] + segment + jpeg[2:])
    out = read_image(tmp_path / "turned.jpg")
    assert out.shape == (10, 20, 3)
    assert out[:, -5:].min() > 200 and out[:, :10].max() < 50  # the band is now on the right
