"""A record of the images a pipeline skipped, and why.

`make_dataset` never lets one bad file end an epoch: missing, empty, unrecognised,
truncated or undecodable files are dropped from the stream and recorded with their
path and a reason, so that no image disappears silently. A warning is logged for each
new skipped file. Three ways to read the record:

- `ds.skipped`: the `SkippedImages` of the dataset `make_dataset` returned (or the
  one passed as `make_dataset(..., skipped=report)`, to share one between datasets).
  A `tf.data.Dataset` made from it (`ds.map(...)`, `.take(...)`, `.batch(...)`) is a
  new object without that attribute, so:
- `skipped_images(dataset)` finds the record of the `make_dataset` dataset(s) that
  `dataset` was made from, however many `tf.data` transformations lie between them;
- `skipped_images()` is the record of every `make_dataset` of this process (also
  when the lineage is lost, e.g. a dataset saved and loaded, or a generator over
  the batches); `skipped_images().clear()` starts it afresh.
"""

import logging
import threading
from collections import Counter

from agekit.errors import InvalidTypeError, InvalidValueError

logger = logging.getLogger("agekit.data")

REASONS = {
    1: "empty file",
    2: "not an image file (unknown format)",
    3: "truncated file",
    4: "missing or unreadable file",
    5: "decoder error",
}


class SkippedImages:
    """Thread-safe record of skipped images: `count`, `paths`, `by_reason()`.

    A path is counted once however many epochs meet it.

    Example:
        >>> report = SkippedImages()
        >>> report.record("/data/a.jpg", "truncated file")
        >>> report.count, report.by_reason()
        (1, {'truncated file': 1})
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._reasons = {}

    def _store(self, path, reason):
        """Add one skipped image; its reason in words if the path is new here, else None."""
        path = str(path)
        reason = REASONS.get(reason, reason) if isinstance(reason, int) else str(reason)
        with self._lock:
            if path in self._reasons:
                return None
            self._reasons[path] = reason
        return reason

    def record(self, path, reason):
        """Add one skipped image; logs a warning the first time a path is seen."""
        added = self._store(path, reason)
        if added is not None:
            logger.warning("Skipped unreadable image (%s): %s", added, path)

    @property
    def paths(self):
        """Sorted list of the skipped paths."""
        with self._lock:
            return sorted(self._reasons)

    @property
    def count(self):
        """Number of distinct skipped images."""
        with self._lock:
            return len(self._reasons)

    def reasons(self):
        """Dict path -> reason."""
        with self._lock:
            return dict(self._reasons)

    def by_reason(self):
        """Dict reason -> number of skipped images."""
        with self._lock:
            return dict(Counter(self._reasons.values()))

    def clear(self):
        """Forget every recorded image."""
        with self._lock:
            self._reasons.clear()

    def log_summary(self):
        """Log one warning with the counts per reason; returns them."""
        counts = self.by_reason()
        if counts:
            logger.warning("Skipped %d unreadable image(s): %s", sum(counts.values()), counts)
        return counts

    def __repr__(self):
        return f"SkippedImages(count={self.count}, by_reason={self.by_reason()})"


_PROCESS = SkippedImages()  # every make_dataset of this process writes here too


def recorder(report: SkippedImages):
    """`record(path, reason)` into `report` (which logs) and the process-wide record."""

    def record(path, reason):
        report.record(path, reason)
        _PROCESS._store(path, reason)

    return record


def _records_of(dataset):
    """The `SkippedImages` of `dataset` and of every dataset it was made from."""
    found, seen, todo = [], set(), [dataset]
    while todo:
        ds = todo.pop()
        if id(ds) in seen:
            continue
        seen.add(id(ds))
        report = getattr(ds, "skipped", None)
        if isinstance(report, SkippedImages):
            if all(report is not r for r in found):
                found.append(report)
            continue
        inputs = getattr(ds, "_inputs", None)  # tf.data's lineage: the input datasets
        todo.extend(inputs() if callable(inputs) else [])
    return found


def skipped_images(dataset=None) -> SkippedImages:
    """The images `make_dataset` skipped: of one dataset's lineage, or of this process.

    Args:
        dataset: A `tf.data.Dataset` returned by `make_dataset` or made from one by
            any `tf.data` transformations (`map`, `take`, `batch`, `zip`, ...). None:
            every image any `make_dataset` of this process skipped.

    Returns:
        The `SkippedImages` of the `make_dataset` dataset (the same object as its
        `skipped` attribute: it grows as decoding meets bad files); for a dataset
        made from several, a new `SkippedImages` with their union at call time. With
        no dataset, the process-wide record (`.clear()` empties it).

    Example:
        >>> import tempfile
        >>> import numpy as np
        >>> import pandas as pd
        >>> from agekit.data import make_dataset
        >>> from agekit.images import write_image
        >>> folder = tempfile.mkdtemp()
        >>> paths = [str(write_image(f"{folder}/{i}.png", np.zeros((16, 16, 3), "uint8")))
        ...          for i in range(3)] + [f"{folder}/gone.jpg"]
        >>> df = pd.DataFrame({"path": paths, "age": [20.0, 30.0, 40.0, 50.0]})
        >>> ds = make_dataset(df, target="regression", image_size=16, batch_size=2)
        >>> ds.skipped.by_reason()
        {'missing or unreadable file': 1}
        >>> firsts = ds.map(lambda images, ages: images[:1]).take(1)  # no `.skipped` now
        >>> skipped_images(firsts).paths == [f"{folder}/gone.jpg"]
        True
        >>> f"{folder}/gone.jpg" in skipped_images().paths  # the process-wide record
        True
    """
    if dataset is None:
        return _PROCESS
    if not hasattr(dataset, "element_spec"):
        raise InvalidTypeError("Expected a tf.data.Dataset (or None for every dataset of this "
                               f"process). Received: dataset={type(dataset).__name__}")
    found = _records_of(dataset)
    if not found:
        raise InvalidValueError(
            "Expected a dataset returned by agekit.data.make_dataset or made from one "
            "(map, take, batch, ...); skipped_images() without it gives every make_dataset's "
            f"skipped images. Received: dataset={type(dataset).__name__} made without make_dataset"
        )
    if len(found) == 1:
        return found[0]
    union = SkippedImages()
    for report in found:
        for path, reason in report.reasons().items():
            union._store(path, reason)
    return union
