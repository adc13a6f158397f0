"""Training data as numpy arrays: decode once, then batches any Keras backend can fit.

`make_dataset` builds a `tf.data` pipeline; under `KERAS_BACKEND=jax` (a GPU machine
with JAX) a `keras.utils.PyDataset` over arrays in memory feeds the accelerator without
TensorFlow in the training loop:

    images, kept = load_arrays(df, image_size=128)        # uint8, decoded in threads
    train = ArrayFeed(images, encode_targets(df[kept], "dex"), augment=Augment(), seed=0)
    model.fit(train, epochs=10)

The augmentation is `Augment`'s own numpy/OpenCV warp (geometric settings only),
mixup and per-age loss weights are the numpy twins of `agekit.data.mixup` and
`agekit.data.weight_by_age`.
"""

import math
import os
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np

from agekit._validation import fail
from agekit.data.augment import Augment
from agekit.data.decode import read_and_decode, resize_image


def load_arrays(df, *, image_size, color="rgb", resize="stretch", workers=None):
    """Decode and resize every image of a DataFrame into one uint8 array.

    Args:
        df: DataFrame with a `path` column.
        image_size: Side (or `(height, width)`) of the images.
        color: `"rgb"` or `"grayscale"` (what `read_and_decode` reads).
        resize: `"stretch"` or `"pad"`.
        workers: Decoding threads (OpenCV releases the GIL); None: one per core.

    Returns:
        `(images, kept)`: uint8 `(n_kept, height, width, channels)` and a boolean mask
        of the rows that decoded (an unreadable file is left out, never replaced).

    Example:
        >>> import tempfile
        >>> from agekit.datasets import load_utkface, make_synthetic
        >>> df = load_utkface(make_synthetic(tempfile.mkdtemp(), 4, format="utkface"))
        >>> images, kept = load_arrays(df, image_size=16)
        >>> images.shape, int(kept.sum())
        ((4, 16, 16, 3), 4)
    """
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)

    def one(path):
        image, _ = read_and_decode(path, color=color)
        return None if image is None else resize_image(image, image_size=size, resize=resize)

    with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
        images = list(pool.map(one, df["path"].astype(str)))
    kept = np.array([image is not None for image in images], bool)
    if not kept.any():
        fail("at least one readable image", "path", df["path"].head(3).tolist())
    return np.stack([image for image in images if image is not None]), kept


class ArrayFeed(keras.utils.PyDataset):
    """Shuffled, augmented batches of images in memory and their encoded targets.

    Args:
        images: uint8 `(n, height, width, channels)`.
        targets: An `agekit.data.Targets` of the same rows (`encode_targets`).
        batch_size: Images per batch.
        augment: None or an `Augment` (its geometric part: rotation, shift, zoom,
            shear, flip).
        shuffle: Reshuffle the rows every epoch.
        seed: Seed of the order and the augmentation.
        mixup: 0, or mixup's Beta(alpha, alpha) on the `output` distribution target.
        age_weights: None, or per-class loss weights of the `output` DEX target
            (`agekit.data.age_weights`).
        output: The age output's name when the targets are a dict.
        workers: Threads that make batches (`keras.utils.PyDataset`).

    Yields `(images float32, y[, sample_weight])` as `make_dataset` does.
    """

    def __init__(self, images, targets, *, batch_size=64, augment=None, shuffle=True, seed=0, mixup=0.0,
                 age_weights=None, output="age", workers=1):
        super().__init__(workers=workers, use_multiprocessing=False)
        if augment is not None and (not isinstance(augment, Augment) or augment.photometric):
            fail("None or an Augment with geometric settings only", "augment", augment)
        self.images, self.targets, self.batch_size = images, targets, int(batch_size)
        self.augment, self.shuffle, self.seed, self.epoch = augment, shuffle, seed, 0
        self.mixup, self.output = float(mixup), output
        self.age_weights = None if age_weights is None else np.asarray(age_weights, np.float32)
        self.order = self._order()

    def _order(self):
        rows = np.arange(len(self.images))
        if self.shuffle:
            np.random.default_rng([self.seed or 0, self.epoch]).shuffle(rows)
        return rows

    def __len__(self):
        return math.ceil(len(self.images) / self.batch_size)

    def on_epoch_end(self):
        self.epoch += 1
        self.order = self._order()

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed or 0, self.epoch, index])
        images = self.images[rows]
        if self.augment is not None:
            draws = self.augment.draw(rng, len(rows))
            images = self.augment.warp_all(images, draws, image_size=images.shape[1:3], out=np.empty_like(images))
        images = images.astype(np.float32)
        y, weights = _take(self.targets.y, rows), _take(self.targets.sample_weight, rows)
        if self.mixup:
            images, y = self._mix(images, y, rng)
        if self.age_weights is not None:
            age = y[self.output] if isinstance(y, dict) else y
            w = age.astype(np.float32) @ self.age_weights
            if isinstance(y, dict):
                weights = dict(weights) if weights is not None else {k: np.ones(len(rows), np.float32) for k in y}
                weights[self.output] = weights[self.output] * w
            else:
                weights = w if weights is None else weights * w
        return (images, y) if weights is None else (images, y, weights)

    def _mix(self, images, y, rng):
        """Mixup as `agekit.data.mixup`: lambda folded into [0.5, 1], partner in the batch."""
        lam = rng.beta(self.mixup, self.mixup, len(images)).astype(np.float32)
        lam = np.maximum(lam, 1 - lam)
        partner = rng.permutation(len(images))
        images = images * lam[:, None, None, None] + images[partner] * (1 - lam[:, None, None, None])
        age = y[self.output] if isinstance(y, dict) else y
        mixed = age * lam[:, None] + age[partner] * (1 - lam[:, None])
        return images, ({**y, self.output: mixed} if isinstance(y, dict) else mixed)


def _take(value, rows):
    if value is None:
        return None
    if isinstance(value, dict):
        return {name: np.asarray(v)[rows] for name, v in value.items()}
    return np.asarray(value)[rows]
