"""Timing helper shared by the benchmark scripts (run as `python benchmarks/<name>.py`)."""

import time


def best_of(fn, repeats=3):
    """`(best wall-clock seconds, last result)` of `repeats` calls of `fn()`."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result
