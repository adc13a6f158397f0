"""A Keras Tuner search over an experiment's model settings, before the run trains.

An experiment's optional `[search]` section names settings and their candidate values;
`run_experiment` then tries them (each trial builds the experiment's own model, with its
losses and optimizer, on the experiment's own data pipeline), writes one row per trial
to `run_dir/search.csv`, and trains the run with the best trial's values:

    [search]
    tuner = "random"
    max_trials = 20
    epochs = 10
    space = { dropout = { min = 0.1, max = 0.5 }, l2 = { min = 1e-5, max = 1e-2, log = true },
              age_filters = [32, 64, 128] }

Reading a `SearchConfig` imports no TensorFlow; `run_search` imports Keras Tuner.
"""

import dataclasses
import logging
import numbers
from dataclasses import dataclass, field

from agekit._validation import fail
from agekit.experiment._checks import _choice, _mapping, _where, _whole

log = logging.getLogger(__name__)

TUNERS = ("random", "hyperband", "bayesian")
# ModelConfig fields a search cannot vary: they change what the model is, not a setting.
FIXED = ("backbone", "head", "outputs", "weights", "options")
_RANGE_KEYS = {"min", "max", "log", "step"}


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class SearchConfig:
    """Which settings a search tries, and how (`keras_tuner`).

    Args:
        space: Setting name -> a list of choices, or a range table `{min, max}` (with
            `log = true` for a log scale, `step` for whole numbers). A name is a
            `ModelConfig` field (`dropout`, `base_filters`, ...), `learning_rate`, or
            else a keyword argument of the network's builder (an entry of
            `[model] options`, such as `two_branch_cnn`'s `l2` or `age_filters`).
        tuner: `"random"`, `"hyperband"` or `"bayesian"`.
        max_trials: Trials (Hyperband: a cap on the count it sets itself).
        epochs: Epochs of each trial (Hyperband: the most epochs of one model).
        objective: The validation metric to optimise (None: the run's monitor);
            names with accuracy / f1 / auc are maximised, others minimised.
        seed: Seed of the tuner's sampling.

    Example:
        >>> SearchConfig(space={"dropout": {"min": 0.1, "max": 0.5}, "age_filters": [64, 128]},
        ...              max_trials=4).tuner
        'random'
    """

    space: dict = field(default_factory=dict)
    tuner: str = "random"
    max_trials: int = 10
    epochs: int = 5
    objective: str | None = None
    seed: int = 0

    def __post_init__(self):
        s = "search"
        _mapping(s, "space", self.space)
        if not self.space:
            fail("at least one setting to search", _where(s, "space"), self.space)
        for name, values in self.space.items():
            if name in FIXED:
                fail(f"settings other than {list(FIXED)}", _where(s, "space"), name)
            if isinstance(values, dict):
                low, high = values.get("min"), values.get("max")
                if (set(values) - _RANGE_KEYS or not (_is_number(low) and _is_number(high))
                        or not low < high or not isinstance(values.get("log", False), bool)
                        or (values.get("log") and low <= 0)):
                    fail("a range {min, max[, log, step]} with min < max (min > 0 on a log scale)",
                         _where(s, f"space.{name}"), values)
            elif not (isinstance(values, list) and values and all(
                    isinstance(v, (str, bool)) or _is_number(v) for v in values)):
                fail("a list of choices or a range table", _where(s, f"space.{name}"), values)
        _choice(s, "tuner", self.tuner, TUNERS)
        _whole(s, "max_trials", self.max_trials)
        _whole(s, "epochs", self.epochs)
        if self.objective is not None and not isinstance(self.objective, str):
            fail("a metric name or None", _where(s, "objective"), self.objective)
        _whole(s, "seed", self.seed, low=0)


def with_values(experiment, values: dict):
    """The experiment with a trial's values set (model fields, learning rate, options).

    Example:
        >>> from agekit.experiment import Experiment
        >>> exp = with_values(Experiment(), {"dropout": 0.2, "l2": 1e-3})
        >>> exp.model.dropout, exp.model.options, exp.search
        (0.2, {'l2': 0.001}, None)
    """
    fields = {f.name for f in dataclasses.fields(experiment.model)}
    model = {k: v for k, v in values.items() if k in fields}
    options = {k: v for k, v in values.items() if k not in fields and k != "learning_rate"}
    train = {"learning_rate": values["learning_rate"]} if "learning_rate" in values else {}
    changed = experiment.replace(model={**model, "options": {**experiment.model.options, **options}},
                                 train=train)
    return dataclasses.replace(changed, search=None)


def _declare(hp, name, values):
    if isinstance(values, list):
        return hp.Choice(name, values) if len(values) > 1 else hp.Fixed(name, values[0])
    low, high, step = values["min"], values["max"], values.get("step")
    sampling = "log" if values.get("log") else "linear"
    if all(isinstance(v, numbers.Integral) for v in (low, high)) and step is not None:
        return hp.Int(name, low, high, step=step, sampling=sampling)
    return hp.Float(name, float(low), float(high), sampling=sampling)


def run_search(experiment, train_ds, val_ds, *, run_dir, steps_per_epoch, monitor,
               class_weight=None, verbose="auto"):
    """Run the experiment's `[search]` and return `(best values, results table)`.

    Each trial builds the model of `with_values(experiment, values)` with the runner's
    `build` and fits it on `train_ds` for `search.epochs` epochs; the search lives in
    `run_dir/search` (resumable) and its table in `run_dir/search.csv`.
    """
    import keras_tuner

    from agekit.experiment.runner import _mode, build
    from agekit.tuning import TUNERS as TUNER_CLASSES
    from agekit.tuning import results_table

    config = experiment.search

    class HyperModel(keras_tuner.HyperModel):
        def build(self, hp):
            values = {name: _declare(hp, name, spec) for name, spec in config.space.items()}
            trial = with_values(experiment, values)
            return build(trial.model, trial.data, trial.train, steps_per_epoch=steps_per_epoch)

    objective_name = config.objective or monitor
    objective = keras_tuner.Objective(objective_name, _mode(objective_name))
    options = {"objective": objective, "seed": config.seed, "directory": str(run_dir),
               "project_name": "search", "overwrite": False}
    if config.tuner == "hyperband":
        tuner = TUNER_CLASSES["hyperband"](HyperModel(), max_epochs=config.epochs, **options)
        tuner.oracle.max_trials = config.max_trials
    else:
        tuner = TUNER_CLASSES[config.tuner](HyperModel(), max_trials=config.max_trials, **options)
    tuner.search(train_ds, validation_data=val_ds, epochs=config.epochs, class_weight=class_weight,
                 verbose=verbose)
    table = results_table(tuner)
    table.to_csv(run_dir / "search.csv", index=False)
    best = tuner.oracle.get_best_trials(1)
    if not best:
        fail("at least one search trial that completed", "search", str(run_dir / "search"))
    values = dict(best[0].hyperparameters.values)
    log.info("search: best %s of %d trials (%s)", values, len(table), objective_name)
    return values, table
