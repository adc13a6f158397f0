"""Ablations of the UTKFace preset: one change at a time, on a fixed subset, timed.

Each variant is the `"utkface"` preset (`agekit.experiment.presets`) with some
settings changed, run by the experiment runner on the same random `--limit` chips
(seeded; split 80/10/10 by the preset, stratified by age), for `--epochs` epochs. One
line per variant is appended to `OUT/results.jsonl` and printed:

- `val_mae`: validation MAE of the weights kept (the best validation epoch);
- `test_mae`, `utk7_f1`: the run's held-out test MAE and utk7 macro-F1 (predicted
  age binned), with the variant's test-time augmentation;
- `s_epoch`: median wall seconds per epoch after the first (which decodes and caches);
- `load`: the 1-minute load average when the run ended (the machine is shared).

Select on `val_mae`; the test columns are reported once per configuration.

Run:  python benchmarks/ablate_recipe.py fast lr3 --limit 7500 --epochs 12 --out DIR
      python benchmarks/ablate_recipe.py --table --out DIR
Needs ../shared/data/utkface (or $AGEKIT_SHARED_DATA/utkface).
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing agekit

DATA = Path(os.environ.get("AGEKIT_SHARED_DATA", ROOT.parent / "shared" / "data")) / "utkface"

FAST = {"model": {"norm_after_pool": True, "bn_momentum": 0.9},
        "train": {"mixed_precision": "bfloat16", "lr_schedule": "cosine", "warmup_epochs": 1}}


def _with(base, **sections):
    out = {name: dict(values) for name, values in base.items()}
    for name, values in sections.items():
        out.setdefault(name, {}).update(values)
    return out


VARIANTS = {
    "base": {},  # the preset as it is
    "fast": FAST,
    "lr3": _with(FAST, train={"learning_rate": 3e-3}),
    "flip": _with(FAST, model={"tta": "flip"}),
    "mixup": _with(FAST, train={"mixup": 0.2}),
    "agew": _with(FAST, data={"age_weights": 0.5}),
    "s80": _with(FAST, data={"image_size": 80}),
    "sigma3": _with(FAST, data={"sigma": 3.0}),
    "b128": _with(FAST, data={"batch_size": 128}, train={"learning_rate": 2e-3}),
    "w48": _with(FAST, model={"base_filters": 48}),
    "l5": _with(FAST, model={"layers": 5}),
    "drop5": _with(FAST, model={"dropout": 0.5}),
    "wd": _with(FAST, train={"optimizer": "adamw", "weight_decay": 1e-4}),
}


class _Timer:
    """A Keras callback that keeps each epoch's wall seconds."""

    def __new__(cls, times):
        import keras

        class Timer(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                times.append(time.perf_counter() - self.start)

        return Timer()


def run(label, changes, *, limit, epochs, out):
    from agekit.experiment import runner
    from agekit.recipes import utkface

    times = []
    plain = runner._callbacks
    runner._callbacks = lambda config, monitor: [*plain(config, monitor), _Timer(times)]
    started = time.time()
    metrics = utkface(DATA, out / label, epochs=epochs, limit=limit, verbose=0, **changes)
    import pandas as pd

    history = pd.read_csv(out / label / "history.csv")
    monitor = next(c for c in history.columns if c.startswith("val_") and "age" in c and "mae" in c)
    row = {"label": label, "changes": changes, "n_train": metrics["n_train"], "epochs": epochs,
           "s_epoch": round(statistics.median(times[1:] or times), 1),
           "val_mae": round(float(history[monitor].min()), 3),
           "test_mae": round(metrics["mae"], 3), "utk7_f1": round(metrics["utk7_macro_f1"], 3),
           "gender_acc": round(metrics.get("gender_accuracy", float("nan")), 3),
           "val_curve": [round(v, 2) for v in history[monitor]],
           "minutes": round((time.time() - started) / 60, 1), "load": round(os.getloadavg()[0], 2)}
    with open(out / "results.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    return row


def table(out):
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    print("| setting | n_train | epochs | s/epoch (load) | val MAE | test MAE | utk7 F1 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['label']} | {r['n_train']} | {r['epochs']} | {r['s_epoch']} ({r['load']}) | "
              f"{r['val_mae']:.2f} | {r['test_mae']:.2f} | {r['utk7_f1']:.3f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="*", help=f"among {sorted(VARIANTS)}, or label=JSON changes")
    parser.add_argument("--limit", type=int, default=7500)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--out", type=Path, default=Path("runs/ablate"))
    parser.add_argument("--table", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.table:
        return table(args.out)
    for name in args.variants:
        label, _, spec = name.partition("=")
        changes = json.loads(spec) if spec else VARIANTS[label]
        print(json.dumps(run(label, changes, limit=args.limit, epochs=args.epochs, out=args.out)), flush=True)


if __name__ == "__main__":
    main()
