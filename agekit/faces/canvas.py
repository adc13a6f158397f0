"""`paste_face`: a face chip pasted into a larger, photo-like canvas (seeded).

Used to check that the photo path gives a model the crop it was trained on: a UTKFace
chip pasted at 1-3x its size, turned by up to 10 degrees, somewhere on a busy
background, then detected and cut by the `"utkface"` template, should come back as
(nearly) the chip. The background mixes a colour gradient, smoothed noise and a few
filled shapes, so the detector sees edges that are not a face.
"""

import math

import cv2
import numpy as np

from agekit._validation import fail
from agekit.images import as_rgb


def paste_face(
    chip: np.ndarray,
    *,
    seed: int,
    scale: tuple[float, float] = (1.0, 3.0),
    rotation: float = 10.0,
    border: tuple[float, float] = (0.2, 0.8),
) -> tuple[np.ndarray, np.ndarray]:
    """Paste a face chip into a larger random canvas.

    Args:
        chip: the RGB chip (e.g. a 200x200 UTKFace image).
        seed: seeds every random choice: one seed, one canvas.
        scale: range of the chip's enlargement (uniform).
        rotation: the chip turns by a uniform angle in `[-rotation, rotation]` degrees.
        border: range of the free space on each side of the pasted chip, as a fraction
            of its side (so the canvas is 1.4-2.6x the pasted chip's bounding box).

    Returns:
        `(photo, matrix)`: the RGB uint8 canvas, and the 2x3 affine matrix taking chip
        pixels to canvas pixels (`cv2.transform` maps chip landmarks onto the canvas).

    Example:

    >>> photo, matrix = paste_face(np.zeros((200, 200, 3), dtype="uint8"), seed=0)
    >>> photo.shape[0] > 200 and matrix.shape == (2, 3)
    True
    """
    chip = as_rgb(chip)
    low, high = scale
    if not 0 < low <= high:
        fail("`scale` as (low, high) with 0 < low <= high", "scale", scale)
    if not 0 <= rotation <= 180:
        fail("`rotation` in degrees, 0..180", "rotation", rotation)
    rng = np.random.default_rng(seed)
    factor = rng.uniform(low, high)
    angle = rng.uniform(-rotation, rotation)
    height, width = chip.shape[:2]
    turn = math.radians(angle)
    box_w = factor * (width * abs(math.cos(turn)) + height * abs(math.sin(turn)))
    box_h = factor * (width * abs(math.sin(turn)) + height * abs(math.cos(turn)))
    left, right, top, bottom = (rng.uniform(*border) * max(box_w, box_h) for _ in range(4))
    canvas_w, canvas_h = math.ceil(box_w + left + right), math.ceil(box_h + top + bottom)
    photo = _background(rng, canvas_h, canvas_w)
    # Rotate (counter-clockwise for angle > 0, as cv2) and scale about the chip centre,
    # which lands at the centre of the box.
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), angle, factor)
    matrix[:, 2] += (left + box_w / 2 - (width - 1) / 2, top + box_h / 2 - (height - 1) / 2)
    interpolation = cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA
    cv2.warpAffine(chip, matrix, (canvas_w, canvas_h), dst=photo, flags=interpolation,
                   borderMode=cv2.BORDER_TRANSPARENT)
    return photo, matrix


def _background(rng, height, width):
    """A busy RGB background: gradient + smoothed noise + filled shapes."""
    corners = rng.uniform(0, 255, size=(2, 2, 3)).astype(np.float32)
    image = cv2.resize(corners, (width, height), interpolation=cv2.INTER_LINEAR)
    noise = rng.normal(0, 1, size=(max(2, height // 16), max(2, width // 16), 3)).astype(np.float32)
    image += 40 * cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    image = np.clip(image, 0, 255).astype(np.uint8)
    for _ in range(rng.integers(2, 7)):
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(rng.integers(max(2, min(height, width) // 20), max(3, min(height, width) // 4)))
        if rng.random() < 0.5:
            cv2.circle(image, (x, y), size, colour, -1)
        else:
            cv2.rectangle(image, (x - size, y - size // 2), (x + size, y + size // 2), colour, -1)
    return image
