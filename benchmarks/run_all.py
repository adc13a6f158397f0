"""Run every benchmark in this folder, one after another, and print every ratio at the end.

    python benchmarks/run_all.py              # all of them (several minutes on 2 cores)
    python benchmarks/run_all.py occlusion    # only those whose name contains "occlusion"

Each `bench_*.py` compares agekit with the naive way in the same run and prints its
ratios (a number followed by `x`); this script streams their output as they run and
then repeats those lines, script by script. A script that fails is reported and the
others still run; the exit status is 1 if any failed.
"""

import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RATIO = re.compile(r"\d(\.\d+)?x\b")


def main(argv):
    scripts = sorted(p for p in HERE.glob("bench_*.py") if not argv or any(a in p.stem for a in argv))
    summary, failed = {}, []
    for script in scripts:
        print(f"\n===== {script.name}", flush=True)
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, cwd=HERE.parent)
        lines = []
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line.rstrip())
        if process.wait() != 0:
            failed.append(script.name)
        summary[script.name] = ([line.strip() for line in lines if RATIO.search(line)],
                                time.perf_counter() - started, process.returncode)
    print("\n===== ratios")
    for name, (ratios, seconds, status) in summary.items():
        print(f"{name} ({seconds:.0f} s{', FAILED' if status else ''})")
        for line in ratios:
            print(f"    {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
