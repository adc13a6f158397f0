"""What the runner does beyond one split and one training: the studies' protocols.

- `split="counts"` and `split="folds"` (`split_protocol`); every fold of a dataset in
  turn with the mean of their scores (`run_folds`);
- pre-training on other data before the main data (`pretrain`);
- class weights of the age head (`class_weights_of`) and scores over the age head's
  own bins (`head_scores`).

`run_experiment` calls these; each is a plain function of an `Experiment` (or one of
its sections), so the runner stays one readable path.
"""

import json
import logging
import time
from pathlib import Path

import numpy as np

from agekit._validation import fail
from agekit.experiment.config import DataConfig, Experiment, ModelConfig, TrainConfig

log = logging.getLogger(__name__)


def split_protocol(df, config: DataConfig) -> tuple:
    """`(train, val, test)` of `split="counts"` (`split_counts`) or `split="folds"`.

    With `"folds"`, `config.fold` is the test set and the validation rows come from the
    other folds, by subject when the data has subjects.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"age": range(20), "path": [f"{i}.jpg" for i in range(20)]})
        >>> [len(p) for p in split_protocol(df, DataConfig(split="counts", val=4, test=3, train_size=11))]
        [11, 4, 3]
    """
    import pandas as pd

    from agekit.datasets import split, split_counts

    if config.split == "counts":
        parts = split_counts(df, val=config.val, test=config.test, train=config.train_size, seed=config.seed)
        return parts if len(parts) == 3 else (*parts, pd.DataFrame(columns=df.columns))
    if config.split != "folds":
        fail("split 'counts' or 'folds'", "[data] split", config.split)
    if "fold" not in df.columns:
        fail("a dataset with a `fold` column for split='folds' (Adience)", "columns", list(df.columns))
    if not isinstance(config.fold, int) or not (df["fold"] == config.fold).any():
        fail(f"fold one of {sorted(df['fold'].unique().tolist())}", "[data] fold", config.fold)
    test, rest = df[df["fold"] == config.fold], df[df["fold"] != config.fold]
    val = config.val / len(rest) if isinstance(config.val, int) else config.val
    groups = "subject" if "subject" in rest.columns and rest["subject"].notna().all() else False
    train, val = split(rest, val=val, test=0, stratify=config.stratify, groups=groups, seed=config.seed)
    return train, val, test


def run_folds(experiment: Experiment, *, figures=True, verbose="auto") -> dict:
    """Run every fold of `split="folds"` (or those `fold` lists) in turn, in
    `run_dir/fold<k>`, and average their scores.

    The data is loaded (and its faces cropped) once, in `run_dir/data`.

    Returns:
        The mean of each numeric held-out score over the folds, `folds` (each fold's
        scores), `n_folds`, `evaluated_on` (`"test, mean over folds"`), `minutes` and
        `run_dir`; also written to `run_dir/metrics.json`.
    """
    from agekit.experiment.runner import _check_run_dir, load_data, run_experiment

    started = time.time()
    run_dir = Path(experiment.train.run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    _check_run_dir(run_dir, json.loads(json.dumps(experiment.to_dict(), default=str)))
    df = load_data(experiment.data, run_dir / "data")
    if "fold" not in df.columns:
        fail("a dataset with a `fold` column for split='folds' (Adience)", "columns", list(df.columns))
    results = []
    available = sorted(int(k) for k in df["fold"].unique())
    chosen = experiment.data.fold or available
    if set(chosen) - set(available):
        fail(f"folds among {available}", "[data] fold", experiment.data.fold)
    for fold in chosen:
        one = experiment.replace(data={"fold": fold}, train={"run_dir": str(run_dir / f"fold{fold}")})
        if one.pretrain is not None and one.pretrain.split == "folds":  # pre-training never sees the test fold
            one = one.replace(pretrain={"fold": fold})
        log.info("run_folds: fold %d", fold)
        results.append(run_experiment(one, figures=figures, verbose=verbose, data_dir=run_dir / "data"))
    metrics = {**mean_scores(results), "n_folds": len(results), "evaluated_on": "test, mean over folds",
               "folds": results, "minutes": round((time.time() - started) / 60, 2),
               "run_dir": str(run_dir)}
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str))
    return metrics


def mean_scores(results) -> dict:
    """The mean of every number the results share (nested dicts too, such as `pretrain`).

    Example:
        >>> mean_scores([{"mae": 4.0, "n": 2, "p": {"mae": 1.0}}, {"mae": 6.0, "n": 4, "p": {"mae": 3.0}}])
        {'mae': 5.0, 'n': 3.0, 'p': {'mae': 2.0}}
    """
    out = {}
    for key in results[0]:
        values = [r.get(key) for r in results]
        if all(isinstance(v, dict) for v in values) and key not in ("data", "folds"):
            out[key] = mean_scores(values)
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            out[key] = float(np.mean(values))
    return out


def pretrain(experiment: Experiment, make, *, run_dir, data_dir, main_steps, monitor, verbose="auto"):
    """Train `make()` on the `pretrain` data by `train.pretrain_schedule`, score it, and
    compile it afresh for the main data.

    Returns:
        `(model, metrics)`: the pre-trained model, compiled with the experiment's
        optimizer settings (a new optimizer), and its held-out scores on the pre-training
        data (`metrics.json` of `run_dir/pretrain`).
    """
    from agekit.data import make_datasets
    from agekit.experiment.runner import (
        augment_of,
        compile_for,
        compile_options,
        load_data,
        split_data,
        targets,
    )
    from agekit.training import FineTune, Stage, fit

    config, spec, train_config = experiment.pretrain, experiment.model, experiment.train
    out = Path(run_dir) / "pretrain"
    df = load_data(config, Path(data_dir) / "pretrain")
    train, val, test = split_data(df, config)
    counts = {**df.attrs["counts"], "train": len(train), "val": len(val), "test": len(test)}
    train_ds, val_ds = make_datasets(
        train, val, augment=augment_of(config), balance=config.balance, seed=config.seed,
        cache="memory" if config.cache else None, target=targets(spec),
        image_size=experiment.data.image_size, batch_size=config.batch_size,
        clip_ages=config.clip_ages, sigma=config.sigma)
    schedule = FineTune(tuple(Stage(**stage) for stage in train_config.pretrain_schedule))
    model, history = fit(make, train_ds, val_ds, run_dir=out, schedule=schedule, monitor=monitor,
                         patience=train_config.patience, compile_options=compile_options(train_config),
                         verbose=verbose)
    metrics = {**held_out_scores(model, spec, train, val, test, batch_size=config.batch_size),
               "data": counts, "epochs_run": len(history)}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str))
    return compile_for(model, train_config, main_steps), metrics


def held_out_scores(model, spec: ModelConfig, train, val, test, *, batch_size, table=False):
    """`evaluate_model` on the test split (or val without one), with the age head's bins.

    Returns:
        The scores plus `n_train`, `n_val`, `n_test` and `evaluated_on`; with
        `table=True`, `(scores, predictions table)`.
    """
    from agekit.evaluation import evaluate_model

    held_out, evaluated_on = (test, "test") if len(test) else (val, "val")
    scores, predictions = evaluate_model(model, held_out, baseline_age=float(np.median(train["age"])),
                                         batch_size=batch_size)
    scores = {**scores, **head_scores(predictions, spec), "n_train": len(train), "n_val": len(val),
              "n_test": len(test), "evaluated_on": evaluated_on}
    return (scores, predictions) if table else scores


def head_scores(predictions, spec: ModelConfig) -> dict:
    """Accuracy and macro-F1 over the bins of a `bins:<scheme>` age head (utk7 is always
    scored by `evaluate_model`): `adience_accuracy`, `utk4_macro_f1`, ..."""
    from agekit.evaluation import score_predictions

    kind, _, scheme = spec.head.partition(":")
    if kind != "bins" or scheme == "utk7":
        return {}
    scores = score_predictions(predictions, bins=scheme)
    return {key: scores[key] for key in (f"{scheme}_accuracy", f"{scheme}_macro_f1")}


def class_weights_of(train, spec: ModelConfig, config: TrainConfig):
    """The `class_weight` of `model.fit`: a weight per class of the age head, or None.

    `"balanced"`: n / (classes * n_class) (scikit-learn); `"one_minus_frequency"`:
    1 - n_class / n; a table: its weights. Classes absent from `train` weigh 1.

    Example:
        >>> import pandas as pd
        >>> train = pd.DataFrame({"age": [1, 1, 1, 30]})
        >>> class_weights_of(train, ModelConfig(head="bins:utk4"),
        ...                  TrainConfig(class_weight="one_minus_frequency"))
        {0: 0.25, 1: 1.0, 2: 0.75, 3: 1.0}
    """
    from agekit.labels import bin_ages, bin_labels

    if config.class_weight is None:
        return None
    kind, _, scheme = spec.head.partition(":")
    if kind == "bins":
        classes, n_classes = bin_ages(train["age"].to_numpy(float), scheme), len(bin_labels(scheme))
    else:  # dex: one class per year, 0..100
        n_classes = 101
        classes = np.clip(np.floor(train["age"].to_numpy(float)), 0, n_classes - 1).astype(int)
    weights = dict.fromkeys(range(n_classes), 1.0)
    present, counts = np.unique(classes, return_counts=True)
    if isinstance(config.class_weight, dict):
        weights.update({int(k): float(w) for k, w in config.class_weight.items()})
    elif config.class_weight == "one_minus_frequency":
        weights.update({int(c): float(1 - n / len(classes)) for c, n in zip(present, counts)})
    else:
        from agekit.data import class_weights

        weights.update({int(c): w for c, w in class_weights(classes).items()})
    unknown = sorted(k for k in weights if k >= n_classes)
    if unknown:
        fail(f"class indices below {n_classes} (the classes of {spec.head})", "[train] class_weight", unknown)
    return weights
