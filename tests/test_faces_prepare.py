"""prepare_dataset: statuses, identical RGB crops, shards, resume, workers, input checks."""

import os
import shutil

import cv2
import numpy as np
import pandas as pd
import pytest

from agekit.faces import STATUSES, FaceBox, crop_face, prepare_dataset, read_manifest
from agekit.faces._manifest import COLUMNS
from agekit.images import read_image, write_image


def _make_images(folder, n, *, shape=(120, 100)):
    """`n` synthetic images with a face box each: a red square on a random background."""
    rng = np.random.default_rng(0)
    paths, boxes = [], []
    for i in range(n):
        image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
        left, top = 20 + i % 10, 30
        image[top:top + 40, left:left + 40] = (255, 0, 0)
        path = folder / f"img{i:03d}.png"
        write_image(path, image)
        paths.append(str(path))
        boxes.append((left, top, left + 40, top + 40))
    return pd.DataFrame({"path": paths, "face_box": boxes, "age": np.arange(n)})


def test_boxes_give_identical_rgb_crops(tmp_path):
    df = _make_images(tmp_path / "src", 4)
    df.loc[3, "face_box"] = None  # e.g. no face location in the .mat file
    manifest = prepare_dataset(df, tmp_path / "out", use_boxes=True, margin="tight", size=32,
                               image_format="png")
    assert manifest.columns.tolist() == list(COLUMNS)
    assert manifest["path"].tolist() == df["path"].tolist()
    assert manifest["status"].tolist() == ["ok", "ok", "ok", "no_face"]
    assert manifest.loc[0, ["left", "top", "right", "bottom"]].tolist() == [20.0, 30.0, 60.0, 70.0]
    assert manifest["n_faces"].tolist() == [1, 1, 1, 0]
    for _, row in manifest[manifest.status == "ok"].iterrows():
        crop = read_image(row["output"])
        assert crop.shape == (32, 32, 3)
        assert crop[..., 0].min() == 255 and crop[..., 1:].max() == 0  # red in RGB order
        assert cv2.imread(row["output"])[0, 0].tolist() == [0, 0, 255]  # standard file byte order
    assert pd.isna(manifest.loc[3, "output"])
    pd.testing.assert_frame_equal(read_manifest(tmp_path / "out").sort_values("path", ignore_index=True),
                                  manifest.sort_values("path", ignore_index=True))


def test_crop_matches_crop_face(tmp_path):
    df = _make_images(tmp_path / "src", 1)
    manifest = prepare_dataset(df, tmp_path / "out", use_boxes=True, margin="loose", size=48,
                               pad="reflect", image_format="png")
    expected = crop_face(read_image(df.path[0]), FaceBox(*df.face_box[0]), margin="loose", size=48,
                         pad="reflect")
    np.testing.assert_array_equal(read_image(manifest.output[0]), expected)


def test_face_box_cells_from_csv_strings_and_duplicates(tmp_path):
    df = _make_images(tmp_path / "src", 2)
    df["face_box"] = ["[20, 30, 60, 70]", "21 30 61 70"]
    df = pd.concat([df, df.iloc[:1]], ignore_index=True)  # a path listed twice
    df["face_score"] = [4.5, 2.0, 4.5]
    manifest = prepare_dataset(df, tmp_path / "out", use_boxes=True, size=16)
    assert len(manifest) == 2
    assert manifest["score"].tolist() == [4.5, 2.0]
    assert manifest.loc[1, "left"] == 21.0


def test_same_names_in_two_folders_and_two_formats_do_not_collide(tmp_path):
    image = np.full((50, 50, 3), 9, np.uint8)
    paths = [write_image(tmp_path / d / n, image) for d, n in (("a", "x.png"), ("b", "x.png"), ("b", "x.jpg"))]
    df = pd.DataFrame({"path": [str(p) for p in paths], "face_box": [(0, 0, 10, 10)] * 3})
    manifest = prepare_dataset(df, tmp_path / "out", use_boxes=True, margin="raw", size=8)
    outputs = manifest["output"].tolist()
    assert manifest["status"].tolist() == ["ok"] * 3
    assert len(set(outputs)) == 3
    assert outputs[0].endswith(os.path.join("crops", "a", "x.jpg"))


def test_every_bad_file_gets_a_status_and_the_job_goes_on(tmp_path):
    df = _make_images(tmp_path / "src", 2)
    (tmp_path / "src" / "text.png").write_text("no image")
    paths = df["path"].tolist() + [str(tmp_path / "src" / "text.png"), str(tmp_path / "gone.jpg")]
    boxes = df["face_box"].tolist() + [(0, 0, 5, 5), (0, 0, 5, 5)]
    out = tmp_path / "out"
    # A folder where the first crop must go: writing it fails, recorded as `error`.
    (out / "crops" / "src" / "img000.jpg").mkdir(parents=True)
    manifest = prepare_dataset(pd.DataFrame({"path": paths, "face_box": boxes}), out, use_boxes=True, size=16)
    assert manifest["status"].tolist() == ["error", "ok", "unreadable", "missing"]
    assert "IsADirectoryError" in manifest.loc[0, "error"]
    assert "readable" in manifest.loc[2, "error"] and "existing" in manifest.loc[3, "error"]
    assert set(manifest["status"]) <= set(STATUSES)
    # `error` is retried on resume; final statuses are not.
    (out / "crops" / "src" / "img000.jpg").rmdir()
    calls = []
    manifest = prepare_dataset(pd.DataFrame({"path": paths, "face_box": boxes}), out, use_boxes=True,
                               size=16, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 1)]
    assert manifest["status"].tolist() == ["ok", "ok", "unreadable", "missing"]


def test_resume_skips_finished_images_and_repairs_a_torn_manifest(tmp_path):
    df = _make_images(tmp_path / "src", 6)
    out = tmp_path / "out"
    first = prepare_dataset(df, out, use_boxes=True, size=16)
    assert (first["status"] == "ok").all()
    os.remove(first.loc[2, "output"])  # a crop lost since: redone
    with open(out / "manifest.csv", "a") as handle:
        handle.write(f"{df.path[4]},ok,1,2")  # a row torn by a kill: ignored
    (out / ".tmp-0-of-1").mkdir()
    (out / ".tmp-0-of-1" / "partial.tmp").write_bytes(b"\xff\xd8")  # a half-written crop
    calls = []
    second = prepare_dataset(df, out, use_boxes=True, size=16, progress=lambda d, t: calls.append(t))
    assert calls == [1]
    pd.testing.assert_frame_equal(first, second)
    lines = (out / "manifest.csv").read_text().splitlines()
    assert len(lines) == 7 and sorted(line.split(",")[0] for line in lines[1:]) == sorted(df.path)
    assert not (out / ".tmp-0-of-1").exists()
    # resume=False redoes everything.
    calls.clear()
    prepare_dataset(df, out, use_boxes=True, size=16, resume=False, progress=lambda d, t: calls.append(t))
    assert calls == [6] * 6


def test_resuming_with_other_settings_is_refused(tmp_path):
    df = _make_images(tmp_path / "src", 1)
    prepare_dataset(df, tmp_path / "out", use_boxes=True, size=16)
    with pytest.raises(ValueError, match=r"settings of the run being resumed.*\['margin', 'size'\]"):
        prepare_dataset(df, tmp_path / "out", use_boxes=True, size=32, margin="tight")
    assert prepare_dataset(df, tmp_path / "out", use_boxes=True, size=32, resume=False)["status"][0] == "ok"


def test_shards_split_the_work_and_read_manifest_joins_them(tmp_path):
    # Shards are drawn by a hash of the path: with 40 images, a shard is empty with
    # probability 3 * (2/3)**40 < 1e-6 (with 12, the test failed about once in 40 runs).
    df = _make_images(tmp_path / "src", 40)
    out = tmp_path / "out"
    parts = [prepare_dataset(df.sample(frac=1, random_state=i), out, use_boxes=True, size=16, shard=(i, 3))
             for i in range(3)]
    sets = [set(p["path"]) for p in parts]
    assert all(sets) and sum(map(len, sets)) == 40 and set().union(*sets) == set(df.path)
    assert sorted(p.name for p in out.glob("manifest*")) == [f"manifest-{i:04d}-of-0003.csv" for i in range(3)]
    merged = read_manifest(out)
    assert sorted(merged["path"]) == sorted(df.path) and (merged["status"] == "ok").all()


@pytest.mark.slow
def test_two_workers_give_the_same_crops(tmp_path):
    df = _make_images(tmp_path / "src", 8)
    one = prepare_dataset(df, tmp_path / "one", use_boxes=True, size=24, image_format="png")
    two = prepare_dataset(df, tmp_path / "two", use_boxes=True, size=24, image_format="png", workers=2)
    assert two["path"].tolist() == one["path"].tolist()
    for a, b in zip(one["output"], two["output"]):
        np.testing.assert_array_equal(read_image(a), read_image(b))


def test_input_errors(tmp_path):
    df = _make_images(tmp_path / "src", 1)
    with pytest.raises(ValueError, match=r"Expected a DataFrame with a `path` column. Received: df.columns=\['file'\]"):
        prepare_dataset(pd.DataFrame({"file": ["a.jpg"]}), tmp_path)
    with pytest.raises(ValueError, match=r"a file path in every row .* Received: rows=\[1\]"):
        prepare_dataset(pd.DataFrame({"path": ["a.jpg", None]}), tmp_path)
    with pytest.raises(ValueError, match="`face_box` column"):
        prepare_dataset(df[["path"]], tmp_path, use_boxes=True)
    with pytest.raises(ValueError, match=r"\(left, top, right, bottom\) in row 0"):
        prepare_dataset(df.assign(face_box=["1 2 3"]), tmp_path, use_boxes=True)
    with pytest.raises(ValueError, match=r"Received: shard=\[3, 3\]"):
        prepare_dataset(df, tmp_path, shard=(3, 3))
    with pytest.raises(ValueError, match="Received: on_multiple='all'"):
        prepare_dataset(df, tmp_path, on_multiple="all")
    with pytest.raises(ValueError, match="Received: workers=0"):
        prepare_dataset(df, tmp_path, workers=0)
    with pytest.raises(ValueError, match="Received: size=None"):
        prepare_dataset(df, tmp_path, size=None)
    with pytest.raises(TypeError, match="not one path"):
        prepare_dataset(df.path[0], tmp_path)


@pytest.mark.real_data
def test_real_photos_rgba_no_face_truncated_and_missing(shared_data, tmp_path):
    faces = shared_data / "faces"
    data = (faces / "face_recognition" / "obama-240p.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    paths = [faces / "face_recognition" / "32bit.png", faces / "dlib-examples" / "dogs.jpg",
             tmp_path / "cut.jpg", tmp_path / "missing.jpg", faces / "face_recognition" / "obama.jpg"]
    manifest = prepare_dataset([str(p) for p in paths], tmp_path / "out", detector="cnn", max_side=299,
                               size=64, align=True)
    assert manifest["status"].tolist() == ["ok", "no_face", "unreadable", "missing", "ok"]
    crops = [read_image(p) for p in manifest["output"].dropna()]
    assert [c.shape for c in crops] == [(64, 64, 3)] * 2


@pytest.mark.real_data
def test_several_faces_kept_or_rejected(shared_data, tmp_path):
    photo = str(shared_data / "faces" / "face_recognition" / "two_people.jpg")
    kept = prepare_dataset([photo], tmp_path / "a", detector="hog", size=32)
    rejected = prepare_dataset([photo], tmp_path / "b", detector="hog", size=32, on_multiple="reject")
    assert kept.loc[0, "status"] == "ok" and kept.loc[0, "n_faces"] == 2
    assert rejected.loc[0, "status"] == "several_faces" and pd.isna(rejected.loc[0, "output"])
    from agekit.faces import detect_faces, primary_face

    largest = primary_face(detect_faces(photo, model="hog"))
    assert kept.loc[0, "left"] == pytest.approx(largest.left, abs=0.01)
    shutil.rmtree(tmp_path / "a")


def test_progress_is_logged_with_rate_and_eta(tmp_path, caplog):
    df = _make_images(tmp_path / "src", 5)
    with caplog.at_level("INFO", logger="agekit.faces"):
        prepare_dataset(df, tmp_path / "out", use_boxes=True, size=16, log_every=2)
    progress = [r.getMessage() for r in caplog.records if "images/s" in r.getMessage()]
    assert [m.split(" images")[0] for m in progress] == [
        "prepare_dataset: 2/5", "prepare_dataset: 4/5", "prepare_dataset: 5/5"]
    assert "(ok 5)" in progress[-1] and "ETA 0m00s" in progress[-1]
