"""The ages of a dataset's splits: histograms on a shared axis."""

import numpy as np
import pandas as pd

from agekit._validation import as_ages, fail
from agekit.plots._figure import finish, pyplot


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
        >>> import pandas as pd
        >>> train, test = pd.DataFrame({"age": [3, 25, 27, 64]}), pd.DataFrame({"age": [30, 71]})
        >>> fig = plot_age_distribution({"train": train, "test": test}, bins="utk7")
        >>> [ax.get_legend().get_texts()[0].get_text() for ax in fig.axes]
        ['train: n=4, mean 29.8', 'test: n=2, mean 50.5']
    """
    from agekit.labels import bin_ages, get_bins

    if not isinstance(dfs, dict):
        dfs = {"ages": dfs}
    if not dfs:
        fail("at least one split", "dfs", dfs)
    ages = {name: _ages_of(name, value, column) for name, value in dfs.items()}
    plt = pyplot()
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
    return finish(figure, save)
