"""The one way agekit reads images: any file, bytes or array -> RGB uint8 -> a model's size.

Training (`agekit.data.make_dataset`), evaluation, prediction and explanation all read
through this module, so the same file gives the model the same pixels whichever entry
point it came through:

- `decode_image(bytes)` / `read_image(path)` / `load_image(path | bytes | array)`:
  greyscale, RGB, RGBA (alpha composited over black), BGR files (OpenCV's decode order
  is converted), 16-bit and float images all come back as `(height, width, 3)` uint8
  arrays in RGB order; a JPEG's EXIF orientation is applied, so a phone photo comes back
  upright.
- `fit_to(image, size)`: the one resize rule. Area averaging when the image shrinks
  on both axes (no aliasing), bilinear interpolation otherwise (enlarging, or shrinking
  on one axis only); `resize="pad"` keeps the aspect ratio with black borders.
- `model_batch(images, card)`: a list of any of the above -> the float32 batch a model
  described by an `agekit.models.ModelCard` takes (RGB in [0, 255] at its input size;
  agekit models scale inside themselves, see `agekit.models.Preprocess`).

Bad files fail clearly: a missing file raises `FileNotFoundError`; an empty, unknown or
truncated file raises `ValueError` (a truncated JPEG decodes to a half-grey picture in
most readers: here it is an error, never used silently).
"""

import os
from pathlib import Path

import cv2
import numpy as np

from agekit._validation import fail
from agekit.errors import InvalidTypeError, InvalidValueError, MissingFileError

_MODES = ("rgb", "grey")
RESIZE_MODES = ("stretch", "pad")
_TAIL = 64  # bytes searched for an end marker after trailing padding

# Why raw bytes cannot be used (`check_bytes`); None means they look complete.
EMPTY, UNKNOWN, TRUNCATED = "empty", "unknown format", "truncated"


def check_bytes(data: bytes) -> str | None:
    """Why an image file's bytes cannot be decoded, or None when they look complete.

    A JPEG must end with its end-of-image marker, a PNG with its `IEND` chunk, a BMP must
    be as long as its header says; GIF, WebP and TIFF are left to the decoder.

    Example:

    >>> check_bytes(b"\\xff\\xd8\\xff\\xe0 ... cut")   # no end-of-image marker
    'truncated'
    >>> check_bytes(b"") is None
    False
    """
    if not data:
        return EMPTY
    if data[:3] == b"\xff\xd8\xff":  # JPEG: ends with the EOI marker FF D9
        return None if data.endswith(b"\xff\xd9") or b"\xff\xd9" in data[-_TAIL:] else TRUNCATED
    if data[:8] == b"\x89PNG\r\n\x1a\n":  # PNG: ends with the IEND chunk
        return None if b"IEND" in data[-_TAIL:] else TRUNCATED
    if data[:2] == b"BM":  # BMP: the header holds the file size
        return None if len(data) >= int.from_bytes(data[2:6], "little") else TRUNCATED
    if data[:4] in (b"GIF8", b"RIFF") or data[:2] in (b"II", b"MM"):  # GIF, WebP, TIFF
        return None
    return UNKNOWN


def decode_image(data: bytes, *, source: str = "bytes") -> np.ndarray:
    """Decode an image file's bytes to a `(height, width, 3)` RGB uint8 array.

    Args:
        data: The file's bytes (JPEG, PNG, BMP, TIFF, WebP, ...: what OpenCV decodes).
        source: Where the bytes came from, for error messages.

    Returns:
        RGB uint8. 16-bit images are scaled to 8 bits (/257, rounded), float images
        stretched to [0, 255], an alpha channel is composited over black, greyscale
        is copied to three channels, a JPEG's EXIF orientation is applied.

    Raises:
        ValueError: the bytes are empty, not an image, or a truncated file.

    Example:

    >>> decode_image(encode_image(np.zeros((2, 3, 3), "uint8"), ".png")).shape
    (2, 3, 3)
    """
    reason = check_bytes(data)
    if reason == EMPTY:
        raise InvalidValueError(f"Expected a non-empty image file. Received: {source}")
    if reason == TRUNCATED:
        raise InvalidValueError(f"Expected a complete image file (it ends before its end marker: "
                         f"truncated). Received: {source}")
    image = None
    if reason is None:
        # JPEG: decoded straight to RGB with its EXIF orientation applied (libjpeg writes
        # RGB itself: no channel swap, no copy); others: keep alpha and depth.
        is_jpeg = data[:3] == b"\xff\xd8\xff"
        flags = cv2.IMREAD_COLOR_RGB if is_jpeg else cv2.IMREAD_UNCHANGED
        try:
            image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
        except cv2.error:
            image = None
        if image is not None and is_jpeg:
            return image
    if image is None or image.size == 0 or not (
        image.dtype in (np.uint8, np.uint16) or np.issubdtype(image.dtype, np.floating)
    ):
        raise InvalidValueError(f"Expected a readable image file. Received: {source}")
    if image.ndim == 3 and image.shape[2] == 2:  # grey + alpha: as RGBA
        image = np.concatenate([np.repeat(image[:, :, :1], 3, axis=2), image[:, :, 1:]], axis=2)
    elif image.ndim == 3:
        image = _bgr_to_rgb(image)
    if np.issubdtype(image.dtype, np.floating):  # EXR / TIFF floats of any range
        image = cv2.normalize(image, None, 0, 1, cv2.NORM_MINMAX)
    return as_rgb(image)


def read_image(path: str | os.PathLike, *, mode: str = "rgb") -> np.ndarray:
    """Read an image file as a uint8 array in RGB order (or greyscale).

    Args:
        path: the image file (see `decode_image` for the formats and conversions).
        mode: `"rgb"` for a `(height, width, 3)` array in RGB order, `"grey"` for a
            `(height, width)` array (ITU-R 601 luma).

    Returns:
        A uint8 array.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is empty, not an image, or truncated.

    Example:

    >>> import cv2, numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "red.png")
    >>> _ = cv2.imwrite(path, np.dstack([np.zeros((4, 4)), np.zeros((4, 4)),
    ...                                  np.full((4, 4), 255)]).astype("uint8"))
    >>> read_image(path)[0, 0].tolist()   # the file holds BGR (0, 0, 255): red
    [255, 0, 0]
    """
    if mode not in _MODES:
        fail(f"`mode` in {_MODES}", "mode", mode)
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"Expected an existing image file. Received: path={str(path)!r}")
    image = decode_image(path.read_bytes(), source=f"path={str(path)!r}")
    if mode == "grey":
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return image


def load_image(image) -> np.ndarray:
    """Any image as RGB uint8: a path, a file's bytes, or an array (see `as_rgb`).

    Example:

    >>> load_image(np.zeros((4, 4), "uint16")).shape   # 16-bit greyscale array
    (4, 4, 3)
    """
    if isinstance(image, (str, os.PathLike)):
        return read_image(image)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return decode_image(bytes(image))
    if isinstance(image, np.ndarray) or hasattr(image, "__array__"):
        return as_rgb(np.asarray(image))
    return fail("an image path, bytes or an array", "image", type(image).__name__, error=TypeError)


def fit_to(image: np.ndarray, size, *, resize: str = "stretch") -> np.ndarray:
    """Resize an RGB (or one-channel) uint8 image to `size`, the one rule agekit uses.

    Area averaging when the image shrinks on both axes, bilinear interpolation
    otherwise; an image already of that size is returned as it is.

    Args:
        image: `(h, w, channels)` uint8.
        size: `(height, width)` or one int for a square.
        resize: `"stretch"` (fill the size) or `"pad"` (aspect ratio kept, centred,
            black borders).

    Example:

    >>> fit_to(np.zeros((100, 50, 3), np.uint8), 64, resize="pad").shape
    (64, 64, 3)
    """
    height, width = size_pair(size)
    if resize not in RESIZE_MODES:
        fail(f"resize to be one of {RESIZE_MODES}", "resize", resize)
    if image.ndim == 2:
        image = image[:, :, None]
    h, w = image.shape[:2]
    if resize == "pad":
        scale = min(height / h, width / w)
        new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
        out = np.zeros((height, width, image.shape[2]), np.uint8)
        top, left = (height - new_h) // 2, (width - new_w) // 2
        out[top : top + new_h, left : left + new_w] = _resize(image, new_h, new_w)
        return out
    return _resize(image, height, width)


def _resize(image, height, width):
    if image.shape[:2] == (height, width):
        return image
    shrink = image.shape[0] > height and image.shape[1] > width
    out = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return out.reshape(height, width, image.shape[2])


def size_pair(size) -> tuple[int, int]:
    """`224` or `(224, 224)` -> `(224, 224)`, validated.

    Example:

    >>> size_pair(64)
    (64, 64)
    """
    pair = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if len(pair) != 2 or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0
                                 for s in pair):
        fail("a positive int or a (height, width) pair of ints", "image_size", size)
    return int(pair[0]), int(pair[1])


def convert_color(image: np.ndarray, color: str = "rgb") -> np.ndarray:
    """An RGB uint8 image in a colour mode: `"rgb"` (unchanged), `"grayscale"`
    (`(h, w, 1)`, ITU-R 601 luma as OpenCV rounds it) or `"grayscale_rgb"` (that grey
    in three channels).

    Example:

    >>> convert_color(np.full((2, 2, 3), 100, np.uint8), "grayscale").shape
    (2, 2, 1)
    """
    if color == "rgb":
        return image
    if color not in ("grayscale", "grayscale_rgb"):
        fail("color to be one of ('rgb', 'grayscale', 'grayscale_rgb')", "color", color)
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[:, :, None]
    return grey if color == "grayscale" else np.repeat(grey, 3, axis=2)


def model_batch(images, card) -> np.ndarray:
    """Images as the input batch of the model a card describes.

    Each image is loaded (`load_image`: a path, bytes or an array of any colour type
    and depth), fitted to the card's input size (`fit_to`, the card's `resize`) and
    stacked as float32 RGB in [0, 255]: what every agekit model takes, since it converts
    and scales inside itself. A plain Keras model described with
    `agekit.models.describe` gets its colour conversion and preprocessing here instead,
    in the order the input pipeline applies them (colour, resize, scaling).

    Args:
        images: A path, bytes, an array (one `(h, w[, c])` image or a `(n, h, w, c)`
            batch), or a list of them.
        card: An `agekit.models.ModelCard`.

    Returns:
        float32 `(n, height, width, channels)`.

    Example:

    >>> from agekit.models.card import ModelCard
    >>> model_batch([np.zeros((10, 10), "uint8")], ModelCard(input_size=(4, 4))).shape
    (1, 4, 4, 3)
    """
    if isinstance(images, (str, os.PathLike, bytes, bytearray)):
        images = [images]
    elif isinstance(images, np.ndarray):
        images = list(images) if images.ndim == 4 else [images]
    color = "rgb" if card.in_model else card.color
    channels = 1 if color == "grayscale" else 3
    out = np.empty((len(images), *card.input_size, channels), np.float32)
    for i, image in enumerate(images):
        out[i] = fit_to(convert_color(load_image(image), color), card.input_size, resize=card.resize)
    if card.in_model or card.preprocess == "none":
        return out
    from agekit.data.preprocess import preprocess_images

    return np.asarray(preprocess_images(out, card.preprocess), np.float32)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """An in-memory image (RGB order assumed) as a `(height, width, 3)` uint8 array.

    Args:
        image: `(h, w)` greyscale, `(h, w, 1)`, `(h, w, 3)` RGB or `(h, w, 4)` RGBA;
            uint8, uint16 (scaled by 1/257), bool, or float in [0, 1] (scaled by 255).

    Returns:
        A contiguous uint8 array of shape `(h, w, 3)`; the input itself when it is
        already one.

    Example:

    >>> as_rgb(np.zeros((2, 3), dtype="uint16")).shape
    (2, 3, 3)
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise InvalidValueError(
            "Expected an image of shape (h, w), (h, w, 1), (h, w, 3) or (h, w, 4). "
            f"Received: image.shape={image.shape}"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InvalidValueError(f"Expected a non-empty image. Received: image.shape={image.shape}")
    image = _to_uint8(image)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    elif image.shape[2] == 4:
        alpha = image[:, :, 3:].astype(np.float32) / 255.0
        image = np.rint(image[:, :, :3] * alpha).astype(np.uint8)
    return np.ascontiguousarray(image)


def _to_uint8(image):
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.bool_:
        return image.astype(np.uint8) * 255
    if image.dtype == np.uint16:
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        scaled = np.nan_to_num(image.astype(np.float32), nan=0.0) * 255.0
        return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    raise InvalidTypeError(
        "Expected an image of dtype uint8, uint16, bool or float. "
        f"Received: image.dtype={image.dtype}"
    )


def _bgr_to_rgb(image):
    """OpenCV decodes colour as BGR(A); swap to RGB(A) before any other conversion."""
    if image.ndim == 3 and image.shape[2] == 3:
        return image[:, :, ::-1]
    if image.ndim == 3 and image.shape[2] == 4:
        return image[:, :, [2, 1, 0, 3]]
    return image


def write_image(path: str | os.PathLike, image: np.ndarray, *, quality: int = 95) -> Path:
    """Write an RGB image atomically: to a temporary name, then renamed into place.

    A reader (or a resumed job) never sees a half-written file under `path`.

    Args:
        path: the destination; its suffix picks the format (`.jpg`, `.png`, ...).
            Parent folders are created.
        image: an RGB(A) or greyscale array (see `as_rgb`).
        quality: JPEG quality (0-100), ignored for other formats.

    Returns:
        `path` as a `Path`.

    Example:

    >>> import tempfile, os
    >>> out = write_image(os.path.join(tempfile.mkdtemp(), "a", "x.png"),
    ...                   np.zeros((2, 2, 3), dtype="uint8"))
    >>> read_image(out).shape
    (2, 2, 3)
    """
    path = Path(path)
    encoded = encode_image(image, path.suffix, quality=quality)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_bytes(encoded)
    os.replace(temp, path)
    return path


def encode_image(image: np.ndarray, suffix: str, *, quality: int = 95) -> bytes:
    """The bytes of an RGB image encoded as `suffix` (`".jpg"`, `".png"`, ...).

    Example:

    >>> encode_image(np.zeros((2, 2, 3), dtype="uint8"), ".png")[:4]
    b'\\x89PNG'
    """
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if suffix.lower() in (".jpg", ".jpeg") else []
    try:
        ok, encoded = cv2.imencode(suffix, as_rgb(image)[:, :, ::-1], params)
    except cv2.error:
        ok = False
    if not ok:
        fail("an image suffix OpenCV can encode (.jpg, .png, ...)", "suffix", suffix)
    return encoded.tobytes()
