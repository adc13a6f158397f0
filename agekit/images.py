"""Reading images from disk as RGB uint8 arrays, whatever their colour type or bit depth.

One reader for all of agekit, so every part of the library sees the same pixels:

- greyscale, RGB, RGBA (alpha composited over black), BGR files (OpenCV's decode order
  is converted) and 16-bit or float images all come back as `(height, width, 3)` uint8
  arrays in RGB order (or `(height, width)` with `mode="grey"`);
- JPEG EXIF orientation is applied, so a phone photo comes back upright;
- a missing file raises `FileNotFoundError`; an unreadable, empty or truncated file
  raises `ValueError` (a truncated JPEG decodes to a half-grey picture in most readers:
  here it is an error, so it is never used silently).
"""

import os
from pathlib import Path

import cv2
import numpy as np

from agekit._validation import fail
from agekit.errors import InvalidTypeError, InvalidValueError, MissingFileError

_MODES = ("rgb", "grey")
_JPEG_MAGIC = b"\xff\xd8"
_JPEG_EOI = b"\xff\xd9"
_JPEG_SOS = b"\xff\xda"


def read_image(path: str | os.PathLike, *, mode: str = "rgb") -> np.ndarray:
    """Read an image file as a uint8 array in RGB order (or greyscale).

    Args:
        path: the image file (JPEG, PNG, BMP, TIFF, WebP, ...: what OpenCV decodes).
        mode: `"rgb"` for a `(height, width, 3)` array in RGB order, `"grey"` for a
            `(height, width)` array.

    Returns:
        A uint8 array. 16-bit images are scaled to 8 bits, float images in [0, 1]
        scaled by 255, and an alpha channel is composited over black.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is empty, not an image, or a truncated JPEG.

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
    data = path.read_bytes()
    if not data:
        raise InvalidValueError(f"Expected a non-empty image file. Received: path={str(path)!r}")
    buffer = np.frombuffer(data, dtype=np.uint8)
    if data.startswith(_JPEG_MAGIC):
        if data.rfind(_JPEG_EOI) < data.rfind(_JPEG_SOS):
            raise InvalidValueError(
                "Expected a complete JPEG file (it ends before its end-of-image marker: "
                f"truncated). Received: path={str(path)!r}"
            )
        # IMREAD_COLOR_RGB applies the EXIF orientation; JPEG has no alpha channel.
        image = cv2.imdecode(buffer, cv2.IMREAD_COLOR_RGB)
    else:
        image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
        if image is not None:
            image = _bgr_to_rgb(image)
    if image is None:
        raise InvalidValueError(f"Expected a readable image file. Received: path={str(path)!r}")
    image = as_rgb(image)
    if mode == "grey":
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return image


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
