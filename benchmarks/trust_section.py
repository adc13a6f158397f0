"""The README's "how sure, and for whom" section, measured on a run's own held-out test split.

Reads a run folder (`model.keras`, and `split.csv` with a `split` column: train / val /
test, and `calib` when the run held one out). When the model's card holds no interval
calibration (a model saved before the runner calibrated), calibrates it here with
`agekit.calibrate_model` on the `calib` split, else on `val` (which also chose the epoch:
its intervals then cover 1-4 points less than asked, see `bench_intervals.py`), and says
which. Then `agekit.evaluate_model` on the test split (what `agekit evaluate --json`
prints) and `agekit.audit.audit_markdown`: coverage and mean width of each interval
method at the level (normalized, constant-width `absolute`, `cqr`, and the head's raw
quantiles), errors per gender / ethnicity / age band, age-threshold decisions.

Run:  python benchmarks/trust_section.py RUN_DIR [--level 0.9] [--out FILE.md]
      (RUN_DIR defaults to runs/utkface; a missing folder is skipped, exit 0)
"""

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing agekit

import pandas as pd

import agekit
from agekit.audit import audit_markdown
from agekit.models import card_of


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", default="runs/utkface")
    parser.add_argument("--level", type=float, default=0.9)
    parser.add_argument("--out", default=None, help="also write the Markdown here")
    parser.add_argument("--json", default=None, help="also write the whole evaluation (JSON) here")
    args = parser.parse_args(argv)
    run = Path(args.run_dir)
    if not (run / "model.keras").is_file() or not (run / "split.csv").is_file():
        print(f"skipped: no model.keras and split.csv in {run}")
        return 0
    split = pd.read_csv(run / "split.csv")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*carries no agekit model card")
        model = agekit.load_model(run / "model.keras", compile=False)
    calibration = card_of(model).calibration
    if calibration is None:
        name = "calib" if (split["split"] == "calib").any() else "val"
        calibration = agekit.calibrate_model(model, split[split["split"] == name], batch_size=128,
                                             source={"split_csv": "split.csv", "split": name})
        where = (f"calibrated here on the run's `{name}` split ({calibration['n']} faces"
                 + ("; it also chose the epoch, so the intervals cover a little less than asked)"
                    if name == "val" else ", held out from training)"))
    else:
        source = (calibration.get("source") or {}).get("split", "a held-out split")
        where = f"calibrated by the run on its `{source}` split ({calibration['n']} faces)"
    test = split[split["split"] == "test"]
    scores, _ = agekit.evaluate_model(model, test, interval=args.level, batch_size=128,
                                      baseline_age=float(split.loc[split["split"] == "train", "age"].median()))
    head = card_of(model).age_head().kind
    intro = (f"Measured on the run's own held-out test split ({scores['n']} faces of {run}, never "
             f"used in training; MAE {scores['mae']:.2f} years), {head} age head, intervals "
             f"{where}; `python benchmarks/trust_section.py {run}`, the numbers of "
             "`agekit evaluate --json`.")
    text = f"{intro}\n\n{audit_markdown(scores)}"
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps(scores, indent=1, allow_nan=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
