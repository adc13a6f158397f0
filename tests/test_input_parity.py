"""One input path: the same file reaches the model as the same array from every entry point.

The entry points are the tf.data pipeline (`make_dataset`, which `fit` and
`evaluate_model` use), `evaluate_model`, `predict_age`, `predict_faces` on a given box,
and `explain` (occlusion, activations, Grad-CAM). Each is run on files of every awkward
kind: greyscale, RGBA, 16-bit, smaller than the input and larger than it.
"""

import cv2
import numpy as np
import pandas as pd
import pytest

from agekit import explain
from agekit.data import make_dataset
from agekit.evaluation import evaluate_model
from agekit.faces import FaceBox
from agekit.images import fit_to, model_batch, read_image
from agekit.models import basic_cnn, card_of
from agekit.predict import predict_age, predict_faces

SIZE = 32


def _write_files(folder):
    """Awkward image files, all square (so a tight crop of the whole image is the image)."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:90, :90]
    pattern = np.dstack([x * 2.5, y * 2.5, 255 - x - y]).clip(0, 255).astype(np.uint8)
    files = {}

    def write(name, image):
        path = folder / name
        assert cv2.imwrite(str(path), image)
        files[name] = str(path)

    write("grey.png", cv2.cvtColor(pattern, cv2.COLOR_RGB2GRAY))
    rgba = np.dstack([pattern[:, :, ::-1], (rng.random((90, 90)) * 255).astype(np.uint8)])
    write("rgba.png", rgba)
    write("deep.png", pattern[:, :, ::-1].astype(np.uint16) * 257 + rng.integers(0, 257, (90, 90, 3)).astype(np.uint16))
    write("small.jpg", cv2.resize(pattern, (20, 20), interpolation=cv2.INTER_AREA)[:, :, ::-1])
    write("large.jpg", cv2.resize(pattern, (300, 300))[:, :, ::-1])
    write("odd.png", cv2.resize(pattern, (25, 70))[:, :, ::-1])  # not square, mixed resize
    return files


@pytest.fixture(scope="module")
def model():
    return basic_cnn(layers=2, base_filters=4, hidden=8, dropout=0.0, input_shape=(SIZE, SIZE, 3),
                     head="dex", outputs={"gender": 2})


class Recorder:
    """Wraps `model.predict` / `explain.inputs.forward` and keeps every array the model got."""

    def __init__(self, monkeypatch, model):
        self.arrays = []
        real_predict, real_forward = model.predict, explain.inputs.forward

        def predict(x, *args, **kwargs):
            if not isinstance(x, np.ndarray):  # a tf.data.Dataset: collect its batches
                x = np.concatenate([np.asarray(batch) for batch in x])
            self.arrays.append(np.asarray(x))
            return real_predict(x, *args, **kwargs)

        def forward(m, x):
            self.arrays.append(np.asarray(x))
            return real_forward(m, x)

        monkeypatch.setattr(model, "predict", predict)
        monkeypatch.setattr(explain.inputs, "forward", forward)

    def take(self):
        arrays, self.arrays = self.arrays, []
        return arrays


def test_every_entry_point_hands_the_model_the_same_array(tmp_path, monkeypatch, model):
    files = _write_files(tmp_path)
    df = pd.DataFrame({"path": list(files.values()), "age": 30.0})
    card = card_of(model)
    reference = model_batch(list(files.values()), card)  # agekit.images: RGB [0, 255], 32x32
    assert reference.shape == (len(files), SIZE, SIZE, 3)
    for i, path in enumerate(files.values()):
        np.testing.assert_array_equal(reference[i], fit_to(read_image(path), SIZE))

    pipeline = np.concatenate([np.asarray(b) for b in make_dataset(df, target=None, card=model,
                                                                   shuffle=False, batch_size=4)])
    np.testing.assert_array_equal(pipeline, reference)

    recorder = Recorder(monkeypatch, model)
    evaluate_model(model, df, batch_size=4)
    (evaluated,) = recorder.take()
    np.testing.assert_array_equal(evaluated, reference)

    predict_age(model, df)
    predict_age(model, list(files.values()))
    predict_age(model, [read_image(p) for p in files.values()])
    for given in recorder.take():
        np.testing.assert_array_equal(given, reference)

    for i, (name, path) in enumerate(files.items()):
        if name == "odd.png":  # a tight crop of a non-square photo is padded to a square
            continue
        side = read_image(path).shape[0]
        predict_faces(model, path, boxes=[FaceBox(0, 0, side, side)], align=False, margin="tight")
        (given,) = recorder.take()
        np.testing.assert_array_equal(given[0], reference[i])

        explain.occlusion_map(model, path, patch=16, stride=16)
        explain.activations(model, path)
        explain.grad_cam(model, path)
        for array in recorder.take():
            np.testing.assert_array_equal(array[0], reference[i])  # [0]: the intact image


@pytest.mark.real_data
@pytest.mark.slow
def test_evaluate_model_and_predict_age_agree_on_real_chips_half_of_them_shrunk(tmp_path, shared_data):
    """On 400 real UTKFace chips, half shrunk to 40 px on disk, with a model trained briefly."""
    import keras

    from agekit.data import make_dataset as dataset
    from agekit.datasets import load_utkface
    from agekit.models import compile_model

    names = (shared_data / "utkface-sample-400.txt").read_text().split()
    df = load_utkface(shared_data / "utkface")
    df = df[df["path"].map(lambda p: p.split("/")[-1]).isin(names)].reset_index(drop=True)
    assert len(df) == 400
    shrunk = []
    for i, path in enumerate(df["path"]):
        if i % 2:
            out = tmp_path / f"{i}.jpg"
            cv2.imwrite(str(out), cv2.resize(cv2.imread(path), (40, 40), interpolation=cv2.INTER_AREA))
            path = str(out)
        shrunk.append(path)
    df["path"] = shrunk
    keras.utils.set_random_seed(0)
    net = compile_model(basic_cnn(layers=3, base_filters=8, hidden=32, input_shape=(64, 64, 3),
                                  head="dex", bn_momentum=0.9), learning_rate=3e-3)
    net.fit(dataset(df, target="dex", image_size=64, seed=0, clip_ages=True), epochs=3, verbose=0,
            shuffle=False)
    scores, table = evaluate_model(net, df)
    predicted = predict_age(net, df)["age"].to_numpy()
    direct = float(np.mean(np.abs(predicted - df["age"].to_numpy())))
    assert scores["n"] == 400
    assert abs(scores["mae"] - direct) <= 0.01, (scores["mae"], direct)
    np.testing.assert_allclose(table["pred_age"].to_numpy(), predicted, atol=1e-3)
