"""Exits 0 when two bench JSON files hold the same results, timings and backend names aside.

The emulated cuda backend runs the same host math as the cpu backend, so its results must be the
cpu's exactly: usage `same_results.py A.json B.json`.
"""
import json
import sys


def results(x):
    if isinstance(x, dict):
        return {k: results(v) for k, v in x.items()
                if "time" not in k and "second" not in k and k not in ("backend", "device")}
    if isinstance(x, list):
        return [results(v) for v in x]
    return x


a, b = (results(json.load(open(p))) for p in sys.argv[1:3])
if a != b:
    print(f"{sys.argv[1]} and {sys.argv[2]} differ:\n{json.dumps(a)[:2000]}\n{json.dumps(b)[:2000]}")
    sys.exit(1)
print("same results")
