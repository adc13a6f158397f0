"""`explain_image`: the activation maps, occlusion heatmap and Grad-CAM of one face, as PNGs.

What `agekit explain` writes. The figures are drawn by `agekit.plots`
(`plot_heatmap`, `overlay`) and keract (`plot_activations`).
"""

from pathlib import Path

import keras

from agekit.explain import inputs, targets
from agekit.explain.feature_maps import activations, plot_activations
from agekit.explain.gradcam import grad_cam
from agekit.explain.occlusion import occlusion_map


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
        >>> import tempfile
        >>> import numpy as np
        >>> from agekit.models import basic_cnn
        >>> model = basic_cnn(input_shape=(32, 32, 3), layers=2, base_filters=4)
        >>> face = np.full((32, 32, 3), 128, "uint8")
        >>> paths = explain_image(model, face, tempfile.mkdtemp(), true_age=30, max_filters=2)
        >>> sorted(paths)
        ['activations_block1_pool', 'activations_block2_pool', 'grad_cam', 'occlusion']
    """
    import matplotlib.pyplot as plt

    from agekit.plots import age_title, plot_heatmap

    if not hasattr(model, "predict"):
        from agekit.predict import load_model

        model = load_model(model, compile=False)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    x = inputs.single(model, image)
    picture = inputs.display_image(model, image)
    output, head, scorer = targets.output_of(model, None)
    outputs = inputs.forward(scorer, x)
    if target is None:
        target = "expected_age" if getattr(head, "kind", None) in ("regression", "coral") \
            else "class"
    predicted = _predicted_age(head, outputs)
    title = age_title(predicted, true_age) if predicted is not None else \
        targets.describe(output, head, "class", int(outputs[0].argmax()))
    paths = {}
    acts = activations(model, x, layers)
    figures = plot_activations(acts, picture, title=title, max_filters=max_filters)
    for i, (name, figure) in enumerate(figures.items()):
        paths[f"activations_{name}"] = out_dir / f"activations_{i}_{name}.png"
        figure.savefig(paths[f"activations_{name}"], bbox_inches="tight", dpi=72)
        plt.close(figure)
    occlusion = occlusion_map(model, x, patch=patch, stride=stride, target=target,
                              true_age=true_age, batch_size=batch_size, fill=None)
    explained = targets.describe(output, head, target, occlusion.class_index)
    what = ("drop in the probability" if occlusion.class_index is not None
            else "shift of the expected age (years)")
    figure = plot_heatmap(picture, occlusion.upsampled, colorbar=what,
                          title=f"occlusion: {explained}\n{title}",
                          save=out_dir / "occlusion.png")
    plt.close(figure)
    paths["occlusion"] = out_dir / "occlusion.png"
    cam = grad_cam(model, x, target=target, true_age=true_age)
    figure = plot_heatmap(picture, cam, title=f"Grad-CAM: {explained}\n{title}",
                          colorbar="Grad-CAM (max = 1)", save=out_dir / "grad_cam.png")
    plt.close(figure)
    paths["grad_cam"] = out_dir / "grad_cam.png"
    return paths


