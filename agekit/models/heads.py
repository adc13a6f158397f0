"""Output heads: one `Head` layer per model output, which knows how it is trained.

A `Head` is a dense output layer that carries its kind in its config, so a model
saved to `.keras` still knows, after loading, which loss and metrics each output needs
(`compile_model`) and how to turn its values into ages (`agekit.predict_age`).

Kinds:
- `"dex"`: softmax over the ages 0..100 (Rothe et al. DEX); expected value = age.
- `"regression"`: one linear unit, the age in years.
- `"coral"`: CORAL (Cao et al. 2020): one weight vector shared by all K-1 binary tasks
  plus K-1 biases; outputs the K-1 logits; age = `min_age` + the expected rank.
- `"bins"`: softmax over the groups of an age-bin scheme (`bins` names it); age = the
  center of the most probable group (`AgeBins.centers`: Adience "60+" is 65).

How an output becomes an age follows the conventions of `agekit.labels`.
- `"class"`: softmax over `num_classes` labels (gender, ethnicity, ...).
"""

import keras
import numpy as np
from keras import ops

from agekit import labels as _labels
from agekit._validation import fail
from agekit.errors import InvalidValueError
from agekit.losses import CoralLoss
from agekit.metrics.keras_metrics import CoralMAE, ExpectedAgeMAE, MacroF1

KINDS = ("dex", "regression", "coral", "bins", "class")


@keras.saving.register_keras_serializable(package="agekit")
class Head(keras.layers.Layer):
    """A dense output layer of a given kind (see the module docstring).

    Args:
        kind: `"dex"`, `"regression"`, `"coral"`, `"bins"` or `"class"`.
        num_classes: DEX classes or CORAL ranks K (both 101 by default: ages 0..100),
            or softmax classes; derived from `bins` for `"bins"`; ignored for
            `"regression"`.
        bins: Age-bin scheme name for `"bins"` (such as `"utk7"`).
        min_age: Age of DEX class 0 / CORAL rank 0.

    Example:
        >>> head = Head("coral", num_classes=101)
        >>> tuple(head(np.zeros((2, 8), "float32")).shape)
        (2, 100)
    """

    def __init__(self, kind="dex", *, num_classes=None, bins=None, min_age=0.0, **kwargs):
        super().__init__(**kwargs)
        if kind not in KINDS:
            fail(f"kind to be one of {KINDS}", "kind", kind)
        if kind == "bins":
            if bins is None:
                fail("a bin scheme for kind='bins'", "bins", bins)
            num_classes = len(_labels.get_bins(bins))
        elif kind in ("dex", "coral"):
            num_classes = 101 if num_classes is None else num_classes
        elif kind == "regression":
            num_classes = 1
        elif num_classes is None:
            fail(f"num_classes for kind={kind!r}", "num_classes", num_classes)
        if int(num_classes) != num_classes or num_classes < (1 if kind == "regression" else 2):
            fail("a whole number of classes >= 2", "num_classes", num_classes)
        self.kind = kind
        self.num_classes = int(num_classes)
        self.bins = bins if isinstance(bins, (str, type(None))) else [list(r) for r in
                                                                     _labels.get_bins(bins).ranges]
        self.min_age = float(min_age)

    def build(self, input_shape):
        features = input_shape[-1]
        if self.kind == "coral":
            self.kernel = self.add_weight(shape=(features, 1), initializer="glorot_uniform",
                                          name="kernel")
            # Decreasing initial biases make the tasks rank-consistent from the start.
            start = np.linspace(1.0, -1.0, self.num_classes - 1).astype("float32")
            self.bias = self.add_weight(shape=(self.num_classes - 1,),
                                        initializer=keras.initializers.Constant(start),
                                        name="bias")
        else:
            units = 1 if self.kind == "regression" else self.num_classes
            self.kernel = self.add_weight(shape=(features, units), initializer="glorot_uniform",
                                          name="kernel")
            self.bias = self.add_weight(shape=(units,), initializer="zeros", name="bias")

    def call(self, inputs):
        outputs = ops.matmul(inputs, self.kernel) + self.bias
        if self.kind in ("dex", "bins", "class"):
            return ops.softmax(outputs, axis=-1)
        return outputs

    def compute_output_shape(self, input_shape):
        units = {"regression": 1, "coral": self.num_classes - 1}.get(self.kind, self.num_classes)
        return (*input_shape[:-1], units)

    def get_config(self):
        return {
            **super().get_config(),
            "kind": self.kind,
            "num_classes": self.num_classes,
            "bins": self.bins,
            "min_age": self.min_age,
        }

    def to_age(self, outputs):
        """Turn this head's outputs (numpy) into ages in years (not for `"class"`).

        DEX: `min_age` + the expected class; CORAL: `min_age` + the expected rank (the
        sum of the task probabilities); bins: the center of the most probable group
        (see the conventions of `agekit.labels`).
        """
        outputs = np.asarray(outputs, dtype=np.float64)
        if self.kind == "dex":
            return self.min_age + _labels.expected_age(outputs, normalize=True)
        if self.kind == "regression":
            return outputs.reshape(-1)
        if self.kind == "coral":
            return self.min_age + _labels.coral_expected_rank(outputs)
        if self.kind == "bins":
            return _labels.get_bins(self.bins).centers[outputs.argmax(axis=-1)]
        fail("an age head (dex, regression, coral or bins)", "kind", self.kind)


def age_tensor(head, outputs):
    """`Head.to_age` in `keras.ops`: a head's outputs -> ages in years, inside a graph.

    The same arithmetic as `to_age` (which prediction uses), for exported models
    (`agekit.export`) whose graph must return years by itself.
    """
    outputs = ops.cast(outputs, "float32")
    if head.kind == "dex":
        ages = head.min_age + ops.arange(head.num_classes, dtype="float32")
        return ops.sum(outputs * ages, axis=-1) / ops.sum(outputs, axis=-1)
    if head.kind == "regression":
        return ops.reshape(outputs, (-1,))
    if head.kind == "coral":
        return head.min_age + ops.sum(ops.sigmoid(outputs), axis=-1)
    if head.kind == "bins":
        centers = ops.convert_to_tensor(np.asarray(_labels.get_bins(head.bins).centers, "float32"))
        return ops.take(centers, ops.argmax(outputs, axis=-1))
    return fail("an age head (dex, regression, coral or bins)", "kind", head.kind)


def parse_head(head):
    """`"dex"`, `"regression"`, `"coral"` or `"bins:<scheme>"` -> (kind, bins)."""
    if not isinstance(head, str):
        fail("a head name such as 'dex' or 'bins:utk7'", "head", head, error=TypeError)
    kind, _, scheme = head.partition(":")
    if kind == "bins":
        if not scheme:
            fail("a scheme after 'bins:', such as 'bins:utk7'", "head", head)
        _labels.get_bins(scheme)
        return kind, scheme
    if kind not in ("dex", "regression", "coral") or scheme:
        raise InvalidValueError(
            "Unknown `head`. Expected 'dex', 'regression', 'coral' or 'bins:<scheme>'. "
            f"Received: head={head!r}"
        )
    return kind, None


def heads_of(model):
    """The `Head` layers of `model` by name (agekit names each after its output).

    Example:
        >>> from agekit.models import basic_cnn
        >>> sorted(heads_of(basic_cnn(input_shape=(32, 32, 1), head="dex", outputs={"gender": 2})))
        ['age', 'gender']
    """
    return {layer.name: layer for layer in model.layers if isinstance(layer, Head)}


def head_loss_and_metrics(head):
    """The loss and metrics agekit trains a `Head` with."""
    if head.kind == "dex":
        ages = None if head.min_age == 0 else list(head.min_age + np.arange(head.num_classes))
        return "categorical_crossentropy", [ExpectedAgeMAE(ages=ages)]
    if head.kind == "regression":
        return "mae", [keras.metrics.MeanAbsoluteError(name="mae")]
    if head.kind == "coral":
        return CoralLoss(min_age=head.min_age), [CoralMAE(min_age=head.min_age)]
    return "sparse_categorical_crossentropy", [
        keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
        MacroF1(head.num_classes),
    ]
