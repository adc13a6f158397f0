"""Test-time flip averaging: recorded in the card, used by every prediction path."""

import numpy as np
import pandas as pd
import pytest

from agekit.models import basic_cnn, card_of, flip_images, predict_outputs, set_card


def _model():
    return basic_cnn(input_shape=(16, 16, 3), layers=1, base_filters=2, hidden=4, dropout=0.0,
                     head="dex", outputs={"gender": 2})


def _faces(n=3):
    x = np.random.default_rng(0).integers(0, 256, (n, 16, 16, 3)).astype("float32")  # whole pixels
    x[:, :, :8] = 0.0  # a dark left half: the mirror image differs
    return x


def test_flip_averages_each_output_over_the_mirror_images():
    model, x = _model(), _faces()
    plain, mirrored = model.predict(x, verbose=0), model.predict(x[:, :, ::-1], verbose=0)
    both = predict_outputs(model, x, tta="flip")
    for name in ("age", "gender"):
        np.testing.assert_allclose(both[name], (plain[name] + mirrored[name]) / 2, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(predict_outputs(model, x)["age"], plain["age"], rtol=1e-6)  # card: none
    np.testing.assert_array_equal(flip_images(np.arange(6.0).reshape(1, 1, 3, 2))[0, 0], [[4, 5], [2, 3], [0, 1]])
    with pytest.raises(ValueError, match="Expected tta 'card', None or 'flip'"):
        predict_outputs(model, x, tta="rotate")
    with pytest.raises(ValueError, match=r"images as an array \(n, height, width, channels\)"):
        flip_images(x[0])


def test_the_card_tta_reaches_predict_age_and_evaluate_and_survives_saving(tmp_path):
    import cv2
    import keras

    from agekit.evaluation import predict_dataset
    from agekit.predict import predict_age

    model, x = _model(), _faces()
    expected = predict_outputs(model, x, tta="flip")
    set_card(model, tta="flip")
    assert card_of(model).tta == "flip"
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert card_of(loaded).tta == "flip"
    table = predict_age(loaded, x.astype("uint8"))  # float arrays would be read as [0, 1]
    mean_age = (expected["age"] * np.arange(101)).sum(axis=1)
    np.testing.assert_allclose(table["age"], mean_age, rtol=1e-4)
    paths = []
    for i, face in enumerate(x.astype("uint8")):
        paths.append(str(tmp_path / f"{i}.png"))
        cv2.imwrite(paths[-1], face[:, :, ::-1])  # RGB -> BGR, lossless
    scored = predict_dataset(loaded, pd.DataFrame({"path": paths, "age": [20.0, 30.0, 40.0]}))
    np.testing.assert_allclose(scored["pred_age"], predict_age(loaded, paths)["age"], rtol=1e-4)
    with pytest.raises(ValueError, match="tta to be one of"):
        set_card(model, tta="rotate")
