"""Lazy, cached loading of dlib and its trained models (one load per process).

The `.dat` files ship in the `face_recognition_models` package. Its `__init__` imports
`pkg_resources`, which recent setuptools no longer provides, so the files are located
through the package's import spec without running that `__init__`. Set
`AGEKIT_DLIB_MODELS` to a folder holding the same file names to use other copies.
"""

import functools
import importlib.util
import os
import threading
from pathlib import Path

from agekit.errors import MissingFileError

_FILES = {
    "cnn": "mmod_human_face_detector.dat",
    "landmarks_68": "shape_predictor_68_face_landmarks.dat",
    "landmarks_5": "shape_predictor_5_face_landmarks.dat",
}


def import_dlib():
    """Import dlib, with an install hint when it is missing."""
    try:
        import dlib
    except ImportError as error:  # pragma: no cover - dlib is a declared dependency
        raise ImportError(
            "agekit.faces needs dlib: `pip install dlib-bin` (prebuilt CPU wheels) or "
            "`pip install dlib` (source build, for CUDA)."
        ) from error
    return dlib


def model_path(name: str) -> Path:
    """Path of one of dlib's trained models: "cnn", "landmarks_68" or "landmarks_5"."""
    filename = _FILES[name]
    override = os.environ.get("AGEKIT_DLIB_MODELS")
    if override:
        folder = Path(override)
    else:
        spec = importlib.util.find_spec("face_recognition_models")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError(
                "agekit.faces needs dlib's trained models: `pip install "
                "face_recognition_models` (or set AGEKIT_DLIB_MODELS to a folder of .dat files)."
            )
        folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    path = folder / filename
    if not path.is_file():
        raise MissingFileError(f"Expected dlib model file {filename}. Received: path={str(path)!r}")
    return path


@functools.cache
def cnn_detector():
    """dlib's MMOD CNN face detector, loaded on first use."""
    return import_dlib().cnn_face_detection_model_v1(str(model_path("cnn")))


_local = threading.local()


def hog_detector():
    """dlib's HOG + linear SVM frontal face detector, one per thread, built on first use.

    Its calls release the GIL and write scratch memory inside the detector, so two
    threads sharing one crash the interpreter (heap corruption); a detector costs
    milliseconds to build. The CNN detector holds the GIL for its whole call and the
    landmark models only read their trees, so those are shared.
    """
    detector = getattr(_local, "hog", None)
    if detector is None:
        detector = _local.hog = import_dlib().get_frontal_face_detector()
    return detector


@functools.cache
def shape_predictor(points: int):
    """dlib's 68- or 5-point landmark predictor, loaded on first use."""
    return import_dlib().shape_predictor(str(model_path(f"landmarks_{points}")))
