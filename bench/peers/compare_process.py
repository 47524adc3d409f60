#!/usr/bin/env python3
"""A whole 2-D run (N = 512, T = 25, Himmelblau, fitness included) as a whole process: diffevo-run2d
against the same run in NumPy (numpy_diffevo.py) started as `python3`, interleaved, medians of
`--repeats` starts each. What a user pays per run from a shell or a job scheduler, process start and
library loading included.

    python3 bench/peers/compare_process.py ./build/bench/diffevo-run2d [out.json] [--repeats 20]
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def numpy_run():
    sys.path.insert(0, HERE)
    from compare_cpu import numpy_whole_run
    numpy_whole_run()


def wall(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main(argv):
    if len(argv) >= 2 and argv[1] == "--numpy-run":
        numpy_run()
        return 0
    args = [a for a in argv[1:] if not a.startswith("--")]
    repeats = int(argv[argv.index("--repeats") + 1]) if "--repeats" in argv else 20
    if "--repeats" in argv:
        args.remove(argv[argv.index("--repeats") + 1])
    if not args:
        sys.exit(__doc__)
    run2d = os.path.abspath(args[0])
    numpy_cmd = [sys.executable, os.path.abspath(__file__), "--numpy-run"]
    ours, theirs = [], []
    wall([run2d]), wall(numpy_cmd)  # warm the page cache
    for k in range(repeats):
        ours.append(wall([run2d, str(k)]))
        theirs.append(wall(numpy_cmd))
    result = {
        "workload": "whole 2-D run, N = 512, T = 25, Himmelblau, as a whole process",
        "machine": platform.processor() or platform.machine(),
        "repeats": repeats,
        "diffevo_process_seconds_median": statistics.median(ours),
        "numpy_process_seconds_median": statistics.median(theirs),
    }
    result["ratio_numpy_over_diffevo"] = result["numpy_process_seconds_median"] / result["diffevo_process_seconds_median"]
    print(f"diffevo-run2d {1e3 * result['diffevo_process_seconds_median']:.1f} ms, NumPy "
          f"{1e3 * result['numpy_process_seconds_median']:.1f} ms per process (medians of {repeats}): "
          f"diffevo is {result['ratio_numpy_over_diffevo']:.1f}x")
    if len(args) > 1:
        with open(args[1], "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
