"""The runner's study options: validated settings, counts / folds splits, class weights,
stages that keep the experiment's optimizer and losses, pre-training, the search section."""

import numpy as np
import pandas as pd
import pytest

from agekit.experiment import DataConfig, Experiment, ModelConfig, TrainConfig
from agekit.experiment.protocols import (
    class_weights_of,
    head_scores,
    mean_scores,
    split_protocol,
)
from agekit.experiment.runner import compile_options
from agekit.experiment.search import with_values

STAGE = [{"trainable": "all", "learning_rate": 1e-3, "epochs": 1}]


def test_new_settings_default_to_todays_behaviour():
    data, train = DataConfig(), TrainConfig()
    assert (data.split, data.stratify, data.upsample, data.max_side, data.keep_undetected,
            data.synthetic_size, data.loader) == ("random", "age", 1, None, False, 64, {})
    assert compile_options(train) == {
        "optimizer": "adam", "schedule": None, "weight_decay": None, "weight_decay_mode": "decoupled",
        "optimizer_options": None, "loss_weights": None, "losses": None, "label_smoothing": 0.0}
    assert Experiment().pretrain is None and Experiment().search is None


@pytest.mark.parametrize("sections, message", [
    ({"data": {"split": "counts", "val": 0.1, "test": 2}}, r"\[data\] val=0.1"),
    ({"data": {"train_size": 5}}, "train_size only with split='counts'"),
    ({"data": {"fold": 1}}, "fold only with split='folds'"),
    ({"data": {"upsample": -1}}, r"\[data\] upsample=-1"),
    ({"data": {"loader": "seed"}}, r"\[data\] loader"),
    ({"train": {"lr_schedule": {"kind": "step", "decay_rate": 0.5}}}, r"lr_schedule.kind='step'"),
    ({"train": {"lr_schedule": {"kind": "exponential", "decay_rate": 0}}}, r"lr_schedule.decay_rate=0"),
    ({"train": {"lr_schedule": {"kind": "exponential", "decay_rate": 0.9, "steps": 2}}},
     "lr_schedule keys"),
    ({"train": {"optimizer_options": {"weight_decay": 0.1}}}, "settings of their own fields"),
    ({"train": {"optimizer": "adamw", "weight_decay": 0.1, "weight_decay_mode": "l2"}},
     "decoupled' for adamw"),
    ({"train": {"weight_decay_mode": "coupled"}}, r"weight_decay_mode='coupled'"),
    ({"train": {"label_smoothing": 1.5}}, r"label_smoothing=1.5"),
    ({"train": {"label_smoothing": {"age": -0.1}}}, r"label_smoothing.age=-0.1"),
    ({"train": {"losses": {"age": 3}}}, r"losses.age"),
    ({"train": {"class_weight": "inverse"}}, r"class_weight='inverse'"),
    ({"train": {"class_weight": {"young": 2.0}}}, "class indices"),
    ({"model": {"head": "regression"}, "train": {"class_weight": "balanced"}},
     "single-output model with a 'dex' or 'bins"),
    ({"model": {"outputs": {"gender": 2}}, "train": {"class_weight": "balanced"}},
     "single-output model"),
    ({"pretrain": {"format": "imdb_wiki"}}, "pretrain_schedule together"),
    ({"train": {"pretrain_schedule": STAGE}}, "pretrain_schedule together"),
    ({"pretrain": {"image_size": 32}, "train": {"pretrain_schedule": STAGE}},
     r"\[pretrain\] image_size equal to \[data\] image_size"),
    ({"pretrain": {"split": "folds"}, "train": {"pretrain_schedule": STAGE}}, "the same test fold"),
    ({"search": {"space": {}}}, "at least one setting"),
    ({"search": {"space": {"head": ["dex", "coral"]}}}, "settings other than"),
    ({"search": {"space": {"dropout": {"min": 0.5, "max": 0.1}}}}, "min < max"),
    ({"search": {"space": {"l2": {"min": 0, "max": 0.1, "log": True}}}}, "min > 0 on a log scale"),
    ({"search": {"space": {"dropout": []}}}, "a list of choices"),
    ({"search": {"space": {"dropout": [0.1]}, "tuner": "grid"}}, r"\[search\] tuner='grid'"),
    ({"sections": {}}, "sections among"),
])
def test_study_settings_are_checked_when_read(sections, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Experiment.from_dict(sections)


def test_names_match_the_library():
    from agekit.experiment import config
    from agekit.models import optimizers
    from agekit.tuning import TUNERS

    assert set(config.SCHEDULE_KINDS) == set(optimizers.SCHEDULES)
    assert set(config.WEIGHT_DECAY_MODES) == set(optimizers.WEIGHT_DECAY_MODES)
    assert set(config.OPTIMIZERS) == set(optimizers.OPTIMIZERS)
    from agekit.experiment.search import TUNERS as SEARCH_TUNERS

    assert set(SEARCH_TUNERS) == set(TUNERS)


def test_optional_sections_read_from_toml_and_replace(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text(
        '[data]\nformat = "chalearn"\nsplit = "given"\n'
        '[pretrain]\nformat = "imdb_wiki"\nloader = { rules = "seed" }\nbatch_size = 128\n'
        '[train]\npretrain_schedule = [{ trainable = 8, learning_rate = 1e-4, epochs = 2 }]\n'
        'lr_schedule = { kind = "inverse_time", decay_rate = 1e-5 }\nclass_weight = { 0 = 2.0 }\n'
        '[search]\nspace = { dropout = { min = 0.1, max = 0.5 }, l2 = [1e-4, 1e-3] }\n')
    exp = Experiment.from_toml(path)
    assert exp.pretrain.loader == {"rules": "seed"} and exp.pretrain.batch_size == 128
    assert exp.search.space["l2"] == [1e-4, 1e-3] and exp.search.tuner == "random"
    assert exp.replace(pretrain=None, train={"pretrain_schedule": None}).pretrain is None
    assert Experiment().replace(search={"space": {"hidden": [8, 16]}}).search.max_trials == 10
    exp = with_values(exp, {"dropout": 0.25, "l2": 1e-3, "learning_rate": 0.01})
    assert (exp.model.dropout, exp.model.options, exp.train.learning_rate, exp.search) == (
        0.25, {"l2": 1e-3}, 0.01, None)


def test_split_by_counts_and_by_folds():
    df = pd.DataFrame({"path": [f"{i}.jpg" for i in range(40)], "age": np.arange(40) % 30,
                       "fold": np.arange(40) % 4, "subject": np.arange(40) // 2})
    train, val, test = split_protocol(df, DataConfig(split="counts", train_size=20, val=8, test=5))
    assert (len(train), len(val), len(test)) == (20, 8, 5)
    assert not set(train.index) & set(val.index) and not set(val.index) & set(test.index)
    train, val, test = split_protocol(df, DataConfig(split="counts", val=8, test=0))
    assert (len(train), len(val), len(test)) == (32, 8, 0)
    train, val, test = split_protocol(df, DataConfig(split="folds", fold=2, val=0.25))
    assert set(test.index) == set(df.index[df["fold"] == 2]) and (train["fold"] != 2).all()
    assert not set(train["subject"]) & set(val["subject"]) and len(train) + len(val) == 30
    with pytest.raises(ValueError, match=r"fold one of \[0, 1, 2, 3\]"):
        split_protocol(df, DataConfig(split="folds", fold=7))
    with pytest.raises(ValueError, match="`fold` column"):
        split_protocol(df.drop(columns="fold"), DataConfig(split="folds", fold=0))


def test_class_weights_of_the_age_heads_classes():
    train = pd.DataFrame({"age": [1, 1, 1, 30]})  # utk4: bins 0 (x3) and 2 (x1)
    bins = ModelConfig(head="bins:utk4")
    assert class_weights_of(train, bins, TrainConfig()) is None
    assert class_weights_of(train, bins, TrainConfig(class_weight="one_minus_frequency")) == {
        0: 0.25, 1: 1.0, 2: 0.75, 3: 1.0}
    # scikit-learn's balanced: 4 / (2 classes * 3) and 4 / (2 * 1)
    assert class_weights_of(train, bins, TrainConfig(class_weight="balanced")) == {
        0: 4 / 6, 1: 1.0, 2: 2.0, 3: 1.0}
    assert class_weights_of(train, bins, TrainConfig(class_weight={"3": 5.0}))[3] == 5.0
    dex = class_weights_of(train, ModelConfig(head="dex"), TrainConfig(class_weight="balanced"))
    assert len(dex) == 101 and (dex[1], dex[30], dex[50]) == (4 / 6, 2.0, 1.0)
    with pytest.raises(ValueError, match="class indices below 4"):
        class_weights_of(train, bins, TrainConfig(class_weight={"9": 1.0}))


def test_head_scores_over_the_heads_own_bins_and_mean_over_folds():
    # adience centres: 1 (0-2), 5 (4-6), 10 (8-12); two of three right
    table = pd.DataFrame({"age": [1.0, 5.0, 10.0], "pred_age": [1.0, 5.0, 5.0]})
    scores = head_scores(table, ModelConfig(head="bins:adience"))
    assert scores["adience_accuracy"] == pytest.approx(2 / 3)
    assert head_scores(table, ModelConfig(head="bins:utk7")) == {}
    assert head_scores(table, ModelConfig(head="dex")) == {}
    assert mean_scores([{"mae": 4.0, "evaluated_on": "test", "data": {"n": 1}},
                        {"mae": 6.0, "evaluated_on": "test", "data": {"n": 3}}]) == {"mae": 5.0}


@pytest.mark.backend_agnostic
def test_build_compiles_the_train_sections_optimizer_and_losses():
    from agekit.experiment.runner import build

    data = DataConfig(image_size=32, color="grayscale")
    model = build(ModelConfig(layers=2, base_filters=4, hidden=8, head="bins:utk7"), data,
                  TrainConfig(optimizer="nadam", learning_rate=1e-4, weight_decay=0.1,
                              weight_decay_mode="l2", optimizer_options={"epsilon": 1e-8},
                              label_smoothing=0.001))
    assert type(model.optimizer).__name__ == "NadamL2" and model.optimizer.l2 == 0.1
    assert model.optimizer.epsilon == 1e-8 and model.input_shape == (None, 32, 32, 3)
    assert model.loss.label_smoothing == 0.001
    model = build(ModelConfig(backbone="split_branch_cnn", head="regression",
                              options={"filters": [4], "dense_units": [4]}), DataConfig(image_size=16),
                  TrainConfig(optimizer="sgd", lr_schedule={"kind": "inverse_time", "decay_rate": 0.5},
                              losses={"age": "mse"}, loss_weights={"gender": 500.0}))
    assert sorted(model.output_names) == ["age", "gender"] and model.loss["age"] == "mse"
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)  # step 0 of the decay
    cosine = build(ModelConfig(layers=2, base_filters=4, hidden=8), DataConfig(image_size=16),
                   TrainConfig(lr_schedule="cosine", epochs=3), steps_per_epoch=5)
    assert type(cosine.optimizer.learning_rate).__name__ != "float"


def test_every_stage_compiles_with_the_experiments_optimizer(tmp_path):
    from agekit.models import basic_cnn
    from agekit.training import FineTune, Stage, fit

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (16, 16, 16, 3)).astype("float32")
    y = rng.integers(0, 7, 16)
    model = basic_cnn(layers=1, base_filters=2, hidden=4, input_shape=(16, 16, 3), head="bins:utk7")
    schedule = FineTune((Stage("all", 1e-3, 1), Stage("head", 1e-4, 1)))
    options = {"optimizer": "sgd", "optimizer_options": {"momentum": 0.5}, "label_smoothing": 0.1}
    model, history = fit(model, (x, y), (x, y), run_dir=tmp_path / "run", schedule=schedule,
                         compile_options=options, verbose=0)
    assert type(model.optimizer).__name__ == "SGD" and model.optimizer.momentum == 0.5
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-4) and len(history) == 2
    assert model.loss.label_smoothing == 0.1
    with pytest.raises(ValueError, match="other schedule"):  # the optimizer is part of the run
        fit(model, (x, y), (x, y), run_dir=tmp_path / "run", schedule=schedule, verbose=0,
            compile_options={**options, "optimizer": "adam"})
