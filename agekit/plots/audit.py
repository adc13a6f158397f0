"""Errors by group and the coverage of age intervals (`agekit.audit`, `agekit.calibration`)."""

import numpy as np
import pandas as pd

from agekit._validation import fail
from agekit.plots._figure import finish, pyplot


def _group_frame(groups):
    if isinstance(groups, dict) and "groups" in groups:
        groups = groups["groups"]
    frame = pd.DataFrame(groups)
    missing = {"group", "value", "n", "mae", "mae_low", "mae_high"} - set(frame.columns)
    if missing:
        fail("a group_errors table (or an audit dict)", "missing columns", sorted(missing))
    return frame


def plot_group_errors(groups, *, title=None, save=None):
    """MAE per group with its bootstrap interval, and the mean signed error beside it.

    One panel per grouping (`gender`, `ethnicity`, `age_band`, ...): a bar per group
    with the 95% interval of its MAE, `n` under the name, the mean signed error
    (pred - true; below 0: predicted younger) as a black dot, and the overall MAE
    as a dashed line.

    Args:
        groups: A `agekit.audit.group_errors` table, or an `agekit.audit.audit` dict.
        title: Figure title.
        save: PNG path.

    Returns:
        The `Figure`.

    Example:
        >>> import pandas as pd
        >>> from agekit.audit import group_errors
        >>> table = pd.DataFrame({"age": [8.0, 30, 45, 70], "pred_age": [10.0, 28, 50, 60],
        ...                       "gender": [0, 1, 0, 1]})
        >>> fig = plot_group_errors(group_errors(table), save="groups.png")
    """
    frame = _group_frame(groups)
    overall = frame[frame["group"] == "all"]
    parts = [(name, part[part["n"] > 0]) for name, part in frame.groupby("group", sort=False)
             if name != "all"]
    parts = [(name, part) for name, part in parts if len(part)]
    if not parts:
        fail("at least one group besides 'all' with n > 0", "groups", list(frame["group"]))
    plt = pyplot()
    sizes = [len(part) for _, part in parts]
    figure, axes = plt.subplots(1, len(parts), figsize=(0.8 * sum(sizes) + 1.5 * len(parts), 4.2),
                                sharey=True, squeeze=False,
                                gridspec_kw={"width_ratios": sizes})
    for ax, (name, part) in zip(axes[0], parts):
        x = np.arange(len(part))
        mae = part["mae"].to_numpy(dtype=float)
        spread = np.vstack([mae - part["mae_low"].to_numpy(dtype=float),
                            part["mae_high"].to_numpy(dtype=float) - mae])
        ax.bar(x, mae, yerr=spread, capsize=4, color="tab:blue", alpha=0.8,
               label="MAE (95% interval)")
        if "bias" in part:
            ax.plot(x, part["bias"].to_numpy(dtype=float), "o", color="black",
                    label="mean signed error")
        if len(overall):
            ax.axhline(float(overall["mae"].iloc[0]), color="tab:red", ls="--",
                       label=f"overall MAE {float(overall['mae'].iloc[0]):.2f}")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xticks(x, [f"{v}\nn={n}" for v, n in zip(part["value"], part["n"])],
                      rotation=0, fontsize=8)
        ax.set_title(str(name))
        ax.grid(alpha=0.3, axis="y")
    axes[0, 0].set_ylabel("years")
    axes[0, 0].legend(fontsize=8)
    figure.suptitle(title or "Errors by group")
    figure.tight_layout()
    return finish(figure, save)


def plot_coverage(table, *, title=None, save=None):
    """Nominal vs observed coverage of age intervals, and their mean width.

    Args:
        table: An `agekit.calibration.coverage_table` (columns `method`, `level`,
            `coverage`, `width`), measured on faces not used for calibration.
        title: Figure title.
        save: PNG path.

    Returns:
        The `Figure`: left, observed coverage per method against the diagonal (a
        calibrated method lies on or just above it); right, mean width in years.

    Example:
        >>> import pandas as pd
        >>> table = pd.DataFrame({"method": ["normalized"] * 2, "level": [0.5, 0.9],
        ...                       "coverage": [0.52, 0.9], "width": [6.0, 20.0]})
        >>> fig = plot_coverage(table, save="coverage.png")
    """
    frame = pd.DataFrame(table)
    missing = {"method", "level", "coverage", "width"} - set(frame.columns)
    if missing or frame.empty:
        fail("a non-empty coverage_table", "missing columns", sorted(missing))
    plt = pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    for method, part in frame.groupby("method", sort=False):
        part = part.sort_values("level")
        left.plot(part["level"], part["coverage"], "o-", ms=4, label=str(method))
        right.plot(part["level"], part["width"], "o-", ms=4, label=str(method))
    low = min(frame["level"].min(), frame["coverage"].min())
    left.plot([low, 1], [low, 1], color="grey", ls=":", label="nominal")
    left.set_xlabel("nominal level")
    left.set_ylabel("observed coverage")
    left.set_title("Coverage")
    right.set_xlabel("nominal level")
    right.set_ylabel("mean width (years)")
    right.set_title("Width")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    figure.suptitle(title or "Age intervals: nominal vs observed coverage")
    figure.tight_layout()
    return finish(figure, save)


def save_audit_figures(scores: dict, out_dir, *, close: bool = True) -> dict:
    """Draw an evaluation's audit figures into a folder: errors by group, interval coverage.

    Args:
        scores: `agekit.evaluation.evaluate_model`'s scores (`audit`, and
            `coverage_by_level` when the model predicted intervals), or an `audit` dict.
        out_dir: Folder for the PNG files (made when missing).
        close: Close each figure once written (loops, reports).

    Returns:
        Figure name -> PNG path: `"groups"` (`groups.png`, `plot_group_errors`) and, when
        the scores have a coverage curve, `"coverage"` (`coverage.png`, `plot_coverage`).

    Example:
        >>> from agekit.audit import audit
        >>> report = audit(pd.DataFrame({"age": [8.0, 30, 45, 70], "pred_age": [10.0, 28, 50, 60]}))
        >>> sorted(save_audit_figures({"audit": report}, "figures"))
        ['groups']
    """
    from pathlib import Path

    out_dir = Path(out_dir)
    report = scores.get("audit", scores)
    drawn = {"groups": (plot_group_errors, report, "Errors by group")}
    level = (scores.get("interval") or {}).get("level")
    if scores.get("coverage_by_level"):
        title = "Age intervals: nominal vs observed coverage" + (
            f" (reported level {level:.0%})" if level else "")
        drawn["coverage"] = (plot_coverage, scores["coverage_by_level"], title)
    written = {}
    for name, (plot, data, title) in drawn.items():
        figure = plot(data, title=title, save=out_dir / f"{name}.png")
        if close:
            pyplot().close(figure)
        written[name] = out_dir / f"{name}.png"
    return written
