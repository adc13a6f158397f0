"""Reading, checking, decoding and resizing images (numpy + OpenCV, called by tf.data).

`make_dataset` hands these functions chunks of row indices through `tf.numpy_function`,
so each call decodes a few dozen images: OpenCV releases the GIL while it decodes and
resamples, so the chunks run in parallel on every core. Measured during development
on the 2-core CI machine (CPU time per 200x200 JPEG made 224x224): `tf.image.resize`
0.46 ms against 0.08 ms for `cv2.resize`, `ImageProjectiveTransformV3` about 1 ms
against 0.2-0.3 ms for `cv2.warpAffine`, and a `tf.numpy_function` call per image
about 0.5 ms of overhead, more than the decoding itself (0.15-0.2 ms). The end-to-end
comparison is `benchmarks/bench_pipeline.py`.

Every image becomes `uint8` `(height, width, 3)` RGB (or `(height, width, 1)`):

- JPEG, PNG, BMP (and whatever else OpenCV reads) are decoded by OpenCV; a JPEG's
  EXIF orientation is applied.
- Greyscale becomes RGB (the grey value in all three channels).
- Conversions are those of `agekit.images.as_rgb`, the same as `agekit.images.read_image`
  and so `agekit.faces`: an alpha channel is composited over black, then dropped;
  16-bit images are scaled to 8 bits by dividing by 257 and rounding (65535 -> 255).
- `color="grayscale"` gives one channel (ITU-R 601 luma, 0.299 R + 0.587 G +
  0.114 B); `"grayscale_rgb"` repeats it in three channels for RGB backbones.

Before decoding, the raw bytes are checked (empty, unknown format, truncated: a JPEG
without its end-of-image marker, a PNG without `IEND`, a BMP shorter than its header
says), so that a cut file is reported as truncated whatever a decoder would make of
it (some libjpeg builds return the image with its missing rows grey, without error).
"""

import cv2
import numpy as np

from agekit._validation import fail
from agekit.images import _bgr_to_rgb, as_rgb

COLORS = ("rgb", "grayscale", "grayscale_rgb")
RESIZE_MODES = ("stretch", "pad")

# Reason codes (see agekit.data.skipped.REASONS).
OK, EMPTY, UNKNOWN, TRUNCATED, MISSING, UNDECODABLE = range(6)
_TAIL = 64  # bytes searched for the end marker after trailing padding


def image_size_pair(image_size):
    """`224` or `(224, 224)` -> `(224, 224)`, validated."""
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
        fail("a positive int or a (height, width) pair of ints", "image_size", image_size)
    return size


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
    if not data:
        return EMPTY
    if data[:3] == b"\xff\xd8\xff":  # JPEG: ends with the EOI marker FF D9
        return OK if data.endswith(b"\xff\xd9") or b"\xff\xd9" in data[-_TAIL:] else TRUNCATED
    if data[:8] == b"\x89PNG\r\n\x1a\n":  # PNG: ends with the IEND chunk
        return OK if b"IEND" in data[-_TAIL:] else TRUNCATED
    if data[:2] == b"BM":  # BMP: the header holds the file size
        return OK if len(data) >= int.from_bytes(data[2:6], "little") else TRUNCATED
    if data[:4] in (b"GIF8", b"RIFF") or data[:2] in (b"II", b"MM"):  # GIF, WebP, TIFF
        return OK  # left to the decoder: a failure is still skipped and recorded
    return UNKNOWN


def decode_bytes(data: bytes, *, color: str = "rgb") -> np.ndarray | None:
    """Decode checked file bytes to a `uint8` image, or None if OpenCV cannot.

    Args:
        data: The file's bytes.
        color: `"rgb"`, `"grayscale"` or `"grayscale_rgb"`.

    Returns:
        `uint8` array `(height, width, 3)` (RGB), `(height, width, 1)` for
        `"grayscale"`, or None.

    Example:
        >>> decode_bytes(open("face.jpg", "rb").read()).shape
        (200, 200, 3)
    """
    # JPEG: apply the EXIF orientation (phone photos); others: keep alpha and depth.
    is_jpeg = data[:3] == b"\xff\xd8\xff"
    flags = cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH if is_jpeg else cv2.IMREAD_UNCHANGED
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None or image.size == 0:
        return None
    if image.ndim == 3 and image.shape[2] == 2:  # grey + alpha: as RGBA
        image = cv2.cvtColor(image[:, :, :1], cv2.COLOR_GRAY2BGR), image[:, :, 1:]
        image = np.concatenate(image, axis=2)
    if image.dtype not in (np.uint8, np.uint16) and not np.issubdtype(image.dtype, np.floating):
        return None
    if np.issubdtype(image.dtype, np.floating):  # EXR / TIFF floats of any range
        image = cv2.normalize(image, None, 0, 1, cv2.NORM_MINMAX)
    grey = image.ndim == 2 or image.shape[2] == 1
    # One conversion for all of agekit (agekit.images.as_rgb): 16-bit / 257, alpha
    # composited over black, greyscale copied to three channels.
    rgb = as_rgb(image if grey else _bgr_to_rgb(image))
    grey = rgb[:, :, :1] if grey else None
    if color == "rgb":
        return rgb if rgb is not None else np.repeat(grey, 3, axis=2)
    if grey is None:
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[:, :, None]
    return grey if color == "grayscale" else np.repeat(grey, 3, axis=2)


def resize_image(image: np.ndarray, *, image_size=224, resize: str = "stretch") -> np.ndarray:
    """Resize a `uint8` image: `"stretch"`, or `"pad"` (aspect kept, black borders).

    Shrinking uses area averaging (no aliasing), enlarging bilinear interpolation.

    Example:
        >>> resize_image(np.zeros((100, 50, 3), np.uint8), image_size=64, resize="pad").shape
        (64, 64, 3)
    """
    height, width = image_size_pair(image_size)
    h, w = image.shape[:2]
    if resize == "pad":
        scale = min(height / h, width / w)
        new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
        inner = _resize(image, new_h, new_w)
        out = np.zeros((height, width, image.shape[2]), np.uint8)
        top, left = (height - new_h) // 2, (width - new_w) // 2
        out[top : top + new_h, left : left + new_w] = inner
        return out
    return _resize(image, height, width)


def _resize(image, height, width):
    if image.shape[:2] == (height, width):
        return image
    shrink = image.shape[0] > height and image.shape[1] > width
    out = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return out.reshape(height, width, image.shape[2])


def read_and_decode(path, *, color: str = "rgb") -> tuple:
    """Read one file: `(image or None, reason code)`; never raises on bad files.

    Example:
        >>> image, reason = read_and_decode("/data/face.jpg")
    """
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError:
        return None, MISSING
    reason = check_image_bytes(data)
    if reason != OK:
        return None, reason
    try:
        image = decode_bytes(data, color=color)
    except cv2.error:
        image = None
    return (None, UNDECODABLE) if image is None else (image, OK)
