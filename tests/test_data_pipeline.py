"""make_dataset: shapes, dtypes and values end to end, skipping, seeds, cache, balance."""

import logging
import os
from pathlib import Path

import cv2
import keras
import numpy as np
import pandas as pd
import pytest

from agekit.data import Augment, SkippedImages, make_dataset

SIZE = 16
SHARED = Path(os.environ.get("AGEKIT_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)
    keras.utils.set_random_seed(0)


def write_images(folder, n, *, size=24, ext=".jpg"):
    """`n` small images whose mean brightness encodes their index (10 * i + 20)."""
    paths = []
    for i in range(n):
        image = np.full((size, size + 4, 3), 10 * i + 20, np.uint8)
        image[: size // 2, :, 0] = 255 - 10 * i  # some colour structure
        path = folder / f"img_{i:03d}{ext}"
        cv2.imwrite(str(path), image)
        paths.append(str(path))
    return paths


@pytest.fixture
def faces(tmp_path):
    paths = write_images(tmp_path, 10)
    return pd.DataFrame(
        {
            "path": paths,
            "age": np.linspace(1.0, 90.0, 10),
            "gender": pd.array([0, 1, None, 1, 0, 0, 1, None, 0, 1], dtype="Int64"),
            "ethnicity": pd.array([0, 1, 2, 3, 4, 0, 1, 2, 3, None], dtype="Int64"),
        }
    )


def collect(ds):
    """All batches of one epoch, concatenated per position in the element tuple."""
    parts = None
    for element in ds:
        element = element if isinstance(element, tuple) else (element,)
        if parts is None:
            parts = [[] for _ in element]
        for store, value in zip(parts, element):
            store.append(value)
    return [
        {k: np.concatenate([np.asarray(v[k]) for v in store]) for k in store[0]}
        if isinstance(store[0], dict)
        else np.concatenate([np.asarray(v) for v in store])
        for store in parts
    ]


@pytest.mark.parametrize(
    ("target", "shape", "dtype"),
    [
        ("dex", (10, 101), np.float32),
        ("regression", (10,), np.float32),
        ("coral", (10, 100), np.float32),
        ("bins:utk7", (10,), np.int32),
    ],
)
def test_every_target_has_its_shape_dtype_and_values(faces, target, shape, dtype):
    ds = make_dataset(faces, target=target, image_size=SIZE, batch_size=4, shuffle=False)
    images, y = collect(ds)
    assert images.shape == (10, SIZE, SIZE, 3) and images.dtype == np.float32
    assert y.shape == shape and y.dtype == dtype
    ages = faces["age"].to_numpy()
    if target == "dex":
        assert y.argmax(axis=1).tolist() == np.floor(ages).astype(int).tolist()  # completed years
    elif target == "regression":
        np.testing.assert_allclose(y, ages, rtol=1e-6)
    elif target == "coral":
        assert y.sum(axis=1).tolist() == np.floor(ages).tolist()
    else:
        # ages 1, 10.9, 20.8, 30.7, 40.6, 50.4, 60.3, 70.2, 80.1, 90 in 0-2, 3-6, 7-14, 15-30, ...
        assert y.tolist() == [0, 2, 3, 3, 4, 5, 5, 6, 6, 6]


def test_images_keep_their_order_and_values_without_shuffle(faces):
    ds = make_dataset(faces, target="regression", image_size=SIZE, preprocess="none", shuffle=False)
    images, _ = collect(ds)
    # bottom half of each image is uniform grey 10 * i + 20
    assert images[:, -2, SIZE // 2, 1].tolist() == [10.0 * i + 20 for i in range(10)]


@pytest.mark.parametrize(
    ("mode", "low", "high"),
    [("vgg16", -123.68, 151.061), ("tf", -1.0, 1.0), ("torch", -2.12, 2.64), ("0-1", 0.0, 1.0), ("none", 0.0, 255.0)],
)
def test_every_preprocessing_mode_gives_float32_in_its_range(faces, mode, low, high):
    images = collect(make_dataset(faces, target=None, image_size=SIZE, preprocess=mode, shuffle=False))[0]
    assert images.dtype == np.float32 and images.shape == (10, SIZE, SIZE, 3)
    assert images.min() >= low - 1e-3 and images.max() <= high + 1e-3


def test_vgg16_mode_is_bgr_minus_the_mean(faces):
    raw = collect(make_dataset(faces, target=None, image_size=SIZE, preprocess="none", shuffle=False))[0]
    vgg = collect(make_dataset(faces, target=None, image_size=SIZE, preprocess="vgg16", shuffle=False))[0]
    np.testing.assert_allclose(vgg, raw[..., ::-1] - [103.939, 116.779, 123.68], atol=1e-4)


def test_grayscale_and_pad_options(faces):
    grey = collect(make_dataset(faces, target=None, image_size=SIZE, color="grayscale", shuffle=False))[0]
    assert grey.shape == (10, SIZE, SIZE, 1)
    padded = collect(
        make_dataset(faces, target=None, image_size=(SIZE, SIZE), resize="pad", preprocess="none", shuffle=False)
    )[0]
    # 24 x 28 images padded into 16 x 16: 14 rows of image, a black row above and below
    assert np.all(padded[:, 0] == 0) and np.all(padded[:, -1] == 0) and padded[:, 8].min() > 0


def test_dict_targets_mask_missing_labels_with_sample_weights(faces):
    target = {"age": "dex", "gender": "gender", "ethnicity": "ethnicity"}
    _, y, w = collect(make_dataset(faces, target=target, image_size=SIZE, shuffle=False))
    assert y["age"].shape == (10, 101) and y["gender"].dtype == np.int32
    assert w["gender"].tolist() == [1, 1, 0, 1, 1, 1, 1, 0, 1, 1]
    assert w["ethnicity"].tolist() == [1] * 9 + [0]
    assert w["age"].tolist() == [1] * 10


@pytest.mark.backend_agnostic
@pytest.mark.filterwarnings("ignore:Your input ran out of data")
def test_a_multi_output_model_trains_on_masked_targets(faces):
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.GlobalAveragePooling2D()(inputs)
    outputs = {
        "age": keras.layers.Dense(1, name="age")(x),
        "gender": keras.layers.Dense(2, activation="softmax", name="gender")(x),
    }
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss={"age": "mae", "gender": "sparse_categorical_crossentropy"})
    ds = make_dataset(faces, target={"age": "regression", "gender": "gender"}, image_size=SIZE, batch_size=5, seed=0)
    history = model.fit(ds, epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])


def test_unreadable_images_are_skipped_counted_and_the_epoch_completes(faces, tmp_path, caplog):
    data = cv2.imencode(".jpg", np.random.randint(0, 255, (40, 40, 3), np.uint8))[1].tobytes()
    (tmp_path / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "notes.jpg").write_text("not an image")
    bad = [str(tmp_path / n) for n in ("truncated.jpg", "empty.jpg", "notes.jpg", "gone.jpg")]
    df = pd.concat([faces, pd.DataFrame({"path": bad, "age": [30.0] * 4})], ignore_index=True)
    df = df.sample(frac=1.0, random_state=0)  # bad files in the middle of batches
    with caplog.at_level(logging.WARNING, logger="agekit.data"):
        ds = make_dataset(df, target="regression", image_size=SIZE, batch_size=4, seed=0)
        for _ in range(2):  # two epochs: each completes with the 10 good images
            images, ages = collect(ds)
            assert len(images) == 10 and sorted(ages.tolist()) == sorted(faces["age"].astype("float32"))
    report = ds.skipped
    assert isinstance(report, SkippedImages) and report.count == 4
    assert report.by_reason() == {
        "truncated file": 1,
        "empty file": 1,
        "not an image file (unknown format)": 1,
        "missing or unreadable file": 1,
    }
    assert sorted(report.paths) == sorted(bad)
    assert sum("truncated.jpg" in r.getMessage() for r in caplog.records) == 1


def test_a_transformed_dataset_still_finds_its_skipped_files(faces, tmp_path):
    """`.map` / `.take` return new datasets without `ds.skipped`; `skipped_images` follows
    the tf.data lineage back to the record, which keeps growing while batches decode."""
    from agekit.data import skipped_images

    data = bytearray(cv2.imencode(".png", np.random.randint(0, 255, (40, 40, 3), np.uint8))[1].tobytes())
    data[100:400] = b"\0" * 300
    (tmp_path / "corrupt.png").write_bytes(bytes(data))  # fails only when decoded
    corrupt, gone = str(tmp_path / "corrupt.png"), str(tmp_path / "gone.jpg")  # left out up front
    df = pd.concat([faces, pd.DataFrame({"path": [corrupt, gone], "age": [50.0, 60.0]})],
                   ignore_index=True)
    ds = make_dataset(df, target="regression", image_size=SIZE, batch_size=4, seed=0)
    transformed = ds.map(lambda images, ages: (images / 255.0, ages)).take(2)
    assert not hasattr(transformed, "skipped")
    found = skipped_images(transformed)
    assert found is ds.skipped and found.paths == [gone]
    assert len(collect(transformed)[0]) == 8  # two batches decoded: the corrupt file met
    assert found.reasons() == {gone: "missing or unreadable file", corrupt: "decoder error"}
    assert {gone, corrupt} <= set(skipped_images().paths)  # the process-wide record


def test_shared_and_process_wide_records_of_skipped_files(faces, tmp_path):
    import tensorflow as tf

    from agekit.data import skipped_images

    skipped_images().clear()
    missing = [str(tmp_path / f"{name}.jpg") for name in ("a", "b", "c")]

    def with_missing(path):
        return pd.concat([faces, pd.DataFrame({"path": [path], "age": [30.0]})], ignore_index=True)

    shared = SkippedImages()
    first = make_dataset(with_missing(missing[0]), target="regression", image_size=SIZE, skipped=shared)
    second = make_dataset(with_missing(missing[1]), target="regression", image_size=SIZE, skipped=shared)
    assert first.skipped is shared and second.skipped is shared and shared.paths == missing[:2]
    third = make_dataset(with_missing(missing[2]), target="regression", image_size=SIZE)
    assert skipped_images(tf.data.Dataset.zip(first, third).take(1)).paths == missing  # union
    assert skipped_images().paths == missing
    with pytest.raises(ValueError, match="Expected a dataset returned by agekit.data.make_dataset"):
        skipped_images(tf.data.Dataset.range(3).map(lambda x: x + 1))
    with pytest.raises(TypeError, match="Expected a tf.data.Dataset .* Received: dataset=DataFrame"):
        skipped_images(faces)
    with pytest.raises(TypeError, match="Expected None or an agekit.data.SkippedImages"):
        make_dataset(faces, target="regression", skipped=[])
    skipped_images().clear()
    assert skipped_images().count == 0 and shared.count == 2

def test_the_same_seed_gives_the_same_batches(faces):
    def batches(seed):
        ds = make_dataset(faces, target="regression", image_size=SIZE, batch_size=4, augment=Augment(), seed=seed)
        return collect(ds)

    first, again, other = batches(7), batches(7), batches(8)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


def test_epochs_are_reshuffled_and_reaugmented_but_keep_every_row(faces):
    ds = make_dataset(faces, target="regression", image_size=SIZE, augment=Augment(), seed=1)
    (img1, ages1), (img2, ages2) = collect(ds), collect(ds)
    assert sorted(ages1.tolist()) == sorted(ages2.tolist())
    assert ages1.tolist() != ages2.tolist() or not np.array_equal(img1, img2)


@pytest.mark.parametrize("cache", ["memory", "file"])
def test_cache_gives_the_same_images_every_epoch(faces, tmp_path, cache):
    where = "memory" if cache == "memory" else str(tmp_path / "cache" / "train")
    ds = make_dataset(faces, target="regression", image_size=SIZE, preprocess="none", cache=where, seed=0)
    (img1, ages1), (img2, ages2) = collect(ds), collect(ds)
    order1, order2 = np.argsort(ages1), np.argsort(ages2)
    assert np.array_equal(img1[order1], img2[order2])
    if cache == "file":
        assert any(p.name.startswith("train") for p in (tmp_path / "cache").iterdir())


def test_cache_then_augment_warps_after_the_cache(faces):
    ds = make_dataset(faces, target="regression", image_size=SIZE, cache="memory", augment=Augment(), seed=0)
    images, ages = collect(ds)
    assert images.shape == (10, SIZE, SIZE, 3) and len(set(ages.tolist())) == 10


def test_photometric_only_augmentation_runs_in_the_pipeline(faces):
    aug = Augment(rotation=0, shift=0, zoom=0, flip=False, brightness=0.2)
    plain = collect(make_dataset(faces, target=None, image_size=SIZE, preprocess="none", shuffle=False))[0]
    ds = make_dataset(faces, target=None, image_size=SIZE, preprocess="none", shuffle=False, augment=aug, seed=0)
    bright = collect(ds)[0]
    delta = (bright - plain).reshape(10, -1)
    unclipped = (plain.reshape(10, -1) > 60) & (plain.reshape(10, -1) < 190)
    per_image = [np.unique(np.round(d[m], 3)) for d, m in zip(delta, unclipped)]
    shifts = [v for v in per_image if len(v)]  # images with pixels away from 0 and 255
    assert len(shifts) >= 8 and all(len(v) == 1 and abs(v[0]) <= 51.0 for v in shifts)
    assert len({float(v[0]) for v in shifts}) == len(shifts)  # one shift per image


def test_balance_draws_classes_equally_often(tmp_path):
    path = write_images(tmp_path, 1)[0]
    gender = pd.array([0] * 90 + [1] * 10, dtype="Int64")
    df = pd.DataFrame({"path": [path] * 100, "age": np.arange(100.0), "gender": gender})
    ds = make_dataset(df, target="gender", image_size=8, batch_size=100, balance="gender", seed=0)
    _, y = collect(ds)
    assert len(y) == 100 and 35 <= y.sum() <= 65
    ds = make_dataset(df, target="bins:utk4", image_size=8, batch_size=100, balance="bins:utk4", seed=0)
    _, groups = collect(ds)
    assert set(groups.tolist()) == {0, 1, 2, 3} and np.bincount(groups).min() >= 12


def test_invalid_arguments_are_rejected(faces):
    with pytest.raises(ValueError, match="Expected a `path` column"):
        make_dataset(faces.drop(columns="path"))
    with pytest.raises(ValueError, match="Expected cache=None with balance"):
        make_dataset(faces, balance="gender", cache="memory")
    with pytest.raises(TypeError, match="Expected None or an agekit.data.Augment"):
        make_dataset(faces, augment="flip")
    with pytest.raises(ValueError, match="Expected resize to be one of"):
        make_dataset(faces, resize="crop")
    with pytest.raises(ValueError, match="Expected a column to balance by"):
        make_dataset(faces, balance="smile")


@pytest.mark.real_data
def test_real_utkface_chips_decode_augment_and_label():
    sample = SHARED / "utkface-sample-400.txt"
    if not sample.is_file():
        pytest.skip(f"real data not found at {SHARED}")
    names = sample.read_text().split()[:32]
    df = pd.DataFrame(
        {"path": [str(SHARED / "utkface" / n) for n in names], "age": [float(n.split("_")[0]) for n in names]}
    )
    ds = make_dataset(df, target="dex", clip_ages=True, image_size=64, augment=Augment(), batch_size=16, seed=0)
    images, y = collect(ds)
    assert ds.skipped.count == 0 and images.shape == (32, 64, 64, 3)
    assert sorted(y.argmax(axis=1).tolist()) == sorted(np.minimum(np.rint(df["age"]), 100).astype(int).tolist())
    assert images.std() > 20  # real faces, not blank frames


def test_pipeline_augmentation_keeps_a_marker_within_bounds(tmp_path):
    image = np.zeros((64, 64, 3), np.uint8)
    image[19:22, 43:46] = 255  # 3x3 dot centred on (row 20, column 44)
    cv2.imwrite(str(tmp_path / "dot.png"), image)
    df = pd.DataFrame({"path": [str(tmp_path / "dot.png")] * 24, "age": 30.0})
    aug = Augment(rotation=10, shift=0.1, zoom=0.1, flip=False, fill_mode="constant")
    ds = make_dataset(df, target=None, image_size=64, preprocess="none", augment=aug, shuffle=False, seed=0)
    out = collect(ds)[0].sum(axis=-1)
    rows, cols = np.indices(out.shape[1:])
    centres = np.stack(
        [(out * rows).sum(axis=(1, 2)) / out.sum(axis=(1, 2)), (out * cols).sum(axis=(1, 2)) / out.sum(axis=(1, 2))],
        axis=1,
    )
    moves = np.hypot(*(centres - [20.0, 44.0]).T)
    radius = np.hypot(20 - 31.5, 44 - 31.5)
    bound = radius * np.sqrt(1.1**2 + 1 - 2.2 * np.cos(np.radians(10))) + np.hypot(6.4, 6.4) + 0.6
    assert moves.max() <= bound and moves.max() > 0.4 * bound and len(np.unique(moves.round(2))) > 20


def test_cached_and_shuffled_batches_mix_a_sorted_dataframe(tmp_path):
    """A DataFrame sorted by age must not give batches of neighbouring ages after a cache.

    (With only a small shuffle buffer after the cache, the first batch used to hold the
    youngest rows: batch-norm statistics then leak the label during training.)
    """
    paths = write_images(tmp_path, 24, size=8)
    df = pd.DataFrame({"path": paths, "age": np.arange(24, dtype=float)})
    ds = make_dataset(df, target="regression", image_size=8, batch_size=6, cache="memory",
                      shuffle_buffer=2, seed=3, preprocess="none")
    first_ages = np.asarray(next(iter(ds))[1]).ravel()
    assert first_ages.max() - first_ages.min() > 12, first_ages
    _, ages = collect(ds)
    assert sorted(ages.ravel().tolist()) == list(range(24))


def test_make_datasets_shuffles_and_augments_only_the_training_split(faces):
    from agekit.data import make_datasets

    train, val = faces.iloc[:6], faces.iloc[6:]
    train_ds, val_ds = make_datasets(train, val, target="regression", image_size=SIZE,
                                     preprocess="none", augment=Augment(), seed=3, cache="memory")
    (_, train_ages), (val_images, val_ages) = collect(train_ds), collect(val_ds)
    np.testing.assert_allclose(np.sort(train_ages), train["age"], rtol=1e-6)
    assert not np.allclose(train_ages, train["age"])  # shuffled (seed 3)
    np.testing.assert_allclose(val_ages, val["age"], rtol=1e-6)  # in row order
    plain = collect(make_dataset(val, target="regression", image_size=SIZE, preprocess="none",
                                 shuffle=False))[0]
    np.testing.assert_array_equal(val_images, plain)  # never augmented
    balanced, = make_datasets(train, target="regression", image_size=SIZE, balance="gender",
                              cache="memory", seed=0)  # the cache is dropped for the training split
    assert len(collect(balanced)[1]) == 5  # an epoch of the 5 rows whose gender is known


def test_a_file_that_fails_to_decode_keeps_the_epoch_length_and_is_dropped_by_evaluation(faces, tmp_path):
    """A PNG with a sound head and tail but a corrupted middle passes the cheap check, fails
    to decode, is recorded, and its place is taken by another image, so the number of
    batches is known in advance (no "ran out of data") and prediction drops the row."""
    import warnings

    from agekit.evaluation import predict_dataset
    from agekit.models import basic_cnn

    data = bytearray(cv2.imencode(".png", np.random.randint(0, 255, (40, 40, 3), np.uint8))[1].tobytes())
    data[100:400] = b"\0" * 300
    (tmp_path / "corrupt.png").write_bytes(bytes(data))
    df = pd.concat([faces, pd.DataFrame({"path": [str(tmp_path / "corrupt.png")], "age": [50.0]})],
                   ignore_index=True)
    ds = make_dataset(df, target="regression", image_size=SIZE, batch_size=4, seed=0)
    assert int(ds.cardinality()) == 3  # 11 rows in batches of 4
    images, ages = collect(ds)
    assert len(images) == 11 and 50.0 not in ages.tolist()  # the stand-in brings its own label
    assert ds.skipped.by_reason() == {"decoder error": 1}
    model = basic_cnn(layers=1, base_filters=2, hidden=4, input_shape=(SIZE, SIZE, 3), head="regression")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Your input ran out of data" would fail here
        table = predict_dataset(model, df)
    assert len(table) == 10 and str(tmp_path / "corrupt.png") not in table["path"].tolist()
    assert list(table.attrs["skipped"].values()) == ["decoder error"]
