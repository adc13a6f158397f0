"""`agekit predict`: photos, folders or globs in; every face's age out (a table, JSON or CSV)."""

import glob
import json
import math
import os
import sys
from pathlib import Path

from agekit.cli._common import (
    IMAGE_SUFFIXES,
    _add_face_options,
    _crop_changes,
    _model_path,
    _start_tensorflow,
)
from agekit.errors import InvalidValueError, MissingFileError


def _add_predict(parser):
    parser.add_argument("images", nargs="+",
                        help="photos, folders (searched recursively) or glob patterns such as "
                             "'photos/*.jpg'; every face in each photo is predicted")
    parser.add_argument("--model", default="utkface",
                        help="a .keras file or a model name in the model folders (see weights/README.md)")
    _add_face_options(parser)
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="one JSON object per face and line")
    output.add_argument("--csv", action="store_true", help="CSV with a header line")
    parser.add_argument("--interval", type=float, default=None, metavar="LEVEL",
                        help="also an age interval per face at this level, e.g. 0.9 (age_low, age_high)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                        help="photos detected at once (threads)")
    parser.add_argument("--annotate", default=None, metavar="DIR",
                        help="write each photo with its faces boxed and labelled into DIR")
    parser.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                        help="no progress bar (shown on a terminal for more than 10 photos)")


def photo_paths(inputs) -> tuple[list[str], list[str]]:
    """`(photos, skipped)`: the image files that files, folders and glob patterns name.

    A folder is searched recursively and a pattern expanded (`**` included); their
    files that are not images by suffix (a LICENSE, a .csv) are skipped and returned
    apart. A file named on its own is always tried. A name that matches nothing is an
    error.
    """
    photos, skipped = [], []
    for text in inputs:
        path = Path(text).expanduser()
        if path.is_file():
            photos.append(str(path))
            continue
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
        elif glob.has_magic(text):
            files = sorted(Path(p) for p in glob.glob(os.path.expanduser(text), recursive=True) if Path(p).is_file())
            if not files:
                raise MissingFileError(f"Expected files matching the pattern. Received: image={text!r} (no match)")
        else:
            raise MissingFileError(f"Expected an image file. Received: image={text!r} (no such file)")
        for file in files:
            (photos if file.suffix.lower() in IMAGE_SUFFIXES else skipped).append(str(file))
    if not photos:
        raise InvalidValueError(f"Expected image files ({', '.join(IMAGE_SUFFIXES)}). Received: "
                                f"images={list(inputs)} ({len(skipped)} files, none an image)")
    return photos, skipped


def _run_predict(args):
    photos, skipped = photo_paths(args.images)
    model_path = _model_path(args.model)
    _start_tensorflow(args)
    from agekit.photos import predict_photos
    from agekit.predict import load_model

    model = load_model(model_path, compile=False)
    changes = _crop_changes(args)
    from agekit.photos import model_crop

    spec = model_crop(model, changes.pop("crop"), **changes)
    table = predict_photos(model, photos, crop=spec, workers=args.workers, interval=args.interval,
                           progress=False if args.quiet else args.progress)
    import pandas as pd

    status = pd.DataFrame(table.attrs.pop("photos"))
    if args.annotate and len(table):
        _annotate(table, args.annotate)
    if len(table):
        _print_faces(table, args)
    if not len(table):
        missing = status.loc[status["status"] == "no_face", "image"].tolist()
        hint = " (small faces: try --upsample 1; turned faces: --detector cnn)" if missing else ""
        raise InvalidValueError(f"Expected a face in at least one photo; found none in {len(photos)}{hint}. "
                                f"Received: images={photos[:5]}{' ...' if len(photos) > 5 else ''}")
    _summary(status, skipped, quiet=args.quiet)
    return 0


def _print_faces(table, args):
    table = table.drop(columns=["score"], errors="ignore")
    table["image"] = table["image"].astype(str)
    table = table.round({c: 2 for c in table.columns if c not in ("left", "top", "right", "bottom")})
    if args.json:
        for record in table.to_dict(orient="records"):
            print(json.dumps({k: _plain(v) for k, v in record.items()}))
    elif args.csv:
        table.to_csv(sys.stdout, index=False)
    else:
        print(table.to_string(index=False))


def _plain(value):
    """numpy scalars as Python numbers, rounded; NaN as null (strict JSON)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 2)
    return value


def _summary(status, skipped, *, quiet):
    counts = status["status"].value_counts().to_dict()
    faces = int(status["faces"].sum())
    parts = [f"{faces} faces in {counts.get('ok', 0)} of {len(status)} photos"]
    if counts.get("no_face"):
        parts.append(f"no face in {counts['no_face']} (small faces: try --upsample 1)")
    for bad in ("unreadable", "missing"):
        if counts.get(bad):
            names = status.loc[status["status"] == bad, "image"].astype(str).tolist()
            parts.append(f"{counts[bad]} {bad} skipped: {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}")
    if skipped:
        names = ", ".join(Path(p).name for p in skipped[:3])
        parts.append(f"{len(skipped)} non-image files skipped ({names}{' ...' if len(skipped) > 3 else ''})")
    if not quiet or len(parts) > 1:
        print(f"agekit predict: {'; '.join(parts)}", file=sys.stderr)


def _annotate(table, folder):
    from agekit.images import read_image, write_image
    from agekit.photos import annotate

    Path(folder).mkdir(parents=True, exist_ok=True)
    for image, faces in table.groupby("image", sort=False):
        out = Path(folder) / f"{Path(str(image)).stem}_agekit.png"
        write_image(out, annotate(read_image(image), faces))
