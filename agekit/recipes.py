"""Recipes: complete, measured training runs that anyone can repeat with one command.

`utkface_from_scratch` trains age (DEX) and gender on UTKFace face chips on a CPU, from
random weights, in about half an hour on two cores, and evaluates on a held-out split
it makes itself (never seen in training or model selection):

    python -m agekit.recipes utkface ../shared/data/utkface --run-dir runs/utkface

It writes `run_dir/` as `agekit.training.fit` does, plus `split.csv` (which image went
where), `metrics.json` (the held-out scores) and `model.keras`: a model that carries its
card (`agekit.models.card_of`: RGB input in [0, 255] at 64x64, scaled by its first
layer; UTKFace's own chip geometry; the age range; the validation split), so
`agekit.load_model` and `agekit predict` use it without any other setting. Loading it
with plain `keras.saving.load_model` needs agekit's layers registered first
(`import agekit.models`); to serve it without agekit, export it (`agekit export`).
"""

import argparse
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UTKFaceRecipe:
    """Settings of `utkface_from_scratch` (the defaults are the measured recipe)."""

    image_size: int = 64
    layers: int = 4
    base_filters: int = 32
    hidden: int = 256
    dropout: float = 0.3
    sigma: float = 2.0
    gender_weight: float = 1.0
    batch_size: int = 64
    epochs: int = 20
    learning_rate: float = 1e-3
    val: float = 0.1
    test: float = 0.1
    seed: int = 0


def build_recipe_model(recipe=UTKFaceRecipe()):
    """The recipe's network: `basic_cnn` blocks on raw [0, 255] RGB, DEX age + gender."""
    from agekit.models import basic_cnn, compile_model

    model = basic_cnn(
        layers=recipe.layers, base_filters=recipe.base_filters, hidden=recipe.hidden,
        dropout=recipe.dropout, input_shape=(recipe.image_size, recipe.image_size, 3),
        head="dex", outputs={"gender": 2}, rescale=1 / 255.0,
    )
    return compile_model(model, learning_rate=recipe.learning_rate,
                         loss_weights={"gender": recipe.gender_weight})


def utkface_from_scratch(data_root, run_dir, recipe=UTKFaceRecipe(), *, limit=None):
    """Train and evaluate the UTKFace recipe.

    Args:
        data_root: Folder of UTKFace `*.jpg.chip.jpg` files.
        run_dir: Output folder (resumable, as `agekit.training.fit`).
        recipe: `UTKFaceRecipe` settings.
        limit: Use only this many images (a smoke test).

    Returns:
        Dict of held-out metrics: `mae`, `cs5`, `utk7_macro_f1`, `gender_accuracy`,
        the baseline MAE of always predicting the training median, and sizes/timings.
    """
    import keras

    from agekit.data import Augment, make_dataset
    from agekit.datasets import load_utkface, split
    from agekit.evaluation import evaluate_model
    from agekit.models import set_card
    from agekit.training import fit

    started = time.time()
    keras.utils.set_random_seed(recipe.seed)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    df = load_utkface(data_root)
    if limit:
        df = df.sample(n=min(limit, len(df)), random_state=recipe.seed)
    train, val, test = split(df, val=recipe.val, test=recipe.test, stratify="age",
                             seed=recipe.seed)
    parts = [part.assign(split=name) for name, part in
             (("train", train), ("val", val), ("test", test))]
    import pandas as pd

    pd.concat(parts)[["path", "age", "gender", "ethnicity", "split"]].to_csv(
        run_dir / "split.csv", index=False)

    common = {"image_size": recipe.image_size, "clip_ages": True,
              "batch_size": recipe.batch_size, "sigma": recipe.sigma}
    target = {"age": "dex", "gender": "gender"}
    train_ds = make_dataset(train, target=target, augment=Augment(rotation=10, shift=0.1,
                            zoom=0.1, flip=True), cache="memory", seed=recipe.seed, **common)
    val_ds = make_dataset(val, target=target, shuffle=False, cache="memory", **common)
    model, history = fit(lambda: build_recipe_model(recipe), train_ds, val_ds, run_dir=run_dir,
                         epochs=recipe.epochs, learning_rate=recipe.learning_rate,
                         callbacks=[keras.callbacks.ReduceLROnPlateau(
                             monitor="val_age_expected_age_mae", mode="min", factor=0.3, patience=2)],
                         verbose=2)
    set_card(model, age_range=(float(train["age"].min()), float(train["age"].max())),
             crop={"kind": "dataset", "dataset": "utkface"}, data="utkface",
             validation={"split_csv": "split.csv", "split": "val", "n": len(val), "seed": recipe.seed})
    model.save(run_dir / "model.keras")

    scores, _ = evaluate_model(model, test, baseline_age=float(np.median(train["age"])),
                               batch_size=recipe.batch_size)
    metrics = {
        **scores,
        "median_baseline_mae": scores["baseline_mae"],
        "n_train": len(train), "n_val": len(val), "n_test": len(test),
        "epochs_run": len(history),
        "minutes": round((time.time() - started) / 60, 1),
        "skipped_images": int(train_ds.skipped.count + val_ds.skipped.count + scores["skipped"]),
        "recipe": asdict(recipe),
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    log.info("held-out: %s", {k: v for k, v in metrics.items() if k != "recipe"})
    return metrics


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m agekit.recipes", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", choices=["utkface"])
    parser.add_argument("data_root", help="folder of UTKFace *.jpg.chip.jpg files")
    parser.add_argument("--run-dir", default="runs/utkface")
    parser.add_argument("--epochs", type=int, default=UTKFaceRecipe.epochs)
    parser.add_argument("--limit", type=int, default=None, help="use only N images (smoke test)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    metrics = utkface_from_scratch(args.data_root, args.run_dir,
                                   UTKFaceRecipe(epochs=args.epochs), limit=args.limit)
    print(json.dumps({k: v for k, v in metrics.items() if k != "recipe"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
