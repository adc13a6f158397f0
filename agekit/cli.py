"""The `agekit` command line: one subcommand per job, each a thin layer over the library.

    agekit prepare photos.csv prepared/ --detector cnn --margin loose --workers 4
    agekit prepare photos/ prepared/ --shard 3/16      # one task of a cluster array job

Subcommands register themselves in `COMMANDS` (name -> (help, add_arguments, run)), so
later ones (`train`, `predict`, ...) sit beside `prepare` without touching `main`.
"""

import argparse
import logging
import os
import sys
from pathlib import Path

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
            raise SystemExit(f"agekit prepare: expected a `path` column in {source}; "
                             f"found {list(df.columns)}")
        df["path"] = [p if not isinstance(p, str) or os.path.isabs(p) else str(source.parent / p)
                      for p in df["path"]]
    else:
        raise SystemExit(f"agekit prepare: no such file or folder: {source}")
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
        raise SystemExit(f"agekit prepare: expected --shard I/N, e.g. 0/4; got {text!r}") from None
    return index, count


COMMANDS = {
    "prepare": ("detect, crop and align the faces of a dataset (resumable, shardable)",
                _add_prepare, _run_prepare),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `agekit` command, one subparser per `COMMANDS` entry."""
    parser = argparse.ArgumentParser(prog="agekit", description="Age estimation from face images.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        add_arguments(subparsers.add_parser(name, help=help_text, description=help_text, parents=[common]))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the `agekit` command line.

    Args:
        argv: the arguments (without the program name); `None` reads `sys.argv`.

    Returns:
        The exit status (0 on success).

    Example:

    >>> main(["prepare", "missing.csv", "out"])  # doctest: +SKIP
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return COMMANDS[args.command][2](args)
    except (ValueError, TypeError, FileNotFoundError) as error:
        raise SystemExit(f"agekit {args.command}: {error}") from None


if __name__ == "__main__":
    sys.exit(main())
