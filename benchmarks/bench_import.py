"""How long `import agekit` takes, against `import tensorflow`, each in a fresh interpreter.

Also the numpy scores (`from agekit.metrics import mae`, no TensorFlow) against the Keras
metrics module (what `agekit.mae` cost before the scores moved out of it: TensorFlow).

Run: python benchmarks/bench_import.py [--check]
With --check it exits non-zero when `import agekit` takes 1 s or more (used by .ci/run).
"""

import statistics
import subprocess
import sys

CODE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def import_seconds(module, repeats=3):
    times = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", CODE.format(module=module)],
            capture_output=True, text=True, check=True,
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def main():
    agekit_s = import_seconds("agekit")
    tf_s = import_seconds("tensorflow", repeats=1)
    scores_s = import_seconds("agekit.metrics")
    keras_s = import_seconds("agekit.metrics.keras_metrics", repeats=1)
    print(f"import agekit:     {agekit_s * 1000:8.1f} ms (median of 3)")
    print(f"import tensorflow: {tf_s * 1000:8.1f} ms")
    print(f"ratio tensorflow / agekit: {tf_s / agekit_s:.0f}x")
    print(f"import agekit.metrics (numpy scores):   {scores_s * 1000:8.1f} ms (median of 3)")
    print(f"import agekit.metrics.keras_metrics:    {keras_s * 1000:8.1f} ms")
    print(f"ratio keras_metrics / scores: {keras_s / scores_s:.0f}x")
    if "--check" in sys.argv and agekit_s >= 1.0:
        sys.exit(f"import agekit took {agekit_s:.2f} s; it must stay under 1 s")


if __name__ == "__main__":
    main()
