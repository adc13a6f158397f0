"""Facial landmarks (dlib's 68- and 5-point models) and eye-level alignment.

`align_face` rotates the image about the midpoint between the eyes so the eye line is
horizontal, then cuts the same square crop as `crop_face` (margins in `MARGINS`), in one
`cv2.warpAffine` call. The corners the rotation uncovers are black (`pad="constant"`) or
mirrored image (`pad="reflect"`); the VGG16 study found black corners hurt tight
aligned crops.
"""

import math

import cv2
import numpy as np

from agekit._validation import fail
from agekit.errors import InvalidValueError
from agekit.faces import _models
from agekit.faces.crop import _check_size, _pad_mode, margin_fraction, resize_square
from agekit.faces.detect import FaceBox
from agekit.images import as_rgb

# Eye points of each landmark scheme (iBUG 300-W for 68; dlib's 5-point: eye corners + nose).
_EYES = {68: (slice(36, 42), slice(42, 48)), 5: (slice(0, 2), slice(2, 4))}
# A detector-like tight box from the eyes alone: side and drop below the eye midpoint, in
# units of the outer eye-corner distance (dlib HOG boxes on its example photos: 1.6-2.3, 0.17-0.49).
_BOX_PER_SPAN = 1.9
_BELOW_EYES = 0.33


def face_landmarks(image: np.ndarray, box: FaceBox, *, points: int = 68) -> np.ndarray:
    """Locate facial landmarks inside a face box.

    Args:
        image: an RGB image (see `agekit.images.as_rgb`).
        box: the face, e.g. from `detect_faces`.
        points: 68 (iBUG 300-W: jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth
            48-67) or 5 (two corners of each eye, 0-3, and the base of the nose, 4).

    Returns:
        A float array of shape `(points, 2)` with `(x, y)` pixel coordinates.

    Example:

    >>> face_landmarks(np.zeros((64, 64, 3), dtype="uint8"), FaceBox(8, 8, 56, 56)).shape
    (68, 2)
    """
    if points not in _EYES:
        fail("`points` in (68, 5)", "points", points)
    if not isinstance(box, FaceBox):
        fail("`box` as a FaceBox", "box", box, error=TypeError)
    dlib = _models.import_dlib()
    rect = dlib.rectangle(round(box.left), round(box.top), round(box.right) - 1, round(box.bottom) - 1)
    shape = _models.shape_predictor(points)(as_rgb(image), rect)
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def eye_centers(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`(left, right)` eye centres in image order (left = smaller x) from 68 or 5 points."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.ndim != 2 or landmarks.shape[1] != 2 or landmarks.shape[0] not in _EYES:
        raise InvalidValueError(
            f"Expected landmarks of shape (68, 2) or (5, 2). Received: landmarks.shape={landmarks.shape}"
        )
    first, second = (landmarks[s].mean(axis=0) for s in _EYES[landmarks.shape[0]])
    return (first, second) if first[0] <= second[0] else (second, first)


def eye_angle(landmarks: np.ndarray) -> float:
    """Angle of the eye line in degrees (0 = level; positive = right eye lower)."""
    left, right = eye_centers(landmarks)
    return math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))


def align_face(
    image: np.ndarray,
    landmarks: np.ndarray,
    *,
    size: int | None = None,
    margin: str | float = "loose",
    pad: str = "constant",
    box: FaceBox | None = None,
) -> np.ndarray:
    """Rotate a face so its eyes are level, then crop it square with a margin.

    Args:
        image: an RGB image (see `agekit.images.as_rgb`).
        landmarks: `(68, 2)` or `(5, 2)` points from `face_landmarks`.
        size: side of the returned square; `None` keeps the crop's own size.
        margin: as in `crop_face` (`"tight"`, `"loose"`, `"very_loose"` or a float).
        pad: `"constant"` (black) or `"reflect"` for corners outside the image.
        box: the detector box, whose size and (rotated) centre define the tight crop, so
            margins mean the same as in `crop_face`. Without it the tight box is
            estimated from the eyes as dlib's HOG detector draws it (measured on the
            dlib example photos): a square of 1.9x the outer eye-corner distance,
            centred 0.33x that distance below the eye midpoint.

    Returns:
        A `(side, side, 3)` uint8 RGB array with the eyes on one horizontal line.

    Example:

    >>> points = np.zeros((5, 2)); points[:2] = (20, 30); points[2:4] = (40, 40)
    >>> align_face(np.zeros((64, 64, 3), dtype="uint8"), points, size=32).shape
    (32, 32, 3)
    """
    image = as_rgb(image)
    border = _pad_mode(pad)
    _check_size(size)
    fraction = margin_fraction(margin)
    landmarks = np.asarray(landmarks, dtype=np.float64)
    left_eye, right_eye = eye_centers(landmarks)
    middle = (left_eye + right_eye) / 2
    angle = eye_angle(landmarks)
    rotation = cv2.getRotationMatrix2D((float(middle[0]), float(middle[1])), angle, 1.0)
    center, tight = _tight_square(landmarks, rotation, box)
    side = max(1, round(tight * (1 + 2 * fraction)))
    window = rotation.copy()
    window[:, 2] -= (center[0] - side / 2, center[1] - side / 2)
    crop = cv2.warpAffine(
        image, window, (side, side), flags=cv2.INTER_LINEAR, borderMode=border, borderValue=(0, 0, 0)
    )
    return resize_square(crop, size)


def _tight_square(landmarks, rotation, box):
    """Centre (in rotated coordinates) and side of the tight face square."""
    if box is not None:
        if not isinstance(box, FaceBox):
            fail("`box` as a FaceBox or None", "box", box, error=TypeError)
        return rotation @ np.array([*box.center, 1.0]), max(box.width, box.height)
    rotated = np.c_[landmarks, np.ones(len(landmarks))] @ rotation.T
    left, right = _EYES[len(landmarks)]
    eyes = np.r_[rotated[left], rotated[right]]
    span = float(np.ptp(eyes[:, 0]))
    middle = eyes.mean(axis=0)
    return np.array([middle[0], middle[1] + _BELOW_EYES * span]), _BOX_PER_SPAN * span


def face_crops(
    image: np.ndarray,
    boxes: list[FaceBox],
    *,
    align: bool = True,
    margin: str | float = "loose",
    size: int | None = None,
    crop=None,
) -> list[np.ndarray]:
    """The crop of each detected face, aligned (5-point landmarks) or straight.

    Args:
        image: the RGB photo the boxes were detected on.
        boxes: `FaceBox`es from `detect_faces`.
        align: level the eyes (`align_face`) instead of a plain `crop_face`.
        margin, size: as in `crop_face`.
        crop: a `CropSpec` (or anything `crop_spec` accepts, e.g. `"utkface"` or a
            model card's `crop` dict): cut every box by it (`cut_face`) instead of
            `align` / `margin` / `size`, which must then keep their defaults.

    Returns:
        One uint8 RGB square crop per box, in the same order.

    Example:

    >>> face_crops(np.zeros((64, 64, 3), dtype="uint8"), [FaceBox(8, 8, 40, 40)], align=False)[0].shape
    (58, 58, 3)
    """
    from agekit.faces.crop import crop_face

    image = as_rgb(image)
    if crop is not None:
        from agekit.faces.cut import cut_face
        from agekit.faces.spec import crop_spec

        if (align, margin, size) != (True, "loose", None):
            fail("either `crop` or `align` / `margin` / `size`, not both", "crop", crop)
        spec = crop_spec(crop)
        return [cut_face(image, box, spec) for box in boxes]
    if not align:
        return [crop_face(image, box, margin=margin, size=size) for box in boxes]
    return [align_face(image, face_landmarks(image, box, points=5), margin=margin, size=size, box=box)
            for box in boxes]
