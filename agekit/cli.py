"""The `agekit` command line: one subcommand per job, each a thin layer over the library.

    agekit quickstart                                  # the whole pipeline on synthetic faces
    agekit quickstart --data utkface:datasets/UTKFace  # ... on real data
    agekit train experiment.toml                       # agekit.experiment.Experiment
    agekit evaluate --model runs/x/model.keras --data utkface:datasets/UTKFace
    agekit predict photo.jpg --model utkface --annotate out/
    agekit explain face.jpg --model utkface --out explained/
    agekit prepare photos.csv prepared/ --detector cnn --margin loose --workers 4
    agekit prepare photos/ prepared/ --shard 3/16      # one task of a cluster array job
    agekit export runs/x/model.keras exported/x        # SavedModel (or --format onnx|tflite)
    agekit reproduce --list                            # the studies' result tables
    agekit reproduce 001-agecnn-utk7 --scale cpu --data utkface:../shared/data/utkface

Subcommands register themselves in `COMMANDS` (name -> (help, add_arguments, run)).
Bad input (a missing file, an unknown dataset format, a photo without a face, a file
that is not a model) ends with one line on stderr and exit status 2, never a traceback.
"""

import argparse
import contextlib
import logging
import os
import sys
from pathlib import Path

from agekit.errors import InputError, InvalidValueError, MissingFileError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def _add_prepare(parser):
    parser.add_argument("source", help="a CSV with a `path` column (relative paths are "
                        "relative to the CSV's folder) or a folder of images (searched recursively)")
    parser.add_argument("out_dir", help="output folder: crops/, manifest CSV, settings.json")
    parser.add_argument("--detector", choices=("cnn", "hog"), default="cnn")
    parser.add_argument("--margin", default="loose",
                        help="tight | loose | very_loose | raw | a number (fraction of the box side)")
    parser.add_argument("--align", action="store_true", help="rotate faces so the eyes are level")
    parser.add_argument("--size", type=int, default=224, help="side of every crop in pixels")
    parser.add_argument("--pad", choices=("constant", "reflect"), default="constant")
    parser.add_argument("--workers", type=int, default=1, help="parallel processes")
    parser.add_argument("--shard", default="0/1", help="I/N: prepare shard I of N (0-based)")
    parser.add_argument("--no-resume", dest="resume", action="store_false",
                        help="start the manifest afresh instead of skipping finished images")
    parser.add_argument("--on-multiple", choices=("largest", "score", "center", "reject"),
                        default="largest")
    parser.add_argument("--use-boxes", action="store_true",
                        help="take boxes from the CSV's `face_box` column instead of detecting")
    parser.add_argument("--max-side", type=int, default=None,
                        help="detect on a copy shrunk to this longer side")
    parser.add_argument("--upsample", type=int, default=0, help="dlib upsampling steps")
    parser.add_argument("--format", dest="image_format", choices=("jpg", "png"), default="jpg")
    parser.add_argument("--log-every", type=int, default=100)


def _run_prepare(args):
    import pandas as pd

    from agekit.faces import prepare_dataset

    shard = _shard(args.shard)
    source = Path(args.source)
    if source.is_dir():
        paths = sorted(str(p) for p in source.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        df = pd.DataFrame({"path": paths})
    elif source.is_file():
        df = pd.read_csv(source)
        if "path" not in df.columns:
            raise InvalidValueError(f"Expected a `path` column in {source}. Received: columns={list(df.columns)}")
        df["path"] = [p if not isinstance(p, str) or os.path.isabs(p) else str(source.parent / p)
                      for p in df["path"]]
    else:
        raise MissingFileError(f"Expected a CSV file or a folder of images. Received: "
                               f"source={str(source)!r} (no such file or folder)")
    manifest = prepare_dataset(
        df, args.out_dir, detector=args.detector, margin=_margin(args.margin), align=args.align,
        size=args.size, pad=args.pad, workers=args.workers, shard=shard,
        resume=args.resume, on_multiple=args.on_multiple, use_boxes=args.use_boxes,
        max_side=args.max_side, upsample=args.upsample, image_format=args.image_format,
        log_every=args.log_every,
    )
    counts = manifest["status"].value_counts().to_dict()
    logging.getLogger("agekit").info("agekit prepare: done, %d images: %s", len(manifest), counts)
    return 0


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


def _add_quickstart(parser):
    parser.add_argument("--data", default=None, metavar="FORMAT[:PATH]",
                        help="dataset to use, e.g. utkface:datasets/UTKFace (default: synthetic "
                        "faces in the IMDb-WIKI layout, made on the spot)")
    parser.add_argument("--out", default="agekit-quickstart", help="report folder")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs")
    parser.add_argument("--n", type=int, default=None, help="number of synthetic faces")
    parser.add_argument("--limit", type=int, default=None, help="use at most N images of --data")


def _run_quickstart(args):
    from agekit.experiment import quickstart

    data = _data_spec(args.data) if args.data else None
    _start_tensorflow(args)
    report = quickstart(args.out, data=data, epochs=args.epochs, n=args.n, limit=args.limit)
    _print_json({k: report["metrics"][k] for k in ("n_train", "n_test", "mae", "baseline_mae", "cs5")})
    print(f"report: {report['report']}")
    return 0


def _add_train(parser):
    parser.add_argument("config", help="TOML file with [data], [model] and [train] sections "
                        "(see agekit.experiment)")
    parser.add_argument("--run-dir", default=None, help="override [train] run_dir")
    parser.add_argument("--epochs", type=int, default=None, help="override [train] epochs")


def _run_train(args):
    from agekit.experiment import Experiment, run_experiment

    experiment = Experiment.from_toml(args.config)
    overrides = {k: v for k, v in (("run_dir", args.run_dir), ("epochs", args.epochs)) if v is not None}
    if overrides:
        experiment = experiment.replace(train=overrides)
    if experiment.data.root is not None:
        _data_spec(f"{experiment.data.format}:{experiment.data.root}")
    _start_tensorflow(args)
    _print_json(run_experiment(experiment, verbose=0 if args.quiet else 2))
    return 0


def _add_evaluate(parser):
    parser.add_argument("--model", required=True, help="a .keras file or a name in the weights folders")
    parser.add_argument("--data", required=True, metavar="FORMAT:PATH",
                        help="labelled dataset, e.g. utkface:datasets/UTKFace")
    parser.add_argument("--split", default=None, metavar="CSV[:NAME]",
                        help="score only the rows of a run's split.csv, e.g. runs/x/split.csv:test")
    parser.add_argument("--limit", type=int, default=None, help="score a random sample of N images")
    parser.add_argument("--bins", default="utk7", help="age bins for the classification scores")
    parser.add_argument("--predictions", default=None, help="also write per-image predictions (CSV)")
    parser.add_argument("--json", action="store_true", help="print the whole evaluation as one JSON "
                        "object (scores, interval coverage, errors by group, age-threshold decisions)")


def _run_evaluate(args):
    import pandas as pd

    from agekit.audit import audit_markdown
    from agekit.datasets import load_dataset
    from agekit.evaluation import evaluate_model
    from agekit.predict import load_model

    model_path = _model_path(args.model)
    format, root = _data_spec(args.data)
    if root is None:
        raise InvalidValueError(f"Expected --data FORMAT:PATH with a path. Received: data={args.data!r}")
    df = load_dataset(format, root)
    if args.split:
        csv, _, name = args.split.partition(":")
        if not Path(csv).is_file():
            raise MissingFileError(f"Expected a split CSV. Received: split={csv!r} (no such file)")
        rows = pd.read_csv(csv)
        df = df[df["path"].isin(rows.loc[rows["split"] == (name or "test"), "path"])]
    if args.limit and args.limit < len(df):
        df = df.sample(n=args.limit, random_state=0)
    _start_tensorflow(args)
    scores, table = evaluate_model(load_model(model_path), df, bins=args.bins)
    if args.predictions:
        table.drop(columns=["face_box"], errors="ignore").to_csv(args.predictions, index=False)
    if args.json:
        _print_json(scores)
    else:  # the scalar scores, then the group and threshold tables as Markdown
        _print_json({k: v for k, v in scores.items() if k not in ("audit", "coverage_by_level")})
        print(f"\n{audit_markdown(scores)}", end="")
    return 0


def _add_face_options(parser):
    parser.add_argument("--detector", choices=("cnn", "hog"), default="cnn")
    parser.add_argument("--upsample", type=int, default=0,
                        help="dlib upsampling steps (1 finds faces down to about 40 px, 4x slower)")
    parser.add_argument("--max-side", type=int, default=1024,
                        help="detect on a copy shrunk to this longer side")
    parser.add_argument("--margin", default=None,
                        help="tight | loose | very_loose | a number (default: the crop the model was "
                             "trained on, from its card)")
    parser.add_argument("--align", dest="align", action="store_true", default=None,
                        help="level the eyes (default: as the model was trained)")
    parser.add_argument("--no-align", dest="align", action="store_false", help="do not level the eyes")


def _add_predict(parser):
    parser.add_argument("images", nargs="+", help="photos (every face in each is predicted)")
    parser.add_argument("--model", default="utkface",
                        help="a .keras file or a name in the weights folders (default: utkface)")
    _add_face_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    parser.add_argument("--interval", type=float, default=None, metavar="LEVEL",
                        help="also an age interval per face at this level, e.g. 0.9 (age_low, age_high)")
    parser.add_argument("--annotate", default=None, metavar="DIR",
                        help="write each photo with its faces boxed and labelled into DIR")


def _run_predict(args):
    import pandas as pd

    from agekit.faces import detect_faces
    from agekit.images import read_image, write_image
    from agekit.predict import annotate, load_model, predict_faces

    paths = _existing_images(args.images)
    model_path = _model_path(args.model)
    found, missing = [], []
    for path in paths:  # detect first: no model is loaded for photos without faces
        image = read_image(path)
        boxes = detect_faces(image, model=args.detector, upsample=args.upsample, max_side=args.max_side)
        (found if boxes else missing).append((path, image, boxes))
    tables = []
    if found:
        _start_tensorflow(args)
    model = load_model(model_path, compile=False) if found else None
    for path, image, boxes in found:
        faces = predict_faces(model, image, boxes=boxes, align=args.align, interval=args.interval,
                              margin=None if args.margin is None else _margin(args.margin))
        tables.append(faces.assign(image=path))
        if args.annotate:
            Path(args.annotate).mkdir(parents=True, exist_ok=True)
            write_image(Path(args.annotate) / f"{Path(path).stem}_agekit.png", annotate(image, faces))
    if tables:
        table = pd.concat(tables, ignore_index=True)
        columns = ["image", *[c for c in table.columns if c != "image"]]
        table = table[columns].round(3)
        if args.json:
            print(table.to_json(orient="records", lines=True), end="")
        else:
            print(table.to_string(index=False))
    if missing:
        raise InvalidValueError(f"Expected a face in every image; found none in {len(missing)}. "
                                f"Received: images={[path for path, _, _ in missing]}")
    return 0


def _add_explain(parser):
    parser.add_argument("image", help="a photo (its largest face is explained) or a face crop")
    parser.add_argument("--model", default="utkface", help="a .keras file or a name in the weights folders")
    parser.add_argument("--out", default="agekit-explain", help="folder for the figures")
    parser.add_argument("--true-age", type=float, default=None, help="the known age, for the titles")
    parser.add_argument("--crop", action="store_true",
                        help="the image is already a face crop: do not detect")
    _add_face_options(parser)


def _run_explain(args):
    from agekit.faces import detect_faces, primary_face
    from agekit.images import read_image
    from agekit.predict import face_crops_for, load_model

    (path,) = _existing_images([args.image])
    model_path = _model_path(args.model)
    image = read_image(path)
    faces = None
    if not args.crop:
        faces = detect_faces(image, model=args.detector, upsample=args.upsample, max_side=args.max_side)
        if not faces:
            raise InvalidValueError(f"Expected a face in the image (or --crop for a face crop). Received: image={path!r}")
    _start_tensorflow(args)
    from agekit.explain import explain_image  # imports TensorFlow: after the checks

    model = load_model(model_path, compile=False)
    if faces:
        (image,) = face_crops_for(model, image, [primary_face(faces)], align=args.align,
                                  margin=None if args.margin is None else _margin(args.margin))
    figures = explain_image(model, image, args.out, true_age=args.true_age)
    for name, figure in figures.items():
        print(f"{name}: {figure}")
    return 0


def _add_export(parser):
    parser.add_argument("model", help="a .keras file or a name in the weights folders")
    parser.add_argument("out", help="the SavedModel folder, or the .onnx / .tflite file")
    parser.add_argument("--format", choices=("savedmodel", "onnx", "tflite"), default="savedmodel",
                        help="what to write (default: %(default)s)")
    parser.add_argument("--interval", type=float, default=0.9, metavar="LEVEL",
                        help="level of the age_low / age_high outputs when the model is calibrated")


def _run_export(args):
    model_path = _model_path(args.model)
    _start_tensorflow(args)
    from agekit.export import export_model  # imports TensorFlow: after the checks

    out = export_model(model_path, args.out, format=args.format, interval=args.interval)
    print(out)
    return 0


def _add_reproduce(parser):
    parser.add_argument("name", nargs="?", default=None,
                        help="a reproduction (see --list), e.g. 001-agecnn-utk7")
    parser.add_argument("--list", action="store_true", help="list the reproductions and exit")
    parser.add_argument("--scale", choices=("smoke", "cpu", "full"), default="smoke",
                        help="smoke: seconds, synthetic data (CI); cpu: <= 30 min on 2 cores; "
                             "full: the study's own settings (a GPU)")
    parser.add_argument("--data", action="append", default=None, metavar="FORMAT:PATH",
                        help="real data of a format the study uses (repeat for pre-training data, "
                             "e.g. --data chalearn:PATH --data imdb_wiki:PATH)")
    parser.add_argument("--out", default=None, help="output folder (default reproductions/NAME-SCALE)")


def _run_reproduce(args):
    from agekit import studies

    if args.list:
        print("\n".join(studies.listing()))
        return 0
    if args.name is None:
        raise InvalidValueError("Expected a reproduction name or --list (see agekit reproduce --list). "
                                "Received: name=None")
    studies.get(args.name)  # an unknown name fails here, before TensorFlow starts
    roots = {}
    for spec in args.data or []:
        format, root = _data_spec(spec)
        if root is None:
            raise InvalidValueError(f"Expected --data FORMAT:PATH with a path. Received: data={spec!r}")
        roots[format] = root
    _start_tensorflow(args)  # reading the settings' stages imports Keras
    from agekit.studies.run import reproduce

    out = args.out or f"reproductions/{args.name}-{args.scale}"
    table = reproduce(args.name, args.scale, data=roots, out=out, verbose=0 if args.quiet else 2)
    print(table[["measure", "reported", "measured"]].to_string(index=False))
    print(f"table: {Path(out) / 'table.md'}")
    return 0


def _print_json(value):
    import json

    from agekit.evaluation import json_ready  # NaN / inf -> null: strict JSON

    print(json.dumps(json_ready(value), indent=2, default=str, allow_nan=False))


COMMANDS = {
    "quickstart": ("the whole pipeline in a few minutes: data, faces, training, evaluation, figures",
                   _add_quickstart, _run_quickstart),
    "prepare": ("detect, crop and align the faces of a dataset (resumable, shardable)",
                _add_prepare, _run_prepare),
    "train": ("train and evaluate a model described by a TOML file", _add_train, _run_train),
    "evaluate": ("score a trained model on a labelled dataset", _add_evaluate, _run_evaluate),
    "predict": ("find the faces in photos and predict their age (and gender / ethnicity)",
                _add_predict, _run_predict),
    "explain": ("activation maps, occlusion sensitivity and Grad-CAM for one face",
                _add_explain, _run_explain),
    "export": ("export a model for serving without agekit: SavedModel, ONNX or TFLite",
               _add_export, _run_export),
    "reproduce": ("re-run a study's result table beside the study's own numbers (--list)",
                  _add_reproduce, _run_reproduce),
}


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


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (`agekit predict: error: ...`) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `agekit` command, one subparser per `COMMANDS` entry."""
    parser = _Parser(prog="agekit", description="Age estimation from face images.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    common.add_argument("-v", "--verbose", action="store_true",
                        help="also show TensorFlow's C++ start-up messages (hidden by default)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                       parser_class=_Parser)
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        add_arguments(subparsers.add_parser(name, help=help_text, description=help_text, parents=[common]))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the `agekit` command line.

    Args:
        argv: the arguments (without the program name); `None` reads `sys.argv`.

    Returns:
        The exit status: 0 on success, 2 for bad input (an `agekit.errors.InputError`,
        one line on stderr). Any other exception is a bug and propagates with its
        traceback.

    Example:

    >>> main(["predict", "missing.jpg"])  # doctest: +SKIP
    agekit predict: error: Expected an image file. Received: image='missing.jpg' (no such file)
    2
    """
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if args.verbose else "2")
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return COMMANDS[args.command][2](args)
    except InputError as error:  # agekit's own input errors only: a bug keeps its traceback
        message = " ".join(str(error).split())
        print(f"agekit {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
