"""The settings of a training run, so that a run folder only ever resumes its own run.

`fit` writes `settings.json` into its run folder before it trains: what the data, the
model and the schedule were. Called again on the same folder, it resumes only when the
settings are the same, and otherwise refuses with an error naming what differs
(`check_run_dir`). Otherwise a folder made by one run would silently continue under
another: skip "finished" stages, reload weights of another model, or report the
history of other data.

What is recorded:

- `data`: arrays (`(x, y[, sample_weight])` tuples, dicts of outputs) by shape, dtype
  and a BLAKE2 hash of their bytes, so other values are told apart exactly. A
  `tf.data.Dataset` (or any other iterable) by its type, element spec and cardinality:
  its contents cannot be read without consuming it, so two datasets of the same
  structure and size are taken as the same data.
- `model`: the class and configuration of every layer, in order, without layer names
  (Keras numbers unnamed layers per process: `dense_3` in one, `dense` in another).
- `training`: the stages (what trains, learning rate, epochs), the optimizer, the
  monitored metric and the class weights.
"""

import dataclasses
import hashlib
import json
import re
from pathlib import Path

import numpy as np

from agekit.errors import InvalidValueError

SETTINGS_FILE = "settings.json"
# What an older or interrupted fit leaves in a folder: a run of unknown settings.
_RUN_FILES = ("stages.json", "history.csv", "best.weights.h5", "final.keras", "backup")


def _json_ready(value):
    """`value` as plain JSON (tuples -> lists, numpy -> Python), compared after a round trip."""
    return json.loads(json.dumps(value, sort_keys=True, default=_plain))


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 16 else _array(value)
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))  # no memory addresses


def _array(value):
    array = np.ascontiguousarray(value)
    if array.dtype == object:
        digest = hashlib.blake2b(repr(array.tolist()).encode(), digest_size=16).hexdigest()
    else:
        digest = hashlib.blake2b(array.view(np.uint8).reshape(-1), digest_size=16).hexdigest()
    return {"shape": list(array.shape), "dtype": str(array.dtype), "blake2b": digest}


def data_fingerprint(data):
    """A JSON-ready description of training or validation data (see the module docstring)."""
    if data is None:
        return None
    if isinstance(data, dict):
        return {str(key): data_fingerprint(value) for key, value in sorted(data.items())}
    if isinstance(data, (tuple, list)):
        return [data_fingerprint(item) for item in data]
    if hasattr(data, "element_spec"):  # tf.data.Dataset
        cardinality = getattr(data, "cardinality", None)
        return {"type": type(data).__name__, "element_spec": str(data.element_spec),
                "cardinality": int(cardinality()) if callable(cardinality) else None}
    if hasattr(data, "__array__") or np.isscalar(data):
        return _array(np.asarray(data))
    return {"type": type(data).__name__}


def model_fingerprint(model):
    """Every layer's class and configuration, in order, without names or trainability."""
    layers = []
    for layer in model.layers:
        config = dict(layer.get_config())
        config.pop("name", None)
        config.pop("trainable", None)  # the schedule decides it, stage by stage
        layers.append({"class": type(layer).__name__, "config": config})
    return layers


def run_settings(*, model, train, val, stages, optimizer, monitor, class_weight):
    """The settings of a run, as written to `settings.json`."""
    return _json_ready({
        "data": {"train": data_fingerprint(train), "val": data_fingerprint(val)},
        "model": model_fingerprint(model),
        "training": {
            "stages": [dataclasses.asdict(s) if dataclasses.is_dataclass(s) else s
                       for s in stages],
            "optimizer": optimizer,
            "monitor": monitor,
            "class_weight": class_weight,
        },
    })


def check_run_dir(run_dir, settings):
    """Write `settings` into a new run folder, or check that they are the folder's own.

    Raises:
        InvalidValueError: when the folder holds a run of other settings (naming what
            differs), or a run without recorded settings.
    """
    run_dir = Path(run_dir)
    path = run_dir / SETTINGS_FILE
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved != settings:
            names = {"training": "schedule"}
            differs = [names.get(key, key) for key in ("data", "model", "training")
                       if saved.get(key) != settings.get(key)]
            raise InvalidValueError(
                f"Expected the settings of the run in {str(run_dir)!r} to resume it, or a new "
                f"run_dir. Received: other {', '.join(differs) or 'settings'} (the run's own "
                f"are in {SETTINGS_FILE})"
            )
        return
    found = [name for name in _RUN_FILES if (run_dir / name).exists()]
    if found:
        raise InvalidValueError(
            f"Expected a new run_dir, or one that fit made with these settings. Received: "
            f"{str(run_dir)!r} holds a run without {SETTINGS_FILE} ({', '.join(found)}): "
            f"its settings are unknown, so it cannot be resumed"
        )
    path.write_text(json.dumps(settings, indent=2))
