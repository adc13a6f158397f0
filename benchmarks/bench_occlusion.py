"""Occlusion sensitivity: `agekit.explain.occlusion_map` (batched) against a per-patch loop.

Both compute the same map on the same model and image: the probability of the
predicted class with a grey square over each patch position.

- naive: the loop the VGG16 study's notebook ran: for each patch position copy the
  image, paint the grey square, and call `model.predict` on that one copy;
- batched: `occlusion_map(model, image, patch=..., stride=..., batch_size=64)`: every
  occluded copy built with numpy masks, `batch_size` copies per forward pass.

The maps must be identical (np.allclose); the script prints both times and the ratio.
Two models: the UTKFace study's Basic CNN (`basic_cnn`, small: per-call overhead
dominates the loop, as it does for any model on a GPU) and VGG16 (compute-bound on a
CPU, so batching gains less there). Times are wall-clock after a warm-up call that
traces each model's predict function; batched: best of `--repeats`, the loop: one run.

Run:  python benchmarks/bench_occlusion.py [--size 64] [--patch 16] [--stride 8] [--repeats 3]
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing agekit

import keras
import numpy as np
from _timing import best_of

from agekit.explain import occlusion_map
from agekit.models import basic_cnn, build_model
from agekit.predict import prepare_inputs

GREY = 127.5


def face(size, seed=0):
    """A smooth synthetic 'face': a bright ellipse with two dark eyes on a background."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    image = np.full((size, size, 3), 60.0)
    inside = ((yy - 0.5) / 0.42) ** 2 + ((xx - 0.5) / 0.32) ** 2 < 1
    image[inside] = (210, 170, 150)
    for cx in (0.38, 0.62):
        image[((yy - 0.42) ** 2 + (xx - cx) ** 2) < 0.003] = (30, 30, 30)
    noise = np.random.default_rng(seed).normal(0, 8, image.shape)
    return np.clip(image + noise, 0, 255).astype("uint8")


def naive_map(model, image, patch, stride):
    """One copy and one `model.predict` call per patch position, the grey square painted
    into the model's input pixels (its first layer scales them), as `occlusion_map` does."""
    x = prepare_inputs(model, image[None])
    grey = np.full(3, GREY, np.float32)
    class_index = int(model.predict(x, verbose=0)[0].argmax())
    size = image.shape[0]
    starts = np.arange(0, max(size - patch, 0) + stride, stride)
    starts = starts[: int(np.ceil(max(size - patch, 0) / stride)) + 1]
    scores = np.empty((len(starts), len(starts)))
    for i, top in enumerate(starts):
        for j, left in enumerate(starts):
            copy = x.copy()
            copy[:, top:top + patch, left:left + patch] = grey
            scores[i, j] = model.predict(copy, verbose=0)[0, class_index]
    return scores


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--patch", type=int, default=16)
    parser.add_argument("--stride", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    shape = (args.size, args.size, 3)
    models = {
        "basic_cnn": basic_cnn(input_shape=shape, layers=4, base_filters=16, hidden=64,
                               head="dex"),
        "vgg16": build_model("vgg16", "dex", weights=None, input_shape=shape, fc_units=64,
                             compile=False),
    }
    image = face(args.size)
    print(f"{args.size}x{args.size} image, patch {args.patch}, stride {args.stride}, "
          f"batch {args.batch_size}, {os.cpu_count()} CPU cores, Keras {keras.__version__} "
          f"({keras.backend.backend()})")
    for name, model in models.items():
        model.predict(image[None].astype("float32"), verbose=0)  # warm-up: trace predict

        def batched(model=model):
            return occlusion_map(model, image, patch=args.patch, stride=args.stride,
                                 batch_size=args.batch_size, verbose=False)

        batched()  # warm-up: trace predict_on_batch for the batch shapes
        fast, result = best_of(batched, args.repeats)
        slow, naive = best_of(lambda model=model: naive_map(model, image, args.patch,
                                                              args.stride), 1)
        # Float32 convolutions may sum in another order for a batch of 64 than for one
        # image (oneDNN picks its algorithm by shape): equal up to that round-off.
        difference = float(np.max(np.abs(result.scores - naive))) / float(np.max(np.abs(naive)))
        same = naive.shape == result.scores.shape and difference < 1e-4
        print(f"{name:>10}: {result.scores.size} patches, batched {fast:6.2f} s, "
              f"per-patch predict loop {slow:6.2f} s, ratio {slow / fast:5.1f}x "
              f"(target >= 10x), identical maps: {same} (largest difference "
              f"{difference:.1e} of the largest score)")
        if not same:
            raise SystemExit(f"{name}: the batched and per-patch maps differ")


if __name__ == "__main__":
    main()
