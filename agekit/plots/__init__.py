"""Figures for training runs and age predictions (matplotlib).

Every function returns a `matplotlib.figure.Figure` and writes it as a PNG when given
`save=path`. The numbers come from `agekit.metrics` and `agekit.labels`
(`classification_summary`, `mae_by_group`, `bin_ages`), so a figure always shows what
the printed evaluation reports.

    from agekit import plots
    plots.plot_history("runs/vgg16_dex", save="history.png")
    plots.plot_mae_by_age(y_true=true, y_pred=pred, bins="utk7")

Figures are made with pyplot (so `plt.show()` shows them in a script); close them with
`plt.close(fig)` in loops.

The modules (every name is importable from `agekit.plots`): `training` (curves),
`predictions` (captions, confusion matrix, MAE by age, faces with their ages),
`distribution` (ages per split), `heatmaps` (`overlay`, `plot_heatmap`), `audit` (errors by
group, interval coverage, `save_audit_figures` for an evaluation).
"""

from agekit.plots.audit import plot_coverage, plot_group_errors, save_audit_figures
from agekit.plots.distribution import plot_age_distribution
from agekit.plots.heatmaps import overlay, plot_heatmap
from agekit.plots.predictions import (
    age_title,
    plot_confusion,
    plot_mae_by_age,
    plot_predictions,
)
from agekit.plots.training import plot_history

__all__ = [
    "age_title",
    "overlay",
    "plot_age_distribution",
    "plot_confusion",
    "plot_coverage",
    "plot_group_errors",
    "plot_heatmap",
    "plot_history",
    "plot_mae_by_age",
    "plot_predictions",
    "save_audit_figures",
]
