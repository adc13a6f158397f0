"""The `agekit` command: --help, each subcommand end to end, and one-line errors (exit 2)."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from agekit.cli import COMMANDS, build_parser, main
from agekit.images import write_image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _agekit(*args, cwd=None):
    env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "agekit", *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env=env, check=False)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """An untrained DEX + gender model saved as `.keras` (32x32 RGB in [0, 255]), trained
    (its card says) on UTKFace-like chips."""
    from agekit.models import basic_cnn, compile_model, set_card

    model = compile_model(basic_cnn(layers=2, base_filters=4, hidden=8, dropout=0, head="dex",
                                    outputs={"gender": 2}, input_shape=(32, 32, 3), rescale=1 / 255))
    set_card(model, crop={"template": "utkface"})
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    model.save(path)
    return path


def test_help_lists_every_command():
    text = build_parser().format_help()
    for name in ("quickstart", "prepare", "train", "evaluate", "predict", "explain"):
        assert name in text and name in COMMANDS
    result = _agekit("--help")
    assert result.returncode == 0 and "quickstart" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["predict", "{tmp}/missing.jpg"], "Expected an image file. Received: image="),
    (["quickstart", "--data", "lfw:{tmp}"], "Unknown dataset format"),
    (["evaluate", "--model", "{tmp}/model.keras", "--data", "utkface:{tmp}/nowhere"],
     "Expected a model file"),
    (["predict", "{tmp}/face.png", "--model", "{tmp}/not_a_model.keras"],
     "Expected a Keras model file (.keras)"),
    (["predict", "{tmp}/blank.png", "--model", "{model}"], "Expected a face in at least one photo"),
    (["explain", "{tmp}/blank.png", "--model", "{model}"], "Expected a face in the image"),
    (["train", "{tmp}/missing.toml"], "Expected a TOML configuration file"),
    (["predict"], "the following arguments are required: images"),
    (["fly"], "invalid choice: 'fly'"),
])
def test_bad_input_is_one_line_and_exit_status_2(args, message, tmp_path, tiny_model):
    (tmp_path / "not_a_model.keras").write_text("hello")
    write_image(tmp_path / "face.png", np.full((64, 64, 3), 128, np.uint8))
    write_image(tmp_path / "blank.png", np.full((120, 160, 3), 200, np.uint8))
    args = [a.format(tmp=tmp_path, model=tiny_model) for a in args]
    result = _agekit(*args)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(lines) == 1 and message in lines[0], result.stderr


@pytest.mark.slow
@pytest.mark.real_data
def test_predict_finds_the_two_people(shared_data, tiny_model, tmp_path, capsys):
    photo = shared_data / "faces" / "face_recognition" / "two_people.jpg"
    assert main(["predict", str(photo), "--model", str(tiny_model), "--json",
                 "--annotate", str(tmp_path)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2 and {"age", "gender", "left", "top"} <= set(rows[0])
    assert rows[0]["left"] < 500 < rows[1]["left"] or rows[1]["left"] < 500 < rows[0]["left"]
    assert (tmp_path / "two_people_agekit.png").stat().st_size > 0


@pytest.mark.slow
def test_train_evaluate_and_explain_from_the_command_line(tmp_path, capsys):
    from agekit.datasets import make_synthetic

    root = make_synthetic(tmp_path / "utk", 80, format="utkface", image_size=32)
    config = tmp_path / "exp.toml"
    config.write_text(f'[data]\nformat = "utkface"\nroot = "{root}"\nimage_size = 32\n'
                      '[model]\nlayers = 2\nbase_filters = 4\nhidden = 8\n'
                      f'[train]\nepochs = 1\nrun_dir = "{tmp_path / "run"}"\n')
    assert main(["train", str(config), "-q"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["n_test"] > 0 and (tmp_path / "run" / "model.keras").is_file()

    model = str(tmp_path / "run" / "model.keras")
    split = str(tmp_path / "run" / "split.csv") + ":test"
    assert main(["evaluate", "--model", model, "--data", f"utkface:{root}", "--split", split,
                 "--predictions", str(tmp_path / "p.csv"), "--json", "-q"]) == 0
    out = capsys.readouterr().out
    scores = json.loads(out)  # the whole evaluation, one JSON object
    assert "NaN" not in out and "Infinity" not in out
    assert scores["n"] == trained["n_test"] and scores["mae"] == pytest.approx(trained["mae"], rel=1e-4)
    assert len(pd.read_csv(tmp_path / "p.csv")) == scores["n"]
    assert scores["interval"]["level"] == 0.9 and scores["coverage_by_level"]
    assert scores["audit"]["groups"][0]["n"] == scores["n"]
    assert {row["threshold"] for row in scores["audit"]["thresholds"]} == {13, 16, 18, 21, 25}
    assert main(["evaluate", "--model", model, "--data", f"utkface:{root}", "--split", split, "-q"]) == 0
    text = capsys.readouterr().out  # without --json: the scores, then the two tables in Markdown
    assert f'"n": {scores["n"]}' in text and "| group | n | MAE (95% CI) |" in text
    assert "| T | n under T / T or older |" in text and '"audit"' not in text

    face = pd.read_csv(tmp_path / "p.csv")["path"][0]
    assert main(["explain", face, "--model", model, "--cropped", "--out", str(tmp_path / "ex"), "-q"]) == 0
    written = capsys.readouterr().out
    pngs = list((tmp_path / "ex").glob("*.png"))
    assert pngs and all(p.stat().st_size > 0 for p in pngs) and str(pngs[0]) in written


@pytest.mark.slow
def test_quickstart_writes_a_report(tmp_path, capsys):
    assert main(["quickstart", "--out", str(tmp_path / "qs"), "--n", "160", "--epochs", "1", "-q"]) == 0
    out = tmp_path / "qs"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_test"] > 0 and np.isfinite(metrics["mae"]) and "baseline_mae" in metrics
    report = (out / "report.md").read_text()
    assert "MAE" in report and "training median" in report and "Errors by group" in report
    for png in [*(out / "run" / "figures").glob("*.png"), *(out / "explain").glob("*.png")]:
        assert png.stat().st_size > 0
    names = {png.stem for png in (out / "run" / "figures").glob("*.png")}
    assert names == {"history", "mae_by_age", "confusion", "age_distribution", "predictions",
                     "groups", "coverage"}
    assert f"report: {out / 'report.md'}" in capsys.readouterr().out


@pytest.mark.parametrize("bug", [TypeError("unsupported operand type(s) for +: 'int' and 'str'"),
                                 ValueError("operands could not be broadcast together")])
def test_a_genuine_bug_is_not_reported_as_bad_input(bug, monkeypatch, tmp_path):
    """Only agekit's own input errors become one line and exit 2; a bug keeps its traceback."""
    def buggy(args):
        raise bug

    help_text, add_arguments, _ = COMMANDS["predict"]
    monkeypatch.setitem(COMMANDS, "predict", (help_text, add_arguments, buggy))
    with pytest.raises(type(bug), match=re.escape(str(bug))):
        main(["predict", str(tmp_path / "face.png")])


def test_interval_options_of_predict_and_export():
    parser = build_parser()
    assert parser.parse_args(["predict", "a.jpg", "--interval", "0.9"]).interval == 0.9
    assert parser.parse_args(["predict", "a.jpg"]).interval is None
    assert parser.parse_args(["export", "m.keras", "out"]).interval == 0.9
    assert parser.parse_args(["evaluate", "--model", "m", "--data", "utkface:x", "--json"]).json


def test_bad_input_still_exits_2_in_process(tmp_path, capsys):
    assert main(["predict", str(tmp_path / "missing.jpg")]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Expected an image file. Received: image=" in lines[0]
