"""`make_dataset`: a DataFrame of image paths and labels -> a batched `tf.data.Dataset`.

The stages:

    row indices -> [shuffle | balanced resampling] -> chunks of 32 rows, in parallel
    (AUTOTUNE): read, check, decode, then the augmentation's warp with the resize
    folded in, or a resize (uint8); unreadable files are left out and recorded ->
    [cache single images -> shuffle -> chunks: the augmentation's warp] -> rebatch to
    `batch_size` -> per batch: photometric augmentation, preprocessing (float32),
    targets -> prefetch

Decoding and warping are numpy/OpenCV calls made by `tf.numpy_function` on chunks of
rows (see `agekit.data.decode` for why and for the measurements): OpenCV releases the
GIL, so tf.data runs the chunks on every core. Targets are encoded once with numpy
before the pipeline is built; the graph only gathers rows of them. With a `seed`, the
order, the resampling and the augmentation are reproducible: two datasets built with
the same arguments yield the same batches.
"""

import os
from collections.abc import Callable

import numpy as np
import pandas as pd
import tensorflow as tf

from agekit._validation import fail
from agekit.data.augment import _NUM_RANDOM, Augment
from agekit.data.balance import balanced_groups
from agekit.data.decode import (
    OK,
    check_file,
    check_options,
    image_size_pair,
    read_and_decode,
    resize_image,
)
from agekit.data.preprocess import check_preprocess, preprocess_images, preprocess_uint8
from agekit.data.skipped import SkippedImages, recorder
from agekit.data.targets import encode_targets

AUTOTUNE = tf.data.AUTOTUNE
CHUNK = 32  # rows per numpy call: amortises the Python call, keeps both cores busy


def make_dataset(
    df: pd.DataFrame,
    *,
    target: str | dict | None = "dex",
    image_size: int | tuple = 224,
    preprocess: str | Callable = "none",
    color: str = "rgb",
    resize: str = "stretch",
    card=None,
    augment: Augment | None = None,
    batch_size: int = 64,
    shuffle: bool = True,
    cache: str | os.PathLike | None = None,
    balance: str | None = None,
    seed: int | None = None,
    num_classes: int = 101,
    sigma: str | float | None = "auto",
    clip_ages: bool = False,
    drop_remainder: bool = False,
    shuffle_buffer: int = 2048,
    skipped: SkippedImages | None = None,
) -> tf.data.Dataset:
    """Build the input pipeline of a model from a dataset DataFrame.

    Args:
        df: DataFrame with an absolute `path` per row and the label columns the
            target needs (`age`, `age_std`, `gender`, `ethnicity`, `age_group`).
        target: `"dex"`, `"regression"`, `"coral"`, `"bins"`, `"bins:<scheme>"`,
            `"gender"`, `"ethnicity"`, a dict `{output_name: target}` for a
            multi-output model, or None for images only (prediction). Rows whose
            `gender` / `ethnicity` is <NA> get sample weight 0 (the dataset then
            yields `(images, y, sample_weight)`).
        image_size: Output size, int or `(height, width)`.
        preprocess: `"none"` (RGB in [0, 255], what agekit models take: they scale
            their input themselves), another mode of `PREPROCESSING` (`"vgg16"`,
            `"tf"`, `"torch"`, `"0-1"`) for a plain Keras model, or a callable on float
            images in [0, 255].
        color: `"rgb"`, `"grayscale"` (one channel) or `"grayscale_rgb"` (agekit
            models take `"rgb"` and convert inside).
        resize: `"stretch"` or `"pad"` (aspect ratio kept, black borders).
        card: A model (or its `agekit.models.ModelCard`) to feed: its card sets
            `image_size`, `resize` and, for a described plain Keras model, `color` and
            `preprocess` (do not pass those then).
        augment: None, or an `Augment` applied to each training batch before the
            preprocessing.
        batch_size: Images per batch.
        shuffle: Shuffle the rows (reshuffled every epoch). With `shuffle=False` the
            images come in the order of the rows (less skipped ones), e.g. for
            prediction.
        cache: None, `"memory"`, or a file path prefix: cache the decoded, resized
            uint8 images so later epochs skip the decoding. Not with `balance`.
        balance: None, or the column to balance by (`"gender"`, `"ethnicity"`,
            `"age_group"`, ...) or `"bins:<scheme>"`: every class is drawn equally
            often (with replacement); an epoch keeps the number of rows. Rows whose
            class is missing are left out (logged).
        seed: Seed of the shuffling, resampling and augmentation (None: random).
        num_classes: Classes of the `dex` / `coral` targets.
        sigma: `"auto"` (per-image `age_std` when present), None or a number: the
            Gaussian label-distribution width of `dex` targets.
        clip_ages: Map ages above `num_classes - 1` to it for `dex` / `coral`.
        drop_remainder: Drop the last, smaller batch.
        shuffle_buffer: Buffer of decoded images shuffled after a `cache`.
        skipped: A `SkippedImages` to record skipped files in (a new one by default;
            pass one to share it between datasets).

    Skipped files: a file that cannot be read is left out (or, if it fails only when
    decoded, replaced by another image of its chunk) and recorded with its reason, and
    a warning is logged the first time. The record is the `skipped` attribute of the
    returned dataset. A dataset made from it (`ds.map(...)`, `.take(...)`) is a new
    object without the attribute: `agekit.data.skipped_images(that_dataset)` finds the
    record through its `tf.data` lineage, and `agekit.data.skipped_images()` holds the
    skipped files of every `make_dataset` of this process.

    Returns:
        A `tf.data.Dataset` of `images` (float32, `(batch, height, width, channels)`),
        `(images, y)` or `(images, y, sample_weight)`; `y` and `sample_weight` are
        dicts for a dict target. Images are RGB in [0, 255] unless `preprocess` or
        `color` say otherwise.

    Example:
        >>> import tempfile
        >>> from agekit.data import Augment, skipped_images
        >>> from agekit.datasets import load_utkface, make_synthetic
        >>> df = load_utkface(make_synthetic(tempfile.mkdtemp(), 8, format="utkface"))
        >>> ds = make_dataset(df, target="dex", image_size=32, batch_size=4, augment=Augment(),
        ...                   seed=0)  # then model.fit(ds, epochs=10)
        >>> images, y = next(iter(ds))
        >>> tuple(images.shape), tuple(y.shape)  # RGB in [0, 255]; DEX targets, ages 0-100
        ((4, 32, 32, 3), (4, 101))
        >>> ds.skipped.count  # unreadable images skipped so far
        0
        >>> skipped_images(ds.map(lambda x, y: x).take(1)) is ds.skipped
        True
    """
    if card is not None:
        image_size, resize, color, preprocess = _from_card(card, image_size, resize, color, preprocess)
    if not isinstance(df, pd.DataFrame):
        fail("a pandas DataFrame", "df", type(df).__name__, error=TypeError)
    if "path" not in df.columns:
        fail("a `path` column", "columns", list(df.columns))
    if len(df) == 0:
        fail("a DataFrame with at least one row", "len(df)", 0)
    check_options(image_size=image_size, resize=resize, color=color)
    check_preprocess(preprocess)
    if augment is not None and not isinstance(augment, Augment):
        fail("None or an agekit.data.Augment", "augment", type(augment).__name__, error=TypeError)
    if not (isinstance(batch_size, int) and batch_size > 0):
        fail("a positive int", "batch_size", batch_size)
    if cache is not None and not (cache == "memory" or isinstance(cache, (str, os.PathLike))):
        fail('None, "memory" or a file path', "cache", cache)
    if cache is not None and balance is not None:
        fail("cache=None with balance (resampling repeats rows)", "cache", cache)
    if cache is not None and cache != "memory":
        os.makedirs(os.path.dirname(os.path.abspath(os.fspath(cache))), exist_ok=True)

    skipped = SkippedImages() if skipped is None else skipped
    if not isinstance(skipped, SkippedImages):
        fail("None or an agekit.data.SkippedImages", "skipped", type(skipped).__name__,
             error=TypeError)
    record = recorder(skipped)  # the dataset's record and the process-wide one
    paths = df["path"].astype(str).tolist()
    targets = encode_targets(
        df.reset_index(drop=True), target, num_classes=num_classes, sigma=sigma,
        clip_ages=clip_ages,
    )  # fmt: skip
    size = image_size_pair(image_size)
    reasons = [check_file(p) for p in paths]  # missing, empty, unknown or truncated: left out now
    usable = np.array([reason == OK for reason in reasons], dtype=bool)
    for i in np.flatnonzero(~usable):
        record(paths[i], reasons[i])
    if not usable.any():
        fail("at least one readable image file", "path", paths[:3])

    if balance is None:
        rows = np.flatnonzero(usable)
        if shuffle and cache is not None:
            # The cache is filled once, in this order, and later epochs only shuffle it
            # through a buffer: without a full permutation first, a DataFrame sorted by
            # age (UTKFace file names start with the age) would give batches of
            # near-identical ages, whose batch-norm statistics leak the label.
            rows = np.random.default_rng(seed).permutation(rows)
        indices = _row_stream(rows, shuffle and cache is None, seed)
    else:
        groups, known = balanced_groups(df, balance)
        indices = _balanced_stream(groups, usable & known, seed)

    aug_seed = seed if augment is None or augment.seed is None else augment.seed
    # Without photometric augmentation (tf ops on float images), the images are made
    # float32 and preprocessed in the same numpy call that decodes or warps them
    # (`preprocess_uint8`, one pass), in chunks of a whole batch: no rebatching copy.
    finish = preprocess if isinstance(preprocess, str) and not (augment is not None and augment.photometric) \
        else None
    chunk = batch_size if finish is not None else CHUNK
    ds = _load_stage(
        indices, paths, record, size=size, resize=resize, color=color,
        augment=augment if cache is None else None, seed=aug_seed,
        finish=finish if cache is None else None, chunk=chunk,
    )  # fmt: skip
    if cache is not None:  # cache single decoded images, augment after the cache
        ds = ds.unbatch().cache("" if cache == "memory" else os.fspath(cache))
        if shuffle:
            buffer = int(min(shuffle_buffer, usable.sum()))
            ds = ds.shuffle(max(buffer, 1), seed=seed, reshuffle_each_iteration=True)
        ds = _augment_stage(ds, augment, size=size, seed=aug_seed, finish=finish, chunk=chunk)
    if finish is None or drop_remainder:  # else the chunks are the batches already
        ds = ds.rebatch(batch_size, drop_remainder=drop_remainder)
    # Every streamed row yields one image (see `_load_stage`), so the number of batches is
    # known: Keras then ends each epoch on time instead of running the data out.
    rows_per_epoch = int(usable.sum())
    batches = rows_per_epoch // batch_size if drop_remainder else -(-rows_per_epoch // batch_size)
    ds = ds.apply(tf.data.experimental.assert_cardinality(batches))
    ds = ds.map(_finisher(targets, augment, preprocess if finish is None else None), num_parallel_calls=AUTOTUNE)
    options = tf.data.Options()
    # Order is only free to vary when it is random anyway (shuffled without a seed).
    options.deterministic = seed is not None or (not shuffle and balance is None)
    ds = ds.with_options(options).prefetch(AUTOTUNE)
    ds.skipped = skipped
    return ds


def _from_card(card, image_size, resize, color, preprocess):
    """The input options a model card sets; an explicit, different value is an error."""
    from agekit.models.card import ModelCard, card_of

    card = card if isinstance(card, ModelCard) else card_of(card)
    wanted = {"image_size": card.input_size, "resize": card.resize,
              "color": card.color if not card.in_model else "rgb",
              "preprocess": card.preprocess if not card.in_model else "none"}
    given = {"image_size": image_size, "resize": resize, "color": color, "preprocess": preprocess}
    defaults = {"image_size": 224, "resize": "stretch", "color": "rgb", "preprocess": "none"}
    for name, value in given.items():
        if value != defaults[name] and value != wanted[name] and not (
            name == "image_size" and image_size_pair(value) == wanted[name]
        ):
            fail(f"{name}={wanted[name]!r} as the model's card says (or leave it out)", name, value)
    return wanted["image_size"], wanted["resize"], wanted["color"], wanted["preprocess"]


def _row_stream(rows, shuffle, seed):
    ds = tf.data.Dataset.from_tensor_slices(rows.astype(np.int64))
    if shuffle and len(rows) > 1:
        ds = ds.shuffle(len(rows), seed=seed, reshuffle_each_iteration=True)
    return ds


def _balanced_stream(groups, usable, seed):
    """Row indices drawn class-uniformly with replacement; as many as usable rows."""
    classes = np.unique(groups[usable])
    streams = []
    for k, c in enumerate(classes):
        rows = np.flatnonzero(usable & (groups == c)).astype(np.int64)
        class_seed = None if seed is None else seed + 1000 * (k + 1)
        stream = tf.data.Dataset.from_tensor_slices(rows)
        stream = stream.shuffle(len(rows), seed=class_seed, reshuffle_each_iteration=True)
        streams.append(stream.repeat())
    weights = [1.0 / len(classes)] * len(classes)
    ds = tf.data.Dataset.sample_from_datasets(
        streams, weights=weights, seed=seed, rerandomize_each_iteration=True
    )
    return ds.take(int(usable.sum()))


def _chunk_seeds(seed):
    """One `(2,)` int64 seed per chunk, reproducible for a given `seed`."""
    return tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)


def _rng(chunk_seed):
    return np.random.default_rng(np.abs(np.asarray(chunk_seed, np.int64)))


def _load_stage(indices, paths, record, *, size, resize, color, augment, seed, finish=None, chunk=CHUNK):
    """Read, check, decode and resize (or warp) chunks of rows in parallel.

    Yields chunks `(uint8 images, rows, draws)`, one image per row; `draws` are each
    image's augmentation random numbers (zeros without `augment`). Files that looked
    complete but fail to decode (rare: `make_dataset` leaves out missing, empty, unknown
    and truncated files before it starts) are recorded (`record`) and their place is
    taken by another row of the chunk, image and label, so every epoch has the same
    number of images (prediction drops them again by path, `agekit.evaluation`).
    With `finish` (a preprocessing mode), the images come as float32, preprocessed.
    """
    height, width = size
    channels = 1 if color == "grayscale" else 3
    warp = augment is not None and augment.geometric

    def load_chunk(rows, chunk_seed):
        images, rows, draws = load_uint8(rows, chunk_seed)
        return (images if finish is None else preprocess_uint8(images, finish)), rows, draws

    def load_uint8(rows, chunk_seed):
        n = len(rows)
        images = np.empty((n, height, width, channels), np.uint8)
        draws = np.zeros((n, _NUM_RANDOM), np.float32)
        if augment is not None:
            draws = augment.draw(_rng(chunk_seed), n)
        decoded = []
        for row in rows:
            image, reason = read_and_decode(paths[row], color=color)
            if image is None:
                record(paths[row], reason)
            elif not warp or resize == "pad":
                image = resize_image(image, image_size=size, resize=resize)
            decoded.append(image)
        kept = np.flatnonzero([image is not None for image in decoded])
        if len(kept) < n:
            if not len(kept):  # the whole chunk failed: black images keep the count
                images[:] = 0
                return images, rows, draws
            rows, draws = rows.copy(), draws.copy()
            for i in np.flatnonzero([image is None for image in decoded]):
                stand_in = kept[i % len(kept)]
                decoded[i], rows[i], draws[i] = decoded[stand_in], rows[stand_in], draws[stand_in]
        if warp:
            return augment.warp_all(decoded, draws, image_size=size, out=images), rows, draws
        return np.stack(decoded), rows, draws

    def call(rows, chunk_seed):
        images, rows, draws = tf.numpy_function(
            load_chunk, [rows, chunk_seed], (tf.uint8 if finish is None else tf.float32, tf.int64, tf.float32),
            stateful=False,
        )  # fmt: skip
        images = tf.ensure_shape(images, (None, height, width, channels))
        return images, tf.ensure_shape(rows, (None,)), tf.ensure_shape(draws, (None, _NUM_RANDOM))

    ds = tf.data.Dataset.zip((indices.batch(chunk), _chunk_seeds(seed)))
    return ds.map(call, num_parallel_calls=AUTOTUNE)


def _augment_stage(ds, augment, *, size, seed, finish=None, chunk=CHUNK):
    """After a cache: chunk single images again, warp them and draw their numbers (and,
    with `finish`, make them float32 and preprocess them in the same numpy call)."""
    height, width = size

    def warp_chunk(images, chunk_seed):
        draws = augment.draw(_rng(chunk_seed), len(images))
        out = augment.warp_all(images, draws, image_size=size, out=np.empty_like(images))
        return (out if finish is None else preprocess_uint8(out, finish)), draws

    def call(element, chunk_seed):
        images, rows, draws = element
        if augment is None or not augment.geometric:
            if augment is not None:
                n = tf.shape(rows)[0]
                draws = tf.random.stateless_uniform((n, _NUM_RANDOM), seed=chunk_seed)
            if finish is not None:
                images = tf.ensure_shape(tf.numpy_function(
                    lambda x: preprocess_uint8(x, finish), [images], tf.float32, stateful=False), images.shape)
            return images, rows, draws
        out, draws = tf.numpy_function(
            warp_chunk, [images, chunk_seed], (tf.uint8 if finish is None else tf.float32, tf.float32),
            stateful=False,
        )  # fmt: skip
        out = tf.ensure_shape(out, (None, height, width, images.shape[-1]))
        return out, rows, tf.ensure_shape(draws, (None, _NUM_RANDOM))

    ds = tf.data.Dataset.zip((ds.batch(chunk), _chunk_seeds(seed)))
    return ds.map(call, num_parallel_calls=AUTOTUNE)


def _finisher(targets, augment, preprocess):
    """Batch map: photometric augmentation, preprocessing, and the rows' targets."""

    def to_tensors(value):
        return None if value is None else tf.nest.map_structure(tf.convert_to_tensor, value)

    y_t, w_t = to_tensors(targets.y), to_tensors(targets.sample_weight)

    def finish(images, rows, draws):
        if preprocess is not None:  # None: made float32 and preprocessed in numpy already
            if augment is not None and augment.photometric:
                images = augment.photometric_tf(tf.cast(images, tf.float32), draws)
            images = preprocess_images(images, preprocess)
        if y_t is None:
            return images
        y = tf.nest.map_structure(lambda t: tf.gather(t, rows), y_t)
        if w_t is None:
            return images, y
        return images, y, tf.nest.map_structure(lambda t: tf.gather(t, rows), w_t)

    return finish


def make_datasets(
    train: pd.DataFrame,
    *others: pd.DataFrame,
    augment: Augment | None = None,
    balance: str | None = None,
    seed: int | None = 0,
    **options,
) -> tuple:
    """`make_dataset` for a training split and its evaluation splits, in one call.

    The training split is shuffled, and augmented and balanced when asked; the other
    splits (validation, test) come in row order, never augmented, so their scores are
    comparable from epoch to epoch. All share the other options.

    Args:
        train: The training DataFrame.
        *others: Validation / test DataFrames.
        augment: An `Augment` for the training split.
        balance: Column to balance the training batches by (see `make_dataset`).
        seed: Seed of the shuffling, balancing and augmentation.
        **options: Everything else `make_dataset` takes (`target`, `image_size`,
            `preprocess`, `batch_size`, `cache`, ...); with `balance`, the training
            split is not cached (resampling repeats rows).

    Returns:
        A tuple of datasets, `(train_ds, *other_ds)`.

    Example:
        >>> import tempfile
        >>> from agekit.data import Augment
        >>> from agekit.datasets import load_utkface, make_synthetic
        >>> df = load_utkface(make_synthetic(tempfile.mkdtemp(), 12, format="utkface"))
        >>> train_ds, val_ds = make_datasets(df[:8], df[8:], target="dex", image_size=32,
        ...                                  batch_size=4, augment=Augment())
        >>> int(train_ds.cardinality()), int(val_ds.cardinality())  # batches per epoch
        (2, 1)
    """
    train_options = {**options, "cache": None} if balance is not None else options
    first = make_dataset(train, augment=augment, balance=balance, seed=seed, shuffle=True, **train_options)
    return (first, *(make_dataset(df, shuffle=False, **options) for df in others))
