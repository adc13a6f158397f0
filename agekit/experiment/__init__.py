"""A whole experiment as data: dataset -> face crops -> split -> train -> evaluate -> figures.

`Experiment` gathers three small frozen dataclasses (`DataConfig`, `ModelConfig`,
`TrainConfig`) that a TOML file maps onto one section each, so `agekit train
config.toml` and `run_experiment(Experiment.from_toml("config.toml"))` are the same run:

    [data]
    format = "utkface"                  # any agekit.datasets format
    root = "datasets/UTKFace"           # leave out for synthetic data made on the spot
    image_size = 64

    [model]
    backbone = "basic_cnn"              # or vgg16, resnet50, ... (build_model)
    head = "dex"
    outputs = { gender = 2 }

    [train]
    epochs = 20
    learning_rate = 1e-3
    run_dir = "runs/utkface"

Every value is checked when the configuration is made, and unknown keys are errors (a
typo never silently falls back on a default). Named, measured settings are presets of
this one runner (`agekit.experiment.presets`: the quickstart, the UTKFace recipe).

The studies' protocols are settings too: a split into fixed counts or by folds (the
mean over folds), face-preparation options, the optimizer's options, weight decay and
decay schedule, label smoothing, per-output losses, class weights, an optional
`[pretrain]` section of data trained on first, and an optional `[search]` section (a
Keras Tuner search over model settings); `agekit reproduce` runs the studies' tables
with them (`agekit.studies`).

- `config`: the validated dataclasses;
- `runner`: `load_data`, `split_data`, `build`, `run_experiment`;
- `protocols`: counts and fold splits, `run_folds`, `pretrain`, class weights;
- `search`: `SearchConfig` and `run_search`;
- `report`: `draw_figures`, `quickstart` and its `report.md`;
- `presets`: named experiments.
"""

from agekit.experiment.config import (
    CROPPED_FORMATS,
    DETECTORS,
    DataConfig,
    Experiment,
    ModelConfig,
    TrainConfig,
)
from agekit.experiment.presets import PRESETS, preset
from agekit.experiment.report import QUICKSTART, draw_figures, quickstart
from agekit.experiment.runner import (
    build,
    crop_geometry,
    load_data,
    run_experiment,
    split_data,
)
from agekit.experiment.search import SearchConfig

__all__ = [
    "CROPPED_FORMATS",
    "DETECTORS",
    "PRESETS",
    "QUICKSTART",
    "DataConfig",
    "Experiment",
    "ModelConfig",
    "SearchConfig",
    "TrainConfig",
    "build",
    "crop_geometry",
    "draw_figures",
    "load_data",
    "preset",
    "quickstart",
    "run_experiment",
    "split_data",
]
