"""The `[model]` and `[train]` sections of an experiment, validated when made.

`agekit.experiment.config` holds the `[data]` section and the `Experiment` that joins
them; the checks raise "Expected ... Received: [section] name=value".
"""

import numbers
from dataclasses import dataclass, field
from pathlib import Path

from agekit._validation import fail
from agekit.experiment._checks import (
    _choice,
    _flag,
    _mapping,
    _number,
    _stages,
    _table_of_numbers,
    _where,
    _whole,
)

SCRATCH = ("basic_cnn", "levi_hassner_cnn", "two_branch_cnn", "split_branch_cnn")
# Scratch networks whose outputs are always {"age": ..., "gender": ...}.
TWO_OUTPUT = ("two_branch_cnn", "split_branch_cnn")
# `agekit.models.BACKBONES` and `TOPS`, named here so reading a configuration imports no
# TensorFlow (a test keeps the lists equal).
TRANSFER = ("vgg16", "vgg19", "resnet50", "inception_v3", "mobilenet_v2", "efficientnet_b0")
TOPS = ("vgg", "gap")
OPTIMIZERS = ("adam", "adamw", "nadam", "sgd", "rmsprop")
LR_SCHEDULES = (None, "plateau", "cosine")
# `agekit.models.optimizers`' plain-data schedules and weight-decay modes (a test keeps
# them equal).
SCHEDULE_KINDS = ("inverse_time", "exponential")
WEIGHT_DECAY_MODES = ("decoupled", "l2")
CLASS_WEIGHTS = ("balanced", "one_minus_frequency")
TTA_MODES = (None, "flip")
PRECISIONS = (None, "float16", "bfloat16")


def _lr_schedule(section, value):
    """None, a named schedule or a table `{kind, decay_rate, decay_steps, staircase}`."""
    if not isinstance(value, dict):
        _choice(section, "lr_schedule", value, LR_SCHEDULES)
        return
    unknown = sorted(set(value) - {"kind", "decay_rate", "decay_steps", "staircase"})
    if unknown:
        fail("lr_schedule keys among ['decay_rate', 'decay_steps', 'kind', 'staircase']",
             _where(section, "lr_schedule"), unknown)
    _choice(section, "lr_schedule.kind", value.get("kind"), SCHEDULE_KINDS)
    _number(section, "lr_schedule.decay_rate", value.get("decay_rate"), low=0, low_open=True)
    _number(section, "lr_schedule.decay_steps", value.get("decay_steps", 1), low=0, low_open=True)
    _flag(section, "lr_schedule.staircase", value.get("staircase", False))


@dataclass(frozen=True)
class ModelConfig:
    """Which network: a from-scratch CNN of the studies or a `build_model` backbone.

    Args:
        backbone: `"basic_cnn"` (small, fast on a CPU), `"levi_hassner_cnn"`,
            `"two_branch_cnn"`, `"split_branch_cnn"` (these two always have an age and a
            gender output) or a `build_model` backbone (`"vgg16"`, `"resnet50"`, ...).
        head: `"dex"`, `"regression"`, `"coral"` or `"bins:<scheme>"`.
        outputs: Extra outputs such as `{"gender": 2, "ethnicity": 5}`.
        weights: Backbone weights: `"imagenet"`, None or a file (not for the CNNs
            trained from scratch).
        dropout: Dropout before the heads (`two_branch_cnn`: in each branch).
        layers, base_filters, hidden, bn_momentum, norm_after_pool: `basic_cnn`
            settings (`norm_after_pool`: batch norm after the max-pool of each block,
            a cheaper step).
        tta: Test-time augmentation recorded in the model card and used by every
            prediction (`predict_age`, `evaluate_model`): None, or `"flip"` (each face
            and its mirror image, outputs averaged; twice the inference cost).
        top, fc_units: `build_model` top.
        options: Further keyword arguments of the network's builder.
    """

    backbone: str = "basic_cnn"
    head: str = "dex"
    outputs: dict = field(default_factory=dict)
    weights: str | None = None
    dropout: float = 0.3
    layers: int = 4
    base_filters: int = 32
    hidden: int = 256
    bn_momentum: float = 0.99
    norm_after_pool: bool = False
    tta: str | None = None
    top: str = "gap"
    fc_units: int = 512
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        from agekit.labels import AGE_BINS

        s = "model"
        _choice(s, "backbone", self.backbone, (*SCRATCH, *TRANSFER))
        kind, _, scheme = str(self.head).partition(":")
        if not isinstance(self.head, str) or not (
                (kind in ("dex", "regression", "coral") and not scheme)
                or (kind == "bins" and scheme in AGE_BINS)):
            fail(f"'dex', 'regression', 'coral' or 'bins:<scheme>' with a scheme of {sorted(AGE_BINS)}",
                 _where(s, "head"), self.head)
        _mapping(s, "outputs", self.outputs,
                 values=lambda n: isinstance(n, int) and not isinstance(n, bool) and n >= 2)
        if "age" in self.outputs:
            fail("extra outputs other than 'age'", _where(s, "outputs"), self.outputs)
        if self.weights is not None:
            if self.backbone in SCRATCH:
                fail(f"weights=None for {self.backbone} (it has no pretrained weights)",
                     _where(s, "weights"), self.weights)
            if self.weights != "imagenet" and not isinstance(self.weights, (str, Path)):
                fail("'imagenet', None or a weights file", _where(s, "weights"), self.weights)
        _number(s, "dropout", self.dropout, low=0, high=1, high_open=True)
        _whole(s, "layers", self.layers)
        _whole(s, "base_filters", self.base_filters)
        _whole(s, "hidden", self.hidden)
        _number(s, "bn_momentum", self.bn_momentum, low=0, high=1, high_open=True)
        _flag(s, "norm_after_pool", self.norm_after_pool)
        if self.norm_after_pool and self.backbone != "basic_cnn":
            fail("norm_after_pool only with backbone='basic_cnn'", _where(s, "norm_after_pool"),
                 self.norm_after_pool)
        _choice(s, "tta", self.tta, TTA_MODES)
        _choice(s, "top", self.top, TOPS)
        _whole(s, "fc_units", self.fc_units)
        _mapping(s, "options", self.options)


@dataclass(frozen=True)
class TrainConfig:
    """How long and how fast: epochs, optimizer, learning rate or a fine-tuning schedule.

    Args:
        epochs: Epochs (without `schedule`).
        learning_rate: Peak learning rate (without `schedule`).
        optimizer: `"adam"`, `"adamw"`, `"nadam"`, `"sgd"` or `"rmsprop"`.
        lr_schedule: None (constant), `"plateau"` (divide by `1 / 0.3` when the
            validation score stalls for 2 epochs), `"cosine"` (a cosine decay over
            the run after `warmup_epochs` of linear warm-up), or a table of
            `agekit.models.make_schedule`: `{kind = "inverse_time", decay_rate = 1e-5}`
            (Keras 2's `decay=1e-5`) or `{kind = "exponential", decay_rate = 0.9,
            decay_steps = 1000}`; steps are batches. A table also applies to every
            stage of `schedule`, from each stage's own learning rate.
        warmup_epochs: Linear warm-up of the `"cosine"` schedule.
        loss_weights: Output name -> loss weight.
        schedule: None, `"study_best"` (the head, then conv block 5 at 1e-5) or a list of
            stages, each a table of `agekit.training.Stage` fields.
        patience: Early-stopping patience in epochs (None: none).
        monitor: The validation metric for the checkpoint, early stopping and the
            schedule (None: the age head's, `agekit.training.default_monitor`).
        run_dir: Output folder (resumable).
        optimizer_options: More settings of the optimizer (`beta_1`, `epsilon`,
            `momentum`, `nesterov`, ...; see `agekit.models.make_optimizer`).
        weight_decay: None, or the optimizer's weight decay.
        weight_decay_mode: `"decoupled"` (Keras', AdamW's) or `"l2"` (PyTorch's: added
            to the gradient, as the UTKFace study's NAdam `weight_decay=0.1`).
        label_smoothing: Label smoothing of the softmax heads: a number, or a table
            output name -> number.
        losses: Output name -> Keras loss replacing agekit's default (`{age = "mse"}`).
        class_weight: None, `"balanced"` (scikit-learn's n / (classes * n_class)),
            `"one_minus_frequency"` (1 - n_class / n, the UTKFace study's trial 5.1)
            or a table class index -> weight: a weight per class of the age head
            (`dex` or `bins:<scheme>`, single-output models), from the training split.
        pretrain_schedule: With an experiment's `pretrain` data: the stages trained on
            it before the main data (a list of `agekit.training.Stage` tables).
        mixed_precision: None (float32), `"bfloat16"` (CPUs with AVX512-BF16 or AMX,
            TPUs, recent GPUs) or `"float16"` (GPUs): mixed-precision training
            (`agekit.training.fit`); the saved model computes in float32.
        mixup: 0 (none) or the Beta(alpha, alpha) concentration of mixup on the DEX
            age target (`agekit.data.mixup`; a `dex` head).

    Every stage of `schedule` and `pretrain_schedule` compiles with this section's
    optimizer settings, losses, loss weights and label smoothing at its own learning
    rate.
    """

    epochs: int = 10
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    lr_schedule: str | None = None
    warmup_epochs: int = 0
    loss_weights: dict = field(default_factory=dict)
    schedule: str | list | None = None
    patience: int | None = None
    monitor: str | None = None
    run_dir: str = "runs/experiment"
    optimizer_options: dict = field(default_factory=dict)
    weight_decay: float | None = None
    weight_decay_mode: str = "decoupled"
    label_smoothing: float | dict = 0.0
    losses: dict = field(default_factory=dict)
    class_weight: str | dict | None = None
    pretrain_schedule: list | None = None
    mixed_precision: str | None = None
    mixup: float = 0.0

    def __post_init__(self):
        s = "train"
        _whole(s, "epochs", self.epochs)
        _number(s, "learning_rate", self.learning_rate, low=0, low_open=True)
        _choice(s, "optimizer", self.optimizer, OPTIMIZERS)
        _lr_schedule(s, self.lr_schedule)
        _whole(s, "warmup_epochs", self.warmup_epochs, low=0)
        if self.warmup_epochs and self.warmup_epochs >= self.epochs:
            fail("warmup_epochs < epochs", _where(s, "warmup_epochs"), self.warmup_epochs)
        _mapping(s, "loss_weights", self.loss_weights,
                 values=lambda w: isinstance(w, numbers.Real) and not isinstance(w, bool) and w >= 0)
        if not (self.schedule is None or self.schedule == "study_best" or (
                isinstance(self.schedule, list) and self.schedule
                and all(isinstance(stage, dict) for stage in self.schedule))):
            fail("None, 'study_best' or a list of stage tables", _where(s, "schedule"), self.schedule)
        if isinstance(self.schedule, list):
            _stages(s, "schedule", self.schedule)
        _whole(s, "patience", self.patience, optional=True)
        if self.monitor is not None and not isinstance(self.monitor, str):
            fail("a metric name or None", _where(s, "monitor"), self.monitor)
        if not isinstance(self.run_dir, (str, Path)):
            fail("a folder path", _where(s, "run_dir"), self.run_dir, error=TypeError)
        self._check_compile()

    def _check_compile(self):
        """The optimizer, loss and class-weight options added for the studies."""
        s = "train"
        _mapping(s, "optimizer_options", self.optimizer_options)
        clash = sorted({"weight_decay", "l2", "learning_rate", "schedule"} & set(self.optimizer_options))
        if clash:
            fail("optimizer_options without the settings of their own fields", _where(s, "optimizer_options"),
                 clash)
        _number(s, "weight_decay", self.weight_decay, low=0, optional=True)
        _choice(s, "weight_decay_mode", self.weight_decay_mode, WEIGHT_DECAY_MODES)
        if self.weight_decay and self.weight_decay_mode == "l2" and self.optimizer == "adamw":
            fail("weight_decay_mode='decoupled' for adamw (its decay is decoupled)",
                 _where(s, "weight_decay_mode"), self.weight_decay_mode)
        _table_of_numbers(s, "label_smoothing", self.label_smoothing, high=1, high_open=True)
        _mapping(s, "losses", self.losses, values=lambda loss: isinstance(loss, str) and bool(loss))
        if isinstance(self.class_weight, dict):
            _mapping(s, "class_weight", self.class_weight,
                     values=lambda w: isinstance(w, numbers.Real) and not isinstance(w, bool) and w >= 0)
            if not all(str(key).isdigit() for key in self.class_weight):
                fail("class indices (0, 1, ...) as keys", _where(s, "class_weight"), sorted(self.class_weight))
        elif self.class_weight is not None:
            _choice(s, "class_weight", self.class_weight, (*CLASS_WEIGHTS, None))
        if self.pretrain_schedule is not None:
            _stages(s, "pretrain_schedule", self.pretrain_schedule)
        _choice(s, "mixed_precision", self.mixed_precision, PRECISIONS)
        _number(s, "mixup", self.mixup, low=0)
