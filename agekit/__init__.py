"""agekit: age, gender and ethnicity estimation from face images with Keras 3.

Importing agekit is cheap: it loads no TensorFlow, dlib, model or dataset. Each
subpackage is imported the first time it is used (as scikit-image does), and the most
used names are re-exported here lazily too:

    import agekit
    agekit.labels.bin_ages([2, 35], "adience")   # imports agekit.labels only now
    agekit.expected_age(probs)                   # same function, top-level name

Subpackages: `errors` (the input errors agekit raises), `labels` (numpy only), `metrics`, `losses`, `models`, `training`,
`datasets` (pandas), `images` and `faces` (OpenCV, dlib), `data` (tf.data pipelines),
`predict` (`load_model`, `predict_age`), `export` (SavedModel / ONNX / TFLite for
serving without agekit), `evaluation` (held-out scores), `experiment`
(a whole run from settings), `recipes` (measured training runs), `studies` (the five
studies' result tables as reproductions, plain data), `tuning`
(Keras Tuner search), `explain` (activations, occlusion, Grad-CAM), `plots` (figures),
`calibration` (conformal age intervals) and `audit` (errors per group, age-threshold
decisions), both numpy / pandas only.
"""

import importlib

__version__ = "0.1.0"

# Subpackages, imported on first attribute access.
_SUBMODULES = (
    "errors",
    "labels",
    "metrics",
    "losses",
    "models",
    "training",
    "datasets",
    "images",
    "faces",
    "data",
    "predict",
    "photos",
    "store",
    "recipes",
    "studies",
    "evaluation",
    "experiment",
    "tuning",
    "explain",
    "plots",
    "export",
    "calibration",
    "audit",
)

# Top-level names -> the subpackage they live in.
_EXPORTS = {
    "InputError": "errors",
    "AGE_BINS": "labels",
    "AgeBins": "labels",
    "bin_ages": "labels",
    "bin_labels": "labels",
    "encode_dex": "labels",
    "encode_coral": "labels",
    "expected_age": "labels",
    "coral_to_rank": "labels",
    "coral_expected_rank": "labels",
    "ExpectedAgeMAE": "metrics",
    "CoralMAE": "metrics",
    "BinnedAccuracy": "metrics",
    "mae": "metrics",
    "epsilon_error": "metrics",
    "cumulative_score": "metrics",
    "mae_by_group": "metrics",
    "classification_summary": "metrics",
    "MacroF1": "metrics",
    "CoralLoss": "losses",
    "LabelDistributionLoss": "losses",
    "build_model": "models",
    "set_trainable": "models",
    "compile_model": "models",
    "ModelCard": "models",
    "card_of": "models",
    "describe": "models",
    "export_model": "export",
    "fit": "training",
    "FineTune": "training",
    "Stage": "training",
    "pretrain_then_finetune": "training",
    "evaluate_model": "evaluation",
    "calibrate_model": "evaluation",
    "Experiment": "experiment",
    "run_experiment": "experiment",
    "make_synthetic": "datasets",
    "load_utkface": "datasets",
    "load_dataset": "datasets",
    "read_image": "images",
    "FaceBox": "faces",
    "detect_faces": "faces",
    "crop_face": "faces",
    "align_face": "faces",
    "prepare_dataset": "faces",
    "make_dataset": "data",
    "make_datasets": "data",
    "Augment": "data",
    "class_weights": "data",
    "load_model": "predict",
    "predict_age": "predict",
    "predict_faces": "photos",
    "predict_photos": "photos",
    "find_model": "store",
    "install_model": "store",
    "AgeHyperModel": "tuning",
    "tune": "tuning",
    "occlusion_map": "explain",
    "grad_cam": "explain",
}

__all__ = [*_SUBMODULES, *_EXPORTS]  # noqa: PLE0604 (built from the lazy tables)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
