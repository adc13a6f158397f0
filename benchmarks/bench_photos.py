"""The photo path on real photos with known ages: detect, cut, (predict), on FG-NET.

Runs `photo_path` over the 508 FG-NET photos of ../shared/data/fgnet (or
$AGEKIT_SHARED_DATA/fgnet) for several detector and crop settings and prints, per
setting: the found-rate ("found" = the largest detected face overlaps the box around the
photo's 68 hand-marked landmarks with IoU >= 0.5), photos/s of reading + detection +
landmarks + crop, and its speed against the naive way measured in the same run: dlib's
CNN detector photo by photo at `max_side=1024` (which these ~500 px photos are under),
5-point alignment and a `loose` margin, as `agekit predict` did. It takes about a second
a photo, so it and the other CNN-only settings run on every 8th photo (64); `--all` runs
them on all 508.

Given a model (`--model PATH`, loaded with `agekit.predict.load_model`), each setting also
predicts the ages of the found faces with `agekit.predict.predict_age` and prints MAE,
CS5 (share within 5 years), MAE for ages <= 18 and > 18, over the found photos, plus
photos/s with the prediction included (model load excluded).

Also printed: landmarks' cost (5 vs 68 points per face) and parallel workers for the
default setting (2 threads vs 2 processes vs 1 worker).

    python benchmarks/bench_photos.py                       # detection and crops only
    python benchmarks/bench_photos.py --model /work/models/utkface-v0/model.keras --all

Wall-clock numbers are only comparable within one run: on a shared machine, re-run
before quoting them.
"""

import argparse
import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np

from agekit.datasets import load_fgnet, read_pts
from agekit.faces import CropSpec, FaceBox, crop_spec, cut_photos, face_landmarks
from agekit.faces.detect import detect_faces
from agekit.images import read_image

FGNET = Path(os.environ.get("AGEKIT_SHARED_DATA", REPO.parent / "shared" / "data")) / "fgnet"
NAIVE = CropSpec(margin="loose", align=True, points=5, detector="cnn", max_side=1024)
SETTINGS = (  # (label, crop spec); CNN-only settings run on the naive way's photos
    ("cnn 1024, tight aligned 5pt", CropSpec(margin="tight", points=5, detector="cnn", max_side=1024)),
    ("cnn 1024, utkface", CropSpec(template="utkface", detector="cnn", max_side=1024)),
    ("cnn max_side=320, utkface", CropSpec(template="utkface", detector="cnn", max_side=320)),
    ("hog, utkface", CropSpec(template="utkface", detector="hog")),
    ("hog upsample=1, utkface", CropSpec(template="utkface", detector="hog", upsample=1)),
    ("auto, utkface (default)", CropSpec(template="utkface")),
    ("auto, loose aligned 5pt", CropSpec(margin="loose", points=5)),
    ("auto, tight aligned 5pt", CropSpec(margin="tight", points=5)),
    ("auto, tight", CropSpec(margin="tight", align=False)),
)


def load_photos(root=FGNET):
    """FG-NET as a DataFrame: `path`, `age`, `subject` and `truth` (landmark box)."""
    df = load_fgnet(root)
    boxes = []
    for path in df["landmarks_path"]:
        points = read_pts(path)
        boxes.append(FaceBox(*points.min(axis=0), *points.max(axis=0)))
    return df.assign(truth=boxes)


def photo_path(model, photos, *, detector=None, crop="utkface", workers=1, processes=False):
    """Detect and cut the faces of `photos`; predict their ages when `model` is given.

    Args:
        model: a loaded agekit model, or None (detection and crops only).
        photos: `load_photos()` rows (`path`, `age`, `truth`).
        detector: `"auto"`, `"hog"` or `"cnn"`: replaces the spec's detector (None
            keeps it).
        crop: a `CropSpec` or anything `crop_spec` accepts.
        workers, processes: parallel workers of `cut_photos` (threads, or processes).

    Returns:
        A dict: `found` (rate), `seconds` (read + detect + cut), `photos_per_s`, `cpu_ms`
        (CPU milliseconds per photo, worker processes included), and with a
        model `predict_seconds`, `total_per_s`, `mae`, `cs5`, `mae_children` (ages <= 18),
        `mae_adults` (> 18) and `n` (photos predicted: the found ones).
    """
    spec = crop_spec(crop)
    if detector is not None:
        spec = spec.replace(detector=detector)
    start, cpu = time.perf_counter(), _cpu()
    results = list(cut_photos(photos["path"], spec, workers=workers, processes=processes))
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    found, crops, ages = [], [], []
    for result, truth, age in zip(results, photos["truth"], photos["age"]):
        if not result.boxes:
            found.append(False)
            continue
        largest = int(np.argmax([box.area for box in result.boxes]))
        found.append(result.boxes[largest].iou(truth) >= 0.5)
        if found[-1]:
            crops.append(result.crops[largest])
            ages.append(age)
    out = {"found": float(np.mean(found)), "seconds": seconds, "photos_per_s": len(photos) / seconds,
           "cpu_ms": 1000 * cpu / len(photos)}
    if model is None or not crops:
        return out
    from agekit.predict import predict_age

    start = time.perf_counter()
    predicted = predict_age(model, crops)["age"].to_numpy()
    out["predict_seconds"] = time.perf_counter() - start
    out["total_per_s"] = len(photos) / (seconds + out["predict_seconds"])
    ages = np.asarray(ages, dtype=float)
    errors = np.abs(predicted - ages)
    out.update(n=len(ages), mae=errors.mean(), cs5=float(np.mean(errors <= 5)),
               mae_children=errors[ages <= 18].mean(), mae_adults=errors[ages > 18].mean())
    return out


def _cpu():
    """CPU seconds of this process and of its finished child processes."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def landmark_cost(photos, repeats=3):
    """Milliseconds per face of dlib's 5- and 68-point landmarks (HOG boxes)."""
    images = [read_image(p) for p in photos["path"][:100]]
    boxes = [detect_faces(image, model="hog") for image in images]
    pairs = [(image, found[0]) for image, found in zip(images, boxes) if found]
    costs = {}
    for points in (5, 68):
        face_landmarks(*pairs[0], points=points)  # load the model
        best = float("inf")
        for _ in range(repeats):
            start = time.process_time()
            for image, box in pairs:
                face_landmarks(image, box, points=points)
            best = min(best, time.process_time() - start)
        costs[points] = 1000 * best / len(pairs)
    return costs


def _row(label, result, naive_rate, model):
    line = (f"{label:<34}{result['found']:>7.3f}{result['photos_per_s']:>10.1f}"
            f"{result['photos_per_s'] / naive_rate:>9.1f}x{result['cpu_ms']:>8.0f}")
    if model is not None and "mae" in result:
        line += (f"{result['total_per_s']:>10.1f}{result['mae']:>7.2f}{result['cs5']:>6.2f}"
                 f"{result['mae_children']:>8.2f}{result['mae_adults']:>7.2f}")
    print(line, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a .keras model to predict with (agekit.predict.load_model)")
    parser.add_argument("--all", action="store_true", help="run the CNN-only settings on all photos too")
    args = parser.parse_args()
    if not FGNET.is_dir():
        sys.exit(f"FG-NET photos not found at {FGNET} (set AGEKIT_SHARED_DATA)")
    photos = load_photos()
    model = None
    if args.model:
        from agekit.predict import load_model

        model = load_model(args.model)
    print(f"{len(photos)} FG-NET photos of {photos['subject'].nunique()} people, ages "
          f"{photos['age'].min():.0f}-{photos['age'].max():.0f}; cpu count {os.cpu_count()}")
    list(cut_photos(photos["path"][:1], NAIVE))  # load the CNN
    list(cut_photos(photos["path"][:1], "utkface"))  # load the landmark models

    naive_photos = photos if args.all else photos.iloc[::8]
    naive = photo_path(model, naive_photos, crop=NAIVE)
    header = f"{'setting':<34}{'found':>7}{'photos/s':>10}{'vs naive':>10}{'cpu ms':>8}"
    if model is not None:
        header += f"{'+model/s':>10}{'MAE':>7}{'CS5':>6}{'MAE<=18':>8}{'MAE>18':>7}"
    print("\n-- detection + crop (+ prediction), photos read from disk")
    print(header)
    _row(f"naive: cnn 1024, loose ({len(naive_photos)})", naive, naive["photos_per_s"], model)
    for label, spec in SETTINGS:
        subset = naive_photos if spec.detector == "cnn" else photos
        if len(subset) < len(photos):
            label += f" ({len(subset)})"
        _row(label, photo_path(model, subset, crop=spec), naive["photos_per_s"], model)

    costs = landmark_cost(photos)
    print(f"\n-- landmarks, cpu ms per face: 5 points {costs[5]:.2f}, 68 points {costs[68]:.2f} "
          f"({costs[68] / costs[5]:.1f}x)")

    print("\n-- parallel workers, default setting (auto, utkface), interleaved, best of 2")
    ways = {"1 worker": {}, "2 threads": {"workers": 2}, "2 processes": {"workers": 2, "processes": True}}
    rates = dict.fromkeys(ways, 0.0)
    for _ in range(2):
        for way, options in ways.items():
            rates[way] = max(rates[way], photo_path(None, photos, **options)["photos_per_s"])
    print(", ".join(f"{way} {rate:.1f} photos/s ({rate / rates['1 worker']:.2f}x)" for way, rate in rates.items()))


if __name__ == "__main__":
    main()
