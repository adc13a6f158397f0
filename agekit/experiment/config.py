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
from agekit.experiment._checks import (
    _choice,
    _flag,
    _mapping,
    _number,
    _split_size,
    _where,
    _whole,
)
from agekit.experiment.photo_tuning import PhotosConfig
from agekit.experiment.search import SearchConfig
from agekit.experiment.sections import (  # noqa: F401 (re-exported)
    CLASS_WEIGHTS,
    LR_SCHEDULES,
    OPTIMIZERS,
    SCHEDULE_KINDS,
    SCRATCH,
    TOPS,
    TRANSFER,
    TWO_OUTPUT,
    WEIGHT_DECAY_MODES,
    ModelConfig,
    TrainConfig,
)

# Formats whose images are already face crops: no detection needed before training.
CROPPED_FORMATS = ("utkface", "adience", "folders")
DETECTORS = ("auto", "none", "boxes", "hog", "cnn")
SPLITS = ("random", "given", "counts", "folds")
COLORS = ("rgb", "grayscale", "grayscale_rgb")
MARGIN_NAMES = ("tight", "loose", "very_loose")
FEEDS = ("tfdata", "arrays")


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
        split: `"random"`: `val` and `test` drawn from the rows (stratified by
            `stratify`, group-aware when the data has a `subject` column); `"given"`:
            the dataset's own `split` column (ChaLearn, APPA-REAL: `train` / `valid` /
            `test`); `"counts"`: a seeded random split of photos into `train_size`,
            `val` and `test` rows, ignoring people and ages (`split_counts`: the
            Adience study's 11,000 / 3,500 / 2,500); `"folds"`: the dataset's `fold`
            column (Adience's five subject-exclusive folds): `fold` is the test set,
            `val` is drawn from the other folds by subject, `test` is not used.
        val, test: Validation and held-out test sizes: fractions in [0, 1), or whole
            numbers of rows (whole numbers only with `"counts"`).
        calib: Rows held out of the training split to calibrate the age intervals
            (`agekit.evaluation.calibrate_model`, stored in the model card): a fraction
            of the training rows, or a whole number; 0 calibrates on the validation
            split, which also chose the checkpoint (intervals then cover a little less
            than asked, see `agekit.calibration`).
        image_size: Side of the model's input in pixels.
        color: `"rgb"`, `"grayscale"` or `"grayscale_rgb"`: what the model converts its
            RGB input to (inside itself).
        batch_size: Images per batch.
        augment: Train-time augmentation: true (the VGG16 study's: rotation, shifts,
            zoom, flip), false, or a table of `agekit.data.Augment` settings.
        balance: Column to balance batches by (e.g. `"bins:utk7"`), or None.
        age_weights: 0 (none), or the power p of per-age loss weights for a `dex` age
            head: (smoothed age frequency) ** -p, so rare ages (the old, the very
            young) count more (`agekit.data.age_weights`; p in [0, 1]).
        sigma: Width of the DEX label distributions: `"auto"` (per-image `age_std` when
            the data has it), None (one-hot) or a number of years.
        clip_ages: Map ages above the oldest DEX / CORAL class to it.
        cache: Keep the decoded images in memory after the first epoch.
        feed: `"tfdata"` (a `make_dataset` pipeline) or `"arrays"`: every image
            decoded once into memory and fitted as `keras.utils.PyDataset` batches
            (`agekit.data.arrays`), which any Keras backend fits (`KERAS_BACKEND=jax`
            on a GPU); geometric augmentation only, no `balance`.
        seed: Seed of the synthetic data, the split, shuffling and augmentation.
        train_size: With `split="counts"`: rows for training (None: every row left).
        stratify: With `split="random"`: the column whose shares every split keeps
            (`"age"`: binned ages), or None for a plain random split.
        fold: With `split="folds"`: the fold held out as the test set; None runs every
            fold in turn (`run_dir/fold<k>`) and reports the mean of their scores; a list
            runs those folds in turn (a quick check of the protocol).
        upsample, max_side: Face detection settings of `prepare_dataset` (dlib's
            upsampling steps; detect on a copy shrunk to this longer side, None: as is).
        keep_undetected: Keep an image in which no face is found, uncropped (the
            Adience study did), instead of leaving it out (counted in `data.json`).
        synthetic_size: Side of synthetic images (only without `root`).
        loader: More keyword arguments of the format's loader, such as
            `{"rules": "yu4u"}` for IMDb-WIKI's cleaning.
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
    calib: float = 0.0
    image_size: int = 64
    color: str = "rgb"
    batch_size: int = 32
    augment: bool | dict = True
    balance: str | None = None
    age_weights: float = 0.0
    sigma: str | float | None = "auto"
    clip_ages: bool = True
    cache: bool = True
    feed: str = "tfdata"
    seed: int = 0
    train_size: int | None = None
    stratify: str | None = "age"
    fold: int | list | None = None
    upsample: int = 1
    max_side: int | None = None
    keep_undetected: bool = False
    synthetic_size: int = 64
    loader: dict = field(default_factory=dict)

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
        _split_size(s, "calib", self.calib)
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
        _number(s, "age_weights", self.age_weights, low=0, high=1)
        if self.sigma != "auto":
            _number(s, "sigma", self.sigma, low=0, low_open=True, optional=True)
        _flag(s, "clip_ages", self.clip_ages)
        _flag(s, "cache", self.cache)
        _choice(s, "feed", self.feed, FEEDS)
        if self.feed == "arrays" and self.balance is not None:
            fail("balance=None with feed='arrays'", _where(s, "balance"), self.balance)
        _whole(s, "seed", self.seed, low=0)
        self._check_protocol()

    def _check_protocol(self):
        """The split options and face-preparation options added for the studies."""
        s = "data"
        _whole(s, "train_size", self.train_size, optional=True)
        if self.split == "counts":
            for name in ("val", "test"):
                _whole(s, name, getattr(self, name), low=0)
        elif self.train_size is not None:
            fail("train_size only with split='counts'", _where(s, "train_size"), self.train_size)
        if self.stratify is not None and not isinstance(self.stratify, str):
            fail("a column name or None", _where(s, "stratify"), self.stratify)
        if isinstance(self.fold, list):
            if not self.fold or len(set(self.fold)) < len(self.fold):
                fail("a list of different folds", _where(s, "fold"), self.fold)
            for fold in self.fold:
                _whole(s, "fold", fold, low=0)
        else:
            _whole(s, "fold", self.fold, low=0, optional=True)
        if self.fold is not None and self.split != "folds":
            fail("fold only with split='folds'", _where(s, "fold"), self.fold)
        _whole(s, "upsample", self.upsample, low=0)
        _whole(s, "max_side", self.max_side, low=16, optional=True)
        _flag(s, "keep_undetected", self.keep_undetected)
        _whole(s, "synthetic_size", self.synthetic_size, low=16)
        _mapping(s, "loader", self.loader)


@dataclass(frozen=True)
class Experiment:
    """One run: `data`, `model` and `train` settings (see `agekit.experiment`).

    Two optional sections (None: absent):

    - `pretrain`: a `DataConfig` of data to train on first, by
      `train.pretrain_schedule`, before the main data (IMDb-WIKI before ChaLearn; the
      uncropped images before the crops); its `image_size` and `color` are `data`'s
      (one model trains on both). Its run is `run_dir/pretrain`; its held-out scores
      are `metrics["pretrain"]`.
    - `search`: an `agekit.experiment.search.SearchConfig`: a Keras Tuner search over
      model settings; the run then trains with the best values found.
    - `photos`: an `agekit.experiment.photo_tuning.PhotosConfig`: labelled whole photos
      to fine-tune on after the main training, cut as the model cuts photos.
    """

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    pretrain: DataConfig | None = None
    search: SearchConfig | None = None
    photos: PhotosConfig | None = None

    def __post_init__(self):
        _check_sections(self)

    @classmethod
    def from_dict(cls, settings: dict) -> "Experiment":
        """Build from `{"data": {...}, "model": {...}, "train": {...}}`; unknown keys raise."""
        if not isinstance(settings, dict):
            fail("a dict of sections", "settings", type(settings).__name__, error=TypeError)
        sections = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig,
                    "pretrain": DataConfig, "search": SearchConfig, "photos": PhotosConfig}
        unknown = sorted(set(settings) - set(sections))
        if unknown:
            fail(f"sections among {sorted(sections)}", "sections", unknown)
        parts = {}
        for name, config in sections.items():
            if name in ("pretrain", "search", "photos") and settings.get(name) is None:
                continue  # optional sections
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
        """A copy with some fields changed: `exp.replace(train={"epochs": 2})`.

        An optional section that is None is made from the changes
        (`exp.replace(pretrain={"format": "imdb_wiki"})`); `exp.replace(pretrain=None)`
        removes it.
        """
        kinds = {"pretrain": DataConfig, "search": SearchConfig, "photos": PhotosConfig}
        parts = {}
        for name, changes in sections.items():
            current = getattr(self, name)
            if changes is None and name in kinds:
                parts[name] = None
            elif current is None and name in kinds:
                parts[name] = kinds[name](**changes)
            else:
                parts[name] = dataclasses.replace(current, **changes)
        return dataclasses.replace(self, **parts)


def _check_sections(experiment):
    """What one section's settings require of another's."""
    data, model, train, pretrain = experiment.data, experiment.model, experiment.train, experiment.pretrain
    if pretrain is not None and not isinstance(pretrain, DataConfig):
        fail("None or a DataConfig", "[pretrain]", type(pretrain).__name__, error=TypeError)
    if (pretrain is None) != (train.pretrain_schedule is None):
        fail("[pretrain] data and [train] pretrain_schedule together (or neither)",
             "[train] pretrain_schedule", train.pretrain_schedule)
    if pretrain is not None:
        for name in ("image_size", "color"):
            if getattr(pretrain, name) != getattr(data, name):
                fail(f"[pretrain] {name} equal to [data] {name} (one model trains on both)",
                     _where("pretrain", name), getattr(pretrain, name))
        if pretrain.split == "folds" and data.split != "folds":
            fail("a [pretrain] split 'folds' only with a [data] split 'folds' (the same test fold)",
                 _where("pretrain", "split"), pretrain.split)
    if train.class_weight is not None:
        kind = model.head.partition(":")[0]
        if kind not in ("dex", "bins") or model.outputs or model.backbone in TWO_OUTPUT:
            fail("class_weight only for a single-output model with a 'dex' or 'bins:<scheme>' head",
                 _where("train", "class_weight"), train.class_weight)
    dex = model.head == "dex"
    for section, name, value in (("data", "age_weights", data.age_weights), ("train", "mixup", train.mixup)):
        if value and not dex:
            fail(f"{name} only with a 'dex' age head (it weighs or mixes age distributions)",
                 _where(section, name), value)
    if experiment.search is not None and data.split == "folds":
        fail("a [search] without split='folds'", _where("data", "split"), data.split)
