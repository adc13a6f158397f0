"""Run a reproduction: a catalogue entry's settings as `Experiment`s of the one runner.

`experiments(name, scale)` translates the settings of an entry (and of each variant it
runs at that scale) into `agekit.experiment.Experiment` values; `reproduce` runs them
with `run_experiment` and writes the study's table beside the measured numbers
(`agekit.studies.table`):

    out/
        runs/<variant>/     run_experiment's run folders ("main" without variants)
        table.csv           measure, reported, measured, data, scale, deviation
        table.md            the same, with the scale's deviations and the figures
        figures/            each run's training curves, and its confusion matrix (age
                            bins heads) or MAE by age (the others)
        reproduction.json   the entry, scale, experiments, table and minutes

Example:
    >>> exps = experiments("001-agecnn-utk7", "smoke")
    >>> exps["main"].model.backbone, exps["main"].data.color, exps["main"].train.optimizer
    ('basic_cnn', 'grayscale', 'nadam')
"""

import json
import logging
import time
from pathlib import Path

from agekit._validation import fail
from agekit.errors import MissingFileError
from agekit.studies import get, settings, variants_at
from agekit.studies._schema import SCALES

log = logging.getLogger(__name__)

MAIN = "main"  # the run of an entry without variants
# Catalogue model options that are ModelConfig fields (the rest go to `options`).
MODEL_FIELDS = ("layers", "base_filters", "hidden", "dropout", "bn_momentum", "top", "fc_units")
PRETRAIN_STAGES = ("pretrain", "raw")  # stages trained before the main data


def _real_root(entry, name, scale, data_format, roots):
    """The folder of real data: `--data`, else the entry's development copy."""
    if data_format in roots:
        return str(roots[data_format])
    default = entry["data"]["real"] if entry["data"]["format"] == data_format else None
    if default:
        repo = Path(__file__).resolve().parents[2]
        for candidate in (Path(default), repo / default):
            if candidate.exists():
                return str(candidate)
    raise MissingFileError(f"Expected --data {data_format}:PATH: {name} at {scale} scale trains on the "
                           f"real {data_format} data. Received: no such data"
                           + (f" (not at {default})" if default else ""))


def _data(d, *, entry, name, scale, roots, prepare, split, model, train, pretrain=False):
    """A `DataConfig` dict of a catalogue data block, its face preparation and split."""
    data_format, source = d["format"], d["source"]
    config = {"format": data_format, "image_size": model["input_size"], "color": model["color"],
              "batch_size": d.get("batch_size") or train["batch_size"]}
    if source == "real" or data_format in roots:
        config["root"] = _real_root(entry, name, scale, data_format, roots)
        # real data where the scale drew synthetic faces: a sample of as many, for its budget
        limit = d.get("limit") if source == "real" else d.get("n")
        config["limit"] = limit
    else:
        config.update(n=d["n"], synthetic_size=d.get("image_size") or 64)
    if d.get("rules"):
        config["loader"] = {"rules": d["rules"]}
    if prepare is None:  # the images as they are (a pre-training set: its format's usual crops)
        config["detector"] = "auto" if pretrain else "none"
    else:
        config.update(detector=prepare["detector"], margin=prepare.get("margin", "loose"),
                      align=prepare.get("align", False), upsample=prepare.get("upsample", 1),
                      max_side=prepare.get("max_side"),
                      keep_undetected=prepare.get("keep_undetected", False))
    config.update(split)
    return config


def _split(split):
    kind = split["kind"]
    if kind == "given":
        return {"split": "given"}
    if kind == "counts":
        return {"split": "counts", "train_size": split["train"], "val": split["val"],
                "test": split["test"]}
    if kind == "adience_folds":  # validation: a subject-exclusive fifth of the training folds
        return {"split": "folds", "val": 0.2, "fold": split.get("folds")}
    return {"split": "random", "val": split["val"], "test": split["test"],
            "stratify": split.get("stratify")}


def _space(space):
    """The catalogue's search space: `[low, high]` of floats is a range, else choices."""
    out = {}
    for key, values in space.items():
        if len(values) == 2 and all(isinstance(v, float) for v in values):
            low, high = values
            out[key] = {"min": low, "max": high, "log": high / low >= 100}
        else:
            out[key] = list(values)
    return out


def to_experiment(s, *, entry, name, scale, roots=None, run_dir="runs/reproduction"):
    """The `Experiment` of one scale's (and variant's) settings `s` of an entry."""
    from agekit.experiment import Experiment

    roots = dict(roots or {})
    model, train, optimizer = s["model"], s["train"], dict(s["optimizer"])
    stages = {"main": [], "pretrain": [], "data": None}
    for stage in train["stages"] or []:
        table = {"trainable": stage["trainable"], "learning_rate": stage["learning_rate"],
                 "epochs": max(1, round(stage["epochs_share"] * train["epochs"]))}
        where = stage.get("data", "main")
        if where in PRETRAIN_STAGES:
            stages["pretrain"].append(table)
            stages["data"] = where
        else:
            stages["main"].append(table)
    split = _split(s["split"])
    common = {"entry": entry, "name": name, "scale": scale, "roots": roots, "model": model,
              "train": train}
    data = _data(s["data"], prepare=s["prepare"], split=split, **common)
    data.update(augment=s["augment"] or False, balance=s["sampling"], sigma=s["labels"]["sigma"],
                clip_ages=s["labels"]["clip_ages"])
    pretrain = None
    if stages["data"] == "raw":  # the same images, uncropped
        pretrain = {**data, "detector": "none"}
        for key in ("margin", "align", "upsample", "max_side", "keep_undetected"):
            pretrain.pop(key, None)
    elif stages["data"] == "pretrain":
        same = s["pretrain_data"]["format"] == s["data"]["format"]
        pretrain = _data(s["pretrain_data"], prepare=s["prepare"], pretrain=True,
                         split=split if same else {}, **common)
    options = dict(model["options"])
    fields = {key: options.pop(key) for key in MODEL_FIELDS if key in options}
    model_config = {"backbone": model["network"], "head": model["head"], "weights": model["weights"],
                    "outputs": dict(model["outputs"]), **fields, "options": options}
    name_ = optimizer.pop("name")
    train_config = {
        "epochs": train["epochs"], "learning_rate": optimizer.pop("learning_rate"), "optimizer": name_,
        "lr_schedule": optimizer.pop("schedule", None), "weight_decay": optimizer.pop("weight_decay", None),
        "weight_decay_mode": optimizer.pop("weight_decay_mode", "decoupled"),
        "optimizer_options": optimizer, "patience": train["patience"], "monitor": train["monitor"],
        "schedule": stages["main"] or None, "pretrain_schedule": stages["pretrain"] or None,
        "class_weight": s.get("class_weight"), "run_dir": str(run_dir),
        **{key: s["compile"][key] for key in ("label_smoothing", "losses", "loss_weights")
           if key in s["compile"]},
    }
    settings_ = {"data": data, "model": model_config, "train": train_config, "pretrain": pretrain}
    if s.get("search"):
        search = s["search"]
        settings_["search"] = {"space": _space(search["space"]), "tuner": search["tuner"],
                               "max_trials": search["max_trials"], "epochs": search["epochs"],
                               "objective": search["objective"]}
    return Experiment.from_dict(settings_)


def experiments(name, scale="smoke", *, data=None, out="reproductions"):
    """The experiments of a reproduction at a scale: variant (or `"main"`) -> `Experiment`.

    Args:
        name: A reproduction (`agekit.studies.names()`).
        scale: `"smoke"`, `"cpu"` or `"full"`.
        data: Format -> folder of real data (`--data FORMAT:PATH`), replacing the
            synthetic stand-ins (a sample of as many rows as the scale made) or the
            development copy of the real data.
        out: The reproduction's folder; runs go to `out/runs/<variant>`.
    """
    entry = get(name)
    if scale not in SCALES:
        fail(f"scale to be one of {SCALES}", "scale", scale)
    formats = {entry["data"]["format"], *(s.get("pretrain_data", {}).get("format")
                                          for s in entry["scales"].values())} - {None}
    unknown = sorted(set(data or {}) - formats)
    if unknown:
        fail(f"--data of the formats {name} uses, {sorted(formats)}", "data", unknown)
    runs = variants_at(name, scale) or [MAIN]
    return {key: to_experiment(settings(name, scale, None if key == MAIN else key), entry=entry,
                               name=name, scale=scale, roots=data, run_dir=Path(out) / "runs" / key)
            for key in runs}


def reproduce(name, scale="smoke", *, data=None, out=None, verbose=0):
    """Run a reproduction and write its table (see the module docstring).

    Args:
        name, scale, data: As `experiments`.
        out: Output folder (default `reproductions/<name>-<scale>`).
        verbose: Passed to `model.fit`.

    Returns:
        The table, a DataFrame with the columns `measure, reported, measured, data,
        scale, deviation` (`agekit.studies.table.COLUMNS`).

    Example:
        >>> table = reproduce("004-two-branch", "smoke", out="runs/004-smoke")  # doctest: +SKIP
    """
    from agekit.experiment import run_experiment
    from agekit.studies.table import build_table, write_table

    started = time.time()
    out = Path(out or f"reproductions/{name}-{scale}")
    exps = experiments(name, scale, data=data, out=out)
    runs = {}
    for key, experiment in exps.items():
        log.info("reproduce %s (%s scale): run %s", name, scale, key)
        run_experiment(experiment, figures=False, verbose=verbose)
        # measured from the run's own metrics file
        runs[key] = json.loads((Path(experiment.train.run_dir) / "metrics.json").read_text())
    entry = get(name)
    table = build_table(entry, scale, exps, runs)
    figures = [path for key, metrics in runs.items() for path in draw_figures(out, key, exps[key], metrics)]
    minutes = round((time.time() - started) / 60, 2)
    write_table(out, entry, scale, table, figures=figures, minutes=minutes)
    record = {"name": name, "study": entry["study"], "table": entry["table"], "scale": scale,
              "minutes": minutes, "epochs_run": {k: _epochs(m) for k, m in runs.items()},
              "experiments": {k: e.to_dict() for k, e in exps.items()},
              "rows": table.to_dict(orient="records")}
    (out / "reproduction.json").write_text(json.dumps(record, indent=2, default=str))
    return table


def _epochs(metrics):
    if "folds" in metrics:
        return [fold["epochs_run"] for fold in metrics["folds"]]
    return metrics["epochs_run"] + metrics.get("pretrain", {}).get("epochs_run", 0)


def draw_figures(out, key, experiment, metrics):
    """The study's figures of one run (each fold of a folds run): its training curves,
    and the confusion matrix over an age-bins head's groups or the MAE by age of the
    others, as `out/figures/<run>-<figure>.png`. Returns their paths relative to `out`."""
    folds = metrics.get("folds")
    runs = ([(f"{key}-fold{i}", fold["run_dir"]) for i, fold in enumerate(folds)] if folds
            else [(key, metrics["run_dir"])])
    return [path for label, run_dir in runs
            for path in _draw_run(Path(out), label, Path(run_dir), experiment.model.head)]


def _draw_run(out, label, run_dir, head):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from agekit import plots
    from agekit.labels import bin_ages, bin_labels

    kind, _, scheme = head.partition(":")
    table = pd.read_csv(run_dir / "predictions.csv")
    true, pred = table["age"].to_numpy(float), table["pred_age"].to_numpy(float)
    history, other = Path("figures") / f"{label}-history.png", None
    plt.close(plots.plot_history(run_dir, save=out / history))
    if kind == "bins":
        other = Path("figures") / f"{label}-confusion.png"
        plt.close(plots.plot_confusion(bin_ages(true, scheme), bin_ages(pred, scheme),
                                       labels=bin_labels(scheme), save=out / other))
    else:
        other = Path("figures") / f"{label}-mae_by_age.png"
        plt.close(plots.plot_mae_by_age(y_true=true, y_pred=pred, bins="utk7", save=out / other))
    return [str(history), str(other)]
