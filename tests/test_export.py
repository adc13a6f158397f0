"""Export for serving: the exported model gives the same ages in a process without agekit.

Each format is loaded in a fresh Python process in which `import agekit` fails, fed uint8
RGB images at the model's input size, and compared with `agekit.predict_age`.
"""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from agekit.calibration import fit_calibration
from agekit.export import CARD_FILE, export_model, serving_model
from agekit.models import basic_cnn, build_model, card_of, describe, set_card
from agekit.predict import predict_age

pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")]

NO_AGEKIT = """
import sys
sys.modules["agekit"] = None  # any `import agekit` now fails
try:
    import agekit
except ImportError:
    pass
else:
    raise SystemExit("agekit was importable")
import numpy as np
images = np.load(IMAGES)
"""

LOADERS = {
    "savedmodel": """
import tensorflow as tf
serve = tf.saved_model.load(PATH).signatures["serving_default"]
out = {k: v.numpy() for k, v in serve(image=tf.constant(images)).items()}
""",
    "onnx": """
import onnxruntime
session = onnxruntime.InferenceSession(PATH)
names = [o.name for o in session.get_outputs()]
out = dict(zip(names, session.run(None, {session.get_inputs()[0].name: images})))
""",
    "tflite": """
import tensorflow as tf
interpreter = tf.lite.Interpreter(model_path=PATH)
runner = interpreter.get_signature_runner()
out = runner(image=images)
""",
}


def _run_without_agekit(fmt, path, images, tmp_path):
    np.save(tmp_path / "images.npy", images)
    script = (NO_AGEKIT.replace("IMAGES", repr(str(tmp_path / "images.npy")))
              + LOADERS[fmt].replace("PATH", repr(str(path)))
              + f"\nnp.savez({str(tmp_path / 'out.npz')!r}, **out)\n")
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], check=False, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(np.load(tmp_path / "out.npz"))


@pytest.fixture(scope="module")
def agekit_model():
    """A DEX + gender model whose card holds an interval calibration (on random faces)."""
    keras.utils.set_random_seed(0)
    model = basic_cnn(layers=2, base_filters=4, hidden=8, input_shape=(32, 32, 3), head="dex",
                      outputs={"gender": 2})
    faces = np.random.default_rng(2).integers(0, 256, (40, 32, 32, 3)).astype("float32")
    outputs = model.predict(faces, verbose=0)["age"]
    true = np.random.default_rng(3).integers(20, 80, 40)
    set_card(model, age_range=(1, 90), data="synthetic",
             calibration=fit_calibration(card_of(model).age_head(), outputs, true))
    return model


def _images(n=5, size=32):
    return np.random.default_rng(1).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


@pytest.mark.parametrize("fmt", ["savedmodel", "onnx", "tflite"])
def test_exported_model_gives_the_same_ages_where_agekit_cannot_be_imported(agekit_model, fmt, tmp_path):
    images = _images()
    expected = predict_age(agekit_model, images, interval=0.9)
    out = tmp_path / {"savedmodel": "served", "onnx": "m.onnx", "tflite": "m.tflite"}[fmt]
    assert export_model(agekit_model, out, format=fmt) == out
    card = json.loads((out / CARD_FILE if fmt == "savedmodel" else out.with_name(out.name + ".card.json"))
                      .read_text())
    assert card["input_size"] == [32, 32] and card["heads"]["age"]["kind"] == "dex"
    assert card["calibration"]["served_level"] == 0.9
    got = _run_without_agekit(fmt, out, images, tmp_path)
    assert sorted(got) == ["age", "age_high", "age_low", "gender"]
    np.testing.assert_allclose(got["age"], expected["age"], atol=0.05)
    # the calibrated 90% interval, computed in the graph (agekit.calibration's formula)
    np.testing.assert_allclose(got["age_low"], expected["age_low"], atol=0.05)
    np.testing.assert_allclose(got["age_high"], expected["age_high"], atol=0.05)
    np.testing.assert_allclose(got["gender"][:, 1], expected["p_female"], atol=1e-4)


def test_serving_model_converts_every_age_head_as_predict_age_does():
    images = _images(4)
    for head in ("regression", "coral", "bins:utk7"):
        model = basic_cnn(layers=2, base_filters=4, hidden=8, input_shape=(32, 32, 3), head=head)
        served = serving_model(model).predict(images, verbose=0)
        assert "age_low" not in served  # no calibration in the card: no interval
        np.testing.assert_allclose(served["age"], predict_age(model, images)["age"], atol=1e-4)


@pytest.mark.parametrize("head", ["dex", "coral", "bins:utk7", "regression"])
def test_served_intervals_match_predict_age_for_every_head_and_method(head):
    keras.utils.set_random_seed(0)
    model = basic_cnn(layers=2, base_filters=4, hidden=8, input_shape=(32, 32, 3), head=head)
    rng = np.random.default_rng(0)
    outputs = model.predict(rng.integers(0, 256, (30, 32, 32, 3)).astype("float32"), verbose=0)
    images = _images(6)
    for method in ("normalized", "absolute", "cqr") if head != "regression" else ("absolute",):
        calibration = fit_calibration(card_of(model).age_head(), outputs, rng.integers(0, 90, 30),
                                      method=method)
        set_card(model, calibration=calibration)
        for level in (0.5, 0.9):
            served = serving_model(model, interval=level).predict(images, verbose=0)
            expected = predict_age(model, images, interval=level)
            np.testing.assert_allclose(served["age_low"], expected["age_low"], atol=1e-3)
            np.testing.assert_allclose(served["age_high"], expected["age_high"], atol=1e-3)
    assert "age_low" not in serving_model(model, interval=None).output
    with pytest.raises(ValueError, match="a level the calibration can serve"):
        serving_model(model, interval=0.995)


def test_a_described_plain_model_exports_with_its_preprocessing_inside(tmp_path):
    keras.utils.set_random_seed(0)
    vgg = build_model("vgg16", "dex", weights=None, input_shape=(32, 32, 3), fc_units=8)
    x = keras.Input((32, 32, 3))  # the same layers without Preprocess: a plain Keras model
    plain = keras.Model(x, vgg.layers[-1](_tail(vgg, x)))
    describe(plain, head="dex", preprocess="vgg16")
    images = _images(3)
    served = serving_model(plain).predict(images, verbose=0)
    np.testing.assert_allclose(served["age"], predict_age(vgg, images)["age"], atol=1e-3)
    assert card_of(plain).in_model is False


def _tail(model, x):
    """`model`'s layers after its Preprocess layer, applied to `x` (already preprocessed)."""
    for layer in model.layers[2:-1]:
        x = layer(x)
    return x


def test_agekit_export_command_writes_a_savedmodel(agekit_model, tmp_path):
    agekit_model.save(tmp_path / "m.keras")
    done = subprocess.run([sys.executable, "-m", "agekit.cli", "export", str(tmp_path / "m.keras"),
                           str(tmp_path / "served"), "--interval", "0.8", "-q"], check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    # TensorFlow's C++ start-up lines (oneDNN, CUDA, "failed call to cuInit") are hidden
    assert "cuInit" not in done.stderr and "I0000" not in done.stderr, done.stderr
    assert (tmp_path / "served" / "saved_model.pb").is_file()
    assert json.loads((tmp_path / "served" / CARD_FILE).read_text())["calibration"]["served_level"] == 0.8
    bad = subprocess.run([sys.executable, "-m", "agekit.cli", "export", str(tmp_path / "m.keras"),
                          str(tmp_path / "x"), "--format", "pickle"], check=False, capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_a_model_predicted_with_its_mirror_image_is_served_so():
    from agekit.models import set_card

    images = _images(4)
    model = basic_cnn(layers=2, base_filters=4, hidden=8, input_shape=(32, 32, 3), head="dex")
    plain = predict_age(model, images)["age"].to_numpy()
    set_card(model, tta="flip")  # predict_age averages the outputs with the mirror image's
    flipped = predict_age(model, images)["age"].to_numpy()
    assert not np.allclose(plain, flipped, atol=1e-3)
    np.testing.assert_allclose(serving_model(model).predict(images, verbose=0)["age"], flipped, atol=1e-3)
