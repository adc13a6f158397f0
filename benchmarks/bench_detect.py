"""CNN face detection at `max_side=299` (the study's setting) vs full resolution.

Runs dlib's CNN detector over the real photos in ../shared/data/faces (or
$AGEKIT_SHARED_DATA/faces) and prints, for each setting, the time per photo, the speed
ratio against full resolution, and the recall at IoU >= 0.5 against the hand-labelled
boxes of dlib-examples/{training,testing}.xml (43 faces of 9 PASCAL VOC photos, most of
them 37-45 px wide). HOG, upsampled and `"auto"` (HOG, then the CNN where HOG finds
nothing) settings are measured beside them for reference.

Times are CPU seconds of this process (dlib's CPU detector runs on one core), so the
ratios hold on a busy machine too; wall-clock seconds are printed beside them.

    python benchmarks/bench_detect.py
"""

import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agekit.faces import detect_faces, match_boxes, read_imglab_boxes
from agekit.images import read_image

FACES = Path(os.environ.get("AGEKIT_SHARED_DATA", REPO.parent / "shared" / "data")) / "faces"


def labelled_boxes(folder):
    """{file name: [FaceBox]} from dlib's imglab XML files."""
    return {**read_imglab_boxes(folder / "training.xml"), **read_imglab_boxes(folder / "testing.xml")}


def run(settings, images, truth):
    """CPU and wall seconds per image, recall and false detections of one setting."""
    hits = total = extra = 0
    start, wall = time.process_time(), time.perf_counter()
    for name, image in images.items():
        found = detect_faces(image, **settings)
        if name in truth:
            hit = match_boxes(truth[name], found)
            hits, total, extra = hits + hit, total + len(truth[name]), extra + len(found) - hit
    n = len(images)
    return (time.process_time() - start) / n, (time.perf_counter() - wall) / n, hits / total, extra


def main():
    if not FACES.is_dir():
        sys.exit(f"real photos not found at {FACES} (set AGEKIT_SHARED_DATA)")
    truth = labelled_boxes(FACES / "dlib-examples")
    photos = sorted(p for p in FACES.rglob("*") if p.suffix.lower() in (".jpg", ".png"))
    every = {p.name: read_image(p) for p in photos}
    labelled = {name: every[name] for name in truth}
    pixels = sum(im.shape[0] * im.shape[1] for im in every.values()) / 1e6
    print(f"{len(every)} photos ({pixels:.1f} Mpx), {len(labelled)} with "
          f"{sum(map(len, truth.values()))} hand-labelled faces")
    detect_faces(labelled[next(iter(labelled))], model="cnn", max_side=64)  # load the model

    print("\n-- CNN, every photo, upsample=0: the study's max_side=299 vs full resolution")
    full = run({"model": "cnn"}, every, truth)
    small = run({"model": "cnn", "max_side": 299}, every, truth)
    print(f"{'setting':<32}{'cpu s/photo':>12}{'wall s':>8}{'speed-up':>10}{'recall':>8}{'false':>7}")
    for label, (cpu, wall, recall, extra) in (("full resolution", full), ("max_side=299", small)):
        print(f"{label:<32}{cpu:>12.3f}{wall:>8.3f}{full[0] / cpu:>9.1f}x{recall:>8.3f}{extra:>7d}")

    print("\n-- the 9 labelled photos (faces 37-109 px), other settings")
    base = run({"model": "cnn"}, labelled, truth)
    rows = [("cnn full, upsample=0", base)]
    for label, settings in (
        ("cnn max_side=299, upsample=0", {"model": "cnn", "max_side": 299}),
        ("cnn max_side=299, upsample=1", {"model": "cnn", "max_side": 299, "upsample": 1}),
        ("cnn full, upsample=1", {"model": "cnn", "upsample": 1}),
        ("hog full, upsample=0", {"model": "hog"}),
        ("hog full, upsample=1", {"model": "hog", "upsample": 1}),
        ("auto (hog 640 / cnn 320)", {"model": "auto"}),
        ("auto, upsample=1", {"model": "auto", "upsample": 1}),
    ):
        rows.append((label, run(settings, labelled, truth)))
    print(f"{'setting':<32}{'cpu s/photo':>12}{'wall s':>8}{'vs cnn full':>12}{'recall':>8}{'false':>7}")
    for label, (cpu, wall, recall, extra) in rows:
        print(f"{label:<32}{cpu:>12.3f}{wall:>8.3f}{base[0] / cpu:>11.2f}x{recall:>8.3f}{extra:>7d}")


if __name__ == "__main__":
    main()
