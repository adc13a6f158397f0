"""tf.data input pipelines: decoding, targets for every head, augmentation, balancing.

Importing this subpackage imports TensorFlow and Keras (`import agekit` does not).

    from agekit.data import Augment, make_dataset
    train = make_dataset(train_df, target="dex", augment=Augment(), seed=0)
    model.fit(train, epochs=10)
    train.skipped.count   # unreadable images skipped and recorded
    skipped_images(train.map(...).take(...))   # the same record, through transformations
"""

from agekit.data.augment import FILL_MODES, Augment, AugmentLayer
from agekit.data.balance import (
    age_weights,
    balanced_groups,
    class_weights,
    weight_by_age,
)
from agekit.data.decode import (
    COLORS,
    RESIZE_MODES,
    check_image_bytes,
    decode_bytes,
    read_and_decode,
    resize_image,
)
from agekit.data.mixup import mixup
from agekit.data.pipeline import AUTOTUNE, make_dataset, make_datasets
from agekit.data.preprocess import PREPROCESSING, preprocess_images
from agekit.data.skipped import SkippedImages, skipped_images
from agekit.data.targets import TARGETS, Targets, encode_target, encode_targets

__all__ = [
    "AUTOTUNE",
    "COLORS",
    "FILL_MODES",
    "PREPROCESSING",
    "RESIZE_MODES",
    "TARGETS",
    "Augment",
    "AugmentLayer",
    "SkippedImages",
    "Targets",
    "age_weights",
    "balanced_groups",
    "check_image_bytes",
    "class_weights",
    "decode_bytes",
    "encode_target",
    "encode_targets",
    "make_dataset",
    "make_datasets",
    "mixup",
    "preprocess_images",
    "read_and_decode",
    "resize_image",
    "skipped_images",
    "weight_by_age",
]
