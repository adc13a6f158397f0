"""An experiment as validated data: `[data]`, `[model]` and `[train]` settings.

Each section is a small frozen dataclass that checks its values when it is made (from
Python or from a TOML file), so a typo such as `head = "dexx"`, `epochs = "ten"` or
`val = 3.0` is an error before any data is loaded or any face is cropped. Unknown keys
are errors too; nothing silently falls back on a default.
"""

import dataclasses
import numbers
from dataclasses import dataclass, field
from pathlib import Path

from agekit._validation import fail
from agekit.errors import InvalidValueError, MissingFileError

# Formats whose images are already face crops: no detection needed before training.
CROPPED_FORMATS = ("utkface", "adience", "folders")
DETECTORS = ("auto", "none", "boxes", "hog", "cnn")
SPLITS = ("random", "given")
COLORS = ("rgb", "grayscale", "grayscale_rgb")
SCRATCH = ("basic_cnn", "levi_hassner_cnn", "two_branch_cnn")
# `agekit.models.BACKBONES` and `TOPS`, named here so reading a configuration imports no
# TensorFlow (a test keeps the lists equal).
TRANSFER = ("vgg16", "vgg19", "resnet50", "inception_v3", "mobilenet_v2", "efficientnet_b0")
TOPS = ("vgg", "gap")
OPTIMIZERS = ("adam", "adamw", "nadam", "sgd", "rmsprop")
LR_SCHEDULES = (None, "plateau", "cosine")
MARGIN_NAMES = ("tight", "loose", "very_loose")


def _where(section, name):
    return f"[{section}] {name}"


def _whole(section, name, value, *, low=1, optional=False):
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        fail(f"a whole number >= {low}" + (" or None" if optional else ""), _where(section, name), value)


def _number(section, name, value, *, low=None, high=None, low_open=False, high_open=False, optional=False):
    if optional and value is None:
        return
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        bounds = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        fail(f"a number in {bounds}" + (" or None" if optional else ""), _where(section, name), value)


def _choice(section, name, value, choices):
    if value not in choices:
        fail(f"one of {list(choices)}", _where(section, name), value)


def _flag(section, name, value):
    if not isinstance(value, bool):
        fail("true or false", _where(section, name), value, error=TypeError)


def _mapping(section, name, value, *, values=None):
    if not isinstance(value, dict):
        fail("a table (dict)", _where(section, name), value, error=TypeError)
    if values is not None:
        for key, item in value.items():
            if not values(item):
                fail("valid values", _where(section, f"{name}.{key}"), item)


def _split_size(section, name, value):
    """A split fraction in [0, 1) or a whole number of rows."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        _whole(section, name, value, low=0)
    else:
        _number(section, name, value, low=0, high=1, high_open=True)


@dataclass(frozen=True)
class DataConfig:
    """Which images, how they are cropped, split and fed to the model.

    Args:
        format: An `agekit.datasets` format (`"utkface"`, `"imdb_wiki"`, `"chalearn"`,
            `"appa_real"`, `"adience"`, `"fgnet"`, `"folders"`).
        root: What the format's loader takes; `None` makes `n` synthetic faces.
        n: Number of synthetic faces (only without `root`).
        limit: Use a random sample of this many rows (quick runs).
        detector: How faces are cropped before training (`prepare_dataset`): `"auto"`
            (none for formats whose images are already face crops, `CROPPED_FORMATS`;
            else the metadata's face boxes when it has them, as IMDb-WIKI does; else
            `"hog"`), `"none"`, `"boxes"`, `"hog"` or `"cnn"`.
        margin: Crop margin (`"tight"`, `"loose"`, `"very_loose"` or a fraction >= 0).
        align: Level the eyes of each crop.
        split: `"random"`: `val` and `test` drawn from the rows (stratified by age,
            group-aware when the data has a `subject` column); `"given"`: the dataset's
            own `split` column (ChaLearn, APPA-REAL: `train` / `valid` / `test`).
        val, test: Validation and held-out test sizes: fractions in [0, 1), or whole
            numbers of rows.
        image_size: Side of the model's input in pixels.
        color: `"rgb"`, `"grayscale"` or `"grayscale_rgb"`: what the model converts its
            RGB input to (inside itself).
        batch_size: Images per batch.
        augment: Train-time augmentation: true (the VGG16 study's: rotation, shifts,
            zoom, flip), false, or a table of `agekit.data.Augment` settings.
        balance: Column to balance batches by (e.g. `"bins:utk7"`), or None.
        sigma: Width of the DEX label distributions: `"auto"` (per-image `age_std` when
            the data has it), None (one-hot) or a number of years.
        clip_ages: Map ages above the oldest DEX / CORAL class to it.
        cache: Keep the decoded images in memory after the first epoch.
        seed: Seed of the synthetic data, the split, shuffling and augmentation.
    """

    format: str = "utkface"
    root: str | None = None
    n: int = 600
    limit: int | None = None
    detector: str = "auto"
    margin: str | float = "loose"
    align: bool = False
    split: str = "random"
    val: float = 0.15
    test: float = 0.15
    image_size: int = 64
    color: str = "rgb"
    batch_size: int = 32
    augment: bool | dict = True
    balance: str | None = None
    sigma: str | float | None = "auto"
    clip_ages: bool = True
    cache: bool = True
    seed: int = 0

    def __post_init__(self):
        from agekit.datasets import FORMATS

        s = "data"
        _choice(s, "format", self.format, FORMATS)
        if self.root is not None and not isinstance(self.root, (str, Path)):
            fail("a path or None", _where(s, "root"), self.root, error=TypeError)
        _whole(s, "n", self.n)
        _whole(s, "limit", self.limit, optional=True)
        _choice(s, "detector", self.detector, DETECTORS)
        if not (self.margin in MARGIN_NAMES or (isinstance(self.margin, numbers.Real)
                                                 and not isinstance(self.margin, bool) and self.margin >= 0)):
            fail(f"one of {list(MARGIN_NAMES)} or a number >= 0", _where(s, "margin"), self.margin)
        _flag(s, "align", self.align)
        _choice(s, "split", self.split, SPLITS)
        _split_size(s, "val", self.val)
        _split_size(s, "test", self.test)
        if isinstance(self.val, float) and isinstance(self.test, float) and self.val + self.test >= 1:
            fail("val + test < 1 (something must be left to train on)", _where(s, "val + test"),
                 self.val + self.test)
        _whole(s, "image_size", self.image_size, low=8)
        _choice(s, "color", self.color, COLORS)
        _whole(s, "batch_size", self.batch_size)
        if isinstance(self.augment, dict):
            from agekit.data import Augment

            try:
                Augment(**self.augment)
            except TypeError as error:
                fail("a table of agekit.data.Augment settings", _where(s, "augment"), self.augment,
                     error=type(error))
        else:
            _flag(s, "augment", self.augment)
        if self.balance is not None and not isinstance(self.balance, str):
            fail("a column name, 'bins:<scheme>' or None", _where(s, "balance"), self.balance)
        if self.sigma != "auto":
            _number(s, "sigma", self.sigma, low=0, low_open=True, optional=True)
        _flag(s, "clip_ages", self.clip_ages)
        _flag(s, "cache", self.cache)
        _whole(s, "seed", self.seed, low=0)


@dataclass(frozen=True)
class ModelConfig:
    """Which network: a from-scratch CNN of the studies or a `build_model` backbone.

    Args:
        backbone: `"basic_cnn"` (small, fast on a CPU), `"levi_hassner_cnn"`,
            `"two_branch_cnn"` or a `build_model` backbone (`"vgg16"`, `"resnet50"`, ...).
        head: `"dex"`, `"regression"`, `"coral"` or `"bins:<scheme>"`.
        outputs: Extra outputs such as `{"gender": 2, "ethnicity": 5}`.
        weights: Backbone weights: `"imagenet"`, None or a file (not for the CNNs
            trained from scratch).
        dropout: Dropout before the heads.
        layers, base_filters, hidden, bn_momentum: `basic_cnn` settings.
        top, fc_units: `build_model` top.
        options: Further keyword arguments of the network's builder.
    """

    backbone: str = "basic_cnn"
    head: str = "dex"
    outputs: dict = field(default_factory=dict)
    weights: str | None = None
    dropout: float = 0.3
    layers: int = 4
    base_filters: int = 32
    hidden: int = 256
    bn_momentum: float = 0.99
    top: str = "gap"
    fc_units: int = 512
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        from agekit.labels import AGE_BINS

        s = "model"
        _choice(s, "backbone", self.backbone, (*SCRATCH, *TRANSFER))
        kind, _, scheme = str(self.head).partition(":")
        if not isinstance(self.head, str) or not (
                (kind in ("dex", "regression", "coral") and not scheme)
                or (kind == "bins" and scheme in AGE_BINS)):
            fail(f"'dex', 'regression', 'coral' or 'bins:<scheme>' with a scheme of {sorted(AGE_BINS)}",
                 _where(s, "head"), self.head)
        _mapping(s, "outputs", self.outputs,
                 values=lambda n: isinstance(n, int) and not isinstance(n, bool) and n >= 2)
        if "age" in self.outputs:
            fail("extra outputs other than 'age'", _where(s, "outputs"), self.outputs)
        if self.weights is not None:
            if self.backbone in SCRATCH:
                fail(f"weights=None for {self.backbone} (it has no pretrained weights)",
                     _where(s, "weights"), self.weights)
            if self.weights != "imagenet" and not isinstance(self.weights, (str, Path)):
                fail("'imagenet', None or a weights file", _where(s, "weights"), self.weights)
        _number(s, "dropout", self.dropout, low=0, high=1, high_open=True)
        _whole(s, "layers", self.layers)
        _whole(s, "base_filters", self.base_filters)
        _whole(s, "hidden", self.hidden)
        _number(s, "bn_momentum", self.bn_momentum, low=0, high=1, high_open=True)
        _choice(s, "top", self.top, TOPS)
        _whole(s, "fc_units", self.fc_units)
        _mapping(s, "options", self.options)


@dataclass(frozen=True)
class TrainConfig:
    """How long and how fast: epochs, optimizer, learning rate or a fine-tuning schedule.

    Args:
        epochs: Epochs (without `schedule`).
        learning_rate: Peak learning rate (without `schedule`).
        optimizer: `"adam"`, `"adamw"`, `"nadam"`, `"sgd"` or `"rmsprop"`.
        lr_schedule: None (constant), `"plateau"` (divide by `1 / 0.3` when the
            validation score stalls for 2 epochs) or `"cosine"` (a cosine decay over
            the run after `warmup_epochs` of linear warm-up).
        warmup_epochs: Linear warm-up of the `"cosine"` schedule.
        loss_weights: Output name -> loss weight.
        schedule: None, `"study_best"` (the head, then conv block 5 at 1e-5) or a list of
            stages, each a table of `agekit.training.Stage` fields.
        patience: Early-stopping patience in epochs (None: none).
        monitor: The validation metric for the checkpoint, early stopping and the
            schedule (None: the age head's, `agekit.training.default_monitor`).
        run_dir: Output folder (resumable).
    """

    epochs: int = 10
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    lr_schedule: str | None = None
    warmup_epochs: int = 0
    loss_weights: dict = field(default_factory=dict)
    schedule: str | list | None = None
    patience: int | None = None
    monitor: str | None = None
    run_dir: str = "runs/experiment"

    def __post_init__(self):
        s = "train"
        _whole(s, "epochs", self.epochs)
        _number(s, "learning_rate", self.learning_rate, low=0, low_open=True)
        _choice(s, "optimizer", self.optimizer, OPTIMIZERS)
        _choice(s, "lr_schedule", self.lr_schedule, LR_SCHEDULES)
        _whole(s, "warmup_epochs", self.warmup_epochs, low=0)
        if self.warmup_epochs and self.warmup_epochs >= self.epochs:
            fail("warmup_epochs < epochs", _where(s, "warmup_epochs"), self.warmup_epochs)
        _mapping(s, "loss_weights", self.loss_weights,
                 values=lambda w: isinstance(w, numbers.Real) and not isinstance(w, bool) and w >= 0)
        if not (self.schedule is None or self.schedule == "study_best" or (
                isinstance(self.schedule, list) and self.schedule
                and all(isinstance(stage, dict) for stage in self.schedule))):
            fail("None, 'study_best' or a list of stage tables", _where(s, "schedule"), self.schedule)
        if isinstance(self.schedule, list):
            from agekit.training import Stage

            for stage in self.schedule:
                try:
                    Stage(**stage)
                except TypeError:
                    fail("stage tables of agekit.training.Stage fields", _where(s, "schedule"), stage,
                         error=TypeError)
        _whole(s, "patience", self.patience, optional=True)
        if self.monitor is not None and not isinstance(self.monitor, str):
            fail("a metric name or None", _where(s, "monitor"), self.monitor)
        if not isinstance(self.run_dir, (str, Path)):
            fail("a folder path", _where(s, "run_dir"), self.run_dir, error=TypeError)


@dataclass(frozen=True)
class Experiment:
    """One run: `data`, `model` and `train` settings (see `agekit.experiment`)."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    @classmethod
    def from_dict(cls, settings: dict) -> "Experiment":
        """Build from `{"data": {...}, "model": {...}, "train": {...}}`; unknown keys raise."""
        if not isinstance(settings, dict):
            fail("a dict of sections", "settings", type(settings).__name__, error=TypeError)
        sections = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}
        unknown = sorted(set(settings) - set(sections))
        if unknown:
            fail(f"sections among {sorted(sections)}", "sections", unknown)
        parts = {}
        for name, config in sections.items():
            values = settings.get(name, {})
            if not isinstance(values, dict):
                fail("a table of settings", f"[{name}]", values, error=TypeError)
            known = {f.name for f in dataclasses.fields(config)}
            unknown = sorted(set(values) - known)
            if unknown:
                fail(f"[{name}] keys among {sorted(known)}", f"[{name}] keys", unknown)
            parts[name] = config(**values)
        return cls(**parts)

    @classmethod
    def from_toml(cls, path) -> "Experiment":
        """Read a TOML file with `[data]`, `[model]` and `[train]` sections."""
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib

        path = Path(path)
        if not path.is_file():
            raise MissingFileError(f"Expected a TOML configuration file. Received: path={str(path)!r}")
        try:
            settings = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as error:
            raise InvalidValueError(f"Expected a valid TOML file. Received: path={str(path)!r} ({error})") from None
        return cls.from_dict(settings)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **sections) -> "Experiment":
        """A copy with some fields changed: `exp.replace(train={"epochs": 2})`."""
        parts = {name: dataclasses.replace(getattr(self, name), **changes)
                 for name, changes in sections.items()}
        return dataclasses.replace(self, **parts)
