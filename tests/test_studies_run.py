"""agekit.studies.run / table: every reproduction is a set of runner experiments, its
measures come from the runs' own files, and every smoke reproduction runs (one process)."""

import contextlib
import json
import math
import re

import pandas as pd
import pytest

from agekit import studies
from agekit.cli import main
from agekit.experiment import Experiment
from agekit.studies.run import experiments, reproduce
from agekit.studies.table import COLUMNS, NotRun, measure, metric_value


@pytest.fixture
def roots(tmp_path):
    """Every format a study uses, as if its real data were at hand."""
    return {fmt: str(tmp_path) for fmt in ("utkface", "chalearn", "imdb_wiki", "adience")}


def _data_of(name, roots):
    """`--data` for every format the entry uses."""
    entry = studies.get(name)
    formats = {entry["data"]["format"]} | {
        s["pretrain_data"]["format"] for s in entry["scales"].values() if "pretrain_data" in s}
    return {fmt: roots[fmt] for fmt in formats}


def test_every_entry_and_variant_translates_into_experiments_at_every_scale(roots):
    for name in studies.names():
        for scale in studies.SCALES:
            exps = experiments(name, scale, data=_data_of(name, roots), out="unused")
            assert list(exps) == (studies.variants_at(name, scale) or ["main"]), (name, scale)
            for key, exp in exps.items():
                assert isinstance(exp, Experiment) and exp.train.run_dir.endswith(key)
                settings = studies.settings(name, scale, None if key == "main" else key)
                assert exp.data.image_size == settings["model"]["input_size"], (name, scale, key)
                assert exp.model.backbone == settings["model"]["network"]
                stages = settings["train"]["stages"] or []
                assert len(exp.train.schedule or []) + len(exp.train.pretrain_schedule or []) == len(stages)
        smoke = experiments(name, "smoke", out="unused")  # synthetic: no data needed
        assert all(exp.data.root is None for exp in smoke.values()), name


def test_full_scale_experiments_carry_the_studies_settings(roots):
    full = {name: experiments(name, "full", data=_data_of(name, roots), out="o") for name in studies.names()}
    # 000: one-hot DEX labels (no label distributions), VGG16 ImageNet, conv block 5
    best = full["000-best"]["main"]
    assert best.data.sigma is None and best.model.weights == "imagenet"
    assert best.pretrain.format == "imdb_wiki" and best.pretrain.loader == {"rules": "seed"}
    assert best.pretrain.batch_size == 512 and best.train.pretrain_schedule[0]["trainable"] == 8
    assert (best.data.detector, best.data.align, best.data.max_side) == ("cnn", True, 299)
    # 001: AGECNN as specified
    agecnn = full["001-agecnn-utk7"]["main"]
    assert (agecnn.data.image_size, agecnn.data.color, agecnn.model.base_filters, agecnn.model.hidden) == (
        224, "grayscale", 64, 132)
    assert (agecnn.train.optimizer, agecnn.train.learning_rate, agecnn.train.weight_decay,
            agecnn.train.weight_decay_mode, agecnn.train.label_smoothing) == ("nadam", 1e-4, 0.1, "l2", 0.001)
    assert agecnn.data.balance == "bins:utk7" and agecnn.train.monitor == "val_macro_f1"
    assert all(agecnn.data.augment[p] == 0.5 for p in ("p_affine", "p_brightness", "p_contrast", "p_blur"))
    trial = full["001-agecnn-utk4"]["trial-5-7"]
    assert trial.train.class_weight == "one_minus_frequency" and trial.data.balance is None
    # 002: CNN A, two branches from a 128 px input, MSE age weighted 1:500
    cnn_a = full["002-cnn-a"]["main"]
    assert (cnn_a.model.backbone, cnn_a.data.image_size, cnn_a.data.limit) == ("split_branch_cnn", 128, 5000)
    assert cnn_a.train.losses == {"age": "mse"} and cnn_a.train.loss_weights["gender"] == 500.0
    # 003: SGD with Keras 2's decay, shear, the study's random split, then 40 epochs on aligned crops
    levi = full["003-levi-hassner-random-split"]["main"]
    assert levi.train.lr_schedule == {"kind": "inverse_time", "decay_rate": 1e-5, "decay_steps": 1}
    assert levi.data.augment["shear"] == 0.2
    assert (levi.data.split, levi.data.train_size, levi.data.val, levi.data.test) == ("counts", 11000, 3500, 2500)
    assert levi.pretrain.detector == "none" and levi.train.pretrain_schedule[0]["epochs"] == 40
    assert (levi.data.detector, levi.data.align, levi.data.keep_undetected) == ("hog", True, True)
    assert levi.train.schedule[0]["epochs"] == 40
    assert full["003-levi-hassner-5fold"]["main"].data.split == "folds"
    # 004: MSE age and BCE gender weighted 1:50, Adam with an exponential decay, tuner
    two = full["004-two-branch"]["main"]
    assert two.train.losses == {"age": "mse"} and two.train.loss_weights == {"age": 1.0, "gender": 50.0}
    assert two.train.lr_schedule["kind"] == "exponential" and two.data.stratify is None
    search = full["004-keras-tuner"]["main"].search
    assert search.space["l2"] == {"min": 1e-5, "max": 1e-2, "log": True}
    assert search.space["age_filters"] == [32, 64, 128] and search.max_trials == 20


def test_reproductions_refuse_missing_or_foreign_data():
    with pytest.raises(FileNotFoundError, match="Expected --data chalearn:PATH"):
        experiments("000-best", "full")
    with pytest.raises(ValueError, match=r"formats 002-cnn-a uses, \['utkface'\]"):
        experiments("002-cnn-a", "smoke", data={"adience": "."})
    with pytest.raises(ValueError, match="scale to be one of"):
        experiments("002-cnn-a", "huge")


def _run(tmp_path, name, history, metrics, **experiment):
    run_dir = tmp_path / name
    run_dir.mkdir()
    pd.DataFrame(history).to_csv(run_dir / "history.csv", index=False)
    exp = Experiment.from_dict({"model": experiment, "train": {"run_dir": str(run_dir)}})
    return exp, {**metrics, "run_dir": str(run_dir), "data": {"loaded": 10, "kept": 8}}


def test_measures_are_read_from_each_runs_files(tmp_path):
    dex = _run(tmp_path, "a", {"expected_age_mae": [9.0, 7.0, 8.0], "val_expected_age_mae": [8.0, 6.0, 6.5]},
               {"mae": 6.25}, head="dex")
    regression = _run(tmp_path, "b", {"age_mae": [9.0, 8.0], "val_age_mae": [7.0, 7.5],
                                      "val_gender_accuracy": [0.6, 0.8]},
                      {"mae": 7.0, "gender_accuracy": 0.75}, head="regression", backbone="two_branch_cnn")
    value = metric_value
    assert value({"name": "age_mae", "split": "val", "reduce": "best"}, *dex) == 6.0
    assert value({"name": "age_mae", "split": "train", "reduce": "final"}, *dex) == 8.0
    assert value({"name": "age_mae", "split": "test", "reduce": "final"}, *dex) == 6.25
    assert value({"name": "age_mae", "split": "val", "reduce": "final"}, *regression) == 7.5
    assert value({"name": "gender_accuracy", "split": "val", "reduce": "best"}, *regression) == 0.8
    assert value({"name": "rows", "split": "train"}, *dex) == 8
    runs = {"x": dex, "y": regression}
    difference = {"metric": {"name": "difference", "of": "age_mae", "split": "val", "variants": ["y", "x"]}}
    assert measure(difference, runs)[0] == pytest.approx(1.0)  # 7.0 - 6.0
    best = {"metric": {"name": "best_variant", "of": "age_mae", "split": "val", "mode": "min",
                       "among": ["x", "y", "z"]}}
    assert measure(best, runs)[0] == "x" and "2 of 3 variants" in measure(best, runs)[1]
    with pytest.raises(NotRun, match=r"\['z'\] not run"):
        measure({"metric": {**difference["metric"], "variants": ["x", "z"]}}, runs)
    fold = _run(tmp_path, "c", {"val_expected_age_mae": [5.0, 7.0]}, {"mae": 4.0}, head="dex")
    folds = {"mae": 5.125, "folds": [dex[1], fold[1]]}
    mean = {"name": "age_mae", "split": "val", "reduce": "mean"}  # final val MAE of each fold
    assert value(mean, dex[0], folds) == pytest.approx((6.5 + 7.0) / 2)
    assert value({**mean, "split": "test"}, dex[0], folds) == 5.125  # run_folds' own mean


@pytest.mark.slow
@pytest.mark.parametrize("name", studies.names())
def test_every_reproduction_runs_at_smoke_scale_and_fills_its_table(name, tmp_path, capsys):
    """All smoke reproductions in one test process (about two minutes on two quiet cores)."""
    out = tmp_path / name
    if name == "001-agecnn-utk7":  # one through the command line
        assert main(["reproduce", name, "--scale", "smoke", "--out", str(out), "-q"]) == 0
        assert "val_macro_f1" in capsys.readouterr().out
    else:
        reproduce(name, "smoke", out=out)
    table = pd.read_csv(out / "table.csv", dtype=str, keep_default_na=False)
    assert tuple(table.columns) == COLUMNS and len(table) == len(studies.get(name)["reported"])
    assert (table["scale"] == "smoke").all() and table["data"].str.startswith("synthetic").all()
    filled = table["measured"] != ""
    assert filled.any(), name
    assert table.loc[~filled, "deviation"].str.contains("not measured at smoke scale").all()
    for text in table.loc[filled, "measured"]:
        try:
            assert math.isfinite(float(text))
        except ValueError:  # a variant's name or the search's chosen values
            assert text
    record = json.loads((out / "reproduction.json").read_text())
    assert record["rows"] == json.loads(table.to_json(orient="records"))
    figures = re.findall(r"\]\((figures/[^)]+)\)", (out / "table.md").read_text())
    assert figures and all((out / figure).is_file() for figure in figures)


def test_reproduce_list_names_every_reproduction(capsys):
    assert main(["reproduce", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == studies.names()


@pytest.mark.parametrize("args, message", [
    (["reproduce"], "Expected a reproduction name or --list"),
    (["reproduce", "999-nothing"], "Expected a reproduction name, one of"),
    (["reproduce", "002-cnn-a", "--data", "adience:."], "formats 002-cnn-a uses"),
    (["reproduce", "002-cnn-a", "--data", "utkface:/no/such/folder"], "Expected an existing dataset"),
    (["reproduce", "002-cnn-a", "--scale", "huge"], "invalid choice: 'huge'"),
])
def test_reproduce_bad_input_is_one_line_and_exit_status_2(args, message, capsys):
    usage = "huge" in args  # argparse's own usage error
    with pytest.raises(SystemExit) if usage else contextlib.nullcontext():
        assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
