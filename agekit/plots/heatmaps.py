"""Heatmaps over images: occlusion and Grad-CAM maps (`agekit.explain`) as colours."""

import numpy as np

from agekit._validation import fail
from agekit.plots._figure import finish, pyplot


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

    plt = pyplot()
    figure, axes = plt.subplots(figsize=(5, 5.4))
    axes.imshow(overlay(image, heatmap, cmap=cmap))
    scale = ScalarMappable(Normalize(float(np.min(heatmap)), float(np.max(heatmap))), cmap)
    figure.colorbar(scale, ax=axes, fraction=0.046, pad=0.04, label=colorbar)
    if title is not None:
        axes.set_title(title)
    axes.axis("off")
    return finish(figure, save)
