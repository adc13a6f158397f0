"""How the runner feeds training: `tf.data` pipelines, or arrays in memory (any backend).

`[data] feed = "tfdata"` (the default) streams the images through `make_datasets`;
`"arrays"` decodes them once (`agekit.data.arrays`) and fits `keras.utils.PyDataset`
batches, which JAX and PyTorch fit as well (the GPU preset). Both apply the same
augmentation, `[train] mixup` and `[data] age_weights`.
"""

import logging
import os

log = logging.getLogger(__name__)


def training_data(train, val, experiment, common: dict) -> tuple:
    """`(train_feed, val_feed)` of an experiment's training and validation rows.

    Args:
        train, val: DataFrames of the split.
        experiment: The `Experiment`.
        common: `make_dataset` options shared by both (`target`, `image_size`,
            `batch_size`, `clip_ages`, `sigma`).
    """
    from agekit.data import make_datasets
    from agekit.experiment.runner import augment_of

    data = experiment.data
    if data.feed == "arrays":
        return _array_feeds(train, val, experiment, common)
    train_ds, val_ds = make_datasets(train, val, augment=augment_of(data), balance=data.balance, seed=data.seed,
                                     cache="memory" if data.cache else None, **common)
    return mix_and_weigh(train_ds, train, experiment), val_ds


def _output(experiment):
    from agekit.experiment.runner import targets

    return "age" if isinstance(targets(experiment.model), dict) else None


def mix_and_weigh(train_ds, train, experiment):
    """A `tf.data` training set with `[train] mixup` and `[data] age_weights` applied."""
    from agekit.data import age_weights, mixup, weight_by_age

    output = _output(experiment) or "age"
    if experiment.train.mixup:
        train_ds = mixup(train_ds, alpha=experiment.train.mixup, output=output, seed=experiment.data.seed)
    if experiment.data.age_weights:  # the DEX head's 101 classes, ages 0..100
        train_ds = weight_by_age(train_ds, age_weights(train["age"], power=experiment.data.age_weights),
                                 output=output)
    return train_ds


def _array_feeds(train, val, experiment, common):
    from agekit.data import age_weights, encode_targets
    from agekit.data.arrays import ArrayFeed, load_arrays
    from agekit.experiment.runner import augment_of

    data = experiment.data
    options = {"num_classes": 101, "sigma": common["sigma"], "clip_ages": common["clip_ages"]}
    feeds = []
    for part, training in ((train, True), (val, False)):
        images, kept = load_arrays(part, image_size=common["image_size"])  # RGB: models convert
        if not kept.all():
            log.warning("feed='arrays': %d unreadable images left out", int((~kept).sum()))
        rows = part[kept].reset_index(drop=True)
        weights = None
        if training and data.age_weights:
            weights = age_weights(rows["age"], power=data.age_weights)
        feeds.append(ArrayFeed(images, encode_targets(rows, common["target"], **options),
                               batch_size=common["batch_size"], augment=augment_of(data) if training else None,
                               shuffle=training, seed=data.seed, mixup=experiment.train.mixup if training else 0.0,
                               age_weights=weights, output=_output(experiment) or "age",
                               workers=os.cpu_count() or 1))
    return tuple(feeds)
