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


def plot_mae_by_age(*, y_true, y_pred, bins="utk7", title=None, save=None):
    """MAE per age group of the true age, with the number of faces in each group.

    Shows where a model trained on a skewed age distribution fails (the VGG16 study's
    suggested future work): bars of MAE per group, `n` above each bar, the overall
    MAE as a line. Keyword-only, as `agekit.metrics.mae_by_group`: grouping by the
    prediction instead of the truth would draw without an error.

    Args:
        y_true: True ages (they choose the group).
        y_pred: Predicted ages.
        bins: Age-bin scheme name (`"utk7"`, `"adience"`, `"utk4"`, ...), `AgeBins` or
            edges (see `agekit.labels.get_bins`).
        title: Figure title.
        save: PNG path.

    Returns:
        The `Figure`.

    Example:
        >>> fig = plot_mae_by_age(y_true=test_df["age"], y_pred=table["age"], bins="utk7")
    """
    from agekit.metrics import mae, mae_by_group

    stats = mae_by_group(y_true=y_true, y_pred=y_pred, bins=bins)
    overall = mae(y_true, y_pred)
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


def plot_predictions(images, y_pred, *, y_true=None, ncols: int = 4, max_images: int = 16,
                     title=None, save=None):
    """A grid of faces, each titled "predicted / true" age.

    Args:
        images: Image paths, or uint8 RGB / greyscale arrays (a list or an
            `(n, h, w[, c])` array).
        y_pred: Predicted ages.
        y_true: True ages (optional, keyword-only).
        ncols: Images per row.
        max_images: Draw the first images only.
        title: Figure title.
        save: PNG path.

    Returns:
        The `Figure`.

    Example:
        >>> fig = plot_predictions(df["path"][:8], predict_age(model, df[:8])["age"],
        ...                        y_true=df["age"][:8])
    """
    pictures = _as_images(images)[:max_images]
    pred = as_ages(y_pred, "y_pred")[:max_images]
    true = None if y_true is None else as_ages(y_true, "y_true")[:max_images]
    same_length(images=pictures, y_pred=pred, **({} if true is None else {"y_true": true}))
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


def overlay(image, heatmap, *, alpha: float = 0.4, cmap: str = "jet") -> np.ndarray:
    """Draw `heatmap` over `image` in a colormap.

    Args:
        image: RGB or greyscale image (uint8, or float in [0, 1]); any size.
        heatmap: 2-D array, resized (bilinear) to the image and scaled to [0, 1] by its
            minimum and maximum.
        alpha: Weight of the heatmap colours (0: the image only, 1: the heatmap only).
        cmap: A matplotlib colormap name.

    Returns:
        `(height, width, 3)` uint8 RGB.

    Example:
        >>> import numpy as np
        >>> picture = overlay(np.zeros((4, 4, 3), "uint8"), np.eye(2), alpha=1.0)
        >>> picture.shape, picture[0, 0].tolist(), picture[0, 3].tolist()  # jet: 1 red, 0 blue
        ((4, 4, 3), [128, 0, 0], [0, 0, 128])
    """
    import cv2
    import matplotlib

    from agekit._validation import as_float_array
    from agekit.images import as_rgb

    picture = as_rgb(np.asarray(image))
    heat = as_float_array(heatmap, "heatmap", ndim=2)
    if not 0 <= alpha <= 1:
        fail("0 <= alpha <= 1", "alpha", alpha)
    if cmap not in matplotlib.colormaps:
        fail("a matplotlib colormap name", "cmap", cmap)
    heat = cv2.resize(heat.astype(np.float32), (picture.shape[1], picture.shape[0]),
                      interpolation=cv2.INTER_LINEAR)
    span = float(heat.max() - heat.min())
    heat = (heat - heat.min()) / span if span > 0 else np.zeros_like(heat)
    colours = matplotlib.colormaps[cmap](heat)[..., :3] * 255.0
    blended = (1 - alpha) * picture.astype(np.float32) + alpha * colours
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def plot_heatmap(image, heatmap, *, title=None, colorbar: str | None = None,
                 cmap: str = "jet", save=None):
    """An image with a heatmap drawn over it (`overlay`) and a colour bar of its values.

    The figure `agekit.explain.explain_image` writes for occlusion and Grad-CAM.

    Args:
        image: RGB or greyscale image (uint8, or float in [0, 1]).
        heatmap: 2-D array (any size: resized to the image).
        title: Figure title.
        colorbar: Label of the colour bar, whose range is the heatmap's minimum and
            maximum.
        cmap: A matplotlib colormap name.
        save: PNG path.

    Returns:
        The `Figure`.

    Example:
        >>> import numpy as np
        >>> fig = plot_heatmap(np.zeros((32, 32, 3), "uint8"), np.eye(4), title="Grad-CAM",
        ...                    colorbar="Grad-CAM (max = 1)")
        >>> fig.axes[0].get_title(), fig.axes[1].get_ylabel()
        ('Grad-CAM', 'Grad-CAM (max = 1)')
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(5, 5.4))
    axes.imshow(overlay(image, heatmap, cmap=cmap))
    scale = ScalarMappable(Normalize(float(np.min(heatmap)), float(np.max(heatmap))), cmap)
    figure.colorbar(scale, ax=axes, fraction=0.046, pad=0.04, label=colorbar)
    if title is not None:
        axes.set_title(title)
    axes.axis("off")
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


__all__ = [
    "age_title",
    "overlay",
    "plot_age_distribution",
    "plot_confusion",
    "plot_heatmap",
    "plot_history",
    "plot_mae_by_age",
    "plot_predictions",
]
