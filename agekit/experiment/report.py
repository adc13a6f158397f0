"""What a run shows a person: figures, a report page, and the quickstart that writes both."""

import json
import os
from pathlib import Path

import numpy as np

from agekit.experiment.config import DataConfig, Experiment, ModelConfig, TrainConfig

QUICKSTART = Experiment(
    data=DataConfig(format="imdb_wiki", n=1500, image_size=48, augment=False),
    # Keras' batch-norm momentum (0.99) lags behind a few hundred steps of training.
    model=ModelConfig(head="dex", bn_momentum=0.9),
    train=TrainConfig(epochs=10, learning_rate=1e-3),
)


def draw_figures(run_dir, table, splits, *, bins="utk7") -> dict:
    """Training curves, MAE by age, a confusion matrix over age bins, age distributions
    and a grid of test predictions, as PNGs in `run_dir/figures/`. Returns name -> path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from agekit import plots
    from agekit.images import read_image
    from agekit.labels import bin_ages, bin_labels

    out = Path(run_dir) / "figures"
    out.mkdir(parents=True, exist_ok=True)
    true, pred = table["age"].to_numpy(float), table["pred_age"].to_numpy(float)
    pred = np.clip(pred, 0, None)  # a regression head may predict a little below 0
    sample = table.head(12)
    drawings = {
        "history": lambda path: plots.plot_history(run_dir, save=path),
        "mae_by_age": lambda path: plots.plot_mae_by_age(y_true=true, y_pred=pred, bins=bins, save=path),
        "confusion": lambda path: plots.plot_confusion(bin_ages(true, bins), bin_ages(pred, bins),
                                                       labels=bin_labels(bins), save=path),
        "age_distribution": lambda path: plots.plot_age_distribution(splits, save=path),
        "predictions": lambda path: plots.plot_predictions(
            [read_image(p) for p in sample["path"]], sample["pred_age"].to_numpy(float),
            y_true=sample["age"].to_numpy(float), save=path),
    }
    paths = {}
    for name, draw in drawings.items():
        path = out / f"{name}.png"
        plt.close(draw(path))
        paths[name] = str(path)
    return paths


def quickstart(out_dir="agekit-quickstart", *, data=None, epochs=None, n=None, limit=None) -> dict:
    """The whole pipeline in a few minutes, written up in a report folder.

    Loads a dataset (by default synthetic faces in the IMDb-WIKI layout, made on the
    spot: its `.mat` cleaning and face boxes are exercised), crops the faces, trains a
    small network, scores it on a held-out split against always predicting the
    training median, draws the figures, and explains one test face (activations,
    occlusion, Grad-CAM).

    Args:
        out_dir: Report folder: `report.md`, `metrics.json`, `figures/`, `explain/`, and
            the run directory `run/` (model, logs, history, split).
        data: `(format, root)` of a real dataset, e.g. `("utkface", "datasets/UTKFace")`.
        epochs: Training epochs (default `QUICKSTART.train.epochs`).
        n: Synthetic faces to make (default `QUICKSTART.data.n`).
        limit: Use at most this many images of `data`.

    Returns:
        Dict with `metrics`, `figures` (name -> PNG path) and `report` (the path of
        `report.md`).

    Example:
        >>> quickstart("agekit-quickstart")["metrics"]["mae"]  # doctest: +SKIP
    """
    import pandas as pd

    from agekit.experiment.runner import run_experiment
    from agekit.explain import explain_image
    from agekit.images import read_image
    from agekit.predict import load_model

    out_dir = Path(out_dir)
    experiment = QUICKSTART.replace(train={"run_dir": str(out_dir / "run"),
                                           "epochs": epochs or QUICKSTART.train.epochs})
    if data is not None:
        format, root = data
        experiment = experiment.replace(data={"format": format, "root": root, "limit": limit})
    if n is not None:
        experiment = experiment.replace(data={"n": n})
    metrics = run_experiment(experiment, verbose=2)
    run_dir = Path(metrics["run_dir"])
    figures = {name: str(run_dir / "figures" / f"{name}.png")
               for name in ("history", "mae_by_age", "confusion", "age_distribution", "predictions")}
    model = load_model(run_dir / "model.keras", compile=False)
    face = pd.read_csv(run_dir / "predictions.csv").iloc[0]
    figures.update(explain_image(model, read_image(face["path"]), out_dir / "explain",
                                 true_age=float(face["age"])))
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str))
    report = write_report(out_dir, experiment, metrics, figures)
    return {"metrics": metrics, "figures": figures, "report": str(report)}


def data_lines(experiment: Experiment, counts: dict) -> list[str]:
    """Where the data came from and what happened to every row, in words."""
    data = experiment.data
    source = f"{data.format} at {data.root}" if data.root else f"synthetic faces ({data.format} layout)"
    lines = [f"Data: {source}: {counts['loaded']} rows loaded"]
    dropped = {k: v for k, v in (counts.get("dropped") or {}).items() if v}
    if dropped:
        lines[-1] += (f" after the loader dropped {sum(dropped.values())} "
                      f"({', '.join(f'{k}: {v}' for k, v in dropped.items())})")
    if "sampled" in counts:
        lines.append(f"A random sample of {counts['sampled']} rows was used (`limit`).")
    if "prepare" in counts:
        statuses = ", ".join(f"{k}: {v}" for k, v in counts["prepare"].items())
        lines.append(f"Face cropping: {statuses}; {counts['kept']} faces kept.")
    lines.append(f"Split: {counts['train']} training, {counts['val']} validation and "
                 f"{counts['test']} held-out test images.")
    return lines


def write_report(out_dir, experiment, metrics, figures):
    """`report.md`: the data's counts, the held-out scores against the baseline, figures."""
    lines = ["# agekit quickstart report", "", *data_lines(experiment, metrics["data"]), "",
             (f"Model: {experiment.model.backbone} with a {experiment.model.head} head, "
              f"{metrics['epochs_run']} epochs, {metrics['minutes']} min."), "",
             f"| held-out {metrics['evaluated_on']} | value |", "| --- | --- |",
             f"| MAE (years) | {metrics['mae']:.2f} |",
             (f"| MAE of always predicting the training median ({metrics['baseline_age']:.0f}) | "
              f"{metrics['baseline_mae']:.2f} |"),
             f"| share within 5 years (CS5) | {metrics['cs5']:.3f} |",
             f"| utk7 age-group macro-F1 | {metrics['utk7_macro_f1']:.3f} |", "",
             "## Figures", ""]
    lines += [f"- {name}: [{Path(path).name}]({os.path.relpath(path, out_dir)})"
              for name, path in figures.items()]
    report = Path(out_dir) / "report.md"
    report.write_text("\n".join(lines) + "\n")
    return report
