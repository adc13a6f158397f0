"""The photo path measured honestly for a model fine-tuned on FG-NET: grouped folds by person.

The recipe (`python -m agekit.recipes utkface ... --photos ../shared/data/fgnet`)
fine-tunes on all 41 FG-NET people, so its own scores on these photos would flatter it.
Here each of 5 folds of people repeats the recipe's `[photos]` stage from the run's
`model_before_photos.keras` with that fold's people left out (the same settings, the
same mixed training faces), and the whole `agekit predict` command (a fresh process,
model load included) predicts the left-out people's photos. Every photo is so predicted
by a model that never saw that person; the scores are pooled over the 508 photos.

Printed beside it, in the same run: the same command with the model before fine-tuning
(trained on UTKFace chips only) on all photos, and with the run's final model (which
did see these people: not a fair score, shown for scale), and the speed of the command
on all 508 photos with the final model.

    python benchmarks/bench_photo_folds.py --run runs/utkface

Wall-clock numbers are only comparable within one run; note `uptime` beside them.
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_predict_command import FGNET, run_command, score

from agekit.datasets import load_fgnet, read_pts
from agekit.faces import FaceBox


def fold_model(run, experiment, held, out):
    """The run's `[photos]` stage from `model_before_photos.keras`, `held` people left out."""
    import dataclasses

    from agekit.experiment.photo_tuning import finetune, photo_faces
    from agekit.experiment.runner import augment_of, crop_geometry
    from agekit.photos import spec_from_card
    from agekit.predict import load_model

    data, config = experiment.data, dataclasses.replace(experiment.photos, exclude=tuple(held))
    model = load_model(run / "model_before_photos.keras")
    faces = photo_faces(config, spec_from_card(crop_geometry(data)), run / "data")
    split = pd.read_csv(run / "split.csv")
    train = split[split["split"] == "train"]
    mix = train.sample(n=min(config.mix, len(train)), random_state=data.seed)
    finetune(model, faces, mix, experiment, config=config, augment=augment_of(data))
    model.save(out)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="the recipe's run folder (trained with --photos)")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    from agekit.experiment import Experiment

    run = Path(args.run).resolve()
    experiment = Experiment.from_dict(json.loads((run / "experiment.json").read_text()))
    if experiment.photos is None:
        raise SystemExit(f"{run} was trained without --photos: nothing to measure by folds")
    photos = load_fgnet(FGNET)
    photos = photos.assign(path=photos["path"].astype(str),
                           truth=[FaceBox(*p.min(axis=0), *p.max(axis=0))
                                  for p in map(read_pts, photos["landmarks_path"])])
    people = sorted(photos["subject"].unique())
    fold_of = {person: i % args.folds for i, person in enumerate(people)}
    print(f"FG-NET: {len(photos)} photos of {len(people)} people in {args.folds} folds; "
          f"load {os.getloadavg()[0]:.2f}", flush=True)

    tables = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.folds):
            held = [p for p in people if fold_of[p] == k]
            model = fold_model(run, experiment, held, Path(tmp) / f"fold{k}.keras")
            part = photos[photos["subject"].isin(held)]
            _, table = run_command(model, part["path"])
            tables.append(table)
            print(f"fold {k}: {len(held)} people, {len(part)} photos: {score(part, table)}", flush=True)
    folds = score(photos, pd.concat(tables, ignore_index=True))
    _, before_table = run_command(run / "model_before_photos.keras", [FGNET / "images"])
    seconds, final_table = run_command(run / "model.keras", [FGNET / "images"])
    rows = [
        (f"fine-tuned, people held out ({args.folds} grouped folds)", folds),
        ("before fine-tuning (UTKFace chips only)", score(photos, before_table)),
        ("final model (saw these people: not a fair score)", score(photos, final_table)),
    ]
    print("\n| model (agekit predict defaults, whole command) | found | MAE | CS5 | MAE <= 18 | MAE > 18 | n |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, r in rows:
        print(f"| {label} | {r['found']:.3f} | {r['mae']:.2f} | {r['cs5']:.2f} | {r['mae_le18']:.2f} | "
              f"{r['mae_gt18']:.2f} | {r['n']} |")
    print(f"\nthe command on all {len(photos)} photos, final model, load included: {seconds:.1f} s = "
          f"{len(photos) / seconds:.1f} photos/s (load now {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
