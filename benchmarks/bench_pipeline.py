"""Throughput of `agekit.data.make_dataset` against a naive loader, in one run.

Both loaders do the same work on the same real UTKFace images (200x200 JPEG):
decode, resize to 224x224, augment (rotation +-10 degrees, 10% shift, 0.9-1.1 zoom,
horizontal flip), and stack float32 batches of 64.

- naive: a single-threaded Python loop, one image at a time: OpenCV decode, resize,
  one `cv2.warpAffine` with the random rotation/zoom/shift, `cv2.flip`, float32,
  then `np.stack` per batch (a fast version of what `ImageDataGenerator` did);
- make_dataset: `agekit.data.make_dataset(df, augment=Augment(), preprocess="none")`;
- decode-only ceiling: tf.data reading and decoding the JPEGs in parallel and
  batching them, nothing else: no loader that decodes can be faster.

A second pair adds the VGG16 preprocessing (BGR, mean subtraction) to both loaders.
Throughput is wall-clock images/s, best of `--repeats` interleaved runs; the CPU
time per image (all threads) is printed too, because other processes on a shared
machine slow a parallel pipeline's wall clock more than a single-threaded loop's.

Run:  python benchmarks/bench_pipeline.py [--images 2000] [--repeats 3]
Needs ../shared/data/utkface (or $AGEKIT_SHARED_DATA/utkface).
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing agekit

import cv2
import numpy as np
import pandas as pd
import tensorflow as tf

from agekit.data import Augment, make_dataset

DATA = Path(os.environ.get("AGEKIT_SHARED_DATA", ROOT.parent / "shared" / "data")) / "utkface"
SIZE = 224
BATCH = 64
MEAN_BGR = np.array([103.939, 116.779, 123.68], np.float32)


def utkface_frame(n):
    files = sorted(p for p in os.listdir(DATA) if p.endswith(".jpg"))[:n]
    ages = [float(name.split("_")[0]) for name in files]
    return pd.DataFrame({"path": [str(DATA / f) for f in files], "age": ages})


def naive_batches(paths, *, vgg16=False, seed=0):
    """The naive loader: one image at a time in Python, then np.stack per batch."""
    rng = np.random.default_rng(seed)
    center = ((SIZE - 1) / 2, (SIZE - 1) / 2)
    batch = []
    for path in paths:
        image = cv2.imread(path, cv2.IMREAD_COLOR)  # BGR uint8
        image = cv2.resize(image, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)
        angle, zoom = rng.uniform(-10, 10), rng.uniform(0.9, 1.1)
        matrix = cv2.getRotationMatrix2D(center, angle, zoom)
        matrix[:, 2] += rng.uniform(-0.1, 0.1, 2) * SIZE
        image = cv2.warpAffine(image, matrix, (SIZE, SIZE), borderMode=cv2.BORDER_REPLICATE)
        if rng.random() < 0.5:
            image = cv2.flip(image, 1)
        if vgg16:
            batch.append(image.astype(np.float32) - MEAN_BGR)  # caffe: BGR minus mean
        else:
            batch.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32))
        if len(batch) == BATCH:
            yield np.stack(batch)
            batch = []
    if batch:
        yield np.stack(batch)


def decode_only(paths):
    ds = tf.data.Dataset.from_tensor_slices(paths)
    ds = ds.map(
        lambda p: tf.io.decode_jpeg(tf.io.read_file(p), channels=3),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return ds.batch(BATCH).prefetch(tf.data.AUTOTUNE)  # 200x200 chips batch as they are


def measure(batches):
    """(images per second, CPU milliseconds per image) over one pass."""
    wall, cpu, count = time.perf_counter(), time.process_time(), 0
    for batch in batches:
        count += int((batch[0] if isinstance(batch, tuple) else batch).shape[0])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return count / wall, 1000 * cpu / count


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"UTKFace images not found at {DATA}")
    cv2.setNumThreads(1)  # the naive loader is single-threaded
    df = utkface_frame(args.images)
    paths = df["path"].tolist()
    print(f"{len(paths)} UTKFace images, {os.cpu_count()} CPU cores, batch {BATCH}, {SIZE}x{SIZE}")

    def pipeline(preprocess):
        return make_dataset(df, target="regression", augment=Augment(), batch_size=BATCH,
                            preprocess=preprocess, seed=0)  # fmt: skip

    loaders = {
        "naive": lambda: naive_batches(paths),
        "make_dataset": lambda: pipeline("none"),
        "decode_only": lambda: decode_only(paths),
        "naive+vgg16": lambda: naive_batches(paths, vgg16=True),
        "make_dataset+vgg16": lambda: pipeline("vgg16"),
    }
    for make in loaders.values():  # warm-up: tracing, page cache
        for _, _ in zip(range(2), make()):
            pass
    results = {name: [] for name in loaders}
    for _ in range(args.repeats):  # interleaved, best of N
        for name, make in loaders.items():
            results[name].append(measure(make()))
    best = {name: max(runs) for name, runs in results.items()}
    for name, (rate, cpu) in best.items():
        runs = ", ".join(f"{r:.0f}" for r, _ in results[name])
        print(f"{name:>19}: {rate:7.1f} images/s, {cpu:5.2f} CPU ms/image (runs: {runs})")
    ratio = best["make_dataset"][0] / best["naive"][0]
    print(f"make_dataset / naive             = {ratio:.2f}x (target >= 2x)")
    vgg = best["make_dataset+vgg16"][0] / best["naive+vgg16"][0]
    print(f"make_dataset / naive, with vgg16 = {vgg:.2f}x")
    ceiling = best["make_dataset"][0] / best["decode_only"][0]
    print(f"make_dataset / decode-only       = {ceiling:.2f} of the ceiling")
    cpu_ratio = best["naive"][1] / best["make_dataset"][1]
    print(f"CPU time per image, naive / make_dataset = {cpu_ratio:.2f} "
          f"(x{os.cpu_count()} cores = the idle-machine speed-up bound)")  # fmt: skip


if __name__ == "__main__":
    main()
