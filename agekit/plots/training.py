"""Training curves: one panel per metric (rows of three), train against validation, stage boundaries."""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from agekit._validation import fail
from agekit.plots._figure import finish, pyplot

COLUMNS = 3  # panels a row of `plot_history`: a row stays under 3:1


def plot_history(history, *, metrics: list[str] | None = None, stages=None, title=None,
                 save=None):
    """Training curves: one panel per metric, train (solid) vs validation (dashed), in
    rows of at most three panels.

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
        `plot_history("runs/vgg16_dex", save="runs/vgg16_dex/history.png")` draws a run
        folder; a DataFrame of two stages of two epochs:

        >>> import pandas as pd
        >>> history = pd.DataFrame({"loss": [9.0, 7.0, 6.0, 5.5], "val_loss": [9.5, 8.0, 7.0, 6.9]})
        >>> fig = plot_history(history, stages=[2, 2])
        >>> [ax.get_title() for ax in fig.axes]
        ['loss']
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
    plt = pyplot()
    # A grid of at most COLUMNS panels a row (a multi-output model has ten or more).
    columns = min(len(names), COLUMNS)
    rows = -(-len(names) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.8 * rows), squeeze=False)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    boundaries = np.cumsum(stages)[:-1] + 0.5 if stages else []
    for ax, name in zip(axes.flat, names):
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
        ax.legend(fontsize="small")
    figure.suptitle(title or "Training history")
    figure.tight_layout()
    return finish(figure, save)
