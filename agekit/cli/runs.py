"""The subcommands that make data and runs: `quickstart`, `prepare`, `train`, `reproduce`."""

import logging
import os
from pathlib import Path

from agekit.cli._common import (
    IMAGE_SUFFIXES,
    _data_spec,
    _margin,
    _print_json,
    _shard,
    _start_tensorflow,
)
from agekit.errors import InvalidValueError, MissingFileError

QUICKSTART_OUT = "agekit-quickstart"  # git-ignored, with its numbered siblings
QUICKSTART_ENTRIES = ("report.md", "metrics.json", "run", "explain")  # what --overwrite removes


def _add_quickstart(parser):
    parser.add_argument("--data", default=None, metavar="FORMAT[:PATH]",
                        help="dataset to use, e.g. utkface:datasets/UTKFace (default: synthetic "
                        "faces in the IMDb-WIKI layout, made on the spot)")
    parser.add_argument("--out", default=None,
                        help=f"report folder (default: {QUICKSTART_OUT}/, or {QUICKSTART_OUT}-2/, -3/, "
                        "... when it holds an earlier report)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the report in --out (its report.md, metrics.json, run/ and explain/)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default: 10)")
    parser.add_argument("--n", type=int, default=None, help="number of synthetic faces (default: 1500)")
    parser.add_argument("--limit", type=int, default=None,
                        help="use a random sample (seed 0) of N images of --data (default: all)")


def _quickstart_out(out, overwrite):
    """The report folder of `agekit quickstart`: a fresh one unless `--out` names one.

    Without `--out`, `agekit-quickstart/`, or the first free `agekit-quickstart-N/`, so a
    second run never meets the first one's settings. An `--out` holding an earlier
    report is refused unless `--overwrite`, which removes that report's entries only.
    """
    import shutil

    if out is None:
        path, number = Path(QUICKSTART_OUT), 1
        while path.exists() and any(path.iterdir()):
            number += 1
            path = Path(f"{QUICKSTART_OUT}-{number}")
        return path
    path = Path(out)
    earlier = [path / name for name in QUICKSTART_ENTRIES if (path / name).exists()]
    if earlier and not overwrite:
        raise InvalidValueError(f"Expected a new report folder. Received: out={str(path)!r} (it holds an "
                                f"earlier report: pass --overwrite to replace it, or another --out)")
    for entry in earlier:
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    return path


def _run_quickstart(args):
    from agekit.experiment import quickstart

    data = _data_spec(args.data) if args.data else None
    out = _quickstart_out(args.out, args.overwrite)
    logging.getLogger("agekit").info("agekit quickstart: writing %s", out)
    _start_tensorflow(args)
    report = quickstart(out, data=data, epochs=args.epochs, n=args.n, limit=args.limit)
    _print_json({k: report["metrics"][k] for k in ("n_train", "n_test", "mae", "baseline_mae", "cs5")})
    print(f"report: {report['report']}")
    return 0


def _add_prepare(parser):
    parser.add_argument("source", help="a CSV with a `path` column (relative paths are "
                        "relative to the CSV's folder) or a folder of images (searched recursively)")
    parser.add_argument("out_dir", help="output folder: crops/, manifest CSV, settings.json")
    parser.add_argument("--detector", choices=("cnn", "hog"), default="cnn",
                        help="dlib's CNN detector (accurate, slower) or HOG (fast, frontal faces)")
    parser.add_argument("--margin", default="loose",
                        help="tight | loose | very_loose | raw | a number (fraction of the box side)")
    parser.add_argument("--align", action="store_true", help="rotate faces so the eyes are level")
    parser.add_argument("--size", type=int, default=224, help="side of every crop in pixels")
    parser.add_argument("--pad", choices=("constant", "reflect"), default="constant",
                        help="how a crop reaching past the photo's edge is filled")
    parser.add_argument("--workers", type=int, default=1, help="parallel processes")
    parser.add_argument("--shard", default="0/1", help="I/N: prepare shard I of N (0-based)")
    parser.add_argument("--no-resume", dest="resume", action="store_false",
                        help="start the manifest afresh instead of skipping finished images")
    parser.add_argument("--on-multiple", choices=("largest", "score", "center", "reject"),
                        default="largest", help="which face of a photo with several to keep, "
                        "or reject the photo")
    parser.add_argument("--use-boxes", action="store_true",
                        help="take boxes from the CSV's `face_box` column instead of detecting")
    parser.add_argument("--max-side", type=int, default=None,
                        help="detect on a copy shrunk to this longer side (default: full size)")
    parser.add_argument("--upsample", type=int, default=0, help="dlib upsampling steps")
    parser.add_argument("--format", dest="image_format", choices=("jpg", "png"), default="jpg",
                        help="file format of the crops")
    parser.add_argument("--log-every", type=int, default=100,
                        help="log a progress line every N images (a progress bar on a terminal)")


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


def _add_train(parser):
    parser.add_argument("config", help="TOML file with [data], [model] and [train] sections "
                        "(see agekit.experiment)")
    parser.add_argument("--run-dir", default=None, help="override [train] run_dir (default: the TOML's)")
    parser.add_argument("--epochs", type=int, default=None, help="override [train] epochs (default: the TOML's)")


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
