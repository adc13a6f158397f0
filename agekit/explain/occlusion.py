"""Occlusion sensitivity (Zeiler & Fergus): how much a score drops under a grey patch.

Every occluded copy is built with numpy masks and the copies go through the model in
batches (forward passes only: any Keras backend). `benchmarks/bench_occlusion.py`
compares this with one forward pass per copy.
"""

import logging
import math
from dataclasses import dataclass

import keras
import numpy as np

from agekit._validation import fail
from agekit.explain import inputs, targets

log = logging.getLogger("agekit.explain")

GREY = 127.5  # mid-grey in [0, 255] pixel space: the default occluder


@dataclass(frozen=True)
class OcclusionMap:
    """Result of `occlusion_map`.

    Attributes:
        heatmap: `(rows, cols)` sensitivity per patch position: how much the target
            score drops when the patch is occluded (`baseline - score` for class
            probabilities, `|score - baseline|` in years for `"expected_age"`).
        upsampled: `(height, width)` at the model's input resolution: each pixel the
            mean of the sensitivities of the patches covering it.
        scores: `(rows, cols)` the target score of each occluded copy (a probability,
            or an expected age in years).
        baseline: The target score of the image without occlusion.
        target: `"class"`, `"true_class"` or `"expected_age"`.
        class_index: The class whose probability is scored (None for expected_age).
        patch: Patch side in pixels.
        stride: Step between patches in pixels.
    """

    heatmap: np.ndarray
    upsampled: np.ndarray
    scores: np.ndarray
    baseline: float
    target: str
    class_index: int | None
    patch: int
    stride: int


def _starts(size, patch, stride):
    """Patch origins covering `size` pixels; the last patch may pass the edge."""
    return np.arange(max(math.ceil((size - patch) / stride), 0) + 1) * stride


def _cover(starts, patch, size):
    """Boolean `(len(starts), size)`: which pixels each patch covers along one axis."""
    pixels = np.arange(size)
    return (pixels >= starts[:, None]) & (pixels < starts[:, None] + patch)


def _fill_value(fill, model, channels):
    """The occluder's value in the model's input space, per channel.

    agekit models take pixels (their first layer scales them), so the value is the
    pixel value itself; a described plain model gets its preprocessing applied.
    """
    from agekit.data.preprocess import preprocess_images
    from agekit.models.card import card_of

    value = np.asarray(GREY if fill is None else fill, np.float32).reshape(-1)
    if value.size not in (1, channels) or not np.all(np.isfinite(value)):
        fail(f"a fill value per channel (1 or {channels} numbers)", "fill", fill)
    pixel = np.broadcast_to(value, (channels,)).reshape(1, 1, channels).copy()
    try:
        card = card_of(model)
    except TypeError:  # an undescribed plain model: takes the pixels as they are
        return pixel.reshape(channels)
    if not card.in_model:
        pixel = preprocess_images(pixel, card.preprocess)
    return np.asarray(pixel, np.float32).reshape(channels)


def _check_positive(**values):
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            fail("a whole number >= 1", name, value)


def occlusion_map(
    model: keras.Model,
    image,
    *,
    patch: int = 16,
    stride: int = 8,
    target: str = "class",
    true_age: float | None = None,
    batch_size: int = 64,
    fill=None,
    output: str | None = None,
    verbose: bool | int | str = "auto",
) -> OcclusionMap:
    """Occlusion sensitivity (Zeiler & Fergus): the score drop under a sliding grey patch.

    Every occluded copy is built at once with numpy masks and the copies go through
    the model `batch_size` at a time (forward passes only: any Keras backend).

    The occluder is grey as the model sees it: `fill` (default mid-grey 127.5, or e.g.
    a dataset's mean RGB) is a pixel value in [0, 255] painted into the model's input,
    which agekit models scale like the rest of the image (for a VGG16 model, caffe: BGR
    minus the ImageNet mean, grey becomes about (23.6, 10.7, 3.8), not 0, which is what
    occluding with the mean colour would give: `fill=(123.68, 116.78, 103.94)`). A
    described plain model gets the fill preprocessed as its card says.

    Args:
        model: An agekit model (or any Keras model with a softmax output for the class
            targets).
        image: One image: a path, a uint8 RGB / greyscale array, or float model input.
        patch: Side of the square occluder in pixels (of the model's input).
        stride: Step between patch positions; patches overlap when `stride < patch`.
        target: `"class"`: the probability of the class predicted for the intact image
            (the VGG16 study); `"true_class"`: the probability of the true class (needs
            `true_age`; dex and bins heads); `"expected_age"`: the shift of the
            predicted age in years (dex, regression, coral and bins heads, `Head.to_age`).
        true_age: The true age in years, for `"true_class"`.
        batch_size: Occluded copies per forward pass.
        fill: Occluder pixel value(s) in [0, 255] before preprocessing.
        output: Which output to explain (default the `age` head or the only output).
        verbose: Show a progress bar (`keras.utils.Progbar`); `"auto"` does for jobs of
            more than 8 batches. The job size is logged at INFO level either way.

    Returns:
        An `OcclusionMap` (`heatmap` per patch, `upsampled` per pixel, raw `scores`).

    Example:
        >>> import numpy as np
        >>> from agekit.models import basic_cnn
        >>> model = basic_cnn(input_shape=(32, 32, 3), layers=2, base_filters=4)
        >>> result = occlusion_map(model, np.zeros((32, 32, 3), "uint8"), patch=8, stride=8)
        >>> result.heatmap.shape, result.upsampled.shape  # 4 x 4 patch positions
        ((4, 4), (32, 32))
    """
    _check_positive(patch=patch, stride=stride, batch_size=batch_size)
    targets.check_target(target)
    x = inputs.single(model, image)
    _, height, width, channels = x.shape
    value = _fill_value(fill, model, channels)
    _, head, scorer = targets.output_of(model, output)
    baseline_out = inputs.forward(scorer, x)
    class_index = targets.class_index(head, target, baseline_out, true_age)
    baseline = float(targets.scores(head, class_index, baseline_out)[0])

    ys, xs = _starts(height, patch, stride), _starts(width, patch, stride)
    rows, cols = _cover(ys, patch, height), _cover(xs, patch, width)
    grid_y, grid_x = np.meshgrid(np.arange(len(ys)), np.arange(len(xs)), indexing="ij")
    grid_y, grid_x = grid_y.ravel(), grid_x.ravel()
    total = len(grid_y)
    batches = math.ceil(total / batch_size)
    show = batches > 8 if verbose == "auto" else bool(verbose)
    progress = keras.utils.Progbar(total, unit_name="copy") if show else None
    log.info("occlusion: %d copies (%dx%d patches, stride %d) in %d batches",
             total, patch, patch, stride, batches)
    scores = np.empty(total)
    for start in range(0, total, batch_size):
        part = slice(start, start + batch_size)
        mask = rows[grid_y[part]][:, :, None] & cols[grid_x[part]][:, None, :]
        copies = np.where(mask[..., None], value, x).astype(np.float32)
        scores[part] = targets.scores(head, class_index,
                                      np.asarray(scorer.predict_on_batch(copies)))
        if progress is not None:
            progress.update(min(start + batch_size, total))
    scores = scores.reshape(len(ys), len(xs))
    heatmap = np.abs(scores - baseline) if class_index is None else baseline - scores
    fy, fx = rows.astype(np.float64), cols.astype(np.float64)
    count = np.outer(fy.sum(axis=0), fx.sum(axis=0))
    upsampled = np.divide(fy.T @ heatmap @ fx, count, out=np.zeros_like(count), where=count > 0)
    return OcclusionMap(heatmap, upsampled, scores, baseline, target, class_index, patch, stride)


# ---------------------------------------------------------------- Grad-CAM


