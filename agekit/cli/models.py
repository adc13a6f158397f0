"""The subcommands that use a trained model: `evaluate`, `predict`, `explain`, `export`."""

from pathlib import Path

from agekit.cli._common import (
    _add_face_options,
    _crop_changes,
    _data_spec,
    _existing_images,
    _model_path,
    _print_json,
    _start_tensorflow,
)
from agekit.errors import InvalidValueError, MissingFileError


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


def _add_explain(parser):
    parser.add_argument("image", help="a photo (its largest face is explained) or a face crop")
    parser.add_argument("--model", default="utkface", help="a .keras file or a name in the weights folders")
    parser.add_argument("--out", default="agekit-explain", help="folder for the figures")
    parser.add_argument("--true-age", type=float, default=None, help="the known age, for the titles")
    parser.add_argument("--cropped", action="store_true",
                        help="the image is already a face crop: do not detect")
    _add_face_options(parser)


def _run_explain(args):
    from agekit.faces import detect_faces, primary_face
    from agekit.images import read_image
    from agekit.photos import face_crops_for, model_crop
    from agekit.predict import load_model

    (path,) = _existing_images([args.image])
    model_path = _model_path(args.model)
    image = read_image(path)
    faces = None
    changes = _crop_changes(args)
    if not args.cropped:
        faces = detect_faces(image, model=args.detector or "auto", upsample=args.upsample or 0,
                             max_side=args.max_side)
        if not faces:
            raise InvalidValueError(f"Expected a face in the image (or --cropped for a face crop). "
                                    f"Received: image={path!r}")
    _start_tensorflow(args)
    from agekit.explain import explain_image  # imports TensorFlow: after the checks

    model = load_model(model_path, compile=False)
    if faces:
        spec = model_crop(model, changes.pop("crop"), **changes)
        (image,) = face_crops_for(model, image, [primary_face(faces)], crop=spec)
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
