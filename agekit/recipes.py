"""Recipes: complete, measured training runs that anyone can repeat with one command.

The UTKFace recipe trains age (DEX) and gender on UTKFace face chips on a CPU, from
random weights, and evaluates on a held-out split it makes itself (never seen in
training or model selection):

    python -m agekit.recipes utkface ../shared/data/utkface --photos ../shared/data/fgnet

With `--photos`, it then fine-tunes on FG-NET's whole photos, their faces cut the way
`agekit predict` cuts a photo (`agekit.experiment.photo_tuning`), so the model knows
scanned prints and children as photos show them.

It is the `"utkface"` preset of the experiment runner (`agekit.experiment.presets`), so
its run folder is any run's (`agekit.experiment.run_experiment`): `split.csv`,
`metrics.json` (the held-out scores), the figures, and `model.keras`, a model that
carries its card (`agekit.models.card_of`: RGB input in [0, 255] at 64x64, scaled by its
first layer; UTKFace's own chip geometry; the age range; the validation split), so
`agekit.load_model` and `agekit predict` use it without any other setting. The recipe
installs it as `utkface.keras` in the per-user model folder (`agekit.store.weights_home`,
`~/.agekit/weights` or `$AGEKIT_HOME/weights`), so `agekit.load_model("utkface")` and
`agekit predict photo.jpg` find it from any working folder (`--no-install` keeps it in
the run folder only). Loading it
with plain `keras.saving.load_model` needs agekit's layers registered first
(`import agekit.models`); to serve it without agekit, export it (`agekit export`).
"""

import argparse
import json
import logging
from pathlib import Path


def utkface(data_root, run_dir="runs/utkface", *, photos=None, epochs=None, limit=None, install=True,
            verbose=2, **sections) -> dict:
    """Train and evaluate the UTKFace recipe (the `"utkface"` preset).

    Args:
        data_root: Folder of UTKFace `*.jpg.chip.jpg` files.
        run_dir: Output folder (resumable).
        epochs: Change the recipe's number of epochs.
        photos: The FG-NET folder (`images/`, `points/`): after training on the chips,
            fine-tune on these whole photos' faces cut by the model's own photo crop
            (`agekit.experiment.photo_tuning`); `None` skips it.
        limit: Use only this many images (a smoke test).
        install: Install the model as `"utkface"` in the per-user model folder
            (`agekit.store.install_model`); `metrics["installed"]` is its path.
        verbose: Passed to `model.fit`.
        **sections: Further changes to the preset: `data={...}`, `model={...}`, `train={...}`.

    Returns:
        The held-out metrics of `run_experiment`.

    Example:
        >>> utkface("datasets/UTKFace", "runs/utkface")["mae"]  # doctest: +SKIP
    """
    from agekit.experiment import preset, run_experiment

    changes = {name: dict(values) for name, values in sections.items()}
    changes.setdefault("data", {}).update(root=str(data_root), limit=limit)
    changes.setdefault("train", {}).update(run_dir=str(run_dir))
    if epochs is not None:
        changes["train"]["epochs"] = epochs
    if photos is not None:
        changes["photos"] = {"root": str(photos), **changes.get("photos", {})}
    metrics = run_experiment(preset("utkface", **changes), verbose=verbose)
    if install:
        from agekit.store import install_model

        metrics["installed"] = str(install_model(Path(run_dir) / "model.keras", "utkface"))
    return metrics


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m agekit.recipes", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", choices=["utkface"])
    parser.add_argument("data_root", help="folder of UTKFace *.jpg.chip.jpg files")
    parser.add_argument("--run-dir", default="runs/utkface", help="output folder (default: %(default)s)")
    parser.add_argument("--photos", default=None, metavar="FGNET",
                        help="FG-NET folder: fine-tune on its whole photos after the chips (default: none)")
    parser.add_argument("--epochs", type=int, default=None, help="change the recipe's epochs")
    parser.add_argument("--limit", type=int, default=None, help="use only N images (smoke test)")
    parser.add_argument("--no-install", dest="install", action="store_false",
                        help="do not install the model as 'utkface' in ~/.agekit/weights ($AGEKIT_HOME)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also show TensorFlow's C++ start-up messages (hidden by default)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    from agekit.cli._common import _start_tensorflow

    _start_tensorflow(args)
    metrics = utkface(args.data_root, args.run_dir, photos=args.photos, epochs=args.epochs, limit=args.limit,
                      install=args.install)
    print(json.dumps({k: v for k, v in metrics.items() if k not in ("data", "audit", "coverage_by_level")},
                     indent=2, default=str))
    print(f"model installed as 'utkface': {metrics['installed']}" if args.install else
          f"model: {Path(args.run_dir) / 'model.keras'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
