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
                        help="score only the rows of a run's split.csv, e.g. runs/x/split.csv:test "
                        "(NAME defaults to test; without --split, the split.csv beside the model "
                        "when its card names one)")
    parser.add_argument("--limit", type=int, default=None,
                        help="score a random sample (seed 0) of N images of the test split")
    parser.add_argument("--bins", default="utk7", help="age bins for the classification scores")
    parser.add_argument("--predictions", default=None, help="also write per-image predictions (CSV)")
    parser.add_argument("--json", action="store_true", help="print the whole evaluation as one JSON "
                        "object (scores, interval coverage, errors by group, age-threshold decisions)")


def _run_evaluate(args):
    import logging

    from agekit.audit import audit_markdown
    from agekit.datasets import load_dataset
    from agekit.evaluation import evaluate_model
    from agekit.predict import load_model

    model_path = _model_path(args.model)
    format, root = _data_spec(args.data)
    if root is None:
        raise InvalidValueError(f"Expected --data FORMAT:PATH with a path. Received: data={args.data!r}")
    split = _split_arg(args.split)
    df = load_dataset(format, root)
    _start_tensorflow(args)
    model = load_model(model_path)
    if split is None:
        split = _card_split(model, model_path)
    df, counts = _rows_to_score(df, split, args.limit)
    logging.getLogger("agekit").info("agekit evaluate: %s", _describe_rows(counts))
    scores, table = evaluate_model(model, df, bins=args.bins)
    if args.predictions:
        table.drop(columns=["face_box"], errors="ignore").to_csv(args.predictions, index=False)
    if args.json:
        _print_json({**scores, "data": counts})
    else:  # the scalar scores, then the group and threshold tables as Markdown
        _print_json({**{k: v for k, v in scores.items() if k not in ("audit", "coverage_by_level")},
                     "data": counts})
        print(f"\n{audit_markdown(scores)}", end="")
    return 0


def _split_arg(text):
    """`--split CSV[:NAME]` -> `(csv path, name)` (name `test` by default), checked early."""
    if not text:
        return None
    csv, _, name = text.partition(":")
    if not Path(csv).is_file():
        raise MissingFileError(f"Expected a split CSV. Received: split={csv!r} (no such file)")
    return Path(csv), name or "test"


def _card_split(model, model_path):
    """The test split of the run a model was trained in: the `split.csv` its card names,
    beside the model file (None when the card names none or the file is not there)."""
    from agekit.models import card_of

    try:
        validation = card_of(model).validation
    except TypeError:  # a plain Keras model without a card
        return None
    name = validation.get("split_csv") if isinstance(validation, dict) else None
    csv = Path(model_path).parent / name if name else None
    return (csv, "test") if csv is not None and csv.is_file() else None


def _rows_to_score(df, split, limit):
    """The rows `agekit evaluate` scores, and what happened to the loaded rows (counts).

    With a split (`--split`, or the model's own split.csv), only that split's rows; a
    `--limit` sample is drawn from them, never from the images the model trained on.
    """
    import pandas as pd

    counts = {"loaded": len(df), "dropped": {k: v for k, v in df.attrs.get("dropped", {}).items() if v}}
    if split is not None:
        csv, name = split
        rows = pd.read_csv(csv)
        wanted = rows.loc[rows["split"] == name]
        paths = set(wanted["path"])
        if "source_path" in wanted.columns:  # a run that cropped faces records the originals too
            paths |= set(wanted["source_path"].dropna())
        df = df[df["path"].isin(paths)]
        counts["split"] = {"csv": str(csv), "name": name, "rows": len(wanted),
                           "sizes": rows["split"].value_counts().to_dict(), "matched": len(df)}
        if df.empty:
            raise InvalidValueError(f"Expected rows of the {name!r} split of {csv} in --data. "
                                    f"Received: 0 of {counts['loaded']} loaded rows matched")
    if limit and limit < len(df):
        df = df.sample(n=limit, random_state=0)
        counts["sampled"] = {"n": len(df), "seed": 0,
                             "from": f"the {split[1]!r} split" if split else "all loaded rows"}
    counts["scored"] = len(df)
    return df, counts


def _describe_rows(counts):
    """The counts of `_rows_to_score` in words, for the log."""
    dropped = counts["dropped"]
    words = [f"{counts['loaded']} rows loaded" + (f" (the loader dropped {dropped})" if dropped else "")]
    if "split" in counts:
        split = counts["split"]
        words.append(f"{split['matched']} of them in the {split['name']!r} split of {split['csv']} "
                     f"(split sizes {split['sizes']})")
    if "sampled" in counts:
        words.append(f"a random sample of {counts['sampled']['n']} from {counts['sampled']['from']}")
        if "split" not in counts:
            words.append("no split known, so the sample may include images the model trained on "
                         "(pass --split RUN/split.csv:test)")
    return "; ".join(words) + f"; {counts['scored']} scored"


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
