"""Landmark templates: cut a face with the fixed geometry of a published set of chips.

A template places 33 of dlib's 68 landmarks (27-59: the nose, both eyes and the outer
lip line) at fixed pixels of a square crop. `template_crop` finds the similarity
transform (rotation, uniform scale, shift; least squares over those points, Umeyama
1991) that maps a face's detected landmarks onto them, and warps the photo with it.

## `"utkface"`: the geometry of the UTKFace "aligned & cropped" chips

UTKFace's authors aligned and cropped their 200x200 chips with a fixed geometry they did
not publish. It was measured with agekit's own landmarks (HOG box on the chip padded by
60 px of replicated border, then dlib's 68-point predictor) on 4,000 chips drawn with
seed 0 from `../shared/data/utkface` (3,918 with a face found). Where five landmarks land
(eye centre = mean of the six eye points; nose tip = 30; mouth corners = 48, 54):

| landmark (pixels of the 200x200 chip) | mean x, y     | std x, y  |
| ------------------------------------- | ------------- | --------- |
| left eye centre                       | 59.3, 59.7    | 3.6, 2.7  |
| right eye centre                      | 136.9, 59.8   | 3.5, 2.7  |
| nose tip                              | 98.0, 102.1   | 7.6, 6.3  |
| left mouth corner                     | 62.8, 138.4   | 7.3, 5.0  |
| right mouth corner                    | 133.7, 138.4  | 7.5, 4.9  |

Eye distance 77.5 px (std 5.2), eye-to-mouth distance 78.7 px (std 5.1), eye line at
0.1 degrees (std 2.2). The chips were cut by one geometry up to landmark noise and face
shape: fitting each chip's landmarks to their mean by a similarity leaves little. Which
landmarks to fit was chosen by that spread, and by its bias with age (the fitted scale in
the age groups 0-5 / 19-30 / 51+; a biased set would cut children's faces larger):

| fitted points                            | scale | rotation | centre | scale by age        |
| ---------------------------------------- | ----- | -------- | ------ | ------------------- |
| 27-59: nose, eyes, outer lips (the fit)  | 3.0%  | 0.84 deg | 1.7 px | 0.999 / 1.004 / 0.994 |
| eye centres, nose tip, mouth corners     | 3.1%  | 1.49 deg | 2.1 px | 1.005 / 0.997 / 1.003 |
| 17-67 (all but the jaw)                  | 3.4%  | 0.87 deg | 1.9 px | 1.025 / 1.004 / 0.986 |
| all 68                                   | 4.3%  | 1.24 deg | 4.4 px | 1.031 / 0.996 / 0.995 |
| the eyes alone                           | 6.7%  | 2.21 deg | 3.3 px | 1.084 / 0.994 / 0.980 |
| dlib's 5-point model                     | 4.3%  | 1.67 deg | 2.7 px | 1.035 / 1.003 / 0.983 |

(standard deviations over the 3,918 chips.) Template points are the means over the chips
whose fit residual is under the 99th percentile (3,878). Where a chip reaches past its
photo, UTKFace fills black (most such chips) or repeats the edge: `pad="constant"`
matches it.

Checks: on the 497 FG-NET photos where HOG finds the face, the template transform from
agekit's landmarks and the one from FG-NET's hand-marked points (pupils, nose tip, mouth
corners, fitted to the five landmarks above) differ by 1.4% in scale (std 2.3%) and -0.1
degrees (std 1.1); the hand points land a median 1.8 px (90%: 3.1 px) of the 200 px crop
apart. 400 UTKFace chips pasted into photo-like canvases (`agekit.faces.canvas`: 1-3x, up
to 10 degrees) were all detected by `"auto"` and cut back to their chip within a median
5.1 grey levels per pixel over the central 150x150 (the chips' own spread is the floor).
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
    """Where dlib's landmarks 27-59 land in a `size` x `size` crop.

    `points` are `(x, y)` pixels of the 33 landmarks 27-59 of dlib's 68-point model, in
    that order: the nose (27-35), the eyes (36-47) and the outer lip line (48-59).
    """

    name: str
    size: int
    points: tuple[tuple[float, float], ...]


FIT = slice(27, 60)  # dlib's 68 points fitted to a template: nose, eyes, outer lips

TEMPLATES = {
    "utkface": LandmarkTemplate("utkface", 200, (
        (98.0, 57.5), (98.0, 72.3), (98.0, 87.0), (98.0, 102.1), (80.3, 112.0), (88.8, 114.9),
        (98.1, 117.7), (107.3, 115.0), (116.0, 112.0), (44.2, 59.7), (53.9, 54.3), (65.3, 54.5),
        (75.2, 62.1), (64.4, 63.9), (53.1, 63.6), (121.1, 62.2), (131.0, 54.7), (142.3, 54.4),
        (152.1, 59.9), (143.0, 63.8), (131.7, 64.0), (62.8, 138.4), (75.8, 133.4), (88.8, 131.0),
        (98.2, 133.1), (107.4, 131.0), (120.4, 133.5), (133.7, 138.4), (120.9, 151.2), (108.2, 156.8),
        (98.2, 157.8), (88.0, 156.7), (75.3, 151.1),
    )),
}


def template_points(landmarks: np.ndarray) -> np.ndarray:
    """The landmarks a template is fitted on (27-59) from dlib's 68 points.

    Example:

    >>> template_points(np.arange(136.0).reshape(68, 2)).shape
    (33, 2)
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.shape != (68, 2):
        fail("68 landmarks of shape (68, 2) (dlib's 68-point model)", "landmarks.shape", landmarks.shape)
    return landmarks[FIT]


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
        landmarks: the face's 68 points from `face_landmarks(..., points=68)` (the
            template is fitted on 27-59).
        template: a name in `TEMPLATES` (`"utkface"`).
        size: side of the returned square; `None` keeps the template's own size (200
            for `"utkface"`). The template scales with it.
        pad: `"constant"` (black) or `"reflect"` where the crop leaves the image.

    Returns:
        A `(size, size, 3)` uint8 RGB array.

    Example:

    >>> points = np.zeros((68, 2)); points[27:60] = TEMPLATES["utkface"].points
    >>> template_crop(np.zeros((240, 240, 3), dtype="uint8"), points, size=64).shape
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
