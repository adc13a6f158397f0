"""Age models: transfer-learning builders, heads, freezing, and the studies' CNNs.

Example:
    >>> from agekit.models import build_model, compile_model, set_trainable
    >>> model = build_model("vgg16", "dex", weights=None,  # "imagenet" to fine-tune
    ...                     input_shape=(64, 64, 3))
    >>> set_trainable(model, last=8)  # conv block 5 and the top
    ['block5_conv1', 'block5_conv2', 'block5_conv3', 'fc1', 'fc2', 'age']
    >>> model = compile_model(model, learning_rate=1e-5)
"""

from agekit.models.build import (
    BACKBONES,
    TOPS,
    attach_heads,
    build_model,
    compile_model,
    preprocessing_for,
)
from agekit.models.card import (
    ModelCard,
    Preprocess,
    card_of,
    describe,
    image_input,
    set_card,
)
from agekit.models.freeze import counted_layers, set_trainable, trainable_summary
from agekit.models.heads import KINDS, Head, heads_of, parse_head
from agekit.models.optimizers import OPTIMIZERS, make_optimizer, make_schedule
from agekit.models.scratch import (
    basic_cnn,
    levi_hassner_cnn,
    split_branch_cnn,
    two_branch_cnn,
)
from agekit.models.tta import flip_images, predict_outputs

__all__ = [
    "BACKBONES",
    "KINDS",
    "OPTIMIZERS",
    "TOPS",
    "Head",
    "ModelCard",
    "Preprocess",
    "attach_heads",
    "basic_cnn",
    "build_model",
    "card_of",
    "compile_model",
    "counted_layers",
    "describe",
    "flip_images",
    "heads_of",
    "image_input",
    "levi_hassner_cnn",
    "make_optimizer",
    "make_schedule",
    "parse_head",
    "predict_outputs",
    "preprocessing_for",
    "set_card",
    "set_trainable",
    "split_branch_cnn",
    "trainable_summary",
    "two_branch_cnn",
]
