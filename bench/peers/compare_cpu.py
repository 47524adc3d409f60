#!/usr/bin/env python3
"""Side-by-side cpu timings in one run: diffevo's cpu backend (via `diffevo-bench speed`, its default
cpu_math), evosax's DiffusionEvolution on JAX (cpu, jit), the same algorithm in NumPy
(numpy_diffevo.py) and, when installed, in PyTorch (torch_peer.py, float32).

    python3 bench/peers/compare_cpu.py ./build/bench/diffevo-bench [out.json]

Workloads: a whole 2-D run (N = 512, T = 25, Himmelblau density, fitness included) and the update
step alone at the (N, D) cells the bench measures on the cpu by default, plus N = 4096, D = 17,410
(plain and latent d = 2). Medians of 5 repeats after a warm-up (3 for the N = 4096, D = 17,410 cells).
evosax is not run where its update would need more than 4 GB (it materializes an N x N x k array)."""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from numpy_diffevo import DiffusionEvolution  # noqa: E402
from timing import bench_json, median_time  # noqa: E402


def himmelblau_density(p):
    # docs/algorithm.md §6 identity density for Himmelblau (s = 17.01, Dmax = 308.803), out-of-box value 100.
    x, y = p[:, 0], p[:, 1]
    f = (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2
    f = np.where((np.abs(x) > 4) | (np.abs(y) > 4), 100.0, f)
    floor = np.exp(-308.803 / 17.01)
    return np.maximum((np.exp(-f / 17.01) - floor) / (1 - floor), 0)


def numpy_whole_run():
    de = DiffusionEvolution(512, 2, 25, eta=0.1, scale=4.0)
    while not de.done():
        de.tell(himmelblau_density(de.ask()))
    himmelblau_density(de.ask())


def repeats_for(n, d):
    return 3 if n * n * d > 2e10 else 5


def numpy_update(n, d, latent):
    de = DiffusionEvolution(n, d, 8, latent=latent)
    g = np.exp(np.random.default_rng(1).standard_normal(n))
    return median_time(lambda: de.tell(g) if not de.done() else None, repeats=repeats_for(n, d))


def evosax_update(n, d, latent):
    try:
        from evosax_peer import update_cell
        once, note = update_cell(n, d, latent)
    except Exception as e:  # noqa: BLE001
        return None, f"evosax not available ({e.__class__.__name__})"
    if once is None:
        return None, note
    return median_time(once, repeats=repeats_for(n, d)), note


def evosax_whole_run():
    try:
        from evosax_peer import whole_run
        once, note = whole_run()
    except Exception as e:  # noqa: BLE001
        return None, f"evosax not available ({e.__class__.__name__})"
    return median_time(once), note


def torch_peer_timings(cells):
    """PyTorch (cpu) running the same algorithm, when it is installed: (whole run, {cell: seconds})."""
    try:
        import torch_peer
        torch, _ = torch_peer.torch_setup("cpu")
    except Exception as e:  # noqa: BLE001
        return None, {}, f"PyTorch not available ({e.__class__.__name__})"
    whole = median_time(torch_peer.torch_whole_run(torch, "cpu"))
    per = {c: median_time(torch_peer.torch_cell(torch, "cpu", *c)) for c in cells}
    return whole, per, f"PyTorch {torch.__version__} cpu ({torch.get_num_threads()} threads), float32"


def main(bench, out):
    ours = bench_json(bench, "speed", "cpu")
    large = bench_json(bench, "speed", "cpu", ["--population", "4096", "--dimension", "17410", "--runs", "3"])
    ours["update"] += large["update"]
    rows = []
    np_whole = median_time(numpy_whole_run)
    cells = [(c["n"], c["d"], c["latent"]) for c in ours["update"]]
    t_whole, t_cells, t_note = torch_peer_timings(cells)
    ev_whole, ev_note = evosax_whole_run()
    rows.append(("whole 2-D run N=512 T=25", ours["whole_2d_run_seconds"], np_whole, t_whole, ev_whole, ev_note))
    for cell in ours["update"]:
        n, d, latent = cell["n"], cell["d"], cell["latent"]
        ev, note = evosax_update(n, d, latent)
        rows.append((f"update N={n} D={d} {'latent d=2' if latent else 'plain'}", cell["update_seconds"],
                     numpy_update(n, d, latent), t_cells.get((n, d, latent)), ev, note))
    print("| workload | diffevo cpu | evosax | evosax / diffevo | NumPy | NumPy / diffevo | PyTorch | PyTorch / diffevo |\n"
          "|---|---|---|---|---|---|---|---|")
    for name, a, b, t, ev, note in rows:
        tc = f"{t * 1e3:.3f} ms | {t / a:.1f}x" if t is not None else "— | —"
        ec = f"{ev * 1e3:.3f} ms | {ev / a:.2f}x" if ev is not None else f"— ({note}) | —"
        print(f"| {name} | {a * 1e3:.3f} ms | {ec} | {b * 1e3:.3f} ms | {b / a:.1f}x | {tc} |")
    print(f"\nPyTorch: {t_note}")
    if ev_whole is not None:
        print(f"whole 2-D run, {ev_note}: {ev_whole * 1e3:.3f} ms "
              f"({ev_whole / ours['whole_2d_run_seconds']:.1f}x diffevo cpu)")
    else:
        print(ev_note)
    result = {"rows": [{"workload": n, "diffevo_cpu_s": a, "numpy_s": b, "torch_s": t, "evosax_s": ev, "evosax_note": note}
                       for n, a, b, t, ev, note in rows],
              "blas": ours.get("blas"),
              "evosax_whole_run_s": ev_whole, "evosax_note": ev_note, "torch_note": t_note, "numpy": np.__version__}
    if out:
        with open(out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else None)
