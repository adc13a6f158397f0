"""Activation maps: a Keras 3 feature extractor, drawn with keract's display functions.

`activations` runs `keras.Model(model.inputs, [layer outputs])` and returns keract's
format (layer name -> array); `plot_activations` draws them with keract's
`display_activations` / `display_heatmaps`, titled as in the VGG16 study. keract's own
`get_activations` does not work under Keras 3 and is never called.
"""

import contextlib
import io
from pathlib import Path

import keras
import numpy as np

from agekit._validation import fail
from agekit.explain import inputs
from agekit.explain.layers import layer_names, layer_title


def activations(
    model: keras.Model,
    images,
    layers: str | list[str] | None = None,
    *,
    batch_size: int = 32,
) -> dict[str, np.ndarray]:
    """Feature maps of `layers` for `images`, in keract's format.

    Args:
        model: A functional Keras model (`build_model`, the scratch CNNs, a loaded
            `.keras` file).
        images: An image path (or a list of them), a uint8 RGB / greyscale image or batch
            (resized and preprocessed as `predict_age` does), or float model input.
        layers: Layer names; default `default_layers(model)` (each conv stage's output).
        batch_size: Images per forward pass.

    Returns:
        Dict layer name -> float32 array `(n, height, width, channels)`, in layer order.

    Example:
        >>> import numpy as np
        >>> from agekit.models import basic_cnn
        >>> model = basic_cnn(input_shape=(32, 32, 3), layers=2, base_filters=4)
        >>> acts = activations(model, np.zeros((48, 48, 3), "uint8"))  # resized to 32x32
        >>> {name: a.shape for name, a in acts.items()}
        {'block1_pool': (1, 16, 16, 4), 'block2_pool': (1, 8, 8, 8)}
    """
    names = layer_names(model, layers)
    x = inputs.model_input(model, images)
    extractor = inputs.submodel(model, [model.get_layer(n).output for n in names])
    if len(x) <= batch_size:
        outputs = inputs.forward(extractor, x)
    else:
        outputs = extractor.predict(x, batch_size=batch_size, verbose=0)
    if len(names) == 1 and not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return {name: np.asarray(out, np.float32) for name, out in zip(names, outputs)}


@contextlib.contextmanager
def _captured_figures(figures):
    """Collect the figures keract shows (instead of `plt.show`), and silence its prints."""
    import matplotlib.pyplot as plt

    show = plt.show
    plt.show = lambda *args, **kwargs: figures.append(plt.gcf())
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield figures
    finally:
        plt.show = show


def _shared_scale(figure, label="activation"):
    """One colour scale for every filter of a keract figure, with its colour bar, and
    each panel titled by its filter.

    keract scales each filter's map to its own range, so the colours of two panels
    cannot be compared and no colour bar can say what they mean; here all panels share
    the layer's range and one colour bar shows it.
    """
    panels = [ax for ax in figure.axes if ax.images]
    if not panels:
        return
    maps = [ax.images[-1] for ax in panels]  # heatmaps: the image, then the map over it
    low = min(float(np.min(m.get_array())) for m in maps)
    high = max(float(np.max(m.get_array())) for m in maps)
    for index, (ax, image) in enumerate(zip(panels, maps)):
        image.set_clim(low, high if high > low else low + 1e-6)
        ax.set_title(f"filter {index}", fontsize=9)
    bars = [ax for ax in figure.axes if not ax.images and ax not in panels and ax.get_label() == "<colorbar>"]
    if bars:  # keract's own colour bar (display_activations): now the shared scale
        bars[0].set_ylabel(label)
    else:
        bar = figure.colorbar(maps[-1], ax=panels, shrink=0.6, label=label)
        bar.solids.set_alpha(1.0)  # the maps are drawn see-through over the face; the bar is not


def plot_activations(
    activations: dict,
    image=None,
    *,
    title: str | None = None,
    kind: str | None = None,
    index: int = 0,
    max_filters: int | None = 64,
    cmap: str | None = None,
    save: str | Path | None = None,
) -> dict:
    """Draw feature maps with keract: one figure per layer, titled as in the study.

    keract's display functions show each figure (`plt.show`) or save it to a folder;
    here their figures are captured instead and returned (closed to pyplot: display
    them in a notebook, or save them), retitled "Conv Block N Pool" (`layer_title`)
    with `title` on a second line.

    Args:
        activations: Dict layer name -> array `(n, h, w, channels)` (`activations`).
        image: The input image (uint8 RGB or greyscale, or float in [0, 1]); with it the
            maps are drawn as heatmaps over the image (`keract.display_heatmaps`).
        title: Second title line, such as `age_title(29, 30.2)` from `agekit.plots`.
        kind: `"heatmaps"` (needs `image`) or `"maps"` (`keract.display_activations`:
            each filter's map on its own); default heatmaps when `image` is given.
        index: Which image of the batch to draw.
        max_filters: Draw the first filters only (None: all; 512 take long).
        cmap: Colormap of the `"maps"` kind.
        save: A folder: each figure is also written there as `<i>_<layer>.png`.

    Returns:
        Dict layer name -> `matplotlib.figure.Figure`.

    Example:
        >>> import numpy as np
        >>> crop = np.full((32, 32, 3), 128, "uint8")
        >>> acts = {"block1_pool": np.random.rand(1, 16, 16, 4)}
        >>> figures = plot_activations(acts, crop, title="29.0 / 30.2 (predicted / true)")
        >>> print(figures["block1_pool"].get_suptitle())
        Conv Block 1 Pool
        29.0 / 30.2 (predicted / true)
    """
    import keract

    from agekit.images import as_rgb

    kind = kind or ("heatmaps" if image is not None else "maps")
    if kind not in ("heatmaps", "maps"):
        fail("kind to be 'heatmaps' or 'maps'", "kind", kind)
    if kind == "heatmaps" and image is None:
        fail("an image to draw heatmaps over (or kind='maps')", "image", image)
    if image is not None:
        picture = as_rgb(np.asarray(image)).astype(np.float32) / 255.0
    figures = {}
    for name, acts in activations.items():
        acts = np.asarray(acts, np.float32)
        if not 0 <= index < len(acts):
            fail(f"an index in [0, {len(acts) - 1}]", "index", index)
        acts = np.array(acts[index:index + 1, ..., :max_filters])
        captured = []
        with _captured_figures(captured):
            if kind == "maps":
                keract.display_activations({name: acts}, cmap=cmap, fig_size=(12, 12))
            else:
                keract.display_heatmaps({name: acts}, picture.copy())
        if not captured:
            fail("activations of one image with 2 to 4 dimensions", f"{name}.shape", acts.shape)
        figure = captured[0]
        _shared_scale(figure)
        figure.suptitle(layer_title(name) + (f"\n{title}" if title else ""), fontsize=18)
        figures[name] = figure
    if save is not None:
        folder = Path(save)
        folder.mkdir(parents=True, exist_ok=True)
        for i, (name, figure) in enumerate(figures.items()):
            figure.savefig(folder / f"{i}_{name}.png", bbox_inches="tight")
    return figures


