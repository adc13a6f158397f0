"""What every figure of `agekit.plots` shares: pyplot, imported on first use, and `save`."""

from pathlib import Path


def pyplot():
    """`matplotlib.pyplot`, imported when a figure is first drawn."""
    import matplotlib.pyplot as plt

    return plt


def finish(figure, save):
    """Write `figure` as a PNG when `save` is a path; return the figure."""
    if save is not None:
        path = Path(save)
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100, bbox_inches="tight")
    return figure
