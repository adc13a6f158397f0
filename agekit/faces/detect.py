"""Face detection with dlib's CNN (MMOD) or HOG detector, returning plain `FaceBox`es.

dlib types never leave this module: boxes are `FaceBox` dataclasses in the pixel
coordinates of the image that was passed in, whatever downscaling happened inside.
"""

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from agekit._validation import fail
from agekit.faces import _models
from agekit.images import as_rgb, read_image

MODELS = ("cnn", "hog")
DETECTORS = ("auto",) + MODELS
PRIMARY_RULES = ("largest", "score", "center")
# `"auto"`: HOG on a copy shrunk to this longer side, then the CNN at half of it where HOG
# finds nothing. Both find faces from about 80 px, so HOG sees faces down to 1/8 of the
# longer side. The CNN at 320 px found every face HOG missed among the 508 FG-NET photos
# (11) and among 400 UTKFace chips pasted into photo-like canvases (24); at 160 px, 11 and
# 11 of 24, at 200 px 11 and 22. It costs about 0.5 CPU s a photo on a 2-core machine.
AUTO_MAX_SIDE = 640
# A CNN box -> the box HOG draws around the same face: side ratio, then the centre shift in
# CNN box sides (medians over the 497 FG-NET photos where both found the face; spread
# 0.11, 0.06, 0.06). dlib's landmark models were trained on HOG-like boxes: seeded with
# raw CNN boxes, 1.6% of FG-NET faces get landmarks off by over 10% of the eye distance,
# none with converted boxes.
_CNN_TO_HOG = (1.022, 0.023, 0.090)


@dataclass(frozen=True)
class FaceBox:
    """A face's bounding box in image pixels, `right`/`bottom` exclusive (like slices).

    Boxes may reach outside the image (dlib reports faces cut by the border); `crop_face`
    pads instead of shifting them. `score` is the detector's confidence (CNN: MMOD
    score, HOG: SVM margin; `nan` when the box came from elsewhere, e.g. a `.mat` file).

    Example:

    >>> box = FaceBox(10, 20, 50, 60, score=1.2)
    >>> box.width, box.center
    (40.0, (30.0, 40.0))
    """

    left: float
    top: float
    right: float
    bottom: float
    score: float = float("nan")

    def __post_init__(self):
        for name in ("left", "top", "right", "bottom", "score"):
            object.__setattr__(self, name, float(getattr(self, name)))
        coords = (self.left, self.top, self.right, self.bottom)
        if not all(math.isfinite(c) for c in coords) or self.right <= self.left or self.bottom <= self.top:
            fail("finite coordinates with right > left and bottom > top", "box", coords)

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def center(self) -> tuple[float, float]:
        """`(x, y)` of the box centre."""
        return ((self.left + self.right) / 2, (self.top + self.bottom) / 2)

    def scaled(self, factor: float) -> "FaceBox":
        """The same box with every coordinate multiplied by `factor`."""
        return FaceBox(self.left * factor, self.top * factor, self.right * factor,
                       self.bottom * factor, self.score)

    def iou(self, other: "FaceBox") -> float:
        """Intersection over union with another box."""
        width = min(self.right, other.right) - max(self.left, other.left)
        height = min(self.bottom, other.bottom) - max(self.top, other.top)
        inter = max(width, 0.0) * max(height, 0.0)
        return inter / (self.area + other.area - inter)


def detect_faces(
    image: np.ndarray | str | os.PathLike,
    *,
    model: str = "cnn",
    max_side: int | None = None,
    upsample: int = 0,
) -> list[FaceBox]:
    """Find every face in one image.

    Args:
        image: an RGB (or greyscale / RGBA / 16-bit, see `agekit.images.as_rgb`) array,
            or a path read with `agekit.images.read_image`.
        model: `"cnn"` (dlib's MMOD CNN: accurate, handles turned faces, slow on CPU),
            `"hog"` (HOG + SVM: fast, frontal faces only) or `"auto"`: HOG first, and
            the CNN only on photos where HOG finds nothing, its boxes converted to the
            HOG geometry (`hog_like`), so every box means the same. On the 508 FG-NET
            photos: 99.6% of the faces found (HOG alone 97.4%, the CNN at 320 px
            94.9%); the CNN ran on the 2.2% HOG missed (`benchmarks/bench_photos.py`).
        max_side: when the longer image side exceeds it, the image is first shrunk to it
            (the study used 299 to fit GPU memory); boxes are mapped back to the
            original pixels. `None` detects at full resolution; with `"auto"`, HOG runs
            at `max_side` (`None`: `AUTO_MAX_SIDE`, 640) and the CNN at half of it.
        upsample: how many times dlib doubles the image before detecting. Both
            detectors look for faces of about 80 px and up at `upsample=0` (on dlib's
            example photos, whose faces are mostly 37-45 px, recall rises from about
            0.25 to above 0.9 with `upsample=1`, see `benchmarks/bench_detect.py`);
            each step halves the smallest face size and costs about 4x the time.

    Returns:
        The faces as `FaceBox`es in original-image pixels, most confident first.

    Example:

    >>> faces = detect_faces(np.zeros((64, 64, 3), dtype="uint8"), model="hog")
    >>> faces
    []
    """
    image = _as_image(image)
    _check_options(model, max_side, upsample)
    if model != "auto":
        small, factor = _downscale(image, max_side)
        return _detect_one(small, model, upsample, factor)
    hog_side, cnn_side = _auto_sides(max_side)
    small, factor = _downscale(image, hog_side)
    found = _detect_one(small, "hog", upsample, factor)
    if found:
        return found
    small, factor = _downscale(image, cnn_side)
    return [hog_like(box) for box in _detect_one(small, "cnn", upsample, factor)]


def hog_like(box: FaceBox) -> FaceBox:
    """A CNN detector box converted to the square box dlib's HOG draws around that face.

    Example:

    >>> hog_like(FaceBox(0, 0, 100, 100, score=1.0))
    FaceBox(left=1.2, top=7.9, right=103.4, bottom=110.1, score=1.0)
    """
    ratio, shift_x, shift_y = _CNN_TO_HOG
    side = max(box.width, box.height)
    cx, cy = box.center
    cx, cy, half = cx + shift_x * side, cy + shift_y * side, ratio * side / 2
    return FaceBox(round(cx - half, 3), round(cy - half, 3), round(cx + half, 3), round(cy + half, 3), box.score)


def batch_detect(
    images: Sequence[np.ndarray | str | os.PathLike],
    *,
    model: str = "cnn",
    max_side: int | None = None,
    upsample: int = 0,
    batch_size: int = 32,
) -> list[list[FaceBox]]:
    """`detect_faces` over many images, batching same-size images through the CNN.

    dlib's CNN batch call needs images of one size: images are grouped by their size
    after the `max_side` downscale (so `max_side` makes most photos batchable). The
    batch call is meant for a CUDA build of dlib (the study ran batches of 32 on a GPU);
    with the CPU wheels expect no speed-up over calling `detect_faces` in a loop.

    Args:
        images: arrays or paths, as in `detect_faces`.
        model, max_side, upsample: as in `detect_faces`.
        batch_size: images per CNN call.

    Returns:
        One list of `FaceBox`es per input image, in input order.

    Example:

    >>> blank = np.zeros((32, 32, 3), dtype="uint8")
    >>> batch_detect([blank, blank], model="hog")
    [[], []]
    """
    _check_options(model, max_side, upsample)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        fail("`batch_size` as an integer >= 1", "batch_size", batch_size)
    images = [_as_image(image) for image in images]
    if model == "cnn":
        return _cnn_batch([_downscale(image, max_side) for image in images], upsample, batch_size)
    hog_side = max_side if model == "hog" else _auto_sides(max_side)[0]
    results = []
    for image in images:
        small, factor = _downscale(image, hog_side)
        results.append(_detect_one(small, "hog", upsample, factor))
    if model == "auto":
        misses = [i for i, found in enumerate(results) if not found]
        cnn_side = _auto_sides(max_side)[1]
        found = _cnn_batch([_downscale(images[i], cnn_side) for i in misses], upsample, batch_size)
        for i, boxes in zip(misses, found):
            results[i] = [hog_like(box) for box in boxes]
    return results


def primary_face(
    faces: Sequence[FaceBox],
    *,
    rule: str = "largest",
    image_shape: tuple[int, ...] | None = None,
) -> FaceBox | None:
    """Pick the one face to keep when an image has several.

    Args:
        faces: detected boxes.
        rule: `"largest"` (largest box area: the subject of a portrait is usually the
            biggest face, the rule IMDb-WIKI's cleaning relies on), `"score"` (highest
            detector confidence) or `"center"` (box centre nearest the image centre;
            needs `image_shape`). Ties keep the earlier face.
        image_shape: `image.shape`, for `rule="center"`.

    Returns:
        The chosen `FaceBox`, or `None` when `faces` is empty.

    Example:

    >>> primary_face([FaceBox(0, 0, 10, 10, 2.0), FaceBox(0, 0, 30, 30, 0.5)]).width
    30.0
    """
    if rule not in PRIMARY_RULES:
        fail(f"`rule` in {PRIMARY_RULES}", "rule", rule)
    if not faces:
        return None
    if rule == "largest":
        return max(faces, key=lambda b: b.area)
    if rule == "score":
        return max(faces, key=lambda b: b.score)
    if image_shape is None:
        fail("`image_shape` with rule='center'", "image_shape", image_shape)
    cx, cy = image_shape[1] / 2, image_shape[0] / 2
    return min(faces, key=lambda b: (b.center[0] - cx) ** 2 + (b.center[1] - cy) ** 2)


def _cnn_batch(prepared, upsample, batch_size):
    """CNN boxes of `(image, factor)` pairs, same-size images batched into one call."""
    results: list[list[FaceBox]] = [[] for _ in prepared]
    groups: dict[tuple[int, int], list[int]] = {}
    for i, (small, _) in enumerate(prepared):
        groups.setdefault(small.shape[:2], []).append(i)
    for indices in groups.values():
        if len(indices) == 1:
            (i,) = indices
            results[i] = _detect_one(prepared[i][0], "cnn", upsample, prepared[i][1])
            continue
        detector = _models.cnn_detector()
        for start in range(0, len(indices), batch_size):
            chunk = indices[start:start + batch_size]
            found = detector([prepared[i][0] for i in chunk], upsample, batch_size=len(chunk))
            for i, detections in zip(chunk, found):
                boxes = [_from_dlib(d.rect, d.confidence, prepared[i][1]) for d in detections]
                results[i] = sorted(boxes, key=lambda b: -b.score)
    return results


def _auto_sides(max_side):
    """`(HOG side, CNN side)` of the `"auto"` cascade."""
    hog_side = AUTO_MAX_SIDE if max_side is None else int(max_side)
    return hog_side, max(16, hog_side // 2)


def _as_image(image):
    if isinstance(image, (str, os.PathLike)):
        return read_image(image)
    return as_rgb(image)


def _check_options(model, max_side, upsample):
    if model not in DETECTORS:
        fail(f"`model` in {DETECTORS}", "model", model)
    if max_side is not None and (not isinstance(max_side, (int, np.integer)) or max_side < 16):
        fail("`max_side` as an integer >= 16, or None", "max_side", max_side)
    if not isinstance(upsample, (int, np.integer)) or not 0 <= upsample <= 4:
        fail("`upsample` as an integer in 0..4", "upsample", upsample)


def _downscale(image, max_side):
    """The image shrunk so its longer side is at most `max_side`, and the factor back."""
    longest = max(image.shape[:2])
    if max_side is None or longest <= max_side:
        return image, 1.0
    scale = max_side / longest
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return small, image.shape[1] / size[0]


def _detect_one(image, model, upsample, factor):
    if model == "cnn":
        found = _models.cnn_detector()(image, upsample)
        boxes = [_from_dlib(d.rect, d.confidence, factor) for d in found]
    else:
        rects, scores, _ = _models.hog_detector().run(image, upsample, 0.0)
        boxes = [_from_dlib(r, s, factor) for r, s in zip(rects, scores)]
    return sorted(boxes, key=lambda b: -b.score)


def _from_dlib(rect, score, factor):
    """dlib's inclusive rectangle -> a `FaceBox` (exclusive right/bottom) scaled back."""
    return FaceBox(rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1, score).scaled(factor)
