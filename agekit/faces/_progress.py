"""The progress of `prepare_dataset`: a bar where a person watches, log lines elsewhere."""

import logging
import math
import time

from agekit.faces import _manifest

logger = logging.getLogger("agekit.faces")


class _Progress:
    """Counts finished images; logs count, rate and ETA every `every` images or minute
    (or draws a bar where a person watches: the last line is logged either way)."""

    def __init__(self, total, every, callback, *, seconds=60.0):
        self.total, self.every, self.callback = total, max(1, int(every)), callback
        self.done, self.counts, self.start = 0, {}, time.monotonic()
        self.seconds, self.logged, self.logged_done = seconds, self.start, None
        self.bar = _bar(total)

    def step(self, status):
        self.done += 1
        self.counts[status] = self.counts.get(status, 0) + 1
        if self.callback is not None:
            self.callback(self.done, self.total)
        if self.bar is not None:
            self.bar.update(self.done, sorted(self.counts.items()), finalize=self.done == self.total)
        elif self.done % self.every == 0 or time.monotonic() - self.logged >= self.seconds:
            self._log()

    def finish(self):
        if self.logged_done != self.done:
            self._log()

    def _log(self):
        self.logged, self.logged_done = time.monotonic(), self.done
        elapsed = max(self.logged - self.start, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate else float("inf")
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        logger.info("prepare_dataset: %d/%d images (%s), %.2f images/s, ETA %s",
                    self.done, self.total, counts, rate, _duration(eta))


def _bar(total):
    """Keras' progress bar over the images where a person watches (a terminal, Jupyter)."""
    import sys

    if total < 2 or not ("ipykernel" in sys.modules or sys.stderr.isatty()):
        return None
    import keras

    return keras.utils.Progbar(total, unit_name="image", stateful_metrics=sorted(_manifest.STATUSES))


def _duration(seconds):
    if not math.isfinite(seconds):
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
