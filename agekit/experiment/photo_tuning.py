"""Fine-tuning on whole photos with known ages, cut the way the model cuts photos.

A model trained on a dataset's face chips (UTKFace) meets a different world in photos:
scanned prints, other cameras, many more children. An experiment's optional `[photos]`
section names labelled whole photos (FG-NET); after the main training the run cuts
their faces with the model's own photo crop (`agekit.photos.model_crop`: detection,
68 landmarks, the crop template) and goes on training on them, mixed with as many of
its own training faces (so it does not forget them), at a low learning rate:

    [photos]
    format = "fgnet"
    root = "../shared/data/fgnet"
    epochs = 4
    learning_rate = 1e-4
    mix = 1500

The run's held-out scores, calibration and model then include this stage
(`metrics["photos"]` counts the photos used); `model_before_photos.keras` keeps the
model before it. Photos found to hold no face are counted and left out.

Measuring such a model on the same photos would be dishonest: use grouped folds by
person (`photo_folds`; `benchmarks/bench_photo_folds.py` runs them), so every photo is
predicted by a model that never saw that person.
"""

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

from agekit._validation import fail
from agekit.experiment._checks import _choice, _number, _where, _whole

log = logging.getLogger(__name__)

PHOTO_FORMATS = ("fgnet",)  # labelled whole photos (not face chips)


@dataclass(frozen=True)
class PhotosConfig:
    """Labelled whole photos to fine-tune on after the main training.

    Args:
        format: An `agekit.datasets` format of whole photos (`"fgnet"`).
        root: What its loader takes.
        epochs: Epochs of fine-tuning.
        learning_rate: Its learning rate (the optimizer of the main run, its state kept).
        mix: How many of the run's own training faces join each epoch (0: none).
        exclude: Subjects (the loader's `subject` column) left out: held-out people.
        workers: Processes cutting the faces (`prepare_dataset`).

    Example:
        >>> PhotosConfig(root="fgnet", exclude=(1, 2)).exclude
        (1, 2)
    """

    format: str = "fgnet"
    root: str | None = None
    epochs: int = 4
    learning_rate: float = 1e-4
    mix: int = 1500
    exclude: tuple = ()
    workers: int = 1

    def __post_init__(self):
        s = "photos"
        _choice(s, "format", self.format, PHOTO_FORMATS)
        if not isinstance(self.root, (str, Path)):
            fail("the folder of the photos", _where(s, "root"), self.root, error=TypeError)
        _whole(s, "epochs", self.epochs)
        _number(s, "learning_rate", self.learning_rate, low=0, low_open=True)
        _whole(s, "mix", self.mix, low=0)
        _whole(s, "workers", self.workers)
        if not isinstance(self.exclude, (list, tuple)):
            fail("a list of subjects", _where(s, "exclude"), self.exclude, error=TypeError)
        object.__setattr__(self, "exclude", tuple(self.exclude))


def photo_faces(config: PhotosConfig, crop, work_dir):
    """The photos of `config`, their faces cut by `crop` (a `CropSpec`) into `work_dir`.

    Returns:
        The loader's DataFrame (`path`, `age`, `subject`, ...) with `path` pointing at
        the crops and the photo in `source_path`; photos without a face are dropped,
        counted in `attrs["counts"]`.
    """
    from agekit.datasets import load_dataset
    from agekit.faces import prepare_dataset

    df = load_dataset(config.format, config.root)
    if config.exclude:
        df = df[~df["subject"].isin(config.exclude)]
    manifest = prepare_dataset(df, Path(work_dir) / f"{config.format}-crops", crop=crop,
                               workers=config.workers, log_every=1000)
    status = manifest.set_index("path")
    ok = df["path"].map(status["status"].eq("ok")).fillna(False).astype(bool)
    kept = df[ok].copy()
    kept["source_path"] = kept["path"]
    kept["path"] = kept["path"].map(status["output"])
    kept.attrs = {"counts": {"photos": len(df), **manifest["status"].value_counts().to_dict()}}
    return kept


def finetune(model, faces, mix, experiment, *, config=None, augment=None, verbose=0):
    """Go on training `model` on `faces` (crops with `age`) plus `mix` (its own faces).

    The model is compiled afresh with the experiment's optimizer, losses and weights at
    the `[photos]` learning rate, constant (`config`: that section; default the
    experiment's). Columns `faces` lacks (gender, ethnicity) get weight 0 in their
    outputs. Returns the Keras history.
    """
    import pandas as pd

    from agekit.data import make_dataset
    from agekit.experiment.runner import compile_for, targets

    config = config or experiment.photos
    data = experiment.data
    columns = [c for c in ("path", "age", "gender", "ethnicity") if c in mix.columns or c in faces.columns]
    both = pd.concat([faces.reindex(columns=columns), mix.reindex(columns=columns)], ignore_index=True)
    for column in ("gender", "ethnicity"):
        if column in both.columns:
            both[column] = both[column].astype("Int64")
    dataset = make_dataset(both, target=targets(experiment.model), image_size=data.image_size,
                           batch_size=data.batch_size, shuffle=True, sigma=data.sigma, clip_ages=True,
                           seed=data.seed, augment=augment)
    compile_for(model, dataclasses.replace(experiment.train, lr_schedule=None, warmup_epochs=0,
                                           learning_rate=config.learning_rate))
    return model.fit(dataset, epochs=config.epochs, verbose=verbose)


def run_photos(model, experiment, train, *, run_dir, data_dir, augment=None, verbose=0) -> dict:
    """The `[photos]` stage of `run_experiment`: cut, fine-tune; returns its counts."""
    from agekit.experiment.runner import crop_geometry
    from agekit.photos import spec_from_card

    config, data = experiment.photos, experiment.data
    crop = spec_from_card(crop_geometry(data))
    if crop is None:
        fail("a model whose card names a photo crop (a template or a margin crop)", "[photos]",
             crop_geometry(data))
    model.save(Path(run_dir) / "model_before_photos.keras")
    faces = photo_faces(config, crop, data_dir)
    if faces.empty:
        fail("faces in the [photos] photos", _where("photos", "root"), f"{config.root} ({faces.attrs['counts']})")
    mix = train.sample(n=min(config.mix, len(train)), random_state=data.seed) if config.mix else train.iloc[:0]
    log.info("fine-tuning on %d photo faces (+ %d training faces), %d epochs", len(faces), len(mix),
             config.epochs)
    history = finetune(model, faces, mix, experiment, augment=augment, verbose=verbose)
    return {**faces.attrs["counts"], "faces": len(faces), "mix": len(mix),
            "subjects": int(faces["subject"].nunique()), "excluded": list(config.exclude),
            "age_range": [float(faces["age"].min()), float(faces["age"].max())],
            "loss": [round(float(v), 4) for v in history.history["loss"]],
            "config": dataclasses.asdict(config)}
