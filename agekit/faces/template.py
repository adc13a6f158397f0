"""Landmark templates: cut a face with the fixed geometry of a published set of chips.

A template places five landmarks (the two eye centres, the nose tip and the two mouth
corners) at fixed pixels of a square crop. `template_crop` finds the similarity transform
(rotation, uniform scale, shift; least squares over the five points, Umeyama 1991) that
maps a face's detected landmarks onto them, and warps the photo with it.

## `"utkface"`: the geometry of the UTKFace "aligned & cropped" chips

UTKFace's authors aligned and cropped their 200x200 chips with a fixed geometry they did
not publish. It was measured with agekit's own landmarks (HOG box on the chip padded by
60 px of replicated border, then dlib's 68-point predictor; eye centre = mean of its six
eye points, nose tip = point 30, mouth corners = points 48 and 54) on 4,000 chips drawn
with seed 0 from `../shared/data/utkface` (3,918 with a face found):

| landmark (pixels of the 200x200 chip) | mean x, y     | std x, y  |
| ------------------------------------- | ------------- | --------- |
| left eye centre                       | 59.3, 59.7    | 3.6, 2.7  |
| right eye centre                      | 136.9, 59.8   | 3.5, 2.7  |
| nose tip                              | 98.0, 102.1   | 7.6, 6.3  |
| left mouth corner                     | 62.8, 138.4   | 7.3, 5.0  |
| right mouth corner                    | 133.7, 138.4  | 7.5, 4.9  |

Eye distance 77.5 px (std 5.2), eye-to-mouth distance 78.7 px (std 5.1), eye line at
0.1 degrees (std 2.2). Fitting each chip's five points to the template by a similarity
leaves a scale spread of 3.1% (5-95%: 0.96-1.05), a rotation spread of 1.5 degrees
(5-95%: -2.3 to 2.3) and a shift of 1.5 px: the chips were cut by one geometry, up to
landmark noise and face shape. These five points are the ones the chips agree on best
across ages (the fitted scale is 0.997-1.005 in every age group from 0-5 to 51+, where
the eyes alone give 1.08 for ages 0-5 and 0.98 for 51+, the inner 51 points 1.03 and
0.99, and dlib's 5-point model 1.04 and 0.98): the authors most likely aligned on eyes,
nose and mouth corners. Template points are the means over the chips whose fit residual
is under the 99th percentile (3,878). Where a chip reaches past its photo, UTKFace fills
black (most such chips) or repeats the edge: `pad="constant"` matches it.

Checks: on the 497 FG-NET photos where HOG finds the face, the template transform from
agekit's landmarks and the one from FG-NET's hand-marked points (pupils, nose tip, mouth
corners) differ by 1.4% in scale (std 2.3%) and -0.1 degrees (std 1.1); the hand points
land a median 1.8 px (90%: 3.1 px) of the 200 px crop apart. 400 UTKFace chips pasted
into photo-like canvases (`agekit.faces.canvas.paste_face`: 1-3x, up to 10 degrees) were
all detected by `"auto"` and cut back to their chip within a median 6.6 grey levels per
pixel over the central 150x150 (the chips' own spread above is the floor).
"""

import math
from dataclasses import dataclass

import cv2
import numpy as np

from agekit._validation import fail
from agekit.faces.crop import _check_size, _pad_mode
from agekit.images import as_rgb

# Shrink the region first (area averaging) when the warp would shrink more than this:
# a plain bilinear warp skips pixels and aliases.
_MAX_WARP_SHRINK = 1.5


@dataclass(frozen=True)
class LandmarkTemplate:
    """Where five landmarks land in a `size` x `size` crop.

    `points` are `(x, y)` pixels of, in order: the left eye centre, the right eye centre
    (image left and right), the nose tip, the left and the right mouth corner.
    """

    name: str
    size: int
    points: tuple[tuple[float, float], ...]


TEMPLATES = {
    "utkface": LandmarkTemplate(
        "utkface", 200,
        ((59.34, 59.70), (136.88, 59.83), (97.97, 102.08), (62.78, 138.39), (133.72, 138.38)),
    ),
}


def template_points(landmarks: np.ndarray) -> np.ndarray:
    """The five template landmarks from dlib's 68 points: eye centres, nose tip, mouth corners.

    Example:

    >>> points = np.zeros((68, 2)); points[42:48] = (60, 40); points[30] = (45, 55)
    >>> template_points(points)[[0, 1, 2]].tolist()
    [[0.0, 0.0], [60.0, 40.0], [45.0, 55.0]]
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.shape != (68, 2):
        fail("68 landmarks of shape (68, 2) (dlib's 68-point model)", "landmarks.shape", landmarks.shape)
    first, second = landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0)
    left, right = (first, second) if first[0] <= second[0] else (second, first)
    corners = landmarks[[48, 54]]
    corners = corners if corners[0, 0] <= corners[1, 0] else corners[::-1]
    return np.stack([left, right, landmarks[30], corners[0], corners[1]])


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 similarity (rotation, uniform scale, shift) mapping `source` onto `target`.

    Least squares over corresponding `(x, y)` points (Umeyama 1991), never a reflection.

    Example:

    >>> m = similarity_transform(np.array([[0, 0], [1, 0]]), np.array([[10, 10], [10, 12]]))
    >>> np.round(m, 6).tolist()   # 90 degrees, scale 2, then shifted by (10, 10)
    [[0.0, -2.0, 10.0], [2.0, 0.0, 10.0]]
    """
    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if source.shape != target.shape or source.ndim != 2 or source.shape[1] != 2 or len(source) < 2:
        fail("two (n, 2) point arrays of one shape, n >= 2", "shapes", (source.shape, target.shape))
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    a, b = source - source_mean, target - target_mean
    spread = (a ** 2).sum()
    if spread == 0:
        fail("source points that are not all equal", "source", source.tolist())
    u, sigma, vt = np.linalg.svd(b.T @ a)
    signs = np.array([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rotation = u @ np.diag(signs) @ vt
    scale = (sigma * signs).sum() / spread
    return np.c_[scale * rotation, target_mean - scale * rotation @ source_mean]


def template_crop(
    image: np.ndarray,
    landmarks: np.ndarray,
    *,
    template: str = "utkface",
    size: int | None = None,
    pad: str = "constant",
) -> np.ndarray:
    """Cut a face with a template's geometry (see the module docstring).

    Args:
        image: an RGB image (greyscale / RGBA / 16-bit are converted, see `as_rgb`).
        landmarks: the face's 68 points from `face_landmarks(..., points=68)`.
        template: a name in `TEMPLATES` (`"utkface"`).
        size: side of the returned square; `None` keeps the template's own size (200
            for `"utkface"`). The template scales with it.
        pad: `"constant"` (black) or `"reflect"` where the crop leaves the image.

    Returns:
        A `(size, size, 3)` uint8 RGB array.

    Example:

    >>> points = np.zeros((68, 2)); points[36:42] = (40, 40); points[42:48] = (80, 40)
    >>> points[30] = (60, 62); points[48] = (42, 80); points[54] = (78, 80)
    >>> template_crop(np.zeros((120, 120, 3), dtype="uint8"), points, size=64).shape
    (64, 64, 3)
    """
    image = as_rgb(image)
    border = _pad_mode(pad)
    _check_size(size)
    if template not in TEMPLATES:
        fail(f"`template` in {tuple(TEMPLATES)}", "template", template)
    spec = TEMPLATES[template]
    side = spec.size if size is None else int(size)
    target = np.asarray(spec.points, dtype=np.float64) * (side / spec.size)
    matrix = similarity_transform(template_points(landmarks), target)
    return _warp(image, matrix, side, border)


def _warp(image, matrix, side, border):
    """`cv2.warpAffine` into a `side` square, area-shrinking the source region first."""
    scale = math.sqrt(abs(np.linalg.det(matrix[:, :2])))
    if scale * _MAX_WARP_SHRINK < 1:
        inverse = cv2.invertAffineTransform(matrix)
        corners = np.array([[0, 0, 1], [side, 0, 1], [0, side, 1], [side, side, 1]], float) @ inverse.T
        height, width = image.shape[:2]
        margin = math.ceil(2 / scale) + 1  # two shrunk pixels, so bilinear reads stay inside
        x0, y0 = (max(0, math.floor(v) - margin) for v in corners.min(axis=0))
        x1 = min(width, math.ceil(corners[:, 0].max()) + margin)
        y1 = min(height, math.ceil(corners[:, 1].max()) + margin)
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            new_w, new_h = max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))
            image = cv2.resize(image[y0:y1, x0:x1], (new_w, new_h), interpolation=cv2.INTER_AREA)
            # resize maps pixel centres: x = (x' + 0.5) * fx - 0.5 + x0 in the source.
            fx, fy = (x1 - x0) / new_w, (y1 - y0) / new_h
            back = np.array([[fx, 0, x0 + 0.5 * fx - 0.5], [0, fy, y0 + 0.5 * fy - 0.5], [0, 0, 1]])
            matrix = matrix @ back
    return cv2.warpAffine(image, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=border,
                          borderValue=(0, 0, 0))
