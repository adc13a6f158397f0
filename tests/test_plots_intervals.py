"""agekit.plots: the group-error and coverage figures show the audit / calibration numbers."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer

from agekit import plots
from agekit.audit import audit, group_errors

pytestmark = pytest.mark.backend_agnostic


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def assert_png(path):
    assert path.is_file()
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert path.stat().st_size > 2000


def table(n=120):
    rng = np.random.default_rng(0)
    true = rng.integers(1, 90, n).astype(float)
    return pd.DataFrame({"age": true, "pred_age": true + rng.normal(0, 4, n) - (true > 60) * 8,
                         "gender": rng.integers(0, 2, n)})


def test_plot_group_errors_draws_each_group_with_its_interval(tmp_path):
    groups = group_errors(table(), n_boot=100)
    figure = plots.plot_group_errors(groups, save=tmp_path / "groups.png")
    assert_png(tmp_path / "groups.png")
    assert [ax.get_title() for ax in figure.axes] == ["gender", "age_band"]
    gender = figure.axes[0]
    expected = groups[groups["group"] == "gender"]
    np.testing.assert_allclose([p.get_height() for p in gender.patches], expected["mae"])
    labels = [t.get_text() for t in gender.get_xticklabels()]
    assert labels == [f"{v}\nn={n}" for v, n in zip(expected["value"], expected["n"])]
    (bars,) = [c for c in gender.containers if isinstance(c, ErrorbarContainer)]
    caps = bars.lines[1]  # the interval's lower and upper caps
    np.testing.assert_allclose(sorted(np.concatenate([c.get_ydata() for c in caps])),
                               sorted(np.r_[expected["mae_low"], expected["mae_high"]]))
    bias = next(line for line in gender.lines if line.get_marker() == "o")
    np.testing.assert_allclose(bias.get_ydata(), expected["bias"])
    from_dict = plots.plot_group_errors(audit(table(), n_boot=20))
    assert len(from_dict.axes) == 2
    with pytest.raises(ValueError, match="a group_errors table"):
        plots.plot_group_errors(pd.DataFrame({"group": ["all"]}))


def test_plot_coverage_draws_observed_against_nominal(tmp_path):
    frame = pd.DataFrame({"method": ["normalized"] * 2 + ["raw"] * 2,
                          "level": [0.5, 0.9, 0.5, 0.9],
                          "coverage": [0.51, 0.9, 0.3, 0.6], "width": [8, 20, 5, 12]})
    figure = plots.plot_coverage(frame, save=tmp_path / "coverage.png")
    assert_png(tmp_path / "coverage.png")
    left, right = figure.axes
    np.testing.assert_allclose(left.lines[1].get_ydata(), [0.3, 0.6])
    np.testing.assert_allclose(right.lines[0].get_ydata(), [8, 20])
    assert [t.get_text() for t in left.get_legend().get_texts()] == ["normalized", "raw",
                                                                      "nominal"]
    assert (left.get_xlabel(), left.get_ylabel()) == ("nominal level", "observed coverage")
    with pytest.raises(ValueError, match="a non-empty coverage_table"):
        plots.plot_coverage(frame.drop(columns="width"))


def test_save_audit_figures_draws_an_evaluations_two_figures(tmp_path):
    curve = [{"method": "normalized", "level": 0.5, "coverage": 0.5, "width": 8.0},
             {"method": "normalized", "level": 0.9, "coverage": 0.9, "width": 20.0}]
    scores = {"audit": audit(table(), n_boot=20), "coverage_by_level": curve,
              "interval": {"level": 0.9, "method": "normalized"}}
    written = plots.save_audit_figures(scores, tmp_path / "figs")
    assert written == {"groups": tmp_path / "figs" / "groups.png",
                       "coverage": tmp_path / "figs" / "coverage.png"}
    for path in written.values():
        assert_png(path)
    assert plt.get_fignums() == []  # closed once written
    only_groups = plots.save_audit_figures({**scores, "coverage_by_level": []}, tmp_path / "g")
    assert list(only_groups) == ["groups"]
