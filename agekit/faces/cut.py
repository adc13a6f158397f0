"""Cut faces out of photos by a `CropSpec`: one face, one photo, or a folder of photos.

- `cut_face(image, box, crop)`: the crop of one detected face;
- `cut_faces(image, crop)`: detect (by the spec's detector) and cut every face of a photo;
- `cut_photos(photos, crop, workers=...)`: the same over many photos, in input order,
  in worker threads (or processes); unreadable files are reported per photo, never fatal.

Threads work because dlib's HOG detector and landmark models release the GIL while they
run (a pure-Python loop keeps about the speed it has alone beside them); the HOG detector
writes scratch memory, so each thread builds its own (`_models.hog_detector`: two threads
sharing one crash the interpreter). The CNN detector holds the GIL for its whole call, so
CNN work does not overlap: processes overlap everything but each starts an interpreter
and loads the models (about 1-2 s) and sends the crops back pickled.
`benchmarks/bench_photos.py` measures both.
"""

import collections
import concurrent.futures
import itertools
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from agekit._validation import fail
from agekit.faces.align import align_face, face_landmarks
from agekit.faces.crop import crop_face
from agekit.faces.detect import FaceBox, detect_faces, hog_like
from agekit.faces.spec import CropSpec, crop_spec
from agekit.faces.template import template_crop
from agekit.images import as_rgb, read_image


@dataclass(frozen=True)
class PhotoFaces:
    """The faces `cut_photos` found in one photo.

    `status` is `"ok"` (one crop per box), `"no_face"`, `"missing"` (no such file) or
    `"unreadable"` (not an image, truncated, ...; the reason is in `error`). Boxes are
    in the photo's pixels, most confident first, as `detect_faces` returns them.
    """

    source: str | int
    status: str
    boxes: tuple[FaceBox, ...] = ()
    crops: tuple[np.ndarray, ...] = ()
    error: str | None = None


def cut_face(image: np.ndarray, box: FaceBox, crop: CropSpec | str | dict | float = "utkface") -> np.ndarray:
    """The crop of one face, cut by a `CropSpec`.

    Args:
        image: the RGB photo (see `agekit.images.as_rgb`) the box was found in.
        box: the face, as the spec's detector drew it (a CNN box is converted with
            `hog_like` before seeding the landmarks, as dlib's landmark models expect).
        crop: a `CropSpec` or anything `crop_spec` accepts.

    Returns:
        A square uint8 RGB array (`spec.size`, or the geometry's own size).

    Example:

    >>> image = np.zeros((100, 100, 3), dtype="uint8")
    >>> cut_face(image, FaceBox(30, 30, 70, 70), CropSpec(margin="tight", align=False)).shape
    (40, 40, 3)
    """
    spec = crop_spec(crop)
    image = as_rgb(image)
    if spec.margin == "raw":
        return crop_face(image, None, margin="raw", size=spec.size, pad=spec.pad)
    if not isinstance(box, FaceBox):
        fail("`box` as a FaceBox", "box", box, error=TypeError)
    if spec.template is None and not spec.align:
        return crop_face(image, box, margin=spec.margin, size=spec.size, pad=spec.pad)
    seed = hog_like(box) if spec.detector == "cnn" else box
    points = face_landmarks(image, seed, points=spec.points)
    if spec.template is not None:
        return template_crop(image, points, template=spec.template, size=spec.size, pad=spec.pad)
    return align_face(image, points, size=spec.size, margin=spec.margin, pad=spec.pad, box=box)


def cut_faces(
    image: np.ndarray | str | os.PathLike,
    crop: CropSpec | str | dict | float = "utkface",
    *,
    boxes: list[FaceBox] | None = None,
) -> tuple[list[FaceBox], list[np.ndarray]]:
    """Detect every face of a photo and cut it by a `CropSpec`.

    Args:
        image: an RGB array or an image path (`agekit.images.read_image`).
        crop: a `CropSpec` or anything `crop_spec` accepts (`"utkface"`, `"tight"`,
            a `to_dict()` dict from a model card, ...).
        boxes: faces already found (by the spec's detector); `None` detects them with
            the spec's `detector`, `upsample` and `max_side`. With `margin="raw"` the
            whole image is the one face.

    Returns:
        `(boxes, crops)`: the `FaceBox`es, most confident first, and one square uint8
        RGB crop per box. No face gives two empty lists.

    Example:

    >>> cut_faces(np.zeros((64, 64, 3), dtype="uint8"), "utkface")
    ([], [])
    """
    spec = crop_spec(crop)
    image = read_image(image) if isinstance(image, (str, os.PathLike)) else as_rgb(image)
    if spec.margin == "raw":
        boxes = [FaceBox(0, 0, image.shape[1], image.shape[0])]
    elif boxes is None:
        boxes = detect_faces(image, model=spec.detector, max_side=spec.max_side, upsample=spec.upsample)
    return list(boxes), [cut_face(image, box, spec) for box in boxes]


def cut_photos(
    photos: Iterable[str | os.PathLike | np.ndarray],
    crop: CropSpec | str | dict | float = "utkface",
    *,
    workers: int = 1,
    processes: bool = False,
    chunk_size: int = 4,
) -> Iterator[PhotoFaces]:
    """`cut_faces` over many photos, in parallel workers, yielding results in input order.

    Args:
        photos: image paths (or RGB arrays).
        crop: a `CropSpec` or anything `crop_spec` accepts.
        workers: photos cut at once; 1 works in the calling thread. dlib uses one core
            per call, so up to one worker per core helps.
        processes: use worker processes instead of threads (see the module docstring).
            They start with `spawn`, so a script that uses them needs the usual
            `if __name__ == "__main__":` guard.
        chunk_size: photos sent to a worker process at a time.

    Yields:
        One `PhotoFaces` per photo, in input order; `source` is the path as given (as a
        string) or, for an array, its position.

    Example:

    >>> [r.status for r in cut_photos([np.zeros((32, 32, 3), dtype="uint8"), "nope.jpg"])]
    ['no_face', 'missing']
    """
    spec = crop_spec(crop)
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        fail("`workers` as a positive integer", "workers", workers)
    if isinstance(photos, (str, os.PathLike)):
        fail("a list of photos (not one path)", "photos", str(photos), error=TypeError)
    tasks = ((i, p if isinstance(p, np.ndarray) else os.fspath(p)) for i, p in enumerate(photos))
    if workers == 1:
        for task in tasks:
            yield _cut_one(task, spec)
        return
    if processes:
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(int(workers), mp_context=context) as pool:
            yield from pool.map(_cut_one, tasks, itertools.repeat(spec), chunksize=int(chunk_size))
        return
    with concurrent.futures.ThreadPoolExecutor(int(workers)) as pool:
        pending = collections.deque()
        for task in tasks:  # a bounded window ahead, results in input order
            pending.append(pool.submit(_cut_one, task, spec))
            if len(pending) >= 4 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _cut_one(task, spec: CropSpec) -> PhotoFaces:
    """Read one photo and cut its faces; a bad file becomes a status, not an exception."""
    index, photo = task
    source = index if isinstance(photo, np.ndarray) else photo
    try:
        image = as_rgb(photo) if isinstance(photo, np.ndarray) else read_image(photo)
    except FileNotFoundError as error:
        return PhotoFaces(source, "missing", error=str(error))
    except (ValueError, TypeError) as error:
        return PhotoFaces(source, "unreadable", error=str(error))
    boxes, crops = cut_faces(image, spec)
    return PhotoFaces(source, "ok" if boxes else "no_face", tuple(boxes), tuple(crops))
