"""`import agekit` is light: no TensorFlow, Keras, dlib or OpenCV until a subpackage is used."""

import subprocess
import sys

import pytest

import agekit

HEAVY = ("tensorflow", "keras", "jax", "torch", "dlib", "cv2", "pandas", "keract")


def test_import_loads_nothing_heavy():
    code = (
        "import sys, agekit; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_labels_is_numpy_only():
    code = "import sys, agekit.labels; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_lazy_name_resolves():
    for name in agekit.__all__:
        assert getattr(agekit, name) is not None, name
    assert agekit.expected_age is agekit.labels.expected_age
    assert set(agekit.__all__) <= set(dir(agekit))


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = agekit.no_such_thing


def test_numpy_scores_import_no_tensorflow():
    """`agekit.mae` and `from agekit.metrics import mae` stay numpy only (issue 20)."""
    code = (
        "import sys, agekit; agekit.mae; agekit.mae_by_group; "
        "from agekit.metrics import mae, epsilon_error, cumulative_score, mae_by_group, "
        "classification_summary, ClassificationSummary; "
        "print(sorted(m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_keras_metrics_stay_importable_from_agekit_metrics():
    import agekit.metrics
    from agekit.metrics import BinnedAccuracy, CoralMAE, ExpectedAgeMAE, MacroF1
    from agekit.metrics.keras_metrics import ExpectedAgeMAE as direct

    assert ExpectedAgeMAE is direct and agekit.ExpectedAgeMAE is direct
    assert {BinnedAccuracy.__name__, CoralMAE.__name__, MacroF1.__name__} <= set(agekit.metrics.__all__)
    assert set(agekit.metrics.__all__) <= set(dir(agekit.metrics))
