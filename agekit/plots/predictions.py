"""How a model predicts ages: captions, the confusion matrix, MAE per age group, faces."""

import os

import numpy as np

from agekit._validation import as_ages, fail, same_length
from agekit.plots._figure import finish, pyplot


def age_title(predicted: float, true: float | None = None) -> str:
    """The study's caption of a prediction: `'29.0 / 30.2 (predicted / true)'`.

    Example:
        >>> age_title(29, 30.25), age_title(41.04)
        ('29.0 / 30.2 (predicted / true)', '41.0 (predicted)')
    """
    if true is None:
        return f"{float(predicted):.1f} (predicted)"
    return f"{float(predicted):.1f} / {float(true):.1f} (predicted / true)"


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
        >>> fig = plot_confusion([0, 1, 1, 2], [0, 1, 2, 2], ["young", "adult", "old"])
        >>> print(fig.axes[0].get_title())
        Confusion matrix (normalised)
        accuracy 0.750, macro-F1 0.778
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
    plt = pyplot()
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
    return finish(figure, save)


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
        >>> fig = plot_mae_by_age(y_true=[5, 25, 30, 70], y_pred=[7, 22, 30, 60], bins="utk7")
        >>> fig.axes[0].get_legend().get_texts()[0].get_text()
        'overall MAE 3.75'
    """
    from agekit.metrics import mae, mae_by_group

    stats = mae_by_group(y_true=y_true, y_pred=y_pred, bins=bins)
    overall = mae(y_true, y_pred)
    plt = pyplot()
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
    return finish(figure, save)


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
        With a model: `plot_predictions(df["path"][:8], predict_age(model, df[:8])["age"],
        y_true=df["age"][:8])`. Two grey squares:

        >>> import numpy as np
        >>> faces = np.full((2, 32, 32), 128, "uint8")
        >>> fig = plot_predictions(faces, [29.0, 41.5], y_true=[30, 52])
        >>> [ax.get_title() for ax in fig.axes]  # red when off by more than 5 years
        ['29.0 / 30.0', '41.5 / 52.0']
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
    plt = pyplot()
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
    return finish(figure, save)
