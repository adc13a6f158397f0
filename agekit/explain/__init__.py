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

The modules, one concern each (every public name is importable from `agekit.explain`):

    inputs        images -> model input, forward passes
    layers        layer-graph analysis: default layers, the trunk, Grad-CAM's cut
    targets       which output, and which score of it, a map explains
    feature_maps  activations, plot_activations (keract's display functions)
    occlusion     occlusion_map, OcclusionMap
    gradcam       grad_cam (TensorFlow and JAX gradients)
    figures       explain_image (the figures are drawn by `agekit.plots`)
"""

from agekit.explain.feature_maps import activations, plot_activations
from agekit.explain.figures import explain_image
from agekit.explain.gradcam import grad_cam
from agekit.explain.layers import default_layers, layer_title
from agekit.explain.occlusion import GREY, OcclusionMap, occlusion_map
from agekit.explain.targets import TARGETS
from agekit.plots import overlay

__all__ = [
    "GREY",
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
