"""`AgeHyperModel`: the models a search builds and how each trial trains on its data.

Because the batch size and augmentation change per trial, the search takes unbatched
data: DataFrames of image paths and ages (`agekit.datasets` loaders), or `(x, y)` tuples
of image arrays and ages in years (`check_data`); each trial builds its own pipeline
(`AgeHyperModel.make_dataset`).
"""

import keras
import keras_tuner
import numpy as np
import pandas as pd

from agekit.data.augment import Augment
from agekit.errors import InvalidTypeError, InvalidValueError
from agekit.metrics import CoralMAE, ExpectedAgeMAE
from agekit.models.build import BACKBONES, build_model
from agekit.models.freeze import counted_layers, set_trainable
from agekit.models.heads import head_loss_and_metrics, heads_of
from agekit.models.scratch import basic_cnn
from agekit.tuning.space import (
    AGE_METRIC,
    DEFAULT_CHOICES,
    SCRATCH,
    SPECS,
    check_spec,
    choices,
)


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
        >>> import keras_tuner
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
            name: check_spec(name, list(DEFAULT_CHOICES[name]) if spec is None else spec)
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
        return choices(self.specs["head"])

    def _declare(self, hp, name):
        """Register hyperparameter `name` in `hp` (once) and return its value."""
        spec = self.specs[name]
        if isinstance(spec, tuple):
            return SPECS[name][2](hp, name, *spec)
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
        transfer = [b for b in choices(self.specs["backbone"]) if b not in SCRATCH]
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

        Returns:
            A batched `tf.data.Dataset` of `(images, y)`.

        Example:
            `hypermodel.make_dataset(result.best_hyperparameters, test_df)` gives the
            test data of the best model of a search (`result.best_model.evaluate`).

            >>> import numpy as np
            >>> hypermodel = AgeHyperModel(backbone="basic_cnn", head="regression",
            ...                            augment=False, input_shape=(16, 16, 3))
            >>> x, ages = np.zeros((10, 16, 16, 3), "uint8"), np.arange(20.0, 30.0)
            >>> ds = hypermodel.make_dataset({"head": "regression", "batch_size": 4}, (x, ages))
            >>> [tuple(images.shape) for images, y in ds]
            [(4, 16, 16, 3), (4, 16, 16, 3), (2, 16, 16, 3)]
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

