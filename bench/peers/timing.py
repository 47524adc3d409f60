"""Shared by compare_cpu.py and compare_gpu.py: how a peer is timed, and how the bench is asked for
its own figures (so both scripts time the same way)."""
import json
import os
import statistics
import subprocess
import tempfile
import time


def median_time(fn, sync=lambda: None, repeats=5):
    """Median wall time of fn() over `repeats` calls after one warm-up; sync() waits for the device
    before each clock read (a no-op on the cpu)."""
    fn()
    sync()
    t = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        t.append(time.perf_counter() - t0)
    return statistics.median(t)


def bench_json(bench, mode, backend, extra=()):
    """Runs `diffevo-bench <mode> --backend <backend> --quiet` and returns the JSON it wrote."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, mode + ".json")
        subprocess.run([bench, mode, "--backend", backend, "--json", path, "--quiet", *extra], check=True,
                       stdout=subprocess.DEVNULL)
        with open(path) as f:
            return json.load(f)
