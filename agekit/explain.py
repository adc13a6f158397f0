"""Why a model predicts an age: activation maps, occlusion sensitivity and Grad-CAM.

The VGG16 study's interpretability chapter, for any agekit model:

- `activations` runs a Keras 3 feature extractor (`keras.Model(model.inputs, [layer
  outputs])`) and returns keract's format (layer name -> array); `plot_activations`
  draws them with keract's display functions (keract's own `get_activations` does
  not work under Keras 3 and is never called).
- `occlusion_map` slides a grey square over the image and records how much the
  target score drops (the probability of the predicted or true class, as the study
  did, or the shift of the expected age); every occluded copy is built with numpy
  and evaluated in batches.
- `grad_cam` weights a layer's feature maps by the gradient of the target score;
  `overlay` draws a heatmap over a photo.
- `explain_image` writes all three figures for one face crop (`agekit explain`).

Images are given as the user has them: an image path, or uint8 RGB (or greyscale,
RGBA, 16-bit) arrays, which are brought to the model's input by
`agekit.predict.prepare_inputs` (`agekit.images.model_batch` with the model's card), as
`predict_age` does: agekit models take RGB in [0, 255] and scale it themselves. Float
arrays are taken as model input already (they must match the model's input shape).
"""

import contextlib
import io
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from agekit._validation import as_ages, fail
from agekit.errors import InvalidValueError

log = logging.getLogger(__name__)

TARGETS = ("class", "true_class", "expected_age")
GREY = 127.5  # mid-grey in [0, 255] pixel space: the default occluder
_POOLS = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
_MERGES = (keras.layers.Add, keras.layers.Concatenate)
_SOFTMAX_KINDS = ("dex", "bins", "class")


# ---------------------------------------------------------------- model inputs


def _model_input(model, images):
    """Images (paths, uint8 arrays, or float model input) -> float32 `(n, h, w, c)`."""
    from agekit.images import as_rgb
    from agekit.predict import prepare_inputs

    _, height, width, channels = model.input_shape
    if isinstance(images, np.ndarray) and np.issubdtype(images.dtype, np.floating):
        x = images[None] if images.ndim == 3 else images
        if x.ndim != 4 or tuple(x.shape[1:]) != (height, width, channels):
            raise InvalidValueError(
                f"Expected float images of the model's input shape {(height, width, channels)} "
                f"(or uint8 images of any size). Received: images.shape={images.shape}"
            )
        return np.asarray(x, np.float32)
    if isinstance(images, np.ndarray):  # greyscale, RGBA, one image or a batch -> RGB
        images = [as_rgb(image) for image in (images if images.ndim == 4 else [images])]
    return np.asarray(prepare_inputs(model, images), np.float32)


def _display_image(model, image):
    """The image as the model sees it (its input size), as RGB uint8 for drawing."""
    from agekit.images import as_rgb

    if isinstance(image, np.ndarray) and np.issubdtype(image.dtype, np.floating):
        x = np.asarray(image, np.float64).reshape(image.shape[-3:])
        span = np.ptp(x)
        return as_rgb(((x - x.min()) / span if span else np.zeros_like(x)).astype(np.float32))
    import dataclasses

    from agekit.images import model_batch
    from agekit.models.card import card_of

    card = card_of(model)  # the pixels before any preprocessing outside the model
    pixels = model_batch(image, dataclasses.replace(card, preprocess="none"))[0]
    return as_rgb(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))


def _forward(model, x):
    """One forward pass (inference mode) as numpy.

    Eager under TensorFlow (tracing a function for one batch costs more than running
    it); compiled under other backends, whose eager op-by-op dispatch is slow.
    """
    if keras.backend.backend() != "tensorflow":
        return model.predict_on_batch(x)
    return keras.tree.map_structure(keras.ops.convert_to_numpy, model(x, training=False))


def _submodel(model, outputs):
    """A model from `model`'s input to `outputs` (layer output tensors)."""
    return keras.Model(model.input if len(model.inputs) == 1 else model.inputs, outputs)


def _single(model, image):
    x = _model_input(model, image)
    if len(x) != 1:
        fail("one image", "len(images)", len(x))
    return x


# ---------------------------------------------------------------- layers


def _inbound(layer):
    return [t._keras_history.operation for t in keras.tree.flatten(layer.input)]


def _spatial(layer):
    shape = layer.output.shape
    if len(shape) != 4 or shape[1] is None or shape[2] is None:
        return None
    return min(shape[1], shape[2])


def _trunk(model):
    """Layers (in order) and whether every path from input to output passes through each."""
    layers = [la for la in model.layers if not isinstance(la, keras.layers.InputLayer)]
    position = {id(la): i for i, la in enumerate(layers)}
    furthest = {}
    for i, layer in enumerate(layers):
        for source in _inbound(layer):
            if id(source) in position:
                furthest[id(source)] = max(furthest.get(id(source), -1), i)
    trunk, reach = [], -1
    for i, layer in enumerate(layers):
        trunk.append(reach <= i)
        reach = max(reach, furthest.get(id(layer), -1))
    return layers, trunk


def default_layers(model: keras.Model) -> list[str]:
    """The layers whose activations `activations` shows by default: each stage's output.

    Only trunk layers count (those every path from input to output passes through, so
    not the branches of an Inception or residual block). They are grouped into stages
    where the feature maps shrink by 1.5x or more; the full-resolution stage is skipped.
    A stage's outputs are the pooling layer that opens it (VGG's `blockN_pool`, the
    study CNNs' pools, ResNet's `pool1_pool`) and its last `Add` / `Concatenate`
    (with the activation right after it: ResNet's `convN_blockM_out`, MobileNetV2's
    `block_N_add`, EfficientNet's `blockNx_add`, Inception's `mixedN`); a stage with
    neither, and not closed by a pooling layer, gives its last narrowest layer (the
    inverted-residual bottleneck of MobileNetV2 / EfficientNet's first stage). The
    last stage gives the last 4-D trunk layer (`block5_pool`, `conv5_block3_out`,
    `mixed10`, `out_relu`, `top_activation`; the only one for a model that never
    downsamples).

    Example:
        >>> default_layers(build_model("vgg16", weights=None, input_shape=(32, 32, 3)))
        ['block1_pool', 'block2_pool', 'block3_pool', 'block4_pool', 'block5_pool']
    """
    layers, trunk = _trunk(model)
    maps = [i for i, layer in enumerate(layers) if trunk[i] and _spatial(layer) is not None]
    if not maps:
        fail("a model with 4-D (image-like) layers", "model", model.name)
    size, stages = min(model.input_shape[1:3]), [[]]
    for i in maps:
        side = _spatial(layers[i])
        if side * 1.5 <= size:
            stages.append([])
        size = min(size, side)
        stages[-1].append(i)
    opened_by_pool = [bool(s) and isinstance(layers[s[0]], _POOLS) for s in stages] + [False]
    chosen = []
    for number, stage in enumerate(stages[1:], start=1):
        if opened_by_pool[number]:
            chosen.append(stage[0])
        if number == len(stages) - 1:
            break
        merges = [i for i in stage if isinstance(layers[i], _MERGES)]
        if merges:
            i = merges[-1]
            while (i + 1 in stage and not layers[i + 1].weights
                   and _inbound(layers[i + 1]) == [layers[i]]):  # fmt: skip
                i += 1
            chosen.append(i)
        elif not opened_by_pool[number] and not opened_by_pool[number + 1]:
            side = min(_spatial(layers[i]) for i in stage)
            same = [i for i in stage if _spatial(layers[i]) == side]
            narrowest = min(layers[i].output.shape[-1] for i in same)
            chosen.append([i for i in same if layers[i].output.shape[-1] == narrowest][-1])
    chosen.append(maps[-1])  # the last stage (or the only one)
    return [layers[i].name for i in dict.fromkeys(chosen)]


def _layer_names(model, layers):
    if layers is None:
        return default_layers(model)
    names = [layers] if isinstance(layers, str) else list(layers)
    known = {layer.name for layer in model.layers}
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise InvalidValueError(
            f"Unknown layer. Expected names of layers of model {model.name!r} (such as "
            f"{default_layers(model)[:3]}). Received: layers={unknown or names!r}"
        )
    return names


def layer_title(name: str) -> str:
    """The study's figure title for a layer: `block3_pool` -> `'Conv Block 3 Pool'`.

    Example:
        >>> layer_title("block5_pool"), layer_title("pool2"), layer_title("mixed7")
        ('Conv Block 5 Pool', 'Conv Block 2 Pool', 'mixed7')
    """
    match = re.fullmatch(r"(?:.*_)?block(\d+)_pool|pool(\d+)", name)
    if match:
        return f"Conv Block {match.group(1) or match.group(2)} Pool"
    return name


# ---------------------------------------------------------------- activations


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
        >>> acts = activations(model, "face.jpg")
        >>> {name: a.shape for name, a in acts.items()}
        {'block1_pool': (1, 112, 112, 64), ...}
    """
    names = _layer_names(model, layers)
    x = _model_input(model, images)
    extractor = _submodel(model, [model.get_layer(n).output for n in names])
    if len(x) <= batch_size:
        outputs = _forward(extractor, x)
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
        >>> figures = plot_activations(activations(model, crop), crop, title="29 / 30.2")
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
        figure.suptitle(layer_title(name) + (f"\n{title}" if title else ""), fontsize=18)
        figures[name] = figure
    if save is not None:
        folder = Path(save)
        folder.mkdir(parents=True, exist_ok=True)
        for i, (name, figure) in enumerate(figures.items()):
            figure.savefig(folder / f"{i}_{name}.png", bbox_inches="tight")
    return figures


# ---------------------------------------------------------------- targets


def _output(model, output):
    """(name of the output layer, its `Head` or None, the model computing only it).

    The heads come from the model's card, so a plain Keras model described with
    `agekit.models.describe` (say a 101-way softmax DEX model) gets the expected-age
    targets too; its one output is the card's one head, whatever its layer is called.
    """
    from agekit.models.card import card_of

    try:
        heads = card_of(model).head_layers()
    except TypeError:  # an undescribed plain model: class probabilities only
        heads = {}
    names = [t._keras_history.operation.name for t in model.outputs]
    if len(names) == 1 and len(heads) == 1 and names[0] not in heads:
        heads = {names[0]: next(iter(heads.values()))}
    if output is None:
        if "age" in heads:
            output = "age"
        elif len(model.outputs) == 1:
            output = names[0]
        else:
            fail("`output` naming one of the model's outputs", "output", output)
    if output not in names:
        raise InvalidValueError(
            f"Unknown output. Expected one of {names}. Received: output={output!r}"
        )
    tensor = model.get_layer(output).output
    single = model if len(model.outputs) == 1 else _submodel(model, tensor)
    return output, heads.get(output), single


def _class_index(head, target, baseline, true_age):
    """The class whose probability is the target (None for expected_age)."""
    if target not in TARGETS:
        raise InvalidValueError(f"Unknown target. Expected one of {TARGETS}. Received: target={target!r}")
    kind = getattr(head, "kind", None)
    if target == "expected_age":
        if head is None or kind == "class":
            fail("an age head (dex, regression, coral or bins) for target='expected_age'",
                 "kind", kind)
        return None
    if kind not in (*_SOFTMAX_KINDS, None) or baseline.ndim != 2 or baseline.shape[1] < 2:
        fail(f"a softmax output (dex, bins or class head) for target={target!r}", "kind", kind)
    if target == "class":
        return int(np.argmax(baseline[0]))
    if true_age is None:
        fail("`true_age` for target='true_class'", "true_age", true_age)
    age = float(as_ages(true_age, "true_age")[0])
    if kind == "dex":
        return int(np.clip(math.floor(age - head.min_age), 0, head.num_classes - 1))  # completed years
    if kind == "bins":
        from agekit.labels import bin_ages

        return int(bin_ages([age], head.bins)[0])
    fail("a dex or bins head for target='true_class'", "kind", kind)


def _scores(head, class_index, outputs):
    """Target score per example from outputs (numpy)."""
    if class_index is not None:
        return np.asarray(outputs, np.float64)[:, class_index]
    return np.asarray(head.to_age(outputs), np.float64).reshape(-1)


# ---------------------------------------------------------------- occlusion


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
        >>> result = occlusion_map(model, "face.jpg", patch=16, stride=8)
        >>> result.heatmap.shape, result.upsampled.shape
        ((27, 27), (224, 224))
    """
    _check_positive(patch=patch, stride=stride, batch_size=batch_size)
    if target not in TARGETS:
        raise InvalidValueError(f"Unknown target. Expected one of {TARGETS}. Received: target={target!r}")
    x = _single(model, image)
    _, height, width, channels = x.shape
    value = _fill_value(fill, model, channels)
    _, head, scorer = _output(model, output)
    baseline_out = _forward(scorer, x)
    class_index = _class_index(head, target, baseline_out, true_age)
    baseline = float(_scores(head, class_index, baseline_out)[0])

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
        scores[part] = _scores(head, class_index, np.asarray(scorer.predict_on_batch(copies)))
        if progress is not None:
            progress.update(min(start + batch_size, total))
    scores = scores.reshape(len(ys), len(xs))
    heatmap = np.abs(scores - baseline) if class_index is None else baseline - scores
    fy, fx = rows.astype(np.float64), cols.astype(np.float64)
    count = np.outer(fy.sum(axis=0), fx.sum(axis=0))
    upsampled = np.divide(fy.T @ heatmap @ fx, count, out=np.zeros_like(count), where=count > 0)
    return OcclusionMap(heatmap, upsampled, scores, baseline, target, class_index, patch, stride)


# ---------------------------------------------------------------- Grad-CAM


def _score_tensor(head, class_index, outputs):
    """The target score of each example as a backend tensor (differentiable)."""
    from keras import ops

    if class_index is not None:
        return outputs[:, class_index]
    if head.kind == "regression":
        return outputs[:, 0]
    if head.kind == "coral":  # agekit's CORAL age (agekit.labels): min_age + expected rank
        return head.min_age + ops.sum(ops.sigmoid(outputs), axis=-1)
    if head.kind == "dex":
        ages = head.min_age + np.arange(head.num_classes, dtype="float32")
    else:  # bins: the expected bin midpoint
        ages = np.asarray(head.to_age(np.eye(head.num_classes)), "float32")
    return ops.sum(outputs * ages, axis=-1)


def _gradient_tensorflow(fn, value):
    import tensorflow as tf

    value = tf.convert_to_tensor(value)
    with tf.GradientTape() as tape:
        tape.watch(value)
        total = tf.reduce_sum(fn(value))
    return tape.gradient(total, value).numpy()


def _gradient_jax(fn, value):
    import jax
    import jax.numpy as jnp

    return np.asarray(jax.grad(lambda v: jnp.sum(fn(v)))(jnp.asarray(value)))


def _gradient(fn, value):
    """d sum(fn(value)) / d value, with the backend's autodiff (TensorFlow or JAX)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _gradient_tensorflow(fn, value)
    if backend == "jax":
        return _gradient_jax(fn, value)
    fail("the tensorflow or jax Keras backend for grad_cam", "backend", backend)


def _tail(model, name, tensor):
    """The part of the model from layer `name`'s output to `tensor` (None if not cut)."""
    try:
        return keras.Model(model.get_layer(name).output, tensor)
    except ValueError:
        return None


def grad_cam(
    model: keras.Model,
    image,
    *,
    layer: str | None = None,
    output: str | None = None,
    target: str = "class",
    true_age: float | None = None,
) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017): feature maps weighted by the target's gradient.

    `ReLU(sum_k alpha_k A_k)` with `alpha_k` the spatial mean of d score / d `A_k`.
    The model is split at `layer` into a feature extractor and the rest, so the
    gradient flows through Keras layers only; the gradient itself comes from the
    backend (`tf.GradientTape` or `jax.grad`: one small private function each).

    Args:
        model: A functional model (`build_model`, the scratch CNNs, a loaded model).
        image: One image (path, uint8 array, or float model input).
        layer: A 4-D layer that every path to the output passes through; default the
            last such layer that is not a pooling layer (`block5_conv3` for VGG16,
            `conv5_block3_out` for ResNet50, `mixed10` for InceptionV3).
        output: Which output to explain (default the `age` head or the only output).
        target: `"class"`, `"true_class"` or `"expected_age"` (see `occlusion_map`;
            for CORAL the expected rank is the sum of the task probabilities).
        true_age: For `"true_class"`.

    Returns:
        float array `(layer height, layer width)` in [0, 1] (all zeros when nothing
        raises the score); `overlay` draws it over the image.

    Example:
        >>> heat = grad_cam(model, "face.jpg")
        >>> picture = overlay(read_image("face.jpg"), heat)
    """
    x = _single(model, image)
    name, head, scorer = _output(model, output)
    tensor = model.get_layer(name).output
    if layer is None:
        maps = [la for la in reversed(model.layers)
                if _spatial(la) is not None and not isinstance(la, keras.layers.InputLayer)]
        # The last conv-like layer before any closing pooling (VGG's block5_conv3).
        candidates = [la.name for la in maps if not isinstance(la, _POOLS)] + [
            la.name for la in maps if isinstance(la, _POOLS)]
        tails = ((c, _tail(model, c, tensor)) for c in candidates)
        layer, tail = next(((n, t) for n, t in tails if t is not None), (None, None))
        if tail is None:
            fail("a model with a 4-D layer that all paths to the output pass through",
                 "model", model.name)
    else:
        _layer_names(model, layer)
        if _spatial(model.get_layer(layer)) is None:
            fail("a layer with 4-D output (height, width, channels)", "layer", layer)
        tail = _tail(model, layer, tensor)
        if tail is None:
            fail(f"a layer that every path to output {name!r} passes through", "layer", layer)
    baseline = _forward(scorer, x)
    class_index = _class_index(head, target, baseline, true_age)
    maps = _forward(_submodel(model, model.get_layer(layer).output), x)
    grads = _gradient(lambda a: _score_tensor(head, class_index, tail(a, training=False)), maps)
    weights = grads.mean(axis=(1, 2))  # (1, channels)
    cam = np.maximum(np.einsum("bhwc,bc->hw", maps.astype(np.float64), weights), 0)
    top = cam.max()
    return cam / top if top > 0 else cam


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
        >>> overlay(np.zeros((4, 4, 3), "uint8"), np.eye(2)).shape
        (4, 4, 3)
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


# ---------------------------------------------------------------- one photo


def _predicted_age(head, outputs):
    if head is not None and head.kind != "class":
        return float(head.to_age(outputs)[0])
    return None


def explain_image(
    model: keras.Model,
    image,
    out_dir: str | Path,
    *,
    true_age: float | None = None,
    layers: list[str] | None = None,
    max_filters: int | None = 16,
    patch: int = 16,
    stride: int = 8,
    target: str | None = None,
    batch_size: int = 64,
) -> dict[str, Path]:
    """Write the activation maps, occlusion heatmap and Grad-CAM of one face crop as PNGs.

    Args:
        model: An agekit model (or a name / path for `agekit.predict.load_model`).
        image: A face crop: path, uint8 RGB / greyscale array, or float model input.
        out_dir: Folder for the PNGs (created).
        true_age: The true age, shown in the titles ("predicted / true").
        layers: Layers for the activation maps (default `default_layers(model)`).
        max_filters: Filters drawn per activation figure.
        patch: Occlusion patch side.
        stride: Occlusion stride.
        target: Occlusion / Grad-CAM target; default `"class"` for dex and bins heads
            (the study), `"expected_age"` for regression and coral heads.
        batch_size: Occluded copies per forward pass.

    Returns:
        Dict name -> PNG path: `"activations_<layer>"` per layer, `"occlusion"`,
        `"grad_cam"`.

    Example:
        >>> paths = explain_image(load_model("utkface"), "face.jpg", "explained", true_age=30)
        >>> sorted(paths)[-2:]
        ['grad_cam', 'occlusion']
    """
    import matplotlib.pyplot as plt

    from agekit.plots import age_title

    if not hasattr(model, "predict"):
        from agekit.predict import load_model

        model = load_model(model, compile=False)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    x = _single(model, image)
    picture = _display_image(model, image)
    _, head, scorer = _output(model, None)
    outputs = _forward(scorer, x)
    if target is None:
        target = "expected_age" if getattr(head, "kind", None) in ("regression", "coral") \
            else "class"
    predicted = _predicted_age(head, outputs)
    title = age_title(predicted, true_age) if predicted is not None else \
        f"class {int(outputs[0].argmax())}"
    paths = {}
    acts = activations(model, x, layers)
    figures = plot_activations(acts, picture, title=title, max_filters=max_filters)
    for i, (name, figure) in enumerate(figures.items()):
        paths[f"activations_{name}"] = out_dir / f"activations_{i}_{name}.png"
        figure.savefig(paths[f"activations_{name}"], bbox_inches="tight", dpi=72)
        plt.close(figure)
    occlusion = occlusion_map(model, x, patch=patch, stride=stride, target=target,
                              true_age=true_age, batch_size=batch_size, fill=None)
    what = "drop in P(class)" if occlusion.class_index is not None else "age shift (years)"
    paths["occlusion"] = _heatmap_figure(
        picture, occlusion.upsampled, f"Occlusion ({target}, {what})\n{title}",
        out_dir / "occlusion.png", colorbar=what)
    cam = grad_cam(model, x, target=target, true_age=true_age)
    paths["grad_cam"] = _heatmap_figure(picture, cam, f"Grad-CAM ({target})\n{title}",
                                        out_dir / "grad_cam.png", "Grad-CAM (max = 1)")
    return paths


def _heatmap_figure(picture, heatmap, title, path, colorbar):
    """Save the image with `heatmap` over it, with a title (and a colour bar)."""
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    figure, axes = plt.subplots(figsize=(5, 5.4))
    axes.imshow(overlay(picture, heatmap))
    scale = ScalarMappable(Normalize(float(np.min(heatmap)), float(np.max(heatmap))), "jet")
    figure.colorbar(scale, ax=axes, fraction=0.046, pad=0.04, label=colorbar)
    axes.set_title(title)
    axes.axis("off")
    figure.savefig(path, bbox_inches="tight", dpi=100)
    plt.close(figure)
    return path


__all__ = [
    "TARGETS",
    "OcclusionMap",
    "activations",
    "default_layers",
    "explain_image",
    "grad_cam",
    "layer_title",
    "occlusion_map",
    "overlay",
    "plot_activations",
]
