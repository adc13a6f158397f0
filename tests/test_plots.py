"""agekit.plots: every figure is drawn from agekit.metrics / agekit.labels numbers.

Backend-agnostic (no Keras at all). Each test writes the PNG and checks it is not
empty, then checks what the axes hold.
"""

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from agekit import plots
from agekit.labels import bin_labels
from agekit.metrics import mae_by_group

pytestmark = pytest.mark.backend_agnostic


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def assert_png(path):
    assert path.is_file()
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert path.stat().st_size > 2000


def history_frame(epochs=8):
    epoch = np.arange(epochs)
    return pd.DataFrame({
        "epoch": epoch,
        "expected_age_mae": 12 - epoch,
        "learning_rate": np.r_[np.full(3, 1e-4), np.full(epochs - 3, 1e-5)],
        "loss": 4.0 / (epoch + 1),
        "val_expected_age_mae": 13 - 0.8 * epoch,
        "val_loss": 4.5 / (epoch + 1),
    })


def test_plot_history_from_a_run_folder(tmp_path):
    history_frame().to_csv(tmp_path / "history.csv", index=False)
    (tmp_path / "stages.json").write_text(json.dumps([3, 5]))
    figure = plots.plot_history(tmp_path, save=tmp_path / "history.png")
    assert_png(tmp_path / "history.png")
    titles = [ax.get_title() for ax in figure.axes]
    assert titles == ["expected_age_mae", "loss"]  # learning_rate is not a metric
    ax = figure.axes[1]
    train, val = ax.lines[:2]
    np.testing.assert_allclose(train.get_xdata(), np.arange(1, 9))
    np.testing.assert_allclose(val.get_ydata(), 4.5 / np.arange(1, 9))
    assert ax.get_xlabel() == "epoch"
    boundary = [line for line in ax.lines if line.get_linestyle() == ":"]
    assert len(boundary) == 1 and boundary[0].get_xdata()[0] == pytest.approx(3.5)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "train", "validation", "next stage"]


def test_plot_history_from_a_dataframe(tmp_path):
    figure = plots.plot_history(history_frame(), metrics=["loss"], save=tmp_path / "h.png")
    assert_png(tmp_path / "h.png")
    assert len(figure.axes) == 1 and figure.axes[0].get_ylabel() == "loss"
    with pytest.raises(ValueError, match="metrics among the history's columns.*'mae'"):
        plots.plot_history(history_frame(), metrics=["mae"])
    with pytest.raises(TypeError, match="a run folder or a history DataFrame"):
        plots.plot_history([1, 2, 3])
    with pytest.raises(FileNotFoundError, match="history.csv"):
        plots.plot_history(tmp_path / "missing")


def test_plot_confusion_is_normalised_per_true_class(tmp_path):
    y_true = [0, 0, 0, 1, 1, 2, 2, 2, 2, 3]
    y_pred = [0, 0, 1, 1, 1, 2, 2, 3, 3, 3]
    figure = plots.plot_confusion(y_true, y_pred, "utk4", save=tmp_path / "cm.png")
    assert_png(tmp_path / "cm.png")
    ax = figure.axes[0]
    values = np.asarray(ax.images[0].get_array())
    np.testing.assert_allclose(values.sum(axis=1), 1.0)
    assert values[0, 1] == pytest.approx(1 / 3)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(bin_labels("utk4"))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted", "true")
    assert "accuracy 0.700" in ax.get_title()  # 7 of 10
    counts = plots.plot_confusion(y_true, y_pred, normalize=False)
    assert np.asarray(counts.axes[0].images[0].get_array())[2, 3] == 2
    with pytest.raises(ValueError, match="class indices in \\[0, 3\\]"):
        plots.plot_confusion([0, 5], [0, 1], "utk4")


def test_plot_mae_by_age_matches_mae_by_group(tmp_path):
    rng = np.random.default_rng(0)
    true = rng.uniform(1, 90, 200)
    pred = true + rng.normal(0, 3, 200) + (true > 60) * 8  # worse on the old
    figure = plots.plot_mae_by_age(y_true=true, y_pred=pred, bins="utk7", save=tmp_path / "mae.png")
    assert_png(tmp_path / "mae.png")
    ax = figure.axes[0]
    stats = mae_by_group(y_true=true, y_pred=pred, bins="utk7")
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, stats["mae"].fillna(0))
    assert [t.get_text() for t in ax.texts] == [f"n={n}" for n in stats["n"]]
    assert ax.get_ylabel() == "MAE (years)" and ax.get_title() == "MAE by age group"
    with pytest.raises(ValueError, match="same length"):
        plots.plot_mae_by_age(y_true=[1, 2], y_pred=[1, 2, 3])
    with pytest.raises(TypeError, match="positional"):
        plots.plot_mae_by_age(pred, true)  # the old (pred, true) order must not draw silently


def test_plot_predictions_titles(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 24, 24, 3)).astype("uint8")
    figure = plots.plot_predictions(images, [30.04, 41, 12, 70, 5], y_true=[29, 35, 12, 60, 5.5],
                                    ncols=3, save=tmp_path / "grid.png")
    assert_png(tmp_path / "grid.png")
    titles = [ax.get_title() for ax in figure.axes if ax.images]
    assert titles == ["30.0 / 29.0", "41.0 / 35.0", "12.0 / 12.0", "70.0 / 60.0", "5.0 / 5.5"]
    assert figure._suptitle.get_text().startswith("predicted / true (years")
    assert len(figure.axes) == 6
    grey = plots.plot_predictions(list(images[:2, :, :, 0]), [3, 4])
    assert [ax.get_title() for ax in grey.axes] == ["3.0", "4.0"]
    with pytest.raises(ValueError, match="same length"):
        plots.plot_predictions(images, [1, 2])
    with pytest.raises(ValueError, match="whole number >= 1. Received: ncols=0"):
        plots.plot_predictions(images, np.ones(5), ncols=0)


def test_plot_age_distribution_per_split(tmp_path):
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"age": rng.integers(0, 90, 300)})
    test = rng.integers(20, 40, 50)
    figure = plots.plot_age_distribution({"train": train, "test": test},
                                         save=tmp_path / "ages.png")
    assert_png(tmp_path / "ages.png")
    first, second = figure.axes
    assert sum(p.get_height() for p in first.patches) == 300
    assert sum(p.get_height() for p in second.patches) == 50
    assert first.get_legend().get_texts()[0].get_text().startswith("train: n=300")
    assert second.get_xlabel() == "age (years)"
    grouped = plots.plot_age_distribution({"test": test}, bins="utk7", density=True)
    heights = [p.get_height() for p in grouped.axes[0].patches]
    assert len(heights) == 7 and sum(heights) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="`age` column.*Received: train.columns"):
        plots.plot_age_distribution({"train": pd.DataFrame({"x": [1]})})
    with pytest.raises(ValueError, match="bin width >= 1 year. Received: bins=0"):
        plots.plot_age_distribution(test, bins=0)


def test_age_title():
    assert plots.age_title(29, 30.25) == "29.0 / 30.2 (predicted / true)"
    assert plots.age_title(41.04) == "41.0 (predicted)"
