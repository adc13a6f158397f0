"""`tune`: run a search (resumable, distributable) and read its trials as a table.

A search is resumable: run `tune` again with the same `directory` and `project_name`
(and `overwrite=False`, the default) and it continues where it stopped; finished trials
are not run again, a trial that was cut off is run again from its start.
"""

import logging
import os
import warnings
from dataclasses import dataclass

import keras
import keras_tuner
import numpy as np
import pandas as pd

from agekit.errors import InvalidTypeError, InvalidValueError
from agekit.models.heads import parse_head
from agekit.tuning.distributed import TUNERS, is_worker
from agekit.tuning.hypermodel import AgeHyperModel, check_data
from agekit.tuning.space import AGE_METRIC, choices

log = logging.getLogger("agekit.tuning")


def default_objective(hypermodel: AgeHyperModel) -> keras_tuner.Objective:
    """`val_age_mae` (min) for age heads in years; `val_macro_f1` (max) for bin heads.

    Every dex, regression and coral model an `AgeHyperModel` builds reports `age_mae`,
    its age error in years, so trials with different heads compare on one scale.

    Args:
        hypermodel: The `AgeHyperModel` of the search.

    Returns:
        A `keras_tuner.Objective`.

    Example:
        >>> default_objective(AgeHyperModel(head="bins:utk7")).name
        'val_macro_f1'
    """
    kinds = {parse_head(head)[0] for head in hypermodel.heads}
    if kinds <= {"dex", "regression", "coral"}:
        return keras_tuner.Objective(f"val_{AGE_METRIC}", "min")
    if kinds == {"bins"}:
        return keras_tuner.Objective("val_macro_f1", "max")
    raise InvalidValueError("Expected head choices that share a metric: age heads (dex, regression, "
                            f"coral) or bin heads. Received: head={hypermodel.specs['head']!r}")


def _objective(objective, hypermodel):
    if objective is None:
        return default_objective(hypermodel)
    if isinstance(objective, keras_tuner.Objective):
        return objective
    if isinstance(objective, str):
        better = "max" if any(k in objective for k in ("accuracy", "f1", "auc")) else "min"
        return keras_tuner.Objective(objective, better)
    raise InvalidTypeError(f"Expected None, a metric name or a keras_tuner.Objective. "
                           f"Received: objective={objective!r}")



@dataclass(frozen=True, eq=False)
class TuneResult:
    """What `tune` returns.

    Attributes:
        results: One row per trial: `trial_id`, `status`, each hyperparameter, `score`
            (the objective at the trial's best epoch) and `best_epoch`.
        best_model: The best trial's model, rebuilt and loaded with the weights of its
            best epoch (it scores `score` on the validation data); None on a worker of
            a distributed search or when no trial completed.
        best_hyperparameters: The best trial's hyperparameter values (a dict).
        objective: The name of the metric the search minimised or maximised.
        tuner: The Keras Tuner tuner (its `oracle`, `results_summary()`, ...).
    """

    results: pd.DataFrame
    best_model: keras.Model | None
    best_hyperparameters: dict | None
    objective: str
    tuner: keras_tuner.Tuner


def results_table(trials) -> pd.DataFrame:
    """One row per trial: `trial_id`, `status`, hyperparameters, `score`, `best_epoch`.

    Args:
        trials: A Keras Tuner tuner (all the trials of its oracle) or a list of trials.

    Returns:
        A DataFrame, one row per trial in trial order (`TuneResult.results`).

    Example:
        `results_table(result.tuner).sort_values("score").head(3)`: the best three trials
        of a search (`tune` shows one). Without trials, the columns only:

        >>> results_table([]).columns.tolist()
        ['trial_id', 'status', 'score', 'best_epoch']
    """
    if hasattr(trials, "oracle"):
        trials = [trials.oracle.trials[k] for k in sorted(trials.oracle.trials)]
    rows, names = [], []
    for trial in trials:
        values = trial.hyperparameters.values
        names += [name for name in values if name not in names]
        rows.append({"trial_id": trial.trial_id, "status": trial.status, **values,
                     "score": np.nan if trial.score is None else float(trial.score),
                     "best_epoch": trial.best_step if trial.score is not None else None})
    return pd.DataFrame(rows, columns=["trial_id", "status", *names, "score", "best_epoch"])


def tune(
    train,
    val,
    *,
    hypermodel: AgeHyperModel | None = None,
    tuner: str = "hyperband",
    objective: str | keras_tuner.Objective | None = None,
    max_trials: int | None = None,
    epochs: int = 10,
    directory: str | os.PathLike = "tuning",
    project_name: str = "agekit",
    overwrite: bool = False,
    seed: int | None = None,
    callbacks: list | None = None,
    verbose: int | str = 1,
    **tuner_kwargs,
) -> TuneResult:
    """Search hyperparameters of an age model; resumable and distributable.

    Args:
        train: Training data, unbatched: a DataFrame with `path` and `age` columns
            (`agekit.datasets` loaders), or an `(x, y)` tuple of images and ages.
        val: Validation data, the same kind; the objective is measured on it.
        hypermodel: An `AgeHyperModel` (default: `AgeHyperModel()`, VGG16).
        tuner: `"hyperband"`, `"random"` or `"bayesian"`.
        objective: A metric name such as `"val_expected_age_mae"` (metrics named
            accuracy/f1/auc are maximised, the others minimised) or a
            `keras_tuner.Objective`. Default `default_objective(hypermodel)`:
            `"val_age_mae"`, which every age head reports, or `"val_macro_f1"` for bins.
        max_trials: Number of trials (default 10 for random / Bayesian search; for
            Hyperband, which sets its own count from `epochs`, an optional cap).
        epochs: Epochs per trial; Hyperband's maximum epochs per model.
        directory: Folder of the search (shared by every process of a distributed one).
        project_name: Subfolder of this search in `directory`.
        overwrite: Start again instead of resuming a search found in the folder.
        seed: Seed of the tuner's sampling of hyperparameters.
        callbacks: Keras callbacks for every trial's `fit` (copied per trial).
        verbose: Keras Tuner's trial reports and `model.fit`'s progress (0, 1, 2).
        **tuner_kwargs: Passed to the Keras Tuner class (`executions_per_trial`,
            `factor`, `hyperband_iterations`, `max_retries_per_trial`,
            `distribution_strategy`, ...).

    Returns:
        A `TuneResult` (results table, best model and hyperparameters, tuner).

    Example:
        On real data: `train, val = split(load_utkface("UTKFace"), val=0.2)`, then the
        same call with `AgeHyperModel(backbone="basic_cnn", input_shape=(64, 64, 3))`,
        `max_trials=20, epochs=5`. Here two trials of a tiny model on random arrays:

        >>> import tempfile
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x, ages = rng.integers(0, 256, (16, 16, 16, 3)).astype("uint8"), rng.uniform(1, 90, 16)
        >>> hypermodel = AgeHyperModel(
        ...     backbone="basic_cnn", head="regression", learning_rate=(1e-3, 1e-2), batch_size=8,
        ...     dropout=0.0, augment=False, input_shape=(16, 16, 3),
        ...     backbone_kwargs={"basic_cnn": {"layers": 1, "base_filters": 2, "hidden": 4}})
        >>> result = tune((x[:12], ages[:12]), (x[12:], ages[12:]), hypermodel=hypermodel,
        ...               tuner="random", max_trials=2, epochs=1, directory=tempfile.mkdtemp(),
        ...               seed=0, verbose=0)
        >>> result.results[["trial_id", "status"]].values.tolist()
        [['0', 'COMPLETED'], ['1', 'COMPLETED']]
        >>> result.objective, result.best_model is not None
        ('val_age_mae', True)
    """
    hypermodel = AgeHyperModel() if hypermodel is None else hypermodel
    if not isinstance(hypermodel, AgeHyperModel):
        raise InvalidTypeError(f"Expected an agekit.tuning.AgeHyperModel. "
                               f"Received: hypermodel={type(hypermodel).__name__}")
    if tuner not in TUNERS:
        raise InvalidValueError(f"Expected tuner to be one of {sorted(TUNERS)}. Received: tuner={tuner!r}")
    check_data(train, "train")
    check_data(val, "val")
    if not isinstance(train, pd.DataFrame) and True in choices(hypermodel.specs["augment"]):
        raise InvalidValueError("Expected AgeHyperModel(augment=False) with array data (augmentation "
                                "runs in the DataFrame pipeline). "
                                f"Received: augment={hypermodel.specs['augment']!r}")
    for name, value in (("epochs", epochs), ("max_trials", max_trials)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise InvalidValueError(f"Expected a whole number >= 1. Received: {name}={value!r}")
    objective = _objective(objective, hypermodel)
    options = {"objective": objective, "seed": seed, "directory": os.fspath(directory),
               "project_name": project_name, "overwrite": overwrite, **tuner_kwargs}
    if tuner == "hyperband":
        searcher = TUNERS[tuner](hypermodel, max_epochs=epochs, **options)
        if max_trials is not None:
            searcher.oracle.max_trials = max_trials  # a cap: Hyperband has no max_trials
    else:
        searcher = TUNERS[tuner](hypermodel, max_trials=max_trials or 10, **options)
    log.info("tuning %s in %s (objective %s)", tuner, searcher.project_dir, objective.name)
    searcher.search(train, validation_data=val, epochs=epochs, callbacks=list(callbacks or []),
                    verbose=verbose)
    if is_worker():
        return TuneResult(results_table(getattr(searcher, "ran_trials", [])), None, None,
                          objective.name, searcher)
    best = searcher.oracle.get_best_trials(1)
    if not best:
        log.warning("no trial of %s completed", searcher.project_dir)
        return TuneResult(results_table(searcher), None, None, objective.name, searcher)
    with warnings.catch_warnings():  # the checkpoint's optimizer state is not needed
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model = searcher.load_model(best[0])
    return TuneResult(results_table(searcher), model, dict(best[0].hyperparameters.values),
                      objective.name, searcher)
