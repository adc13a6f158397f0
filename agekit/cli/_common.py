"""What the `agekit` subcommands share: argument parsing helpers, checks made before
TensorFlow starts, JSON output and TensorFlow's quiet start."""

import contextlib
import os
import sys
from pathlib import Path

from agekit.errors import InvalidValueError, MissingFileError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def _margin(text):
    try:
        return float(text)
    except ValueError:
        return text


def _shard(text):
    try:
        index, count = (int(v) for v in text.split("/"))
    except ValueError:
        raise InvalidValueError(f"Expected --shard I/N, e.g. 0/4. Received: shard={text!r}") from None
    return index, count


def _data_spec(text):
    from agekit.datasets import FORMATS, parse_data_spec

    format, root = parse_data_spec(text)
    if format not in FORMATS:
        raise InvalidValueError(f"Unknown dataset format. Expected FORMAT[:PATH] with FORMAT one of "
                                f"{FORMATS}. Received: data={text!r}")
    if root is not None and not Path(root).expanduser().exists():
        raise MissingFileError(f"Expected an existing dataset folder or file. Received: data={text!r} "
                               f"(no such file or folder)")
    return format, root


def _model_path(name_or_path):
    """Resolve `--model` and check it is a `.keras` archive before TensorFlow is imported."""
    import zipfile

    from agekit.predict import find_model

    path = find_model(name_or_path)
    if not zipfile.is_zipfile(path) or "config.json" not in zipfile.ZipFile(path).namelist():
        raise InvalidValueError(f"Expected a Keras model file (.keras). Received: model={str(path)!r} "
                                f"(not a Keras model archive)")
    return path


def _existing_images(paths):
    for path in paths:
        if not Path(path).is_file():
            raise MissingFileError(f"Expected an image file. Received: image={path!r} (no such file)")
    return [str(p) for p in paths]


def _add_face_options(parser):
    parser.add_argument("--crop", default=None,
                        help="how faces are cut: a landmark template (utkface), a margin preset "
                             "(tight | loose | very_loose) or a fraction (default: the crop the model "
                             "was trained on, from its card)")
    parser.add_argument("--detector", choices=("auto", "hog", "cnn"), default=None,
                        help="auto: HOG, then the CNN where HOG finds nothing (default: the model card's)")
    parser.add_argument("--upsample", type=int, default=None,
                        help="dlib upsampling steps: 1 finds faces down to about 40 px at 4x the time "
                             "(default: the model card's, 0)")
    parser.add_argument("--max-side", type=int, default=None,
                        help="detect on a copy shrunk to this longer side (default: the model card's)")
    parser.add_argument("--margin", default=None,
                        help="a margin crop around the detector box instead: tight | loose | "
                             "very_loose | a number")
    parser.add_argument("--align", dest="align", action="store_true", default=None,
                        help="margin crops: level the eyes (default: as the model was trained)")
    parser.add_argument("--no-align", dest="align", action="store_false",
                        help="margin crops: do not level the eyes")


def _crop_changes(args):
    """The `agekit.photos.model_crop` changes the face options ask for."""
    return {"crop": None if args.crop is None else _margin(args.crop), "detector": args.detector,
            "upsample": args.upsample, "max_side": args.max_side, "align": args.align,
            "margin": None if args.margin is None else _margin(args.margin)}


def _print_json(value):
    import json

    from agekit.evaluation import json_ready  # NaN / inf -> null: strict JSON

    print(json.dumps(json_ready(value), indent=2, default=str, allow_nan=False))


@contextlib.contextmanager
def _native_stderr_silenced():
    """Send what C++ libraries write to file descriptor 2 to /dev/null for a while.

    TensorFlow prints its start-up lines (oneDNN, CUDA drivers and, on a machine without
    a GPU, "failed call to cuInit") from C++ before its log level applies, so
    `TF_CPP_MIN_LOG_LEVEL` cannot hide them; Python's own messages are unaffected.
    """
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(null)
        os.close(saved)


def _start_tensorflow(args):
    """Import TensorFlow (after a command's cheap checks), its C++ start-up lines hidden
    unless `--verbose`."""
    if args.verbose:
        return
    with _native_stderr_silenced():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
