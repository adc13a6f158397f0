"""Square face crops with a margin around the detector box, padded (never shifted).

Margins are fractions of the box side added on every side of the face box: a square of
side `max(width, height) * (1 + 2 * margin)` centred on the box centre.

| preset       | margin | what it holds                                              |
| ------------ | ------ | ---------------------------------------------------------- |
| `tight`      | 0.0    | the detector box: the face, some hair                      |
| `loose`      | 0.4    | hair and neck (IMDb-WIKI's published crops add 40%)        |
| `very_loose` | 1.0    | shoulders, clothing and some background (3x the box side)  |
| `raw`        | -      | no crop: the whole image, padded to a square               |

Only `tight` (the bare detector box) is a number the ChaLearn study gives; it describes
its loose and very loose crops in words only, so 0.4 and 1.0 are agekit's guesses.

Where the square leaves the image, the missing part is filled (`pad="constant"`: black,
`pad="reflect"`: mirrored image) with `cv2.copyMakeBorder`, so the face stays centred.
"""

import math

import cv2
import numpy as np

from agekit._validation import fail
from agekit.faces.detect import FaceBox
from agekit.images import as_rgb

MARGINS = {"tight": 0.0, "loose": 0.4, "very_loose": 1.0}
PADS = {"constant": cv2.BORDER_CONSTANT, "reflect": cv2.BORDER_REFLECT_101}


def crop_face(
    image: np.ndarray,
    box: FaceBox | None,
    *,
    margin: str | float = "loose",
    size: int | None = None,
    pad: str = "constant",
) -> np.ndarray:
    """Cut a square crop around a face box.

    Args:
        image: an RGB image (greyscale / RGBA / 16-bit are converted, see `as_rgb`).
        box: the face, in the image's pixels. Ignored (may be `None`) for `"raw"`.
        margin: a preset of `MARGINS` (`"tight"`, `"loose"`, `"very_loose"`), a float
            >= 0 (fraction of the box side added on each side), or `"raw"`.
        size: side of the returned square in pixels (resized with area averaging when
            shrinking, bicubic when enlarging); `None` keeps the crop's own size.
        pad: `"constant"` (black) or `"reflect"` for the part outside the image.

    Returns:
        A `(side, side, 3)` uint8 RGB array.

    Example:

    >>> image = np.zeros((100, 80, 3), dtype="uint8")
    >>> crop_face(image, FaceBox(20, 30, 60, 70), margin="loose").shape
    (72, 72, 3)
    >>> crop_face(image, FaceBox(20, 30, 60, 70), margin="tight", size=32).shape
    (32, 32, 3)
    """
    image = as_rgb(image)
    border = _pad_mode(pad)
    _check_size(size)
    if margin == "raw":
        side = max(image.shape[:2])
        top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
        crop = _cut(image, left, top, side, border)
    else:
        if not isinstance(box, FaceBox):
            fail("`box` as a FaceBox", "box", box, error=TypeError)
        side, left, top = crop_window(box, margin_fraction(margin))
        crop = _cut(image, left, top, side, border)
    return resize_square(crop, size)


def margin_fraction(margin: str | float) -> float:
    """The margin as a fraction of the box side: a preset name or a number >= 0."""
    if isinstance(margin, str):
        if margin not in MARGINS:
            fail(f"`margin` in {sorted(MARGINS) + ['raw']} or a number >= 0", "margin", margin)
        return MARGINS[margin]
    if isinstance(margin, bool) or not isinstance(margin, (int, float, np.number)):
        fail("`margin` as a preset name or a number >= 0", "margin", margin, error=TypeError)
    if not math.isfinite(margin) or margin < 0:
        fail("`margin` as a number >= 0", "margin", margin)
    return float(margin)


def crop_window(box: FaceBox, fraction: float) -> tuple[int, int, int]:
    """`(side, left, top)` of the integer square around `box` with `fraction` margin."""
    side = max(1, round(max(box.width, box.height) * (1 + 2 * fraction)))
    cx, cy = box.center
    return side, math.floor(cx - side / 2 + 0.5), math.floor(cy - side / 2 + 0.5)


def resize_square(crop: np.ndarray, size: int | None) -> np.ndarray:
    """Resize a square crop to `size` (area averaging to shrink, bicubic to enlarge)."""
    if size is None or crop.shape[0] == size:
        return crop
    interpolation = cv2.INTER_AREA if crop.shape[0] > size else cv2.INTER_CUBIC
    return cv2.resize(crop, (size, size), interpolation=interpolation)


def _check_size(size):
    if size is not None and (not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1):
        fail("`size` as a positive integer or None", "size", size)


def _pad_mode(pad):
    if pad not in PADS:
        fail(f"`pad` in {tuple(PADS)}", "pad", pad)
    return PADS[pad]


def _cut(image, left, top, side, border):
    """`image[top:top+side, left:left+side]`, padded with `border` where it leaves the image."""
    height, width = image.shape[:2]
    right, bottom = left + side, top + side
    pads = (max(0, -top), max(0, bottom - height), max(0, -left), max(0, right - width))
    if not any(pads):
        return image[top:bottom, left:right].copy()
    x0, x1 = min(max(left, 0), width), max(min(right, width), 0)
    y0, y1 = min(max(top, 0), height), max(min(bottom, height), 0)
    inside = x1 > x0 and y1 > y0
    # Reflection reads up to `pad` pixels beyond the visible part: when that reaches past
    # it (or nothing is visible), pad the whole image instead of the visible part.
    needs_more = border != cv2.BORDER_CONSTANT and (
        pads[0] >= y1 - y0 or pads[1] >= y1 - y0 or pads[2] >= x1 - x0 or pads[3] >= x1 - x0
    )
    if inside and not needs_more:
        return cv2.copyMakeBorder(image[y0:y1, x0:x1], *pads, border, value=(0, 0, 0))
    if border == cv2.BORDER_CONSTANT:
        out = np.zeros((side, side, 3), dtype=np.uint8)
        if inside:
            out[y0 - top:y1 - top, x0 - left:x1 - left] = image[y0:y1, x0:x1]
        return out
    padded = cv2.copyMakeBorder(image, *pads, border)
    oy, ox = top + pads[0], left + pads[2]
    return padded[oy:oy + side, ox:ox + side].copy()
