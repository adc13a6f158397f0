"""The studies' from-scratch networks as their texts describe them."""

import keras
import numpy as np
import pytest

from agekit.models import basic_cnn, compile_model, split_branch_cnn
from agekit.models.optimizers import NadamL2, make_optimizer


def test_split_branch_cnn_is_two_unshared_branches_from_the_input():
    model = split_branch_cnn()  # the study: 128 px, 16 -> 128 filters
    assert model.input_shape == (None, 128, 128, 3)
    assert sorted(model.output_names) == ["age", "gender"]
    for prefix in ("age", "gender"):
        # straight from the input (after the model's own input scaling, nothing shared)
        assert model.get_layer(f"{prefix}_block1_conv").input is model.get_layer("preprocess").output
        widths = [model.get_layer(f"{prefix}_block{i}_conv").filters for i in range(1, 5)]
        assert widths == [16, 32, 64, 128]
        order = [type(model.get_layer(f"{prefix}_block2_{part}")).__name__
                 for part in ("conv", "relu", "bn", "pool", "dropout")]
        assert order == ["Conv2D", "ReLU", "BatchNormalization", "MaxPooling2D", "Dropout"]
    owners = [layer.name.split("_")[0] for layer in model.layers[2:]]
    assert set(owners) == {"age", "gender"}  # nothing shared after the input
    assert model.get_layer("age_flatten").output.shape == (None, 8 * 8 * 128)


def test_split_branch_cnn_parameter_count_by_hand():
    model = split_branch_cnn(input_shape=(32, 32, 3), filters=(4, 8), dense_units=(16,))
    # per branch: conv 3*3*3*4+4, BN 4*4, conv 3*3*4*8+8, BN 4*8, fc (8*8*8)*16+16, BN 4*16
    branch = 112 + 16 + 296 + 32 + 8208 + 64
    assert model.count_params() == 2 * branch + (16 + 1) + (16 * 2 + 2)
    out = model(np.zeros((2, 32, 32, 3), "float32"))
    assert out["age"].shape == (2, 1) and out["gender"].shape == (2, 2)
    with pytest.raises(ValueError, match="input sides of at least 16 px"):
        split_branch_cnn(input_shape=(8, 8, 3))
    with pytest.raises(ValueError, match="0 <= block_dropout < 1"):
        split_branch_cnn(block_dropout=1.0)


def test_agecnn_as_specified_by_the_utkface_study():
    """224 px greyscale, 4 blocks from 64 filters, 132 hidden, dropout 0.6 on the output,
    NAdam lr 1e-4 with PyTorch weight decay 0.1 and eps 1e-8, label smoothing 0.001."""
    model = basic_cnn()
    assert model.get_layer("block1_conv").input.shape == (None, 224, 224, 1)  # grey inside
    assert model.input_shape == (None, 224, 224, 3) and model.output_shape == (None, 7)
    widths = [model.get_layer(f"block{i}_conv").filters for i in range(1, 5)]
    assert widths == [64, 128, 256, 512]
    assert model.get_layer("fc1").units == 132 and model.get_layer("dropout").rate == 0.6
    assert model.get_layer("flatten").output.shape == (None, 14 * 14 * 512)
    optimizer = make_optimizer("nadam", learning_rate=1e-4, weight_decay=0.1,
                               weight_decay_mode="l2", epsilon=1e-8)
    compile_model(model, optimizer=optimizer, label_smoothing=0.001)
    opt = model.optimizer
    assert isinstance(opt, NadamL2) and opt.l2 == 0.1 and opt.epsilon == 1e-8
    assert float(keras.ops.convert_to_numpy(opt.learning_rate)) == pytest.approx(1e-4)
    assert model.loss.label_smoothing == 0.001
