"""Figures a person can read: panel rows no wider than 3:1, a colour bar on every
heatmap, titles that name what a map explains."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from agekit import plots
from agekit.explain import explain_image, plot_activations
from agekit.explain.targets import describe
from agekit.models import Head, basic_cnn


def _rows(figure):
    """The visible panels of a figure grouped by row (same top edge), colour bars apart."""
    rows = {}
    for ax in figure.axes:
        if ax.get_visible() and ax.get_label() != "<colorbar>":
            box = ax.get_position()
            rows.setdefault(round(box.y1, 3), []).append(box)
    return list(rows.values())


def test_a_multi_output_history_is_a_grid_of_rows_no_wider_than_3_to_1(tmp_path):
    names = ["loss", "age_loss", "age_expected_age_mae", "gender_loss", "gender_accuracy",
             "ethnicity_loss", "ethnicity_accuracy", "ethnicity_macro_f1", "age_macro_f1",
             "gender_macro_f1"]
    history = pd.DataFrame({**{n: np.linspace(2, 1, 4) for n in names},
                            **{f"val_{n}": np.linspace(2.2, 1.1, 4) for n in names}})
    figure = plots.plot_history(history, save=tmp_path / "history.png")
    assert len([ax for ax in figure.axes if ax.get_visible()]) == 10
    rows = len(_rows(figure))
    width, height = figure.get_size_inches()
    assert rows == 4 and width / (height / rows) <= 3
    image = plt.imread(tmp_path / "history.png")  # the PNG as written (tight bounding box)
    assert image.shape[1] / (image.shape[0] / rows) <= 3
    plt.close(figure)


def test_one_metric_history_stays_one_panel():
    figure = plots.plot_history(pd.DataFrame({"loss": [3.0, 2.0], "val_loss": [3.5, 2.5]}))
    assert [ax.get_title() for ax in figure.axes if ax.get_visible()] == ["loss"]
    plt.close(figure)


def test_activation_maps_share_one_scale_with_a_colour_bar():
    acts = {"block1_pool": np.random.default_rng(0).random((1, 8, 8, 4)).astype("float32") * [1, 2, 3, 4]}
    for image, kind in ((np.full((32, 32, 3), 128, "uint8"), "heatmaps"), (None, "maps")):
        figure = plot_activations(acts, image, kind=kind)["block1_pool"]
        bars = [ax for ax in figure.axes if ax.get_label() == "<colorbar>"]
        assert len(bars) == 1 and bars[0].get_ylabel() == "activation", kind
        panels = [ax for ax in figure.axes if ax.images]
        assert [ax.get_title() for ax in panels] == [f"filter {i}" for i in range(4)]
        limits = {ax.images[-1].get_clim() for ax in panels}  # one scale for every filter
        low, high = limits.pop()
        assert not limits and low < 0.1 and high > 3.5  # the channels' values reach 0..4
        plt.close(figure)


def test_titles_name_what_a_map_explains():
    assert describe("age", Head("dex"), "class", 29) == "predicted class '29 years'"
    assert describe("age", Head("dex"), "expected_age", None) == "expected age"
    assert describe("age", Head("bins", bins="utk7"), "true_class", 0) == "true class '0-2'"
    assert describe("gender", Head("class", num_classes=2), "class", 1) == "predicted class 'female'"
    assert describe("ethnicity", Head("class", num_classes=5), "class", 3) == "predicted class 'Indian'"


def test_explain_image_heatmaps_have_colour_bars_and_named_targets(tmp_path, monkeypatch):
    drawn = []
    draw = plots.plot_heatmap

    def recording(*args, **kwargs):
        figure = draw(*args, **kwargs)
        drawn.append((kwargs["title"], [ax.get_label() for ax in figure.axes]))
        return figure

    monkeypatch.setattr(plots, "plot_heatmap", recording)
    model = basic_cnn(input_shape=(32, 32, 3), layers=2, base_filters=4, head="dex")
    face = np.full((32, 32, 3), 128, "uint8")
    explain_image(model, face, tmp_path, true_age=30, max_filters=1, patch=16, stride=16)
    (occlusion, _), (cam, _) = [(title.split("\n")[0], labels) for title, labels in drawn]
    assert occlusion.startswith("occlusion: predicted class '") and occlusion.endswith(" years'")
    assert cam == occlusion.replace("occlusion", "Grad-CAM")
    assert all("<colorbar>" in labels for _, labels in drawn)
