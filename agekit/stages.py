"""Fine-tuning schedules as data: `Stage` (what trains, at which rate, how long) and
`FineTune` (stages one after another), run by `agekit.training.fit`.

`FineTune([Stage("head", 1e-4, 5), Stage("block5", 1e-5, 10)])` is the VGG16 study's
best schedule (train the new head, then unfreeze conv block 5 at a learning rate ten
times lower). Importing this module imports no TensorFlow.
"""

from dataclasses import dataclass, field

from agekit._validation import fail


@dataclass(frozen=True)
class Stage:
    """One stage of a schedule: what trains, at which learning rate, for how long.

    Args:
        trainable: `"head"` (the output layers), `"all"`, a number of layers counted
            from the output (`set_trainable(last=N)`: 8 = conv block 5 of VGG16), a
            block prefix such as `"block5"`, or a layer name to train from.
        learning_rate: Adam learning rate for this stage.
        epochs: Epochs of this stage.
        train_batchnorm: See `set_trainable`.
    """

    trainable: object = "head"
    learning_rate: float = 1e-4
    epochs: int = 5
    train_batchnorm: bool = True

    def __post_init__(self):
        if not (isinstance(self.epochs, int) and self.epochs >= 1):
            fail("epochs >= 1", "epochs", self.epochs)
        if not self.learning_rate > 0:
            fail("learning_rate > 0", "learning_rate", self.learning_rate)

    def apply(self, model):
        """Set what trains in `model`; returns the trainable layer names."""
        # imports Keras: only when a stage is applied
        from agekit.models.freeze import set_trainable

        spec = self.trainable
        if spec == "head":
            return set_trainable(model, last=1, train_batchnorm=self.train_batchnorm)
        if spec == "all" or isinstance(spec, int):
            return set_trainable(model, last=spec, train_batchnorm=self.train_batchnorm)
        names = [layer.name for layer in model.layers]
        start = next((n for n in names if n == spec or n.startswith(f"{spec}_")), None)
        if start is None:
            fail(f"'head', 'all', a layer count, or a layer name / block prefix of {model.name!r}",
                 "trainable", spec)
        return set_trainable(model, from_layer=start, train_batchnorm=self.train_batchnorm)


@dataclass(frozen=True)
class FineTune:
    """A schedule: stages run one after another on the same model.

    Example:
        >>> FineTune.study_best(head_epochs=5, block5_epochs=10).stages[1].learning_rate
        1e-05
    """

    stages: tuple = field(default_factory=tuple)

    def __post_init__(self):
        stages = tuple(self.stages)
        if not stages or not all(isinstance(s, Stage) for s in stages):
            fail("a non-empty sequence of Stage", "stages", [type(s).__name__ for s in stages]
                 if stages else stages, error=TypeError)
        object.__setattr__(self, "stages", stages)

    @classmethod
    def study_best(cls, head_epochs=5, block5_epochs=10):
        """The VGG16 study's best: the head at 1e-4, then conv block 5 on at 1e-5."""
        return cls((Stage("head", 1e-4, head_epochs), Stage(8, 1e-5, block5_epochs)))

    @property
    def epochs(self):
        return sum(stage.epochs for stage in self.stages)
