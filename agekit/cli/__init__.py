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
import logging
import os
import sys

from agekit.cli import models, photos, runs
from agekit.errors import InputError

COMMANDS = {
    "quickstart": ("the whole pipeline in a few minutes: data, faces, training, evaluation, figures",
                   runs._add_quickstart, runs._run_quickstart),
    "prepare": ("detect, crop and align the faces of a dataset (resumable, shardable)",
                runs._add_prepare, runs._run_prepare),
    "train": ("train and evaluate a model described by a TOML file", runs._add_train, runs._run_train),
    "evaluate": ("score a trained model on a labelled dataset", models._add_evaluate, models._run_evaluate),
    "predict": ("find the faces in photos and predict their age (and gender / ethnicity)",
                photos._add_predict, photos._run_predict),
    "explain": ("activation maps, occlusion sensitivity and Grad-CAM for one face",
                models._add_explain, models._run_explain),
    "export": ("export a model for serving without agekit: SavedModel, ONNX or TFLite",
               models._add_export, models._run_export),
    "reproduce": ("re-run a study's result table beside the study's own numbers (--list)",
                  runs._add_reproduce, runs._run_reproduce),
}


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
