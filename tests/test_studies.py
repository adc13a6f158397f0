"""agekit.studies: the catalogue of reproductions is well formed, quotes the studies
verbatim, and every setting is something agekit can execute today."""

import copy
import inspect
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agekit import studies
from agekit.studies._schema import (
    CPU_MINUTES,
    NETWORKS,
    OPTIMIZERS,
    SCALES,
    check_entry,
)

STUDY_TEXTS = Path(__file__).resolve().parents[1].parent / "shared" / "studies"

# What issue 16 asks for, each named by one entry at least.
ASKED = {
    "000 head and freeze comparison": "000-heads-freeze",
    "000 IMDb-WIKI pre-training gain": "000-imdb-pretrain",
    "000 crop-margin x alignment table": "000-crop-align",
    "001 AGECNN on utk7": "001-agecnn-utk7",
    "001 AGECNN on utk4": "001-agecnn-utk4",
    "002 CNN A": "002-cnn-a",
    "002 InceptionV3 multi-task": "002-inceptionv3",
    "003 Levi-Hassner, random split": "003-levi-hassner-random-split",
    "003 Levi-Hassner, 5-fold protocol": "003-levi-hassner-5fold",
    "004 two-branch CNN on its 5k subset": "004-two-branch",
    "004 Keras Tuner search": "004-keras-tuner",
}


def every_settings():
    """(name, scale, variant, settings) for every scale and each variant run there."""
    for name in studies.names():
        for scale in SCALES:
            yield name, scale, None, studies.settings(name, scale)
            for variant in studies.variants_at(name, scale):
                yield name, scale, variant, studies.settings(name, scale, variant)


def test_catalogue_names_every_reproduction_the_issue_asks_for():
    assert len(studies.REPRODUCTIONS) >= 10
    assert set(ASKED.values()) <= set(studies.names())
    lines = studies.listing()
    assert len(lines) == len(studies.names())
    for line, name in zip(lines, studies.names()):
        entry = studies.get(name)
        assert line.split()[0] == name and f"study {entry['study']}" in line
        assert entry["table"] in line
    assert {e["study"] for e in studies.REPRODUCTIONS.values()} == set(studies.STUDIES)


def test_every_entry_is_well_formed_and_budgets_fit():
    smoke_minutes = 0.0
    for name in studies.names():
        entry = check_entry(studies.get(name))
        scales = entry["scales"]
        assert scales["cpu"]["minutes"] <= CPU_MINUTES
        smoke_minutes += scales["smoke"]["minutes"]
        for measure, item in entry["reported"].items():
            assert item["quote"].strip(), (name, measure)
    assert smoke_minutes <= 2.5  # all smoke runs together: about two minutes


def _collapse(text):
    return re.sub(r"\s+", " ", text).strip()


def test_quotes_are_verbatim_from_the_study_texts():
    if not STUDY_TEXTS.is_dir():
        pytest.skip(f"study texts not found at {STUDY_TEXTS}")
    for name in studies.names():
        entry = studies.get(name)
        path = STUDY_TEXTS / studies.STUDIES[entry["study"]][0]
        lines = path.read_text(encoding="utf-8").splitlines()
        for measure, item in entry["reported"].items():
            number = int(re.match(r"line (\d+)", item["where"]).group(1))
            assert _collapse(item["quote"]) in _collapse(lines[number - 1]), (name, measure)


def test_transfer_models_use_imagenet_only_at_full_scale():
    for name, scale, _, s in every_settings():
        if s["model"]["network"] in ("vgg16", "resnet50", "inception_v3"):
            assert (s["model"]["weights"] == "imagenet") == (scale == "full"), (name, scale)
            if scale != "full":
                assert "random weights" in s["deviations"], (name, scale)
        if s["data"]["source"] == "synthetic":
            assert "ynthetic" in s["deviations"], (name, scale)


def test_every_setting_is_executable_by_agekit():
    from agekit.data import Augment
    from agekit.data.targets import TARGETS
    from agekit.datasets import split, split_counts
    from agekit.faces.crop import MARGINS
    from agekit.labels import get_bins
    from agekit.models import (
        OPTIMIZERS as MODEL_OPTIMIZERS,
    )
    from agekit.models import (
        basic_cnn,
        build_model,
        compile_model,
        levi_hassner_cnn,
        make_optimizer,
        parse_head,
        split_branch_cnn,
        two_branch_cnn,
    )

    assert set(OPTIMIZERS) == set(MODEL_OPTIMIZERS)
    builders = {"basic_cnn": basic_cnn, "levi_hassner_cnn": levi_hassner_cnn,
                "two_branch_cnn": two_branch_cnn, "split_branch_cnn": split_branch_cnn}
    assert set(NETWORKS) == set(builders) | {"vgg16", "resnet50", "inception_v3"}
    compile_options = set(inspect.signature(compile_model).parameters)
    split_options = {"fraction": set(inspect.signature(split).parameters),
                     "counts": set(inspect.signature(split_counts).parameters)}
    for name, scale, variant, s in every_settings():
        where = (name, scale, variant)
        if s["augment"] is not None:
            Augment(**s["augment"])
        optimizer = dict(s["optimizer"])
        make_optimizer(optimizer.pop("name"), **optimizer)
        assert set(s["compile"]) <= compile_options, where
        model = s["model"]
        parse_head(model["head"])
        builder = builders.get(model["network"], build_model)
        assert set(model["options"]) <= set(inspect.signature(builder).parameters), where
        targets = s["target"].values() if isinstance(s["target"], dict) else [s["target"]]
        for target in targets:
            kind, _, scheme = target.partition(":")
            assert kind in TARGETS, where
            if scheme:
                get_bins(scheme)
        if s["sampling"] is not None:
            get_bins(s["sampling"].partition(":")[2])
        if s["prepare"] is not None:
            assert s["prepare"]["margin"] in MARGINS and s["prepare"]["detector"] in ("hog",
                                                                                      "cnn"), where
        kind = s["split"]["kind"]
        if kind in split_options:
            assert set(s["split"]) - {"kind"} <= split_options[kind], where
        for stage in s["train"]["stages"] or []:
            assert stage.get("data", "main") in ("main", "pretrain", "raw"), where
            assert stage.get("data") != "pretrain" or "pretrain_data" in s, where


@pytest.mark.parametrize("name", ["001-agecnn-utk7", "002-cnn-a", "003-levi-hassner-random-split",
                                  "004-two-branch"])
def test_smoke_scratch_networks_build_and_compile(name):
    from agekit.models import compile_model, make_optimizer, scratch

    s = studies.settings(name, "smoke")
    model = s["model"]
    channels = 1 if model["color"] == "grayscale" else 3
    builder = getattr(scratch, model["network"])
    kwargs = {"input_shape": (model["input_size"], model["input_size"], channels),
              "head": model["head"], **model["options"]}
    if model["outputs"] and model["network"] == "basic_cnn":
        kwargs["outputs"] = model["outputs"]
    net = builder(**kwargs)
    optimizer = dict(s["optimizer"])
    compile_model(net, optimizer=make_optimizer(optimizer.pop("name"), **optimizer),
                  **s["compile"])
    assert net.count_params() > 0


def test_study_000_trains_on_one_hot_dex_labels_not_gaussians(tmp_path):
    """ChaLearn rows carry each image's rater std: sigma='auto' (make_dataset's default)
    would turn the study's one-hot labels into Gaussians."""
    from agekit.data.targets import encode_targets
    from agekit.datasets import load_chalearn, make_synthetic

    df = load_chalearn(make_synthetic(tmp_path, 20, format="chalearn"), "train")
    assert "age_std" in df.columns
    for name in ("000-heads-freeze", "000-imdb-pretrain", "000-crop-align", "000-best"):
        for scale in SCALES:
            s = studies.settings(name, scale)
            assert s["labels"]["sigma"] is None, (name, scale)
            y = encode_targets(df, "dex", sigma=s["labels"]["sigma"]).y
            np.testing.assert_array_equal(np.sort(y, axis=1)[:, -1], 1.0)
            assert (y > 0).sum(axis=1).max() == 1
    soft = encode_targets(df, "dex", sigma="auto").y
    assert (soft > 0.01).sum(axis=1).min() > 1


def test_settings_merge_variants_and_refuse_unknown_names():
    s = studies.settings("000-heads-freeze", "cpu", "regression-last8")
    assert s["model"]["head"] == "regression" and s["target"] == "regression"
    assert s["train"]["stages"] == [{"trainable": 8, "learning_rate": 1e-3, "epochs_share": 1.0}]
    assert studies.settings("000-heads-freeze", "cpu")["model"]["head"] == "dex"  # not mutated
    assert studies.variants_at("001-agecnn-utk7", "cpu") == []
    assert studies.variants_at("000-crop-align", "smoke") == ["dex-tight"]
    with pytest.raises(ValueError, match="a reproduction name"):
        studies.get("000-nothing")
    with pytest.raises(ValueError, match="scale to be one of"):
        studies.settings("002-cnn-a", "gpu")
    with pytest.raises(ValueError, match="a variant of 000-crop-align"):
        studies.settings("000-crop-align", "cpu", "dex-medium")


def test_check_entry_names_what_is_wrong():
    good = studies.get("004-two-branch")
    check_entry(good)
    bad = copy.deepcopy(good)
    bad["scales"]["cpu"]["deviations"] = " "
    with pytest.raises(ValueError, match=r"deviations text.*scales\.cpu\.deviations"):
        check_entry(bad)
    bad = copy.deepcopy(studies.get("004-resnet50"))
    bad["scales"]["cpu"]["model"]["weights"] = "imagenet"
    with pytest.raises(ValueError, match="ImageNet weights at full scale"):
        check_entry(bad)
    bad = copy.deepcopy(good)
    bad["scales"]["cpu"]["minutes"] = 45
    with pytest.raises(ValueError, match=r"minutes in \(0, 30\]"):
        check_entry(bad)
    bad = copy.deepcopy(good)
    bad["reported"]["val_age_mae"]["metric"]["variant"] = "nope"
    with pytest.raises(ValueError, match="variants of 004-two-branch"):
        check_entry(bad)
    bad = copy.deepcopy(good)
    bad["scales"]["smoke"]["data"]["source"] = "real"
    with pytest.raises(ValueError, match="synthetic data at smoke scale"):
        check_entry(bad)


def test_studies_is_plain_data_without_tensorflow():
    code = ("import sys, json, agekit.studies as s; json.dumps(s.REPRODUCTIONS); "
            "print(any(m in sys.modules for m in ('tensorflow', 'keras', 'cv2')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert isinstance(pd.DataFrame([{"name": n} for n in studies.names()]), pd.DataFrame)
