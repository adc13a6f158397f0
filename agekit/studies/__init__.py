"""The five studies' result tables as reproductions: plain data for a runner to execute.

`REPRODUCTIONS` maps a short name (`"001-agecnn-utk7"`) to one entry per result table of
the studies in `../shared/studies/` (see `STUDIES`). Nothing here trains: an entry says
what the study reported, on which data, and how to train and measure at three scales:

- `smoke`: seconds, synthetic data, tiny inputs (CI runs every smoke entry in one
  process in about two minutes);
- `cpu`: at most 30 minutes on two CPU cores, on the real UTKFace chips where the
  study used UTKFace, on synthetic stand-ins where its data is absent (ChaLearn,
  IMDb-WIKI and Adience images are not on the development machines);
- `full`: the study's own settings, for a GPU and the real data.

An entry (all values are str, numbers, bools, None, lists and dicts):

    name          the key, "<study>-<what>"
    study         "000" .. "004"
    table         where in the study the result is (section, table or figure)
    title         one line
    reported      measure name -> {value, quote, where, metric, comparable[, note]}:
                  value is the study's number (or its words where it gives none),
                  quote the exact sentence or table row it comes from and where the
                  line number in the study text; metric says how the runner measures
                  it (see below); comparable is False when the protocol differs
    data          the study's data: {study, format, real, synthetic, ...}
    variants      None, or variant name -> {label, overrides}: the rows of a
                  comparison table; overrides are merged into a scale's settings
                  (dicts recursively, other values replaced)
    scales        {"smoke": settings, "cpu": settings, "full": settings}
    notes         what the study does that the settings cannot say

Settings of one scale:

    data          {source: "real" | "synthetic", format, n (synthetic rows), limit
                  (random real rows), image_size (synthetic images' side)}; entries
                  with pre-training also have pretrain_data, the same shape
    prepare       None, or face crops before training: {detector, margin, align,
                  upsample} (agekit.faces.prepare_dataset)
    split         {kind: "given"} (the dataset's own splits), {kind: "fraction", val,
                  test, stratify, groups} (agekit.datasets.split), {kind: "counts",
                  train, val, test} (split_counts) or {kind: "adience_folds"[, folds]}
                  (folds: which folds run, default all)
    model         {network, head, weights, input_size, color, outputs, options}:
                  network is a build_model backbone ("vgg16", "resnet50",
                  "inception_v3") or a from-scratch network ("basic_cnn",
                  "levi_hassner_cnn", "two_branch_cnn", "split_branch_cnn");
                  options are the builder's other keyword arguments
    preprocess    the input scaling the study used ("vgg16", "caffe", "tf", "0-1")
    target        make_dataset's target (a head name or a dict per output)
    labels        {sigma, clip_ages}: make_dataset's label options (sigma None:
                  one-hot DEX labels)
    optimizer     agekit.models.make_optimizer keyword arguments ({name,
                  learning_rate, schedule, weight_decay, weight_decay_mode, ...})
    compile       more compile_model keyword arguments (loss_weights, losses,
                  label_smoothing)
    train         {epochs, batch_size, patience, monitor, stages}: stages is None or
                  a list of {trainable, learning_rate, epochs_share, data,
                  fresh_optimizer}; a stage's epochs are epochs_share * epochs
                  (at least 1); data names the dataset it trains on ("main",
                  "pretrain", "crops")
    augment       None or agekit.data.Augment keyword arguments
    augment_eval  the study also augmented its validation / test images (agekit
                  never does; the deviation says so)
    sampling      None or make_dataset's balance (weighted sampling)
    variants      which variants run at this scale (None: all)
    minutes       the time budget of the scale on two CPU cores (full: None)
    deviations    what differs from the study at this scale, and why

A reported measure's metric:

    {"name": "age_mae" | "age_accuracy" | "age_macro_f1" | "gender_accuracy" | ...,
     "split": "train" | "val" | "test", "reduce": "best" | "final" | "mean",
     "variant": name or absent}
    {"name": "difference", "of": metric name, "split", "variants": [a, b]}: a - b
    {"name": "best_variant", "of": metric name, "split", "among": [...], "mode": "min" | "max"}

`reduce`: "best" is the best epoch on that split (what the studies plotted and quoted),
"final" the last epoch, "mean" the mean over folds.

`agekit.studies.run.reproduce(name, scale)` (the command `agekit reproduce`) turns an
entry into `agekit.experiment.Experiment`s, runs them with the one runner and writes the
study's table beside the measured numbers (`agekit.studies.table`).

Example:
    >>> from agekit import studies
    >>> studies.names()[:2]
    ['000-best', '000-crop-align']
    >>> studies.settings("001-agecnn-utk7", "full")["optimizer"]["name"]
    'nadam'
"""

import copy

from agekit._validation import fail
from agekit.studies._common import merge
from agekit.studies._schema import SCALES, check_entry
from agekit.studies.study000 import ENTRIES as _E000
from agekit.studies.study001 import ENTRIES as _E001
from agekit.studies.study002 import ENTRIES as _E002
from agekit.studies.study003 import ENTRIES as _E003
from agekit.studies.study004 import ENTRIES as _E004

# Study id -> its text in ../shared/studies and what it is.
STUDIES = {
    "000": ("000_33446d93043d4bdb.txt",
            ("perceived age on ChaLearn LAP with VGG16 transfer learning and IMDb-WIKI "
             "pre-training (Keras)")),
    "001": ("001_b9cf573ca0c73515.txt",
            "age bins, gender and ethnicity on UTKFace, AGECNN (PyTorch)"),
    "002": ("002_8fcf1f89c0b2a3af.txt",
            ("age regression + gender on a 5k UTKFace subset: CNN A from scratch and "
             "InceptionV3 (Keras)")),
    "003": ("003_7b0e960374d4ee15.txt",
            "Adience 8 age groups with the Levi & Hassner CNN (Keras)"),
    "004": ("004_504d7cdb3aa9a2e4.txt",
            ("age regression + gender on a UTKFace subset: two-branch CNN, ResNet50, "
             "keras.tuner (Keras)")),
}

REPRODUCTIONS = {entry["name"]: entry for entry in (*_E000, *_E001, *_E002, *_E003, *_E004)}


def names():
    """The reproductions' names, sorted (study first)."""
    return sorted(REPRODUCTIONS)


def get(name):
    """A deep copy of the entry `name` (see the module docstring)."""
    if name not in REPRODUCTIONS:
        fail(f"a reproduction name, one of {names()}", "name", name)
    return copy.deepcopy(REPRODUCTIONS[name])


def settings(name, scale="smoke", variant=None):
    """The settings of `name` at `scale`, with `variant`'s overrides merged in.

    Example:
        >>> settings("000-heads-freeze", "cpu", "regression-last8")["model"]["head"]
        'regression'
    """
    entry = get(name)
    if scale not in SCALES:
        fail(f"scale to be one of {SCALES}", "scale", scale)
    result = entry["scales"][scale]
    if variant is None:
        return result
    if not entry["variants"] or variant not in entry["variants"]:
        fail(f"a variant of {name}, one of {sorted(entry['variants'] or [])}", "variant", variant)
    return merge(result, entry["variants"][variant]["overrides"])


def variants_at(name, scale):
    """The variants `name` runs at `scale` (empty for an entry without variants)."""
    entry = get(name)
    if not entry["variants"]:
        return []
    chosen = entry["scales"][scale]["variants"]
    return list(entry["variants"]) if chosen is None else list(chosen)


def listing():
    """One line per reproduction: its name, the study and the table (`reproduce --list`)."""
    width = max(len(name) for name in REPRODUCTIONS)
    return [f"{name:<{width}}  study {REPRODUCTIONS[name]['study']}  "
            f"{REPRODUCTIONS[name]['table']}" for name in names()]


for _entry in REPRODUCTIONS.values():
    check_entry(_entry)

__all__ = ["REPRODUCTIONS", "SCALES", "STUDIES", "get", "listing", "merge", "names", "settings",
           "variants_at"]
