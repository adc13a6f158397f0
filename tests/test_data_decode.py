"""Checking, decoding, resizing and preprocessing (agekit.data.decode / preprocess)."""

import cv2
import keras
import numpy as np
import pytest

from agekit.data import (
    PREPROCESSING,
    check_image_bytes,
    decode_bytes,
    preprocess_images,
    read_and_decode,
    resize_image,
)


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)


def encode(ext, image, *params):
    ok, buffer = cv2.imencode(ext, image, list(params))
    assert ok
    return buffer.tobytes()


def test_complete_files_pass_the_check_and_cut_or_foreign_files_do_not():
    bgr = np.random.randint(0, 255, (24, 24, 3), np.uint8)
    for ext in (".jpg", ".png", ".bmp"):
        data = encode(ext, bgr)
        assert check_image_bytes(data) == 0, ext
        assert check_image_bytes(data[: len(data) // 2]) == 3, ext  # truncated
    jpeg = encode(".jpg", bgr)
    assert check_image_bytes(jpeg + b"\0" * 10) == 0  # trailing padding is fine
    assert check_image_bytes(b"") == 1
    assert check_image_bytes(b"name,age\nx.jpg,3\n") == 2


def test_jpeg_png_bmp_decode_to_rgb_uint8():
    bgr = np.zeros((8, 10, 3), np.uint8)
    bgr[..., 0] = 200  # blue
    for ext in (".png", ".bmp"):
        image = decode_bytes(encode(ext, bgr))
        assert image.dtype == np.uint8 and image.shape == (8, 10, 3)
        assert image[0, 0].tolist() == [0, 0, 200]  # RGB order
    jpeg = decode_bytes(encode(".jpg", bgr, cv2.IMWRITE_JPEG_QUALITY, 100))
    assert np.abs(jpeg[0, 0].astype(int) - [0, 0, 200]).max() <= 3


def test_greyscale_becomes_three_equal_channels_or_stays_one_on_request():
    grey = np.arange(64, dtype=np.uint8).reshape(8, 8) * 3
    rgb = decode_bytes(encode(".png", grey))
    assert rgb.shape == (8, 8, 3) and np.array_equal(rgb[..., 0], grey)
    assert np.array_equal(rgb[..., 0], rgb[..., 2])
    one = decode_bytes(encode(".png", grey), color="grayscale")
    assert one.shape == (8, 8, 1) and np.array_equal(one[..., 0], grey)
    jpeg = decode_bytes(encode(".jpg", np.full((8, 8), 90, np.uint8)))
    assert jpeg.shape == (8, 8, 3) and np.all(np.abs(jpeg.astype(int) - 90) <= 1)


def test_colour_to_grayscale_uses_the_601_luma_weights():
    bgr = np.zeros((2, 2, 3), np.uint8)
    bgr[..., 2] = 200  # pure red
    one = decode_bytes(encode(".png", bgr), color="grayscale")
    assert one.shape == (2, 2, 1) and abs(int(one[0, 0, 0]) - round(0.299 * 200)) <= 1
    three = decode_bytes(encode(".png", bgr), color="grayscale_rgb")
    assert three.shape == (2, 2, 3) and np.all(three == one)


def test_rgba_is_composited_over_black_as_read_image_does(tmp_path):
    from agekit.images import read_image

    bgra = np.zeros((2, 2, 4), np.uint8)
    bgra[0, 0] = [0, 0, 255, 255]  # opaque red
    bgra[0, 1] = [0, 0, 255, 0]  # transparent red -> black
    bgra[1, 0] = [255, 255, 255, 128]  # half-transparent white -> grey 128
    data = encode(".png", bgra)
    image = decode_bytes(data)
    assert image.shape == (2, 2, 3)
    assert image[0, 0].tolist() == [255, 0, 0]
    assert image[0, 1].tolist() == [0, 0, 0]
    assert image[1, 0].tolist() == [128, 128, 128]
    (tmp_path / "rgba.png").write_bytes(data)
    np.testing.assert_array_equal(image, read_image(tmp_path / "rgba.png"))


def test_sixteen_bit_png_is_divided_by_257():
    values = np.array([[0, 257, 65535, 128 * 257 + 100]], np.uint16)
    image = decode_bytes(encode(".png", values))
    assert image.dtype == np.uint8
    assert image[0, :, 0].tolist() == [0, 1, 255, 128]


def test_read_and_decode_reports_reasons_instead_of_raising(tmp_path):
    good = tmp_path / "good.png"
    good.write_bytes(encode(".png", np.zeros((4, 4, 3), np.uint8)))
    cut = tmp_path / "cut.jpg"
    data = encode(".jpg", np.random.randint(0, 255, (32, 32, 3), np.uint8))
    cut.write_bytes(data[: len(data) // 2])
    assert read_and_decode(str(good))[1] == 0
    assert read_and_decode(str(cut)) == (None, 3)
    assert read_and_decode(str(tmp_path / "absent.jpg")) == (None, 4)


def test_resize_stretch_and_pad():
    image = np.full((10, 20, 3), 200, np.uint8)
    assert resize_image(image, image_size=(6, 8)).shape == (6, 8, 3)
    padded = resize_image(image, image_size=16, resize="pad")
    assert padded.shape == (16, 16, 3)
    # 20 wide -> 16 wide, 10 high -> 8 high, centred: rows 4..11 image, the rest black
    assert np.all(padded[4:12] == 200) and np.all(padded[:4] == 0) and np.all(padded[12:] == 0)


@pytest.mark.parametrize(
    ("mode", "reference"),
    [
        ("vgg16", keras.applications.vgg16.preprocess_input),
        ("caffe", keras.applications.resnet50.preprocess_input),
        ("tf", keras.applications.mobilenet_v2.preprocess_input),
        ("torch", keras.applications.densenet.preprocess_input),
    ],
)
def test_preprocessing_matches_keras_applications(mode, reference):
    images = np.random.randint(0, 256, (2, 5, 5, 3)).astype(np.float32)
    expected = reference(images.copy())
    np.testing.assert_allclose(preprocess_images(images, mode), expected, rtol=1e-5, atol=1e-4)
    # uint8 input (what the pipeline passes) gives the same float32 result
    out = preprocess_images(images.astype(np.uint8), mode)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-4)


def test_simple_modes_and_greyscale_constants():
    images = np.array([[[[0.0], [127.5], [255.0]]]], np.float32)  # (1, 1, 3, 1)
    assert preprocess_images(images, "0-1").ravel().tolist() == [0.0, 0.5, 1.0]
    assert preprocess_images(images, "tf").ravel().tolist() == [-1.0, 0.0, 1.0]
    assert preprocess_images(images, "none").ravel().tolist() == [0.0, 127.5, 255.0]
    grey = preprocess_images(images, "vgg16").ravel()
    np.testing.assert_allclose(grey, [0.0, 127.5, 255.0] - np.mean([103.939, 116.779, 123.68]), rtol=1e-6)
    assert set(PREPROCESSING) >= {"vgg16", "tf", "torch", "0-1", "none"}
    doubled = preprocess_images(np.full((1, 1, 1, 3), 7, np.uint8), lambda x: x * 2)
    assert doubled.dtype == np.float32 and doubled.ravel().tolist() == [14.0] * 3


def test_unknown_preprocessing_is_rejected():
    with pytest.raises(ValueError, match="Expected preprocess to be one of"):
        preprocess_images(np.zeros((1, 1, 3)), "imagenet")


@pytest.mark.parametrize("channels", [1, 3])
def test_preprocess_uint8_is_preprocess_images_in_one_pass(channels):
    from agekit.data.preprocess import (
        PREPROCESSING,
        preprocess_images,
        preprocess_uint8,
    )

    images = np.random.default_rng(0).integers(0, 256, (2, 5, 7, channels), dtype=np.uint8)
    images[0, 0, 0] = 0
    images[0, 0, 1] = 255
    for mode in PREPROCESSING:
        out = preprocess_uint8(images, mode)
        assert out.dtype == np.float32 and out.shape == images.shape
        np.testing.assert_array_equal(out, preprocess_images(images, mode), err_msg=mode)
    assert preprocess_uint8(np.array([[[[0, 0, 255]]]], np.uint8), "vgg16").ravel().tolist() == \
        pytest.approx([255 - 103.939, -116.779, -123.68])  # BGR minus the mean, by hand
    with pytest.raises(ValueError, match="uint8 images and a named mode"):
        preprocess_uint8(images.astype("float32"), "none")
