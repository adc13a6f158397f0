"""What a map explains: the output, and the score of it that occlusion and Grad-CAM follow.

- `"class"`: the probability of the class predicted for the intact image (the VGG16
  study; dex, bins and class heads, or any softmax output);
- `"true_class"`: the probability of the true age's class (dex and bins heads);
- `"expected_age"`: the predicted age in years (`Head.to_age`: dex, regression, coral
  and bins heads). For CORAL it is agekit's age convention (`agekit.labels`): `min_age`
  plus the expected rank, the sum of the task probabilities.

`scores` computes the score with numpy (occlusion); `score_tensor` is the same score
as a differentiable backend tensor (Grad-CAM).
"""

import math

import numpy as np

from agekit._validation import as_ages, fail
from agekit.errors import InvalidValueError
from agekit.explain import inputs

TARGETS = ("class", "true_class", "expected_age")
SOFTMAX_KINDS = ("dex", "bins", "class")


def check_target(target):
    if target not in TARGETS:
        raise InvalidValueError(f"Unknown target. Expected one of {TARGETS}. Received: target={target!r}")


def output_of(model, output):
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
    scorer = model if len(model.outputs) == 1 else inputs.submodel(model, tensor)
    return output, heads.get(output), scorer


def class_index(head, target, baseline, true_age):
    """The class whose probability is the target (None for expected_age)."""
    check_target(target)
    kind = getattr(head, "kind", None)
    if target == "expected_age":
        if head is None or kind == "class":
            fail("an age head (dex, regression, coral or bins) for target='expected_age'",
                 "kind", kind)
        return None
    if kind not in (*SOFTMAX_KINDS, None) or baseline.ndim != 2 or baseline.shape[1] < 2:
        fail(f"a softmax output (dex, bins or class head) for target={target!r}", "kind", kind)
    if target == "class":
        return int(np.argmax(baseline[0]))
    if true_age is None:
        fail("`true_age` for target='true_class'", "true_age", true_age)
    age = float(as_ages(true_age, "true_age")[0])
    if kind == "dex":  # completed years
        return int(np.clip(math.floor(age - head.min_age), 0, head.num_classes - 1))
    if kind == "bins":
        from agekit.labels import bin_ages

        return int(bin_ages([age], head.bins)[0])
    fail("a dex or bins head for target='true_class'", "kind", kind)


def describe(output, head, target, class_index):
    """What a map explains, in words for a figure title: `"expected age"`, or the class
    by name (`"predicted class '29 years'"`, `"true class '25-34'"`, `"class 'female'"`).

    Example:
        >>> from agekit.models import Head
        >>> describe("age", Head("dex"), "class", 29), describe("age", Head("dex"), "expected_age", None)
        ("predicted class '29 years'", 'expected age')
        >>> describe("gender", Head("class", num_classes=2), "class", 1)
        "predicted class 'female'"
    """
    from agekit import labels

    if class_index is None:
        return "expected age"
    kind = getattr(head, "kind", None)
    if kind == "dex":
        name = f"{head.min_age + class_index:g} years"
    elif kind == "bins":
        name = labels.get_bins(head.bins).labels[class_index]
    else:
        names = {"gender": labels.GENDER_LABELS, "ethnicity": labels.ETHNICITY_LABELS}.get(output, ())
        name = names[class_index] if class_index < len(names) else f"{output} {class_index}"
    return f"{'true' if target == 'true_class' else 'predicted'} class {name!r}"


def scores(head, class_index, outputs):
    """Target score per example from outputs (numpy)."""
    if class_index is not None:
        return np.asarray(outputs, np.float64)[:, class_index]
    return np.asarray(head.to_age(outputs), np.float64).reshape(-1)


def score_tensor(head, class_index, outputs):
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
