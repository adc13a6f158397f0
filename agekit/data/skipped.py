"""A record of the images a pipeline skipped, and why.

`make_dataset` never lets one bad file end an epoch: missing, empty, unrecognised,
truncated or undecodable files are dropped from the stream and recorded here with
their path and a reason, so that no image disappears silently. The record is the
`skipped` attribute of the returned dataset (or pass your own `SkippedImages` to
share one between datasets), and a warning is logged for each new skipped file.
"""

import logging
import threading
from collections import Counter

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

    def record(self, path, reason):
        """Add one skipped image; logs a warning the first time a path is seen."""
        path = str(path)
        reason = REASONS.get(reason, reason) if isinstance(reason, int) else str(reason)
        with self._lock:
            if path in self._reasons:
                return
            self._reasons[path] = reason
        logger.warning("Skipped unreadable image (%s): %s", reason, path)

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

    def log_summary(self):
        """Log one warning with the counts per reason; returns them."""
        counts = self.by_reason()
        if counts:
            logger.warning("Skipped %d unreadable image(s): %s", sum(counts.values()), counts)
        return counts

    def __repr__(self):
        return f"SkippedImages(count={self.count}, by_reason={self.by_reason()})"
