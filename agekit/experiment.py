"""A whole experiment as data: dataset -> face crops -> split -> train -> evaluate -> figures.

`Experiment` gathers three small frozen dataclasses (`DataConfig`, `ModelConfig`,
`TrainConfig`) that a TOML file maps onto one section each, so `agekit train
config.toml` and `run_experiment(Experiment.from_toml("config.toml"))` are the same run:

    [data]
    format = "utkface"                  # any agekit.datasets format
    root = "datasets/UTKFace"           # leave out for synthetic data made on the spot
    image_size = 64

    [model]
    backbone = "basic_cnn"              # or vgg16, resnet50, ... (build_model)
    head = "dex"
    outputs = { gender = 2 }

    [train]
    epochs = 20
    learning_rate = 1e-3
    run_dir = "runs/utkface"

Unknown keys are errors (a typo never silently falls back on a default). The run
directory gets what `agekit.training.fit` writes plus `experiment.json` (the settings),
`split.csv`, `model.keras`, `metrics.json` (held-out scores against the
predict-the-training-median baseline), `predictions.csv` and `figures/*.png`.
"""

import dataclasses
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from agekit._validation import fail
from agekit.errors import InvalidValueError, MissingFileError

log = logging.getLogger(__name__)

# Formats whose images are already face crops: no detection needed before training.
CROPPED_FORMATS = ("utkface", "adience", "folders", "fgnet")
DETECTORS = ("auto", "none", "boxes", "hog", "cnn")


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
        margin: Crop margin (`"tight"`, `"loose"`, `"very_loose"` or a fraction).
        align: Level the eyes of each crop.
        val, test: Fractions for the validation and held-out test splits (group-aware
            when the data has a `subject` column).
        image_size: Side of the model's input in pixels.
        batch_size: Images per batch.
        augment: Train-time augmentation (the VGG16 study's: rotation, shifts, zoom, flip).
        balance: Column to balance batches by (e.g. `"bins:utk7"`), or None.
        seed: Seed of the synthetic data, the split, shuffling and augmentation.
    """

    format: str = "utkface"
    root: str | None = None
    n: int = 600
    limit: int | None = None
    detector: str = "auto"
    margin: str | float = "loose"
    align: bool = False
    val: float = 0.15
    test: float = 0.15
    image_size: int = 64
    batch_size: int = 32
    augment: bool = True
    balance: str | None = None
    seed: int = 0

    def __post_init__(self):
        if self.detector not in DETECTORS:
            fail(f"detector to be one of {DETECTORS}", "detector", self.detector)


@dataclass(frozen=True)
class ModelConfig:
    """Which network: a from-scratch `basic_cnn` or a `build_model` backbone.

    Args:
        backbone: `"basic_cnn"` (small, fast on a CPU, takes [0, 255] input) or a
            `build_model` backbone (`"vgg16"`, `"resnet50"`, ...).
        head: `"dex"`, `"regression"`, `"coral"` or `"bins:<scheme>"`.
        outputs: Extra outputs such as `{"gender": 2, "ethnicity": 5}`.
        weights: Backbone weights: `"imagenet"`, None or a file (not for `basic_cnn`).
        dropout: Dropout before the heads.
        layers, base_filters, hidden, bn_momentum: `basic_cnn` settings.
        top, fc_units: `build_model` top.
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


@dataclass(frozen=True)
class TrainConfig:
    """How long and how fast: epochs, learning rate or a fine-tuning schedule.

    Args:
        epochs: Epochs (without `schedule`).
        learning_rate: Adam learning rate (without `schedule`).
        schedule: None, `"study_best"` (the head, then conv block 5 at 1e-5) or a list of
            stages, each a dict of `agekit.training.Stage` fields.
        patience: Early-stopping patience in epochs (None: none).
        run_dir: Output folder (resumable).
    """

    epochs: int = 10
    learning_rate: float = 1e-3
    schedule: str | list | None = None
    patience: int | None = None
    run_dir: str = "runs/experiment"


@dataclass(frozen=True)
class Experiment:
    """One run: `data`, `model` and `train` settings (see the module docstring)."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    @classmethod
    def from_dict(cls, settings: dict) -> "Experiment":
        """Build from `{"data": {...}, "model": {...}, "train": {...}}`; unknown keys raise."""
        if not isinstance(settings, dict):
            fail("a dict of sections", "settings", type(settings).__name__, error=TypeError)
        sections = {f.name: f.type for f in dataclasses.fields(cls)}
        unknown = sorted(set(settings) - set(sections))
        if unknown:
            fail(f"sections among {sorted(sections)}", "sections", unknown)
        parts = {}
        for name, config in (("data", DataConfig), ("model", ModelConfig), ("train", TrainConfig)):
            values = settings.get(name, {})
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


def load_data(config: DataConfig, work_dir) -> "pd.DataFrame":  # noqa: F821
    """The dataset of a `DataConfig`, its faces cropped as configured.

    Returns the loader's DataFrame with `path` pointing at the crops when a detector ran;
    images without a usable face are left out and counted in `attrs["prepare"]`.
    """
    from agekit.datasets import load_dataset

    df = load_dataset(config.format, config.root, n=config.n, seed=config.seed,
                      synthetic_dir=None if config.root else Path(work_dir) / "synthetic")
    if config.limit and config.limit < len(df):
        df = df.sample(n=config.limit, random_state=config.seed)
    detector = config.detector
    if detector == "auto":  # Adience's boxes are in the original photos, not its aligned crops
        detector = ("none" if config.format in CROPPED_FORMATS
                    else "boxes" if "face_box" in df.columns else "hog")
    if detector == "none":
        return df
    from agekit.faces import prepare_dataset

    manifest = prepare_dataset(df, Path(work_dir) / "crops", detector="hog" if detector == "boxes" else detector,
                               use_boxes=detector == "boxes", margin=config.margin, align=config.align,
                               size=config.image_size, upsample=1)
    status = manifest.set_index("path")
    ok = status["status"].eq("ok")
    kept = df[df["path"].map(ok).fillna(False).astype(bool)].copy()
    kept["source_path"] = kept["path"]
    kept["path"] = kept["path"].map(status["output"])
    kept.attrs = {**df.attrs, "prepare": manifest["status"].value_counts().to_dict()}
    log.info("prepared %d of %d images: %s", len(kept), len(df), kept.attrs["prepare"])
    if kept.empty:
        fail("at least one image with a usable face", "prepare", kept.attrs["prepare"])
    return kept


def build(config: ModelConfig, image_size: int, learning_rate: float = 1e-3):
    """The compiled model of a `ModelConfig` at `image_size`."""
    from agekit.models import basic_cnn, build_model, compile_model

    shape = (image_size, image_size, 3)
    outputs = dict(config.outputs) or None
    if config.backbone == "basic_cnn":
        if config.weights is not None:
            fail("weights=None for basic_cnn (it has no pretrained weights)", "weights", config.weights)
        model = basic_cnn(layers=config.layers, base_filters=config.base_filters, hidden=config.hidden,
                          dropout=config.dropout, input_shape=shape, head=config.head, outputs=outputs,
                          rescale=1 / 255.0, bn_momentum=config.bn_momentum)
        return compile_model(model, learning_rate=learning_rate)
    return build_model(config.backbone, config.head, weights=config.weights, input_shape=shape,
                       top=config.top, dropout=config.dropout, fc_units=config.fc_units,
                       outputs=outputs, learning_rate=learning_rate)


def _schedule(config: TrainConfig):
    from agekit.training import FineTune, Stage

    if config.schedule is None:
        return None
    if config.schedule == "study_best":
        return FineTune.study_best()
    if isinstance(config.schedule, list) and all(isinstance(s, dict) for s in config.schedule):
        return FineTune(tuple(Stage(**stage) for stage in config.schedule))
    return fail("schedule None, 'study_best' or a list of stage tables", "schedule", config.schedule)


def _targets(config: ModelConfig):
    if not config.outputs:
        return config.head
    return {"age": config.head, **{name: name for name in config.outputs}}


def run_experiment(experiment: Experiment, *, figures: bool = True, verbose="auto") -> dict:
    """Run an experiment end to end and write its run directory.

    Args:
        experiment: The settings.
        figures: Also draw the figures (`agekit.plots`) into `run_dir/figures/`.
        verbose: Passed to `model.fit`.

    Returns:
        The held-out scores (`agekit.evaluation.evaluate_model` keys) plus `n_train`,
        `n_val`, `n_test`, `epochs_run`, `minutes` and `run_dir`; also written to
        `run_dir/metrics.json`.

    Example:
        >>> exp = Experiment().replace(data={"n": 200}, train={"epochs": 2, "run_dir": "runs/demo"})
        >>> run_experiment(exp)["mae"]  # doctest: +SKIP
    """
    import keras
    import numpy as np
    import pandas as pd

    from agekit.data import Augment, make_datasets
    from agekit.datasets import split
    from agekit.evaluation import evaluate_model
    from agekit.models.build import preprocessing_for
    from agekit.training import fit

    started = time.time()
    data, spec, train_config = experiment.data, experiment.model, experiment.train
    run_dir = Path(train_config.run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    settings = json.loads(json.dumps(experiment.to_dict()))
    saved = run_dir / "experiment.json"
    if saved.is_file() and json.loads(saved.read_text()) != settings:
        # fit resumes whatever a run folder holds: never resume another experiment's run
        raise InvalidValueError(f"Expected a new run folder, or one of this same experiment to resume. "
                                f"Received: run_dir={str(run_dir)!r} (it holds a run of other settings, "
                                f"see its experiment.json)")
    saved.write_text(json.dumps(settings, indent=2))
    keras.utils.set_random_seed(data.seed)

    df = load_data(data, run_dir / "data")
    groups = "subject" if "subject" in df.columns and df["subject"].notna().all() else None
    train, val, test = split(df, val=data.val, test=data.test, stratify="age", groups=groups,
                             seed=data.seed)
    pd.concat([part.assign(split=name) for name, part in
               (("train", train), ("val", val), ("test", test))]).drop(
        columns=["face_box"], errors="ignore").to_csv(run_dir / "split.csv", index=False)

    preprocess = "none" if spec.backbone == "basic_cnn" else preprocessing_for(spec.backbone)
    common = {"target": _targets(spec), "image_size": data.image_size, "preprocess": preprocess,
              "batch_size": data.batch_size, "clip_ages": True}
    augment = Augment(rotation=10, shift=0.1, zoom=0.1, flip=True) if data.augment else None
    train_ds, val_ds = make_datasets(train, val, augment=augment, balance=data.balance, seed=data.seed,
                                     cache="memory", **common)
    model, history = fit(lambda: build(spec, data.image_size, train_config.learning_rate),
                         train_ds, val_ds, run_dir=run_dir, epochs=train_config.epochs,
                         schedule=_schedule(train_config), learning_rate=train_config.learning_rate,
                         patience=train_config.patience, verbose=verbose)
    model.save(run_dir / "model.keras")

    scores, table = evaluate_model(model, test, baseline_age=float(np.median(train["age"])),
                                   batch_size=data.batch_size)
    table.drop(columns=["face_box"], errors="ignore").to_csv(run_dir / "predictions.csv", index=False)
    metrics = {**scores, "n_train": len(train), "n_val": len(val), "n_test": len(test),
               "epochs_run": len(history), "minutes": round((time.time() - started) / 60, 2),
               "run_dir": str(run_dir)}
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    if figures:
        draw_figures(run_dir, table, {"train": train, "val": val, "test": test})
    log.info("run_experiment: %s", metrics)
    return metrics


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


QUICKSTART = Experiment(
    data=DataConfig(format="imdb_wiki", n=1500, image_size=48, augment=False),
    # Keras' batch-norm momentum (0.99) lags behind a few hundred steps of training.
    model=ModelConfig(head="dex", bn_momentum=0.9),
    train=TrainConfig(epochs=10, learning_rate=1e-3),
)


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
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    report = _write_report(out_dir, experiment, metrics, figures)
    return {"metrics": metrics, "figures": figures, "report": str(report)}


def _write_report(out_dir, experiment, metrics, figures):
    data = experiment.data
    source = f"{data.format} at {data.root}" if data.root else f"{data.n} synthetic faces ({data.format} layout)"
    lines = [
        "# agekit quickstart report", "",
        (f"Data: {source}; {metrics['n_train']} training, {metrics['n_val']} validation and "
        f"{metrics['n_test']} held-out test images. Model: {experiment.model.backbone} with a "
        f"{experiment.model.head} head, {metrics['epochs_run']} epochs, {metrics['minutes']} min."), "",
        "| held-out test | value |", "| --- | --- |",
        f"| MAE (years) | {metrics['mae']:.2f} |",
        (f"| MAE of always predicting the training median ({metrics['baseline_age']:.0f}) | "
        f"{metrics['baseline_mae']:.2f} |"),
        f"| share within 5 years (CS5) | {metrics['cs5']:.3f} |",
        f"| utk7 age-group macro-F1 | {metrics['utk7_macro_f1']:.3f} |", "",
        "## Figures", "",
    ]
    lines += [f"- {name}: [{Path(path).name}]({os.path.relpath(path, out_dir)})"
              for name, path in figures.items()]
    report = out_dir / "report.md"
    report.write_text("\n".join(lines) + "\n")
    return report
