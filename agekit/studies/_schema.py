"""The shape of a reproduction entry (documented in `agekit.studies`), checked on import.

Kept free of TensorFlow and Keras: names of networks, optimizers and formats are listed
here; the tests check them against the modules that implement them.
"""

import re

from agekit._validation import fail
from agekit.studies._common import merge

SCALES = ("smoke", "cpu", "full")
STUDY_IDS = ("000", "001", "002", "003", "004")
ENTRY_KEYS = {"name", "study", "table", "title", "reported", "data", "variants", "scales",
              "notes"}
SETTINGS_KEYS = {"data", "prepare", "split", "model", "preprocess", "target", "labels",
                 "optimizer", "compile", "train", "augment", "augment_eval", "sampling",
                 "variants", "minutes", "deviations"}
OPTIONAL_SETTINGS_KEYS = {"pretrain_data", "search", "class_weight"}
NETWORKS = ("vgg16", "resnet50", "inception_v3", "basic_cnn", "levi_hassner_cnn",
            "two_branch_cnn", "split_branch_cnn")
TRANSFER = ("vgg16", "resnet50", "inception_v3")
OPTIMIZERS = ("adam", "adamw", "nadam", "sgd", "rmsprop")
FORMATS = ("utkface", "imdb_wiki", "chalearn", "appa_real", "adience", "fgnet", "folders")
SPLITS = ("given", "fraction", "counts", "adience_folds")
METRICS = ("age_mae", "age_accuracy", "age_macro_f1", "gender_accuracy", "rows", "difference",
           "best_variant", "chosen")
SPLIT_NAMES = ("train", "val", "test")
CPU_MINUTES = 30
SMOKE_MINUTES = 0.5  # each; all smoke entries together about two minutes


def _need(condition, expected, name, value):
    if not condition:
        fail(expected, name, value)


def _check_metric(entry, measure, metric):
    where = f"{entry['name']}.reported.{measure}.metric"
    _need(isinstance(metric, dict) and metric.get("name") in METRICS,
          f"a metric dict with name one of {METRICS}", where, metric)
    _need(metric.get("split") in SPLIT_NAMES, f"metric split one of {SPLIT_NAMES}",
          f"{where}.split", metric.get("split"))
    named = [metric["variant"]] if "variant" in metric else []
    named += metric.get("variants", []) + metric.get("among", [])
    known = entry["variants"] or {}
    for name in named:
        _need(name in known, f"variants of {entry['name']}: {sorted(known)}", where, name)


def _check_settings(entry, scale, s, variant=None):
    where = f"{entry['name']}.scales.{scale}" + (f".{variant}" if variant else "")
    _need(isinstance(s, dict), "a settings dict", where, type(s).__name__)
    missing = SETTINGS_KEYS - set(s)
    unknown = set(s) - SETTINGS_KEYS - OPTIONAL_SETTINGS_KEYS
    _need(not missing and not unknown, f"exactly the settings keys {sorted(SETTINGS_KEYS)}",
          where, sorted(missing | unknown))
    for key in ("data", *(("pretrain_data",) if "pretrain_data" in s else ())):
        data = s[key]
        _need(data.get("source") in ("real", "synthetic") and data.get("format") in FORMATS,
              f"{key} with source real|synthetic and a format of {FORMATS}", f"{where}.{key}",
              data)
    _need(scale != "smoke" or s["data"]["source"] == "synthetic",
          "synthetic data at smoke scale", f"{where}.data.source", s["data"]["source"])
    _need(s["split"].get("kind") in SPLITS, f"split kind one of {SPLITS}", f"{where}.split",
          s["split"])
    model = s["model"]
    _need(model.get("network") in NETWORKS, f"model network one of {NETWORKS}",
          f"{where}.model.network", model.get("network"))
    _need(isinstance(model.get("input_size"), int) and model["input_size"] >= 16,
          "model input_size an int >= 16", f"{where}.model.input_size", model.get("input_size"))
    _need(model.get("color") in ("rgb", "grayscale"), "model color rgb|grayscale",
          f"{where}.model.color", model.get("color"))
    if model["network"] in TRANSFER:
        wanted = "imagenet" if scale == "full" else None
        _need(model.get("weights") == wanted,
              "ImageNet weights at full scale and random weights (None) below: nothing is "
              "downloaded at smoke / cpu scale", f"{where}.model.weights", model.get("weights"))
    _need(s["optimizer"].get("name") in OPTIMIZERS, f"optimizer name one of {OPTIMIZERS}",
          f"{where}.optimizer.name", s["optimizer"].get("name"))
    train = s["train"]
    _need(isinstance(train.get("epochs"), int) and train["epochs"] >= 1
          and isinstance(train.get("batch_size"), int) and train["batch_size"] >= 1,
          "train with whole epochs and batch_size >= 1", f"{where}.train", train)
    for stage in train.get("stages") or []:
        _need(0 < stage.get("epochs_share", 0) <= 1, "stages with 0 < epochs_share <= 1",
              f"{where}.train.stages", stage)
    chosen = s["variants"]
    _need(chosen is None or (entry["variants"] and set(chosen) <= set(entry["variants"])),
          "None or a list of the entry's variants", f"{where}.variants", chosen)
    budget = {"smoke": SMOKE_MINUTES, "cpu": CPU_MINUTES}.get(scale)
    if budget is None:
        _need(s["minutes"] is None, "minutes None at full scale", f"{where}.minutes",
              s["minutes"])
    else:
        _need(isinstance(s["minutes"], (int, float)) and 0 < s["minutes"] <= budget,
              f"minutes in (0, {budget}]", f"{where}.minutes", s["minutes"])
    _need(isinstance(s["deviations"], str) and (scale == "full" or s["deviations"].strip()),
          "a deviations text (what differs from the study and why)", f"{where}.deviations",
          s["deviations"])


def check_entry(entry):
    """Raise a ValueError naming the first thing wrong with a reproduction entry."""
    _need(isinstance(entry, dict) and set(entry) == ENTRY_KEYS,
          f"an entry dict with the keys {sorted(ENTRY_KEYS)}", "entry",
          sorted(entry) if isinstance(entry, dict) else type(entry).__name__)
    name = entry["name"]
    _need(isinstance(name, str) and re.fullmatch(r"00[0-4]-[a-z0-9]+(-[a-z0-9]+)*", name)
          and name.startswith(entry["study"]), "a name '<study>-<words>'", "name", name)
    _need(entry["study"] in STUDY_IDS, f"study one of {STUDY_IDS}", f"{name}.study",
          entry["study"])
    for key in ("table", "title", "notes"):
        _need(isinstance(entry[key], str) and entry[key].strip(), f"{key} text", f"{name}.{key}",
              entry[key])
    reported = entry["reported"]
    _need(isinstance(reported, dict) and reported, "reported measures", f"{name}.reported",
          reported)
    variants = entry["variants"]
    _need(variants is None or (isinstance(variants, dict) and variants and all(
        set(v) == {"label", "overrides"} and isinstance(v["overrides"], dict)
        for v in variants.values())), "None or variant name -> {label, overrides}",
        f"{name}.variants", variants)
    for measure, item in reported.items():
        keys = {"value", "quote", "where", "metric", "comparable"}
        _need(isinstance(item, dict) and keys <= set(item) <= keys | {"note"},
              f"a reported measure with the keys {sorted(keys)} (and note)",
              f"{name}.reported.{measure}", item)
        _need(isinstance(item["value"], (int, float, str)) and not isinstance(item["value"], bool),
              "a number or the study's words", f"{name}.reported.{measure}.value", item["value"])
        _need(isinstance(item["quote"], str) and len(item["quote"]) >= 10,
              "the study's exact words", f"{name}.reported.{measure}.quote", item["quote"])
        _need(isinstance(item["where"], str) and "line" in item["where"],
              "where: 'line N ...' in the study text", f"{name}.reported.{measure}.where",
              item["where"])
        _need(isinstance(item["comparable"], bool), "comparable True or False",
              f"{name}.reported.{measure}.comparable", item["comparable"])
        _check_metric(entry, measure, item["metric"])
    data = entry["data"]
    _need(isinstance(data, dict) and {"study", "format", "real", "synthetic"} <= set(data),
          "data with study, format, real, synthetic", f"{name}.data", data)
    scales = entry["scales"]
    _need(isinstance(scales, dict) and tuple(scales) == SCALES,
          f"scales {SCALES}, in that order", f"{name}.scales", list(scales))
    for scale in SCALES:
        _check_settings(entry, scale, scales[scale])
        for variant in (variants or {}):  # every variant must make valid settings
            _check_settings(entry, scale, merge(scales[scale], variants[variant]["overrides"]),
                            variant)
    return entry
