"""`agekit prepare`: CSV and folder inputs, errors, and a job killed with SIGKILL then resumed."""

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from agekit.cli import build_parser, main
from agekit.faces import read_manifest
from agekit.images import encode_image, read_image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _write_sources(folder, n, *, side=160):
    """`n` JPEGs under folder/a and folder/b and a CSV of relative paths with face boxes."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        relative = os.path.join("a" if i % 2 else "b", f"{i:04d}.jpg")
        os.makedirs(folder / os.path.dirname(relative), exist_ok=True)
        image = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        (folder / relative).write_bytes(encode_image(image, ".jpg"))
        rows.append({"path": relative, "face_box": f"{i % 50} 10 {i % 50 + 60} 70", "age": i % 90})
    pd.DataFrame(rows).to_csv(folder / "faces.csv", index=False)
    return folder / "faces.csv"


def test_help_lists_prepare():
    assert "prepare" in build_parser().format_help()


def test_prepare_a_csv_of_relative_paths_with_boxes(tmp_path):
    csv = _write_sources(tmp_path / "src", 6)
    assert main(["prepare", str(csv), str(tmp_path / "out"), "--use-boxes", "--size", "40",
                 "--margin", "0.2", "--quiet"]) == 0
    manifest = read_manifest(tmp_path / "out")
    assert len(manifest) == 6 and (manifest["status"] == "ok").all()
    assert {read_image(p).shape for p in manifest["output"]} == {(40, 40, 3)}
    assert manifest["path"].str.startswith(str(tmp_path / "src")).all()


def test_prepare_a_folder(tmp_path):
    _write_sources(tmp_path / "src", 3, side=40)
    (tmp_path / "src" / "notes.txt").write_text("not an image")
    main(["prepare", str(tmp_path / "src"), str(tmp_path / "out"), "--detector", "hog", "-q"])
    manifest = read_manifest(tmp_path / "out")
    assert len(manifest) == 3 and set(manifest["status"]) == {"no_face"}


def test_prepare_errors_are_one_line_and_exit_status_2(tmp_path, capsys):
    def error(*args):
        assert main(["prepare", *map(str, args)]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("agekit prepare: error: ")
        return lines[0]

    assert "no such file or folder" in error(tmp_path / "nothing.csv", tmp_path / "out")
    pd.DataFrame({"file": ["x.jpg"]}).to_csv(tmp_path / "bad.csv", index=False)
    assert "Expected a `path` column" in error(tmp_path / "bad.csv", tmp_path / "out")
    assert "Expected --shard I/N" in error(tmp_path / "bad.csv", tmp_path / "out", "--shard", "2")
    csv = _write_sources(tmp_path / "src", 1)
    message = error(csv, tmp_path / "out", "--margin", "snug", "--use-boxes")
    assert re.search(r"Expected `margin`.*Received: margin='snug'", message)


@pytest.mark.slow
def test_a_killed_job_resumes_without_losing_or_repeating_images(tmp_path):
    total = 300
    csv = _write_sources(tmp_path / "src", total, side=480)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "agekit", "prepare", str(csv), str(out), "--use-boxes",
               "--size", "96", "--pad=reflect", "--quiet"]
    env = {**os.environ, "PYTHONPATH": REPO}
    job = subprocess.Popen(command, env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = out / "manifest.csv"
    deadline = time.monotonic() + 60
    rows_at_kill = 0
    while time.monotonic() < deadline and job.poll() is None:
        if manifest.is_file():
            rows_at_kill = manifest.read_bytes().count(b"\n") - 1
            if rows_at_kill >= 20:
                os.killpg(job.pid, signal.SIGKILL)
                break
        time.sleep(0.005)
    job.wait()
    assert job.returncode == -signal.SIGKILL, "the job ended before it could be killed"
    assert 20 <= rows_at_kill < total

    done_before = set(read_manifest(out)["path"])
    assert 20 <= len(done_before) < total
    assert main(["prepare", str(csv), str(out), "--use-boxes", "--size", "96", "--pad=reflect", "-q"]) == 0

    lines = manifest.read_text().splitlines()
    sources = [line.split(",")[0] for line in lines[1:]]
    assert len(sources) == total and len(set(sources)) == total  # every image exactly once
    final = read_manifest(out)
    assert (final["status"] == "ok").all()
    assert done_before <= set(final["path"])
    for path in final["output"]:
        assert read_image(path).shape == (96, 96, 3)  # every crop decodes, one size
    assert not any(name.endswith(".tmp") for _, _, names in os.walk(out) for name in names)
