"""Optimizers as the studies configured them: by name, with weight decay and a schedule.

`make_optimizer("nadam", learning_rate=1e-4, weight_decay=0.1, weight_decay_mode="l2")`
is the UTKFace study's `torch.optim.NAdam(..., weight_decay=0.1)`;
`make_optimizer("sgd", learning_rate=1e-3, schedule={"kind": "inverse_time",
"decay_rate": 1e-5})` is the Adience study's Keras 2 `SGD(lr=0.001, decay=1e-5)`.

Two kinds of weight decay:

- `"decoupled"` (Keras' `weight_decay`, AdamW's): after each update every weight
  shrinks by `learning_rate * weight_decay * w`;
- `"l2"` (PyTorch's `weight_decay` for Adam, NAdam, SGD and RMSprop): `weight_decay * w`
  is added to the gradient before the update, as an L2 penalty of
  `weight_decay / 2 * |w|^2` on every trainable weight (biases and batch-norm scales
  included) would. Under Adam-type optimizers the two differ a lot: the L2 term goes
  through the adaptive scaling.

Learning-rate schedules are plain data, so experiments can store them:
`{"kind": "inverse_time", "decay_rate": r, "decay_steps": 1}` gives
`lr / (1 + r * step / decay_steps)` (Keras 2's `decay=r`), and
`{"kind": "exponential", "decay_rate": r, "decay_steps": n, "staircase": False}` gives
`lr * r ** (step / n)`. Steps are optimizer updates (batches), not epochs.
"""

import keras
from keras import ops

from agekit._validation import fail

OPTIMIZERS = ("adam", "adamw", "nadam", "sgd", "rmsprop")
WEIGHT_DECAY_MODES = ("decoupled", "l2")
SCHEDULES = ("inverse_time", "exponential")


class _CoupledL2:
    """Mixin: PyTorch-style weight decay, `gradient += l2 * weight` before the update."""

    def __init__(self, *args, l2=0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.l2 = float(l2)

    def apply(self, grads, trainable_variables=None):
        if trainable_variables is not None:
            trainable_variables = list(trainable_variables)
        variables = trainable_variables
        if variables is None:  # JAX's stateless_apply: the optimizer's own list
            variables = getattr(self, "_trainable_variables", None)
        if self.l2 and variables is not None:
            grads = [
                g if g is None else g + ops.cast(self.l2, g.dtype) * ops.cast(v, g.dtype)
                for g, v in zip(grads, variables)
            ]
        return super().apply(grads, trainable_variables)

    def get_config(self):
        return {**super().get_config(), "l2": self.l2}


@keras.saving.register_keras_serializable(package="agekit")
class AdamL2(_CoupledL2, keras.optimizers.Adam):
    """Adam with PyTorch's coupled weight decay `l2` (see the module docstring)."""


@keras.saving.register_keras_serializable(package="agekit")
class NadamL2(_CoupledL2, keras.optimizers.Nadam):
    """Nadam with PyTorch's coupled weight decay `l2` (see the module docstring)."""


@keras.saving.register_keras_serializable(package="agekit")
class SGDL2(_CoupledL2, keras.optimizers.SGD):
    """SGD with PyTorch's coupled weight decay `l2` (see the module docstring)."""


@keras.saving.register_keras_serializable(package="agekit")
class RMSpropL2(_CoupledL2, keras.optimizers.RMSprop):
    """RMSprop with PyTorch's coupled weight decay `l2` (see the module docstring)."""


_CLASSES = {
    "adam": (keras.optimizers.Adam, AdamL2),
    "adamw": (keras.optimizers.AdamW, None),
    "nadam": (keras.optimizers.Nadam, NadamL2),
    "sgd": (keras.optimizers.SGD, SGDL2),
    "rmsprop": (keras.optimizers.RMSprop, RMSpropL2),
}


def make_schedule(learning_rate, schedule):
    """`learning_rate` decayed as `schedule` says (None: constant).

    Args:
        learning_rate: Initial learning rate (> 0).
        schedule: None, a `keras.optimizers.schedules.LearningRateSchedule`, or a dict
            `{"kind": "inverse_time" | "exponential", "decay_rate": ..., "decay_steps":
            ..., "staircase": ...}` (`decay_steps` defaults to 1, `staircase` to False).

    Returns:
        A float or a `LearningRateSchedule`.

    Example:
        >>> lr = make_schedule(1e-3, {"kind": "inverse_time", "decay_rate": 1e-5})
        >>> round(float(lr(100_000)), 6)  # 1e-3 / (1 + 1e-5 * 100000)
        0.0005
    """
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)):
        fail("a learning rate as a number", "learning_rate", learning_rate, error=TypeError)
    if not learning_rate > 0:
        fail("learning_rate > 0", "learning_rate", learning_rate)
    if schedule is None:
        return float(learning_rate)
    if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        return schedule
    if not isinstance(schedule, dict) or schedule.get("kind") not in SCHEDULES:
        fail(f"None, a LearningRateSchedule or a dict with kind one of {SCHEDULES}", "schedule",
             schedule)
    unknown = set(schedule) - {"kind", "decay_rate", "decay_steps", "staircase"}
    if unknown:
        fail("schedule keys kind, decay_rate, decay_steps, staircase", "schedule",
             sorted(unknown))
    rate, steps = schedule.get("decay_rate"), schedule.get("decay_steps", 1)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
        fail("a decay_rate > 0 in the schedule", "decay_rate", rate)
    if isinstance(steps, bool) or not isinstance(steps, (int, float)) or not steps > 0:
        fail("decay_steps > 0 in the schedule", "decay_steps", steps)
    staircase = bool(schedule.get("staircase", False))
    if schedule["kind"] == "inverse_time":
        return keras.optimizers.schedules.InverseTimeDecay(
            float(learning_rate), steps, float(rate), staircase=staircase
        )
    return keras.optimizers.schedules.ExponentialDecay(
        float(learning_rate), steps, float(rate), staircase=staircase
    )


def make_optimizer(name="adam", *, learning_rate=1e-4, schedule=None, weight_decay=None,
                   weight_decay_mode="decoupled", **options):
    """A Keras optimizer from plain settings.

    Args:
        name: One of `OPTIMIZERS`: `"adam"`, `"adamw"`, `"nadam"`, `"sgd"`, `"rmsprop"`.
        learning_rate: Initial learning rate.
        schedule: Learning-rate decay (see `make_schedule`).
        weight_decay: None / 0 for none, or the decay factor.
        weight_decay_mode: `"decoupled"` (Keras' own) or `"l2"` (PyTorch's: added to
            the gradient); see the module docstring.
        **options: Passed to the Keras optimizer (`momentum`, `nesterov`, `beta_1`,
            `beta_2`, `epsilon`, `rho`, `clipnorm`, ...).

    Returns:
        A `keras.optimizers.Optimizer`.

    Example:
        >>> opt = make_optimizer("nadam", learning_rate=1e-4, weight_decay=0.1,
        ...                      weight_decay_mode="l2", epsilon=1e-8)
        >>> type(opt).__name__, opt.l2
        ('NadamL2', 0.1)
    """
    if name not in _CLASSES:
        fail(f"optimizer to be one of {OPTIMIZERS}", "optimizer", name)
    if weight_decay_mode not in WEIGHT_DECAY_MODES:
        fail(f"weight_decay_mode to be one of {WEIGHT_DECAY_MODES}", "weight_decay_mode",
             weight_decay_mode)
    if weight_decay is not None and (isinstance(weight_decay, bool)
                                     or not isinstance(weight_decay, (int, float))
                                     or weight_decay < 0):
        fail("weight_decay None or a number >= 0", "weight_decay", weight_decay)
    if "weight_decay" in options or "l2" in options:
        fail("weight decay through weight_decay= and weight_decay_mode=", "options",
             sorted(options))
    rate = make_schedule(learning_rate, schedule)
    plain, coupled = _CLASSES[name]
    if weight_decay and weight_decay_mode == "l2":
        if coupled is None:
            fail("weight_decay_mode='decoupled' for adamw (its decay is decoupled)",
                 "weight_decay_mode", weight_decay_mode)
        return coupled(learning_rate=rate, l2=float(weight_decay), **options)
    if weight_decay:
        options["weight_decay"] = float(weight_decay)
    return plain(learning_rate=rate, **options)


__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "SGDL2",
    "WEIGHT_DECAY_MODES",
    "AdamL2",
    "NadamL2",
    "RMSpropL2",
    "make_optimizer",
    "make_schedule",
]
