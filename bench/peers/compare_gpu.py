#!/usr/bin/env python3
"""Side-by-side GPU timings in one run (issue 4): diffevo's cuda backend next to the Python peers on
the same GPU, with the same workloads.

    python3 bench/peers/compare_gpu.py ./build-gpu/bench/diffevo-bench out.json [--device cpu --quick]

Peers (each skipped with a note when it cannot be imported or runs out of memory):
  authors  the authors' PyTorch package (`diffevo` 1.1.0 on PyPI): BayesianGenerator /
           LatentBayesianGenerator with uniform density, as published;
  torch    the same algorithm as bench/peers/numpy_diffevo.py written in PyTorch (float32, Gram
           distances, one softmax and one matrix product per generation): what a PyTorch user would
           write for speed;
  evosax   evosax's DiffusionEvolution on JAX (jit; ask + tell per generation).
Workloads: a whole 2-D run (N = 512, T = 25, Himmelblau density, fitness included); the update step
alone at the (N, D, latent) cells `diffevo-bench speed` measured; a cart-pole generation with
N = 4096 controllers of 17,410 parameters, evaluation (a batched PyTorch cart-pole written here, the
fastest Python evaluator we know of; the authors' code steps Gymnasium one controller at a time)
and update separately. Medians of 5 repeats after a warm-up, synchronized with the device.

The GPU image lacks the `diffevo`, `evosax` and `dotmap` wheels: fetch them where pip works with
`bash .ci/gpu-peers-fetch`, then carry `.whl` (see .ci/gpu-check). `--device cpu --quick` is a
smoke test of this script on a machine without a GPU (small cells, cpu timings, not results).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from timing import bench_json, median_time  # noqa: E402


def ours(bench, backend, quick):
    speed = bench_json(bench, "speed", backend)
    thr = bench_json(bench, "throughput", backend, ["--population", "256"] if quick else [])
    return speed, thr


# --- evosax ------------------------------------------------------------------------------------

def evosax_setup():
    import jax
    import jax.numpy as jnp
    from evosax.algorithms import DiffusionEvolution as EDE
    return jax, jnp, EDE


def evosax_cell(jax, jnp, EDE, n, d, latent):
    es = EDE(population_size=n, solution=jnp.zeros(d), num_generations=8, num_latent_dims=latent or None)
    params = es.default_params
    key = jax.random.key(1)
    state = es.init(key, jax.random.normal(key, (n, d)), jnp.zeros(n), params)
    fit = jax.random.normal(jax.random.key(2), (n,))

    @jax.jit
    def gen(key, state):
        k1, k2 = jax.random.split(key)
        pop, state = es.ask(k1, state, params)
        return es.tell(k2, pop, fit, state, params)

    return lambda: jax.block_until_ready(gen(key, state))


from torch_peer import (authors_cell, authors_whole_run, torch_cartpole, torch_cell,  # noqa: E402
                        torch_setup, torch_whole_run)


# --- the run -----------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bench")
    ap.add_argument("out", nargs="?")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--quick", action="store_true", help="small cells only (a smoke test)")
    args = ap.parse_args()
    backend = "cuda" if args.device == "cuda" else "cpu"
    speed, thr = ours(args.bench, backend, args.quick)
    result = {"device": args.device, "diffevo_speed": speed, "diffevo_throughput": thr, "peers": {}, "notes": []}
    rows = []  # (workload, ours seconds, {peer: seconds or None})

    def attempt(name, make, sync):
        try:
            return median_time(make(), sync)
        except Exception as e:  # noqa: BLE001 (an import error, out of memory, an API change)
            result["notes"].append(f"{name}: {e.__class__.__name__}: {str(e)[:200]}")
            return None

    torch = None
    try:
        torch, tsync = torch_setup(args.device)
        result["peers"]["torch"] = torch.__version__
    except Exception as e:  # noqa: BLE001
        result["notes"].append(f"torch unavailable: {e}")
    try:
        jax, jnp, EDE = evosax_setup()
        import evosax
        result["peers"]["evosax"] = f"evosax {evosax.__version__ if hasattr(evosax, '__version__') else '?'}, jax {jax.__version__} on {jax.devices()[0].platform}"
    except Exception as e:  # noqa: BLE001
        jax = None
        result["notes"].append(f"evosax unavailable: {e}")
    try:
        import diffevo  # noqa: F401
        result["peers"]["authors"] = "diffevo (PyPI) " + getattr(diffevo, "__version__", "1.1.0?")
    except Exception as e:  # noqa: BLE001
        result["notes"].append(f"authors' diffevo unavailable: {e}")

    peers = {}
    if torch:
        peers["torch"] = attempt("whole torch", lambda: torch_whole_run(torch, args.device), tsync)
        if "authors" in result["peers"]:
            peers["authors"] = attempt("whole authors", lambda: authors_whole_run(torch, args.device), tsync)
    if jax:
        from evosax_peer import whole_run
        peers["evosax"] = attempt("whole evosax", lambda: whole_run()[0], lambda: None)
    rows.append(("whole 2-D run N=512 T=25", speed["whole_2d_run_seconds"], peers))

    for cell in speed["update"]:
        n, d, latent = cell["n"], cell["d"], cell["latent"]
        if args.quick and n * n * d > 512 * 512 * 58:
            continue
        name = f"update N={n} D={d} {'latent d=2' if latent else 'plain'}"
        peers = {}
        if torch:
            peers["torch"] = attempt(name + " torch", lambda: torch_cell(torch, args.device, n, d, latent), tsync)
            if "authors" in result["peers"]:
                peers["authors"] = attempt(name + " authors", lambda: authors_cell(torch, args.device, n, d, latent),
                                           tsync)
            torch.cuda.empty_cache() if args.device == "cuda" else None
        if jax:
            peers["evosax"] = attempt(name + " evosax", lambda: evosax_cell(jax, jnp, EDE, n, d, latent), lambda: None)
        rows.append((name, cell["update_seconds"], peers))

    # Cart-pole generation: N = 4096 controllers of 17,410 parameters (smaller with --quick).
    n_cp = 256 if args.quick else 4096
    big = next(x for x in thr["nets"] if x["parameters"] == 17410)
    if torch:
        ev = torch_cartpole(torch, args.device, n_cp, [4, 128, 128, 2])
        t = attempt("cartpole torch", lambda: ev, tsync)
        result["cartpole_torch"] = {"n": n_cp, "seconds": t, "env_steps": ev.steps,
                                    "env_steps_per_s": ev.steps / t if t else None}
    result["cartpole_diffevo"] = big

    print(f"| workload | diffevo {backend} | " + " | ".join(["torch", "authors", "evosax"]) + " |")
    print("|---|---|---|---|---|")
    for name, o, p in rows:
        cells = []
        for k in ("torch", "authors", "evosax"):
            v = p.get(k)
            cells.append("—" if v is None else f"{v * 1e3:.3f} ms ({v / o:.1f}x)")
        print(f"| {name} | {o * 1e3:.3f} ms | " + " | ".join(cells) + " |")
    if "cartpole_torch" in result and result["cartpole_torch"]["seconds"]:
        ct = result["cartpole_torch"]
        print(f"\ncart-pole evaluation, 17,410 parameters: diffevo {big['env_steps_per_s_median']:.3g} env-steps/s "
              f"(N = {thr['population']}); batched PyTorch {ct['env_steps_per_s']:.3g} env-steps/s (N = {ct['n']})")
    # Issue 4's generation target: evaluation + update of N = 4096 controllers of 17,410 parameters
    # (latent d = 2), ours against the fastest Python pieces: the batched PyTorch cart-pole for the
    # evaluation (same controllers as ours) plus the fastest peer's update of that shape.
    upd = next((r for r in rows if r[0] == "update N=4096 D=17410 latent d=2"), None)
    ct = result.get("cartpole_torch")
    if upd and ct and ct["seconds"] and ct["n"] == thr["population"]:
        peer_upd = {k: v for k, v in upd[2].items() if v}
        if peer_upd:
            fastest = min(peer_upd, key=peer_upd.get)
            ours_gen = big["seconds_median"] + upd[1]
            peer_gen = ct["seconds"] + peer_upd[fastest]
            result["generation"] = {"diffevo_s": ours_gen, "diffevo_eval_s": big["seconds_median"],
                                    "diffevo_update_s": upd[1], "python_s": peer_gen,
                                    "python_eval_s": ct["seconds"], "python_update_s": peer_upd[fastest],
                                    "python_update_peer": fastest}
            print(f"\ncart-pole generation, N = 4096, 17,410 parameters, latent d = 2: diffevo {ours_gen:.4f} s "
                  f"(evaluation {big['seconds_median']:.4f} + update {upd[1]:.4f}); fastest Python {peer_gen:.4f} s "
                  f"(batched PyTorch evaluation {ct['seconds']:.4f} + {fastest} update {peer_upd[fastest]:.4f}): "
                  f"{peer_gen / ours_gen:.1f}x (target 10x); update alone {peer_upd[fastest] / upd[1]:.1f}x (target 2x)")
    for note in result["notes"]:
        print("note:", note)
    result["rows"] = [{"workload": n, "diffevo_s": o, **{f"{k}_s": v for k, v in p.items()}} for n, o, p in rows]
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
