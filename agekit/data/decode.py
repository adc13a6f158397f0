"""Reading, checking, decoding and resizing images (numpy + OpenCV, called by tf.data).

`make_dataset` hands these functions chunks of row indices through `tf.numpy_function`,
so each call decodes a few dozen images: OpenCV releases the GIL while it decodes and
resamples, so the chunks run in parallel on every core. Measured during development
on the 2-core CI machine (CPU time per 200x200 JPEG made 224x224): `tf.image.resize`
0.46 ms against 0.08 ms for `cv2.resize`, `ImageProjectiveTransformV3` about 1 ms
against 0.2-0.3 ms for `cv2.warpAffine`, and a `tf.numpy_function` call per image
about 0.5 ms of overhead, more than the decoding itself (0.15-0.2 ms). The end-to-end
comparison is `benchmarks/bench_pipeline.py`.

Every image is decoded by `agekit.images.decode_image` and resized by
`agekit.images.fit_to`, the same functions prediction, evaluation and explanation use,
so a file gives the same pixels whichever way it reaches a model:

- `uint8` `(height, width, 3)` RGB: greyscale copied to three channels, an alpha channel
  composited over black, 16-bit images divided by 257 and rounded, a JPEG's EXIF
  orientation applied;
- `color="grayscale"` gives one channel (ITU-R 601 luma, 0.299 R + 0.587 G +
  0.114 B); `"grayscale_rgb"` repeats it in three channels. agekit models take RGB and
  convert inside themselves (`agekit.models.Preprocess`), so the default is `"rgb"`.

Before decoding, the raw bytes are checked (empty, unknown format, truncated: a JPEG
without its end-of-image marker, a PNG without `IEND`, a BMP shorter than its header
says), so that a cut file is reported as truncated whatever a decoder would make of
it (some libjpeg builds return the image with its missing rows grey, without error).
"""

import os

import numpy as np

from agekit._validation import fail
from agekit.images import (
    EMPTY,
    RESIZE_MODES,
    TRUNCATED,
    UNKNOWN,
    check_bytes,
    convert_color,
    decode_image,
    fit_to,
    size_pair,
)

COLORS = ("rgb", "grayscale", "grayscale_rgb")
_TAIL = 64  # bytes `check_bytes` searches for an end marker

# Reason codes (see agekit.data.skipped.REASONS).
OK, EMPTY_FILE, UNKNOWN_FORMAT, TRUNCATED_FILE, MISSING, UNDECODABLE = range(6)
_REASON_CODES = {None: OK, EMPTY: EMPTY_FILE, UNKNOWN: UNKNOWN_FORMAT, TRUNCATED: TRUNCATED_FILE}


def image_size_pair(image_size):
    """`224` or `(224, 224)` -> `(224, 224)`, validated (`agekit.images.size_pair`)."""
    return size_pair(image_size)


def check_options(*, image_size, resize, color):
    """Validate the decoding options at the public boundary."""
    image_size_pair(image_size)
    if resize not in RESIZE_MODES:
        fail(f"resize to be one of {RESIZE_MODES}", "resize", resize)
    if color not in COLORS:
        fail(f"color to be one of {COLORS}", "color", color)


def check_image_bytes(data: bytes) -> int:
    """Reason code for raw file bytes: OK (0), EMPTY, UNKNOWN or TRUNCATED.

    Example:
        >>> check_image_bytes(b"\\xff\\xd8\\xff\\xe0 ... cut")  # no end-of-image marker
        3
    """
    return _REASON_CODES[check_bytes(data)]


def check_file(path) -> int:
    """Reason code for a file from its first and last bytes only (cheap: two small reads).

    OK (0), MISSING, EMPTY, UNKNOWN or TRUNCATED; a file that passes may still fail to
    decode (a corrupted middle), which `read_and_decode` reports.

    Example:
        >>> check_file("/no/such/file.jpg") == MISSING
        True
    """
    try:
        with open(path, "rb") as file:
            head = file.read(16)
            size = file.seek(0, os.SEEK_END)
            if size <= 16 + _TAIL:
                file.seek(0)
                return check_image_bytes(file.read())
            file.seek(size - _TAIL)
            tail = file.read(_TAIL)
    except OSError:
        return MISSING
    if head[:2] == b"BM":  # BMP: compare the size its header gives with the file's
        return OK if size >= int.from_bytes(head[2:6], "little") else TRUNCATED_FILE
    return check_image_bytes(head + b"\0" * _TAIL + tail)


def decode_bytes(data: bytes, *, color: str = "rgb") -> np.ndarray | None:
    """Decode checked file bytes to a `uint8` image, or None if OpenCV cannot.

    Args:
        data: The file's bytes.
        color: `"rgb"`, `"grayscale"` or `"grayscale_rgb"`.

    Returns:
        `uint8` array `(height, width, 3)` (RGB), `(height, width, 1)` for
        `"grayscale"`, or None.

    Example:
        >>> from agekit.images import encode_image
        >>> decode_bytes(encode_image(np.zeros((20, 20, 3), np.uint8), ".png")).shape
        (20, 20, 3)
    """
    try:
        return convert_color(decode_image(data), color)
    except ValueError:
        return None


def resize_image(image: np.ndarray, *, image_size=224, resize: str = "stretch") -> np.ndarray:
    """Resize a `uint8` image: `"stretch"`, or `"pad"` (aspect kept, black borders).

    The one rule of `agekit.images.fit_to`: area averaging when shrinking on both axes,
    bilinear interpolation otherwise.

    Example:
        >>> resize_image(np.zeros((100, 50, 3), np.uint8), image_size=64, resize="pad").shape
        (64, 64, 3)
    """
    return fit_to(image, image_size, resize=resize)


def read_and_decode(path, *, color: str = "rgb") -> tuple:
    """Read one file: `(image or None, reason code)`; never raises on bad files.

    Example:
        >>> import tempfile
        >>> import numpy as np
        >>> from agekit.images import write_image
        >>> path = write_image(f"{tempfile.mkdtemp()}/face.png", np.zeros((20, 30, 3), "uint8"))
        >>> image, reason = read_and_decode(path)
        >>> image.shape, reason  # 0: read (agekit.data.skipped.REASONS for the others)
        ((20, 30, 3), 0)
        >>> read_and_decode("/nowhere/face.jpg")
        (None, 4)
    """
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError:
        return None, MISSING
    reason = check_image_bytes(data)
    if reason != OK:
        return None, reason
    image = decode_bytes(data, color=color)
    return (None, UNDECODABLE) if image is None else (image, OK)
