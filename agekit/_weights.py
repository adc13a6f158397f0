"""Checkpoints without the optimizer's state: Keras' `save_weights` writes the optimizer's
slots too (with Adam, two more copies of every weight), which a best-epoch checkpoint or
a stage's resume point does not need (`agekit.training.fit` recompiles between stages).
"""

import logging

import keras

log = logging.getLogger("agekit.training")


def save_weights(model, path):
    """Write `model`'s weights without its optimizer's state (`model.save_weights` also
    writes the optimizer's slots: with Adam, two more copies of every weight).

    Example:
        >>> import tempfile, numpy as np
        >>> from agekit.models import basic_cnn
        >>> model = basic_cnn(input_shape=(16, 16, 3), layers=1, base_filters=2, hidden=4)
        >>> path = f"{tempfile.mkdtemp()}/m.weights.h5"
        >>> save_weights(model, path); load_weights(model, path)
    """
    # what Keras' own save_weights calls, here with the optimizer skipped
    from keras.src.saving import saving_lib

    optimizer = getattr(model, "optimizer", None)
    saving_lib.save_weights_only(model, str(path), objects_to_skip=[optimizer] if optimizer else None)


def load_weights(model, path):
    """Load weights written by `save_weights` (or a `.keras` / `.weights.h5` file) into
    `model`, leaving its optimizer's state as it is."""
    from keras.src.saving import saving_lib

    optimizer = getattr(model, "optimizer", None)
    saving_lib.load_weights_only(model, str(path), objects_to_skip=[optimizer] if optimizer else None)


class BestWeights(keras.callbacks.Callback):
    """Keras' `ModelCheckpoint(save_best_only=True, save_weights_only=True)`, without the
    optimizer's state in the file (`save_weights`)."""

    def __init__(self, path, monitor, mode, best=None):
        super().__init__()
        self.path, self.monitor, self.mode, self.best = path, monitor, mode, best

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            log.warning("best-weights checkpoint: no %r in the logs (%s)", self.monitor, sorted(logs or {}))
            return
        value = float(value)
        if self.best is None or (value < self.best if self.mode == "min" else value > self.best):
            self.best = value
            save_weights(self.model, self.path)
