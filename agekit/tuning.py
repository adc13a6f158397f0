"""Hyperparameter search with Keras Tuner: what the VGG16 study tuned by hand, automated.

`AgeHyperModel` is a `keras_tuner.HyperModel` over the backbone, the head, the learning
rate, the batch size, the trainable layers (`set_trainable(last=N)`), the dropout and
augmentation on/off. `tune` runs a search (Hyperband, random or Bayesian) and returns a
`TuneResult`: one row per trial, and the best model reloaded with its best weights.

Every hyperparameter is a keyword argument of `AgeHyperModel`, given as:

    a scalar   fixed:       dropout=0.3
    a tuple    a range:     learning_rate=(1e-5, 1e-2)   (log scale for the learning
                            rate, powers of two from the low end for the batch size)
    a list     choices:     head=["dex", "regression"], trainable_layers=[1, 8, 22]

Because the batch size and augmentation change per trial, the search takes unbatched
data: DataFrames of image paths and ages (`agekit.datasets` loaders), or `(x, y)` tuples
of image arrays and ages in years; each trial builds its own pipeline.

A search is resumable: run `tune` again with the same `directory` and `project_name`
(and `overwrite=False`, the default) and it continues where it stopped; finished trials
are not run again, a trial that was cut off is run again from its start.

Distributed search uses Keras Tuner's own chief/worker mode: start the same script once
as the chief (it only hands out trials and collects results) and once per worker
(each runs trials), set apart by three environment variables. `directory` must be a
folder all of them can read and write (the best model is loaded from the checkpoints
the workers write there). On the chief `tune` returns the whole search; on a worker it
returns the trials that worker ran, with `best_model=None`. Example, `search.py`:

    import agekit
    from agekit.datasets import load_utkface, split

    train, val = split(load_utkface("data/UTKFace"), val=0.2, seed=0)
    hypermodel = agekit.AgeHyperModel(backbone="vgg16", head=["dex", "regression"])
    result = agekit.tune(train, val, hypermodel=hypermodel, tuner="bayesian",
                         max_trials=40, epochs=10, directory="/shared/tuning",
                         project_name="vgg16_utkface")
    if result.best_model is not None:  # the chief, or a search without workers
        print(result.results.sort_values("score").head())
        result.best_model.save("best.keras")

Several GPUs on one machine (one worker per GPU, the chief on the CPU):

    export KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=8000
    KERASTUNER_TUNER_ID=chief CUDA_VISIBLE_DEVICES="" python search.py > chief.log 2>&1 &
    KERASTUNER_TUNER_ID=tuner0 CUDA_VISIBLE_DEVICES=0 python search.py > tuner0.log 2>&1 &
    KERASTUNER_TUNER_ID=tuner1 CUDA_VISIBLE_DEVICES=1 python search.py > tuner1.log 2>&1 &
    wait

Several machines with Slurm (one worker per node; the batch script, which runs on the
first node, starts the chief there):

    #!/bin/bash
    #SBATCH --nodes=4 --ntasks-per-node=1 --gpus-per-node=1
    export KERASTUNER_ORACLE_IP=$(hostname) KERASTUNER_ORACLE_PORT=8000
    KERASTUNER_TUNER_ID=chief CUDA_VISIBLE_DEVICES="" python search.py > chief.log 2>&1 &
    srun bash -c 'KERASTUNER_TUNER_ID=tuner$SLURM_PROCID python search.py'
    wait
"""

import logging
import os
import warnings
from dataclasses import dataclass

import keras
import keras_tuner
import numpy as np
import pandas as pd

from agekit.data.augment import Augment
from agekit.errors import InvalidTypeError, InvalidValueError
from agekit.metrics import CoralMAE, ExpectedAgeMAE
from agekit.models.build import BACKBONES, build_model
from agekit.models.freeze import counted_layers, set_trainable
from agekit.models.heads import head_loss_and_metrics, heads_of, parse_head
from agekit.models.scratch import basic_cnn

log = logging.getLogger(__name__)

SCRATCH = ("basic_cnn",)  # from-scratch networks: every layer trains
AGE_METRIC = "age_mae"  # the age MAE in years every dex / regression / coral model reports
# The choices of AgeHyperModel's hyperparameters left at None.
DEFAULT_CHOICES = {
    "head": ("dex", "regression", "coral"),
    "trainable_layers": (1, 2, 3, 8, 22),  # the VGG16 study's counts
    "augment": (False, True),
}


def _number(v):
    return isinstance(v, (int, float, np.number)) and not isinstance(v, bool)


def _whole(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


# name -> (check of one value, what is expected, the hyperparameter of a (low, high) range)
_SPECS = {
    "backbone": (lambda v: v in BACKBONES or v in SCRATCH,
                 f"backbone names from {sorted(BACKBONES) + list(SCRATCH)}", None),
    "head": (lambda v: isinstance(v, str) and bool(parse_head(v)),
             "head names such as 'dex', 'regression', 'coral' or 'bins:utk7'", None),
    "learning_rate": (lambda v: _number(v) and v > 0, "learning rates > 0",
                      lambda hp, name, low, high: hp.Float(name, low, high, sampling="log")),
    "batch_size": (lambda v: _whole(v) and v > 0, "whole batch sizes > 0",  # powers of two
                   lambda hp, name, low, high: hp.Int(name, low, high, step=2, sampling="log")),
    "trainable_layers": (lambda v: v == "all" or (_whole(v) and v >= 1),
                         "layer counts >= 1 (set_trainable(last=N)) or 'all'",
                         lambda hp, name, low, high: hp.Int(name, low, high)),
    "dropout": (lambda v: _number(v) and 0 <= v < 1, "dropout rates in [0, 1)",
                lambda hp, name, low, high: hp.Float(name, float(low), float(high))),
    "augment": (lambda v: isinstance(v, (bool, np.bool_)), "True or False", None),
}


def _check_spec(name, spec):
    """Validate a scalar (fixed), a (low, high) tuple (range) or a list (choices)."""
    check, expected, ranged = _SPECS[name]
    if isinstance(spec, tuple):
        if ranged is None:
            raise InvalidValueError(f"Expected a value or a list of choices for `{name}` (it has no "
                                    f"range). Received: {name}={spec!r}")
        if (len(spec) != 2 or not all(check(v) and _number(v) for v in spec)
                or not spec[0] < spec[1]):
            raise InvalidValueError(f"Expected a range (low, high) of {expected} with low < high. "
                                    f"Received: {name}={spec!r}")
        return spec
    values = spec if isinstance(spec, list) else [spec]
    if not values or not all(check(v) for v in values):
        raise InvalidValueError(f"Expected {expected}: one value, a (low, high) range or a list of "
                                f"choices. Received: {name}={spec!r}")
    return spec


def _choices(spec):
    """The values a spec can take (the ends of a range)."""
    return list(spec) if isinstance(spec, (list, tuple)) else [spec]


class AgeHyperModel(keras_tuner.HyperModel):
    """A search space of agekit age models and how each trial trains.

    Each hyperparameter is a scalar (fixed), a `(low, high)` tuple (a range) or a list
    (choices); its name is its column in `TuneResult.results`.

    Args:
        backbone: `build_model`'s backbones (`"vgg16"`, `"resnet50"`, ...) and the
            small from-scratch `"basic_cnn"` (fast on a CPU).
        head: `"dex"`, `"regression"`, `"coral"` or `"bins:<scheme>"` (default: the
            choices `["dex", "regression", "coral"]`).
        learning_rate: Adam learning rate; a range is sampled on a log scale.
        batch_size: A range `(16, 256)` takes the powers of two times its low end.
        trainable_layers: `set_trainable(last=N)` counts or `"all"` (default: the
            VGG16 study's choices `[1, 2, 3, 8, 22]`); a count above the model's layers
            trains all of them.
            Only for transfer backbones: with `"basic_cnn"` every layer trains and the
            hyperparameter is not used (empty in the results).
        dropout: Dropout before the head.
        augment: Whether training batches are augmented with `augmentation` (default:
            the choices `[False, True]`; only for DataFrame data: with array data, use
            `augment=False`).
        augmentation: The `Augment` used when `augment` is True (default `Augment()`).
        input_shape: `(height, width, channels)` of the models (1 channel: greyscale;
            every model still takes RGB images and converts inside).
        weights: `build_model` weights of transfer backbones (`"imagenet"`, None, path).
        backbone_kwargs: Extra arguments per backbone, such as
            `{"vgg16": {"fc_units": 256}, "basic_cnn": {"layers": 2, "base_filters": 8}}`
            (passed to `build_model` or `basic_cnn`).
        dataset_kwargs: Extra arguments of `agekit.data.make_dataset` for DataFrame
            data (`cache`, `resize`, `sigma`, ...). The images reach every trial's
            model as RGB in [0, 255]: each model scales its input itself (its card,
            `agekit.models.card_of`), so a tuned model predicts and evaluates as it
            trained. Arrays (RGB in [0, 255]) are fed to the model as they are.
        seed: Seed of the shuffling and augmentation of each trial's data.

    Example:
        >>> hypermodel = AgeHyperModel(backbone="basic_cnn", learning_rate=(1e-4, 1e-2),
        ...                            batch_size=(16, 32), head=["dex", "regression"],
        ...                            dropout=0.3, augment=False, input_shape=(64, 64, 3))
        >>> model = hypermodel.build(keras_tuner.HyperParameters())
        >>> model.output_shape
        (None, 101)
    """

    def __init__(
        self,
        *,
        backbone: str | list = "vgg16",
        head: str | list | None = None,
        learning_rate: float | tuple | list = (1e-5, 1e-2),
        batch_size: int | tuple | list = (32, 256),
        trainable_layers: int | str | tuple | list | None = None,
        dropout: float | tuple | list = (0.0, 0.6),
        augment: bool | list | None = None,
        augmentation: Augment | None = None,
        input_shape: tuple = (224, 224, 3),
        weights: str | None = "imagenet",
        backbone_kwargs: dict | None = None,
        dataset_kwargs: dict | None = None,
        seed: int | None = None,
        name: str | None = None,
    ):
        super().__init__(name=name)
        given = {"backbone": backbone, "head": head, "learning_rate": learning_rate,
                 "batch_size": batch_size, "trainable_layers": trainable_layers,
                 "dropout": dropout, "augment": augment}
        self.specs = {
            name: _check_spec(name, list(DEFAULT_CHOICES[name]) if spec is None else spec)
            for name, spec in given.items()
        }
        if augmentation is not None and not isinstance(augmentation, Augment):
            raise InvalidTypeError("Expected None or an agekit.data.Augment. "
                                   f"Received: augmentation={type(augmentation).__name__}")
        if len(tuple(input_shape)) != 3:
            raise InvalidValueError(f"Expected input_shape=(height, width, channels). "
                                    f"Received: input_shape={input_shape!r}")
        reserved = sorted({"target", "batch_size", "augment", "shuffle", "seed"}
                          & set(dataset_kwargs or {}))
        if reserved:
            raise InvalidValueError("Expected dataset_kwargs without the arguments each trial sets "
                                    f"itself. Received: dataset_kwargs keys {reserved}")
        unknown = set(backbone_kwargs or {}) - set(BACKBONES) - set(SCRATCH)
        if unknown:
            raise InvalidValueError(f"Expected backbone names as keys of backbone_kwargs. "
                                    f"Received: backbone_kwargs keys {sorted(unknown)}")
        self.augmentation = augmentation or Augment()
        self.input_shape = tuple(int(s) for s in input_shape)
        self.weights = weights
        self.backbone_kwargs = dict(backbone_kwargs or {})
        self.dataset_kwargs = dict(dataset_kwargs or {})
        self.seed = seed

    @property
    def heads(self) -> list:
        """The head names the search can pick."""
        return _choices(self.specs["head"])

    def _declare(self, hp, name):
        """Register hyperparameter `name` in `hp` (once) and return its value."""
        spec = self.specs[name]
        if isinstance(spec, tuple):
            return _SPECS[name][2](hp, name, *spec)
        if not isinstance(spec, list) or len(set(spec)) == 1:
            value = spec[0] if isinstance(spec, list) else spec
            return hp.Fixed(name, bool(value) if name == "augment" else value)
        if name == "augment":
            return hp.Boolean(name)  # a Choice would store False/True as 0/1
        if name == "trainable_layers" and any(isinstance(v, str) for v in spec):
            spec = [str(v) for v in spec]  # Choice values share one type: "8", "all"
        return hp.Choice(name, spec)

    def _declare_all(self, hp):
        """Register the whole search space (also the fit-time batch size / augment)."""
        backbone = self._declare(hp, "backbone")
        for name in ("head", "learning_rate", "batch_size", "dropout", "augment"):
            self._declare(hp, name)
        transfer = [b for b in _choices(self.specs["backbone"]) if b not in SCRATCH]
        if not transfer:
            return None
        if isinstance(self.specs["backbone"], list) and len(transfer) < len(self.specs["backbone"]):
            with hp.conditional_scope("backbone", transfer):
                layers = self._declare(hp, "trainable_layers")
            return layers if backbone in transfer else None
        return self._declare(hp, "trainable_layers")

    def build(self, hp) -> keras.Model:
        """Build and compile the model of one trial (also reports `age_mae`)."""
        trainable = self._declare_all(hp)
        backbone, head = hp.get("backbone"), hp.get("head")
        extra = self.backbone_kwargs.get(backbone, {})
        if backbone in SCRATCH:
            model = basic_cnn(input_shape=self.input_shape, head=head,
                              dropout=hp.get("dropout"), **extra)
        else:
            model = build_model(backbone, head, weights=self.weights,
                                input_shape=self.input_shape, dropout=hp.get("dropout"),
                                compile=False, **extra)
            last = trainable if trainable == "all" else int(trainable)
            if last != "all" and last >= len(counted_layers(model)):
                last = "all"
            set_trainable(model, last=last)
        age = heads_of(model)["age"]
        loss, metrics = head_loss_and_metrics(age)
        if age.kind == "dex":
            metrics = [*metrics, ExpectedAgeMAE(name=AGE_METRIC)]
        elif age.kind == "coral":
            metrics = [*metrics, CoralMAE(min_age=age.min_age, name=AGE_METRIC)]
        elif age.kind == "regression":
            metrics = [*metrics, keras.metrics.MeanAbsoluteError(name=AGE_METRIC)]
        model.compile(optimizer=keras.optimizers.Adam(hp.get("learning_rate")), loss=loss,
                      metrics=metrics)
        return model

    def fit(self, hp, model, *args, **kwargs):
        """Train one trial: the data pipeline is built with the trial's batch size."""
        train = args[0] if args else kwargs.pop("x", None)
        val = kwargs.pop("validation_data", None)
        check_data(train, "train")
        if val is not None:
            check_data(val, "val")
            val = self.make_dataset(hp, val)
        kwargs.setdefault("shuffle", False)  # the dataset shuffles itself
        return model.fit(self.make_dataset(hp, train, training=True), validation_data=val,
                         **kwargs)

    def make_dataset(self, hyperparameters, data, *, training: bool = False):
        """The `tf.data.Dataset` a trial with these hyperparameters trains or validates on.

        Args:
            hyperparameters: `keras_tuner.HyperParameters`, or a dict of their values
                such as `TuneResult.best_hyperparameters`.
            data: A DataFrame with `path` and `age`, or an `(x, y)` tuple of image
                arrays and ages in years.
            training: Shuffled and, if `augment` is on, augmented; otherwise in order.

        Example:
            >>> test_ds = hypermodel.make_dataset(result.best_hyperparameters, test_df)
            >>> result.best_model.evaluate(test_ds, return_dict=True)["age_mae"]
        """
        import tensorflow as tf

        from agekit.data.pipeline import make_dataset
        from agekit.data.targets import encode_targets

        values = hyperparameters if isinstance(hyperparameters, dict) else hyperparameters.values
        check_data(data, "data")
        head, batch_size = values["head"], int(values["batch_size"])
        augment = bool(values.get("augment", False)) and training
        if isinstance(data, pd.DataFrame):
            # Every trial's model scales (and greys) its input itself: RGB in [0, 255].
            options = {"image_size": self.input_shape[:2], **self.dataset_kwargs}
            return make_dataset(data, target=head, augment=self.augmentation if augment else None,
                                batch_size=batch_size, shuffle=training, seed=self.seed,
                                **options)
        if augment:
            raise InvalidValueError("Expected augment=False with array data (augmentation runs in "
                                    "the DataFrame pipeline). Received: augment=True")
        x, ages = data
        options = {k: self.dataset_kwargs[k] for k in ("num_classes", "clip_ages")
                   if k in self.dataset_kwargs}
        y = encode_targets(pd.DataFrame({"age": np.asarray(ages, "float64")}), head,
                           sigma=None, **options).y
        dataset = tf.data.Dataset.from_tensor_slices((np.asarray(x, "float32"), y))
        if training:
            dataset = dataset.shuffle(len(y), seed=self.seed, reshuffle_each_iteration=True)
        return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def check_data(data, name: str) -> None:
    """Check that `data` is unbatched search data: a DataFrame or an `(x, y)` tuple."""
    if hasattr(data, "element_spec"):  # a tf.data.Dataset, batched or not
        raise InvalidValueError(
            "Expected unbatched data (the batch size and augmentation are tuned per "
            "trial): a DataFrame with `path` and `age` columns, or a tuple (x, y) of "
            f"image arrays and ages. Received: {name}={type(data).__name__}"
        )
    if isinstance(data, pd.DataFrame):
        missing = sorted({"path", "age"} - set(data.columns))
        if missing or len(data) == 0:
            raise InvalidValueError(f"Expected a non-empty DataFrame with `path` and `age` columns. "
                                    f"Received: {name} with columns {list(data.columns)} and "
                                    f"{len(data)} rows")
        return
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = np.shape(data[0]), np.shape(data[1])
        if len(x) != 4 or len(y) != 1 or x[0] != y[0]:
            raise InvalidValueError(f"Expected (x, y) with x of shape (n, height, width, channels) "
                                    f"and y of n ages. Received: {name} shapes {x} and {y}")
        return
    raise InvalidTypeError("Expected a DataFrame with `path` and `age` columns or a tuple (x, y) of "
                           f"arrays. Received: {name}={type(data).__name__}")


def default_objective(hypermodel: AgeHyperModel) -> keras_tuner.Objective:
    """`val_age_mae` (min) for age heads in years; `val_macro_f1` (max) for bin heads.

    Every dex, regression and coral model an `AgeHyperModel` builds reports `age_mae`,
    its age error in years, so trials with different heads compare on one scale.

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


class _Recording:
    """Keeps the trials this process ran (a worker's share of a distributed search)."""

    def on_search_begin(self):
        super().on_search_begin()
        self.ran_trials = []

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        self.ran_trials.append(self.oracle.get_trial(trial.trial_id))  # while the chief runs


class _RandomSearch(_Recording, keras_tuner.RandomSearch):
    pass


class _Hyperband(_Recording, keras_tuner.Hyperband):
    pass


class _BayesianOptimization(_Recording, keras_tuner.BayesianOptimization):
    pass


TUNERS = {"hyperband": _Hyperband, "random": _RandomSearch, "bayesian": _BayesianOptimization}


def _is_worker():
    return ("KERASTUNER_ORACLE_IP" in os.environ
            and "chief" not in os.environ.get("KERASTUNER_TUNER_ID", ""))


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

    Example:
        >>> results_table(result.tuner).sort_values("score").head(3)
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
        >>> train, val = agekit.datasets.split(agekit.load_utkface("UTKFace"), val=0.2)
        >>> hypermodel = AgeHyperModel(backbone="basic_cnn", input_shape=(64, 64, 3))
        >>> result = tune(train, val, hypermodel=hypermodel, tuner="random", max_trials=20,
        ...               epochs=5, directory="runs/tuning", project_name="basic_cnn")
        >>> result.results.sort_values("score").head()
    """
    hypermodel = AgeHyperModel() if hypermodel is None else hypermodel
    if not isinstance(hypermodel, AgeHyperModel):
        raise InvalidTypeError(f"Expected an agekit.tuning.AgeHyperModel. "
                               f"Received: hypermodel={type(hypermodel).__name__}")
    if tuner not in TUNERS:
        raise InvalidValueError(f"Expected tuner to be one of {sorted(TUNERS)}. Received: tuner={tuner!r}")
    check_data(train, "train")
    check_data(val, "val")
    if not isinstance(train, pd.DataFrame) and True in _choices(hypermodel.specs["augment"]):
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
    if _is_worker():
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
