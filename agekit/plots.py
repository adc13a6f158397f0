"""Figures for training runs and age predictions (matplotlib).

Every function returns a `matplotlib.figure.Figure` and writes it as a PNG when given
`save=path`. The numbers come from `agekit.metrics` and `agekit.labels`
(`classification_summary`, `mae_by_group`, `bin_ages`), so a figure always shows what
the printed evaluation reports.

    from agekit import plots
    plots.plot_history("runs/vgg16_dex", save="history.png")
    plots.plot_mae_by_age(pred, true, bins="utk7")

Figures are made with pyplot (so `plt.show()` shows them in a script); close them with
`plt.close(fig)` in loops.
"""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from agekit._validation import as_ages, fail, same_length


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def _finish(figure, save):
    """Write `figure` as a PNG when `save` is a path; return the figure."""
    if save is not None:
        path = Path(save)
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100, bbox_inches="tight")
    return figure


def age_title(predicted: float, true: float | None = None) -> str:
    """The study's caption of a prediction: `'29.0 / 30.2 (predicted / true)'`.

    Example:
        >>> age_title(29, 30.25), age_title(41.04)
        ('29.0 / 30.2 (predicted / true)', '41.0 (predicted)')
    """
    if true is None:
        return f"{float(predicted):.1f} (predicted)"
    return f"{float(predicted):.1f} / {float(true):.1f} (predicted / true)"


def plot_history(history, *, metrics: list[str] | None = None, stages=None, title=None,
                 save=None):
    """Training curves: one panel per metric, train (solid) vs validation (dashed).

    Args:
        history: A run folder written by `agekit.fit` (its `history.csv`, and
            `stages.json` for the stage boundaries), or a history DataFrame (one row per
            epoch, Keras `CSVLogger` columns: `epoch`, `loss`, `val_loss`, ...).
        metrics: Metric names to draw (default: every column with a value per epoch
            except `epoch` and the learning rate; `val_` columns pair with theirs).
        stages: Epochs of each stage, for a DataFrame (a run folder's `stages.json`
            is read by default). A dotted line marks where each next stage starts.
        title: Figure title (default the run folder's name).
        save: PNG path.

    Returns:
        The `Figure`.

    Example:
        >>> fig = plot_history("runs/vgg16_dex", save="runs/vgg16_dex/history.png")
    """
    from agekit.training import read_history

    if isinstance(history, (str, os.PathLike)):
        run_dir = Path(history)
        frame = read_history(run_dir)
        if stages is None and (run_dir / "stages.json").is_file():
            stages = json.loads((run_dir / "stages.json").read_text())
        title = title or f"Training history: {run_dir.name}"
    elif isinstance(history, pd.DataFrame):
        frame = history
    else:
        fail("a run folder or a history DataFrame", "history", type(history).__name__,
             error=TypeError)
    if frame.empty:
        fail("a history with at least one epoch", "len(history)", 0)
    names = [c for c in frame.columns if not c.startswith("val_")
             and c not in ("epoch", "learning_rate", "lr")]
    names += [c[4:] for c in frame.columns if c.startswith("val_") and c[4:] not in frame]
    if metrics is not None:
        unknown = [m for m in metrics if m not in names]
        if unknown:
            fail(f"metrics among the history's columns {names}", "metrics", unknown)
        names = list(metrics)
    epochs = (frame["epoch"].to_numpy() if "epoch" in frame else np.arange(len(frame))) + 1
    plt = _pyplot()
    figure, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.8), squeeze=False)
    boundaries = np.cumsum(stages)[:-1] + 0.5 if stages else []
    for ax, name in zip(axes[0], names):
        if name in frame:
            ax.plot(epochs, frame[name], "o-", ms=3, label="train")
        if f"val_{name}" in frame:
            ax.plot(epochs, frame[f"val_{name}"], "s--", ms=3, label="validation")
        for i, edge in enumerate(boundaries):
            ax.axvline(edge, color="grey", ls=":", lw=1,
                       label="next stage" if i == 0 else None)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    figure.suptitle(title or "Training history")
    figure.tight_layout()
    return _finish(figure, save)


def plot_confusion(y_true, y_pred, labels=None, *, normalize: bool = True, title=None,
                   save=None):
    """Confusion matrix (rows: true class, columns: predicted), normalised per true class.

    Args:
        y_true: Class indices.
        y_pred: Class indices or `(n, k)` probabilities.
        labels: Class names, or an age-bin scheme name such as `"utk7"`.
        normalize: Show the share of each true class (rows sum to 1) instead of counts.
        title: Figure title (default with accuracy and macro-F1).
        save: PNG path.

    Returns:
        The `Figure`.

    Example:
        >>> fig = plot_confusion(true_bins, pred_bins, "utk7", save="confusion.png")
    """
    from agekit.metrics import classification_summary

    summary = classification_summary(y_true, y_pred, labels)
    counts = summary.confusion.to_numpy().astype(float)
    values = counts
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    names = list(summary.confusion.index)
    k = len(names)
    plt = _pyplot()
    side = max(4.0, 0.7 * k + 2)
    figure, ax = plt.subplots(figsize=(side + 1, side))
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04,
                    label="share of the true class" if normalize else "count")
    top = values.max() if values.size else 1
    for i in range(k):
        for j in range(k):
            text = f"{values[i, j]:.2f}" if normalize else f"{int(values[i, j])}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8 if k > 8 else 10,
                    color="white" if values[i, j] > 0.6 * top else "black")
    ax.set_xticks(range(k), names, rotation=45, ha="right")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or f"Confusion matrix{' (normalised)' if normalize else ''}\n"
                 f"accuracy {summary.accuracy:.3f}, macro-F1 {summary.macro_f1:.3f}")
    figure.tight_layout()
    return _finish(figure, save)


def plot_mae_by_age(pred, true, bins="utk7", *, title=None, save=None):
    """MAE per age group of the true age, with the number of faces in each group.

    Shows where a model trained on a skewed age distribution fails (the VGG16 study's
    suggested future work): bars of MAE per group, `n` above each bar, the overall
    MAE as a line.

    Args:
        pred: Predicted ages.
        true: True ages.
        bins: Age-bin scheme name (`"utk7"`, `"adience"`, `"utk4"`, ...), `AgeBins` or
            edges (see `agekit.labels.get_bins`).
        title: Figure title.
        save: PNG path.

    Returns:
        The `Figure`.

    Example:
        >>> fig = plot_mae_by_age(table["age"], test_df["age"], bins="utk7")
    """
    from agekit.metrics import mae, mae_by_group

    stats = mae_by_group(pred, true, bins)
    overall = mae(pred, true)
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=(max(5.0, 0.8 * len(stats) + 2), 4))
    positions = np.arange(len(stats))
    heights = stats["mae"].fillna(0).to_numpy()
    ax.bar(positions, heights, color="tab:blue", alpha=0.8)
    for x, height, n in zip(positions, heights, stats["n"]):
        ax.annotate(f"n={n}", (x, height), xytext=(0, 3), textcoords="offset points",
                    ha="center", fontsize=9)
    ax.axhline(overall, color="tab:red", ls="--", label=f"overall MAE {overall:.2f}")
    ax.set_xticks(positions, list(stats.index), rotation=30 if len(stats) > 8 else 0)
    ax.set_xlabel("true age group (years)")
    ax.set_ylabel("MAE (years)")
    ax.set_ylim(0, max(heights.max(initial=0), overall) * 1.2 + 1e-9)
    ax.set_title(title or "MAE by age group")
    ax.legend()
    figure.tight_layout()
    return _finish(figure, save)


def _as_images(images):
    from agekit.images import as_rgb, read_image

    if isinstance(images, (str, os.PathLike)):
        images = [images]
    out = []
    for image in images:
        if isinstance(image, (str, os.PathLike)):
            image = read_image(image)
        out.append(as_rgb(np.asarray(image)))
    return out


def plot_predictions(images, pred, true=None, *, ncols: int = 4, max_images: int = 16,
                     title=None, save=None):
    """A grid of faces, each titled "predicted / true" age.

    Args:
        images: Image paths, or uint8 RGB / greyscale arrays (a list or an
            `(n, h, w[, c])` array).
        pred: Predicted ages.
        true: True ages (optional).
        ncols: Images per row.
        max_images: Draw the first images only.
        title: Figure title.
        save: PNG path.

    Returns:
        The `Figure`.

    Example:
        >>> fig = plot_predictions(df["path"][:8], predict_age(model, df[:8])["age"],
        ...                        df["age"][:8])
    """
    pictures = _as_images(images)[:max_images]
    pred = as_ages(pred, "pred")[:max_images]
    true = None if true is None else as_ages(true, "true")[:max_images]
    same_length(images=pictures, pred=pred, **({} if true is None else {"true": true}))
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        fail("a whole number >= 1", "ncols", ncols)
    n = len(pictures)
    if n == 0:
        fail("at least one image", "len(images)", 0)
    cols = min(ncols, n)
    rows = -(-n // cols)
    plt = _pyplot()
    figure, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.9 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(pictures[i])
            caption = f"{pred[i]:.1f}" if true is None else f"{pred[i]:.1f} / {true[i]:.1f}"
            colour = "black" if true is None or abs(pred[i] - true[i]) <= 5 else "tab:red"
            ax.set_title(caption, color=colour)
    figure.suptitle(title or ("predicted / true (years; red: off by more than 5)"
                              if true is not None else "predicted age (years)"))
    figure.tight_layout()
    return _finish(figure, save)


def _ages_of(name, value, column):
    if isinstance(value, pd.DataFrame):
        if column not in value.columns:
            fail(f"a DataFrame with an `{column}` column", f"{name}.columns",
                 list(value.columns))
        value = value[column]
    return as_ages(value, name)


def plot_age_distribution(dfs, *, column: str = "age", bins=None, density: bool = False,
                          title=None, save=None):
    """Histograms of the ages of each split, one panel per split on a shared axis.

    Args:
        dfs: Dict split name -> DataFrame (its `column`) or a sequence of ages, such as
            `{"train": train_df, "val": val_df, "test": test_df}`; a single DataFrame
            or sequence is drawn as one split.
        column: The age column of the DataFrames.
        bins: None for 5-year bins; an int for that bin width in years; or an age-bin
            scheme (`"utk7"`, `"adience"`, `AgeBins`, edges), counted per group with
            `agekit.labels.bin_ages`.
        density: Show the share of each split instead of counts.
        title: Figure title.
        save: PNG path.

    Returns:
        The `Figure`.

    Example:
        >>> fig = plot_age_distribution({"train": train_df, "test": test_df}, bins="utk7")
    """
    from agekit.labels import bin_ages, get_bins

    if not isinstance(dfs, dict):
        dfs = {"ages": dfs}
    if not dfs:
        fail("at least one split", "dfs", dfs)
    ages = {name: _ages_of(name, value, column) for name, value in dfs.items()}
    plt = _pyplot()
    figure, axes = plt.subplots(len(ages), 1, figsize=(7, 2.2 * len(ages) + 0.8),
                                sharex=True, squeeze=False)
    grouped = bins is not None and not isinstance(bins, (int, np.integer))
    if grouped:
        scheme = get_bins(bins)
    else:
        width = 5 if bins is None else int(bins)
        if width < 1:
            fail("a bin width >= 1 year", "bins", bins)
        top = max(float(a.max(initial=0)) for a in ages.values())
        edges = np.arange(0, top + width + 1, width)
    for number, (ax, (name, values)) in enumerate(zip(axes[:, 0], ages.items())):
        colour = f"C{number % 10}"
        label = f"{name}: n={len(values)}, mean {values.mean():.1f}" if len(values) else name
        if grouped:
            counts = np.bincount(bin_ages(values, scheme), minlength=len(scheme)).astype(float)
            if density and counts.sum():
                counts /= counts.sum()
            ax.bar(np.arange(len(scheme)), counts, label=label, color=colour)
            ax.set_xticks(np.arange(len(scheme)), scheme.labels)
        else:
            weights = np.full(len(values), 1 / len(values)) if density and len(values) else None
            ax.hist(values, bins=edges, weights=weights, label=label, color=colour,
                    edgecolor="white")
        ax.set_ylabel("share" if density else "faces")
        ax.legend(loc="upper right")
        ax.grid(alpha=0.3, axis="y")
    axes[-1, 0].set_xlabel("age group" if grouped else "age (years)")
    figure.suptitle(title or "Age distribution per split")
    figure.tight_layout()
    return _finish(figure, save)


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
        >>> from agekit.audit import group_errors
        >>> fig = plot_group_errors(group_errors(table), save="groups.png")
    """
    frame = _group_frame(groups)
    overall = frame[frame["group"] == "all"]
    parts = [(name, part[part["n"] > 0]) for name, part in frame.groupby("group", sort=False)
             if name != "all"]
    parts = [(name, part) for name, part in parts if len(part)]
    if not parts:
        fail("at least one group besides 'all' with n > 0", "groups", list(frame["group"]))
    plt = _pyplot()
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
    return _finish(figure, save)


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
        >>> from agekit.calibration import coverage_table
        >>> fig = plot_coverage(coverage_table(head, test_outputs, test_ages, calibration))
    """
    frame = pd.DataFrame(table)
    missing = {"method", "level", "coverage", "width"} - set(frame.columns)
    if missing or frame.empty:
        fail("a non-empty coverage_table", "missing columns", sorted(missing))
    plt = _pyplot()
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
    return _finish(figure, save)


__all__ = [
    "age_title",
    "plot_age_distribution",
    "plot_confusion",
    "plot_coverage",
    "plot_group_errors",
    "plot_history",
    "plot_mae_by_age",
    "plot_predictions",
]
