"""The runner: an `Experiment` from data to a described, evaluated model.

    dataset -> face crops -> split -> tf.data -> model (its card) -> fit -> card facts
    (age range, crop geometry, data, validation split) -> held-out scores -> figures

`run_experiment` writes its run folder: what `agekit.training.fit` writes, plus
`experiment.json` (the settings), `split.csv` (which image went where), `data.json`
(rows loaded, dropped by reason, sampled, split sizes), `model.keras`, `metrics.json`,
`predictions.csv` and `figures/*.png`.
"""

import json
import logging
import math
import time
from pathlib import Path

from agekit._validation import fail
from agekit.errors import InvalidValueError
from agekit.experiment.config import (
    CROPPED_FORMATS,
    TWO_OUTPUT,
    DataConfig,
    Experiment,
    ModelConfig,
    TrainConfig,
)

log = logging.getLogger(__name__)


def resolve_detector(config: DataConfig, df=None) -> str:
    """The detector `load_data` runs: `config.detector` with `"auto"` resolved."""
    if config.detector != "auto":
        return config.detector
    if config.format in CROPPED_FORMATS:  # Adience's boxes are in the original photos
        return "none"
    has_boxes = config.format == "imdb_wiki" if df is None else "face_box" in df.columns
    return "boxes" if has_boxes else "hog"


def crop_geometry(config: DataConfig) -> dict:
    """The face-crop geometry of a `DataConfig`'s training images, for the model card.

    A `agekit.faces.CropSpec` as a dict, so a photo is cut the same way before it is
    predicted (`agekit.photos.model_crop`): UTKFace's chips by the `"utkface"`
    landmark template (measured on the chips), crops the runner cuts itself by their
    margin, alignment and detector. Other formats whose images are already crops (the
    dataset's own geometry, no template measured) give `{"kind": "dataset", ...}`.

    Example:
        >>> crop_geometry(DataConfig(format="utkface"))["template"]
        'utkface'
        >>> crop_geometry(DataConfig(format="imdb_wiki", detector="hog"))["margin"]
        'loose'
    """
    from agekit.faces.spec import CropSpec

    detector = resolve_detector(config)
    if detector == "none":
        if config.format == "utkface":
            return CropSpec(template="utkface").to_dict()
        return {"kind": "dataset", "dataset": config.format}
    return CropSpec(margin=config.margin, align=config.align, detector="hog" if detector == "boxes" else detector,
                    upsample=config.upsample, max_side=config.max_side, size=config.image_size).to_dict()


def data_name(config: DataConfig) -> str:
    """`"utkface"`, or `"synthetic:utkface"` for faces made on the spot."""
    return config.format if config.root else f"synthetic:{config.format}"


def load_data(config: DataConfig, work_dir) -> "pd.DataFrame":  # noqa: F821
    """The dataset of a `DataConfig`, its faces cropped as configured.

    Returns:
        The loader's DataFrame, `path` pointing at the crops when a detector ran.
        `attrs["counts"]` says what happened to the rows: `loaded` (what the loader
        kept), `dropped` (the loader's reasons), `sampled` (after `limit`), `prepare`
        (each status of the face cropping) and `kept`.
    """
    from agekit.datasets import load_dataset

    df = load_dataset(config.format, config.root, n=config.n, seed=config.seed,
                      image_size=config.synthetic_size,
                      synthetic_dir=None if config.root else Path(work_dir) / "synthetic",
                      **config.loader)
    counts = {"loaded": len(df), "dropped": dict(df.attrs.get("dropped", {}))}
    if config.limit and config.limit < len(df):
        df = df.sample(n=config.limit, random_state=config.seed)
        counts["sampled"] = len(df)
    detector = resolve_detector(config, df)
    if detector != "none":
        from agekit.faces import prepare_dataset

        manifest = prepare_dataset(df, Path(work_dir) / "crops",
                                   detector="hog" if detector == "boxes" else detector,
                                   use_boxes=detector == "boxes", margin=config.margin,
                                   align=config.align, size=config.image_size, upsample=config.upsample,
                                   max_side=config.max_side)
        status = manifest.set_index("path")
        ok = status["status"].eq("ok")
        if config.keep_undetected:  # the whole image where no face was found
            ok |= status["status"].eq("no_face")
        kept = df[df["path"].map(ok).fillna(False).astype(bool)].copy()
        kept["source_path"] = kept["path"]
        kept["path"] = kept["path"].map(status["output"]).fillna(kept["source_path"])
        kept.attrs = dict(df.attrs)
        counts["prepare"] = manifest["status"].value_counts().to_dict()
        log.info("prepared %d of %d images: %s", len(kept), len(df), counts["prepare"])
        if kept.empty:
            fail("at least one image with a usable face", "prepare", counts["prepare"])
        df = kept
    counts["kept"] = len(df)
    df.attrs["counts"] = counts
    return df


def split_data(df, config: DataConfig) -> tuple:
    """`(train, val, test)` as the config says (`test` may be empty).

    Sizes given as whole numbers are rows; `"given"` uses the dataset's `split` column,
    `"counts"` `split_counts`, `"folds"` the `fold` column (see `DataConfig`).
    """
    import pandas as pd

    from agekit.datasets import split

    if config.split in ("counts", "folds"):
        from agekit.experiment.protocols import split_protocol

        return split_protocol(df, config)

    if config.split == "given":
        if "split" not in df.columns:
            fail("a dataset with a `split` column for split='given' (ChaLearn, APPA-REAL)",
                 "columns", list(df.columns))
        names = df["split"].replace({"valid": "val", "validation": "val"})
        parts = tuple(df[names == name] for name in ("train", "val", "test"))
        if parts[0].empty or parts[1].empty:
            fail("train and validation rows in the `split` column", "split",
                 sorted(df["split"].unique()))
        return parts
    n = len(df)
    val = config.val / n if isinstance(config.val, int) else config.val
    test = config.test / n if isinstance(config.test, int) else config.test
    if val + test >= 1:
        fail(f"val + test smaller than the {n} rows", "val + test", config.val + config.test)
    groups = "subject" if "subject" in df.columns and df["subject"].notna().all() else False
    parts = split(df, val=val, test=test, stratify=config.stratify, groups=groups, seed=config.seed)
    if len(parts) == 2:
        parts = (*parts, pd.DataFrame(columns=df.columns))
    return parts


def carve_calibration(train, config: DataConfig) -> tuple:
    """`(train, calib)`: `config.calib` rows of the training split held out to calibrate
    the age intervals (stratified like the split; `calib` empty when `config.calib` is 0)."""
    from agekit.datasets import split

    if not config.calib:
        return train, train.iloc[:0]
    share = config.calib / len(train) if isinstance(config.calib, int) else config.calib
    if not 0 < share < 1:
        fail(f"calib smaller than the {len(train)} training rows", "calib", config.calib)
    groups = "subject" if "subject" in train.columns and train["subject"].notna().all() else False
    return split(train, val=share, stratify=config.stratify, groups=groups, seed=config.seed + 1)


def build(config: ModelConfig, data: DataConfig, train: TrainConfig, *, steps_per_epoch=None):
    """The compiled model of a `ModelConfig` at the data's input size and colour."""
    return compile_for(network(config, data), train, steps_per_epoch)


def network(config: ModelConfig, data: DataConfig):
    """The uncompiled model of a `ModelConfig` at the data's input size and colour."""
    from agekit.models import (
        basic_cnn,
        build_model,
        levi_hassner_cnn,
        split_branch_cnn,
        two_branch_cnn,
    )

    shape = (data.image_size, data.image_size, 1 if data.color == "grayscale" else 3)
    outputs = dict(config.outputs) or None
    options = dict(config.options)
    if config.backbone == "basic_cnn":
        model = basic_cnn(layers=config.layers, base_filters=config.base_filters, hidden=config.hidden,
                          dropout=config.dropout, input_shape=shape, head=config.head, outputs=outputs,
                          bn_momentum=config.bn_momentum, norm_after_pool=config.norm_after_pool, **options)
    elif config.backbone == "levi_hassner_cnn":
        model = levi_hassner_cnn(input_shape=shape, head=config.head, outputs=outputs, **options)
    elif config.backbone == "two_branch_cnn":
        model = two_branch_cnn(input_shape=shape, head=config.head, **{"dropout": config.dropout, **options})
    elif config.backbone == "split_branch_cnn":
        model = split_branch_cnn(input_shape=shape, head=config.head, **options)
    else:
        model = build_model(config.backbone, config.head, weights=config.weights, input_shape=shape,
                            color=data.color, top=config.top, dropout=config.dropout,
                            fc_units=config.fc_units, outputs=outputs, compile=False, **options)
    return model


def compile_for(model, train: TrainConfig, steps_per_epoch=None):
    """Compile `model` with a `TrainConfig`'s optimizer, learning rate, losses and weights."""
    from agekit.models import compile_model

    rate = learning_rate(train, steps_per_epoch)
    if isinstance(rate, float):
        return compile_model(model, learning_rate=rate, **compile_options(train))
    # a cosine schedule over the whole run
    return compile_model(model, learning_rate=train.learning_rate,
                         **{**compile_options(train), "schedule": rate})


def compile_options(config: TrainConfig) -> dict:
    """`compile_model` keyword arguments of a `TrainConfig` (all but the learning rate).

    Example:
        >>> compile_options(TrainConfig(optimizer="nadam", weight_decay=0.1, weight_decay_mode="l2"))["optimizer"]
        'nadam'
    """
    return {"optimizer": config.optimizer,
            "schedule": config.lr_schedule if isinstance(config.lr_schedule, dict) else None,
            "weight_decay": config.weight_decay, "weight_decay_mode": config.weight_decay_mode,
            "optimizer_options": dict(config.optimizer_options) or None,
            "loss_weights": dict(config.loss_weights) or None, "losses": dict(config.losses) or None,
            "label_smoothing": config.label_smoothing}


def learning_rate(config: TrainConfig, steps_per_epoch=None):
    """The optimizer's learning rate: a number, or a cosine schedule over the run."""
    if config.lr_schedule != "cosine":
        return float(config.learning_rate)
    import keras

    if not steps_per_epoch:
        fail("the number of steps per epoch for lr_schedule='cosine'", "steps_per_epoch", steps_per_epoch)
    total, warmup = config.epochs * steps_per_epoch, config.warmup_epochs * steps_per_epoch
    if not warmup:
        return keras.optimizers.schedules.CosineDecay(config.learning_rate, total)
    return keras.optimizers.schedules.CosineDecay(0.0, total - warmup, warmup_target=config.learning_rate,
                                                  warmup_steps=warmup)


def augment_of(config: DataConfig):
    """The `Augment` of a `DataConfig` (None without augmentation)."""
    from agekit.data import Augment

    if isinstance(config.augment, dict):
        return Augment(**config.augment)
    return Augment(rotation=10, shift=0.1, zoom=0.1, flip=True) if config.augment else None


def in_float32(model, make):
    """A float32 copy of a model trained in mixed precision (same weights; `fit` has
    set the global dtype policy back to float32)."""
    copy = make()
    copy.set_weights(model.get_weights())
    copy.optimizer.build(copy.trainable_variables)  # saved with its slots, as a trained model is
    return copy


def _schedule(config: TrainConfig):
    from agekit.training import FineTune, Stage

    if config.schedule is None:
        return None
    if config.schedule == "study_best":
        return FineTune.study_best()
    return FineTune(tuple(Stage(**stage) for stage in config.schedule))


def targets(config: ModelConfig):
    """The `make_dataset` target of a model: its head, or a dict with its extra outputs."""
    if not config.outputs and config.backbone not in TWO_OUTPUT:
        return config.head
    extras = config.outputs or {"gender": 2}
    return {"age": config.head, **{name: name for name in extras}}


def monitor_of(config: ModelConfig) -> str:
    """The validation metric `fit` checkpoints on for this model (its age head's)."""
    from agekit.models import parse_head
    from agekit.training import _MONITOR

    metric = _MONITOR[parse_head(config.head)[0]][0]
    multi = bool(config.outputs) or config.backbone in TWO_OUTPUT
    return f"val_age_{metric}" if multi else f"val_{metric}"


def _callbacks(config: TrainConfig, monitor):
    import keras

    if config.lr_schedule != "plateau":
        return []
    return [keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode=_mode(monitor), factor=0.3,
                                              patience=2)]


def _mode(monitor):
    return "max" if any(k in monitor for k in ("accuracy", "f1", "auc")) else "min"


def _check_run_dir(run_dir: Path, settings: dict):
    saved = run_dir / "experiment.json"
    if saved.is_file() and json.loads(saved.read_text()) != settings:
        # fit resumes whatever a run folder holds: never resume another experiment's run
        raise InvalidValueError(f"Expected a new run folder, or one of this same experiment to resume. "
                         f"Received: run_dir={str(run_dir)!r} (it holds a run of other settings, "
                         f"see its experiment.json)")
    saved.write_text(json.dumps(settings, indent=2))


def run_experiment(experiment: Experiment, *, figures: bool = True, verbose="auto",
                   data_dir=None) -> dict:
    """Run an experiment end to end and write its run directory.

    Args:
        experiment: The settings.
        figures: Also draw the figures (`agekit.plots`) into `run_dir/figures/`.
        verbose: Passed to `model.fit`.
        data_dir: Where the data is made and its faces cropped (default
            `run_dir/data`); runs that share it share that work.

    Returns:
        The held-out scores (`agekit.evaluation.evaluate_model` keys, and those over
        a `bins:<scheme>` head's own bins) plus `n_train`, `n_val`, `n_test`,
        `evaluated_on` (`"test"`, or `"val"` when there is no test split), `data` (the
        row counts of `load_data`), `epochs_run`, `minutes` and `run_dir`; `pretrain`
        (the pre-trained model's scores on its own held-out data) with a `pretrain`
        section; `search` (`best` values, `trials`) with a `search` section; also
        written to `run_dir/metrics.json`. With `split="folds"` and no single `fold`,
        the mean over the folds (`agekit.experiment.protocols.run_folds`).

    Example:
        >>> exp = Experiment().replace(data={"n": 200}, train={"epochs": 2, "run_dir": "runs/demo"})
        >>> run_experiment(exp)["mae"]  # doctest: +SKIP
    """
    from agekit.experiment import protocols

    if experiment.data.split == "folds" and not isinstance(experiment.data.fold, int):
        return protocols.run_folds(experiment, figures=figures, verbose=verbose)
    import keras
    import pandas as pd

    from agekit.evaluation import calibrate_model
    from agekit.experiment.feeds import training_data
    from agekit.models import set_card
    from agekit.training import fit

    started = time.time()
    data, spec, train_config = experiment.data, experiment.model, experiment.train
    run_dir = Path(train_config.run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    _check_run_dir(run_dir, json.loads(json.dumps(experiment.to_dict(), default=str)))
    keras.utils.set_random_seed(data.seed)

    df = load_data(data, data_dir or run_dir / "data")
    train, val, test = split_data(df, data)
    train, calib = carve_calibration(train, data)
    counts = {**df.attrs["counts"], "train": len(train), "val": len(val), "test": len(test),
              "calib": len(calib)}
    (run_dir / "data.json").write_text(json.dumps(counts, indent=2, default=str))
    pd.concat([part.assign(split=name) for name, part in
               (("train", train), ("val", val), ("test", test), ("calib", calib))]).drop(
        columns=["face_box"], errors="ignore").to_csv(run_dir / "split.csv", index=False)

    # Images reach the model as RGB in [0, 255]: it converts and scales them itself.
    common = {"target": targets(spec), "image_size": data.image_size, "batch_size": data.batch_size,
              "clip_ages": data.clip_ages, "sigma": data.sigma}
    train_ds, val_ds = training_data(train, val, experiment, common)
    steps = math.ceil(len(train) / data.batch_size)
    monitor = train_config.monitor or monitor_of(spec)
    class_weight = protocols.class_weights_of(train, spec, train_config)
    extras = {}
    if experiment.search is not None:
        from agekit.experiment.search import run_search, with_values

        best, trials = run_search(experiment, train_ds, val_ds, run_dir=run_dir, steps_per_epoch=steps,
                                  monitor=monitor, class_weight=class_weight, verbose=verbose)
        extras["search"] = {"best": best, "trials": len(trials)}
        experiment = with_values(experiment, best)
        spec, train_config = experiment.model, experiment.train

    def make():
        return build(spec, data, train_config, steps_per_epoch=steps)

    model = make  # fit builds it
    if experiment.pretrain is not None:
        model, extras["pretrain"] = protocols.pretrain(experiment, make, run_dir=run_dir,
                                                       data_dir=data_dir or run_dir / "data",
                                                       main_steps=steps, monitor=monitor, verbose=verbose)
    model, history = fit(model, train_ds, val_ds, run_dir=run_dir, epochs=train_config.epochs,
                         schedule=_schedule(train_config),
                         # the model is compiled with its rate (or schedule); stages bring their own
                         learning_rate=train_config.learning_rate if train_config.schedule else None,
                         patience=train_config.patience, monitor=monitor, class_weight=class_weight,
                         callbacks=_callbacks(train_config, monitor), verbose=verbose,
                         compile_options=compile_options(train_config),
                         mixed_precision=train_config.mixed_precision,
                         final="model.keras")  # saved again below with the card's facts: one model
    if train_config.mixed_precision:  # the saved model computes in float32
        model = in_float32(model, make)
    ages = [float(train["age"].min()), float(train["age"].max())]
    if experiment.photos is not None:  # fine-tune on whole photos, cut as the model cuts photos
        from agekit.experiment.photo_tuning import run_photos

        extras["photos"] = run_photos(model, experiment, train, run_dir=run_dir,
                                      data_dir=data_dir or run_dir / "data", augment=augment_of(data),
                                      verbose=verbose)
        ages = [min(ages[0], extras["photos"]["age_range"][0]), max(ages[1], extras["photos"]["age_range"][1])]
    set_card(model, age_range=tuple(ages), crop=crop_geometry(data), tta=spec.tta,
             data=data_name(data) + (f"+{experiment.photos.format}" if experiment.photos else ""),
             validation={"split_csv": "split.csv", "split": "val", "n": len(val), "seed": data.seed})
    held = ("calib", calib) if len(calib) else ("val", val)  # faces neither trained on nor tested on
    calibrate_model(model, held[1], batch_size=data.batch_size,
                    source={"split_csv": "split.csv", "split": held[0]})
    model.save(run_dir / "model.keras")

    scores, table = protocols.held_out_scores(model, spec, train, val, test, batch_size=data.batch_size,
                                              table=True)
    table.drop(columns=["face_box"], errors="ignore").to_csv(run_dir / "predictions.csv", index=False)
    metrics = {**scores, "data": counts, "epochs_run": len(history),
               "minutes": round((time.time() - started) / 60, 2), "run_dir": str(run_dir), **extras}
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str))
    if figures:
        from agekit.experiment.report import draw_figures

        kind, _, scheme = spec.head.partition(":")  # a bins head: the confusion over its bins
        draw_figures(run_dir, table, {"train": train, "val": val, "test": test},
                     bins=scheme if kind == "bins" else "utk7", scores=scores)
    log.info("run_experiment: %s", {k: v for k, v in metrics.items() if isinstance(v, (int, float, str))})
    return metrics
