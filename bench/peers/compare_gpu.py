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
import math
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))


def median_time(fn, sync, repeats=5):
    fn()
    sync()
    t = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        t.append(time.perf_counter() - t0)
    t.sort()
    return t[len(t) // 2]


def ours(bench, backend, quick):
    with tempfile.TemporaryDirectory() as tmp:
        sp, tp = os.path.join(tmp, "speed.json"), os.path.join(tmp, "throughput.json")
        subprocess.run([bench, "speed", "--backend", backend, "--json", sp, "--quiet"], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([bench, "throughput", "--backend", backend, "--json", tp, "--quiet"]
                       + (["--population", "256"] if quick else []), check=True, stdout=subprocess.DEVNULL)
        with open(sp) as f:
            speed = json.load(f)
        with open(tp) as f:
            thr = json.load(f)
    return speed, thr


# --- PyTorch peers -----------------------------------------------------------------------------

def torch_setup(device):
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False  # full float32, as diffevo's cuBLAS pedantic mode
    torch.backends.cudnn.allow_tf32 = False
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    return torch, sync


def cosine_alphas(torch, T, device):
    k = torch.arange(T, dtype=torch.float64)
    c = (torch.cos(math.pi * k / (T - 1)) + 1) / 2
    return ((c + 1e-3) * (1 - 1e-3) / (1 + 1e-3)).to(device)


def torch_update(torch, x, log_g, a_t, a_p, E=None, eta=1.0):
    """One generation of SPEC §4 in PyTorch float32 (numpy_diffevo.py's algorithm)."""
    q = x if E is None else x @ E.T
    s = math.sqrt(a_t)
    n2 = (q * q).sum(1)
    d2 = n2[:, None] - 2 * s * (q @ q.T) + a_t * n2[None, :]
    w = torch.softmax(log_g[None, :] - d2 / (2 * (1 - a_t)), dim=1)
    x0 = w @ x
    eps = (x - s * x0) / math.sqrt(1 - a_t)
    sigma = eta * math.sqrt((1 - a_p) / (1 - a_t) * (1 - a_t / a_p))
    c = math.sqrt(max(1 - a_p - sigma * sigma, 0.0))
    return math.sqrt(a_p) * x0 + c * eps + sigma * torch.randn_like(x)


def himmelblau_density_torch(torch, p):
    x, y = p[:, 0], p[:, 1]
    f = (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2
    f = torch.where((x.abs() > 4) | (y.abs() > 4), torch.full_like(f, 100.0), f)
    floor = math.exp(-308.803 / 17.01)
    return torch.clamp((torch.exp(-f / 17.01) - floor) / (1 - floor), min=0)


def torch_whole_run(torch, device):
    def once():
        x = torch.randn(512, 2, device=device)
        alphas = cosine_alphas(torch, 25, device).tolist()
        for k in range(24):
            g = himmelblau_density_torch(torch, 4 * x)
            x = torch_update(torch, x, torch.log(g), alphas[24 - k], alphas[23 - k], eta=0.1)
        himmelblau_density_torch(torch, 4 * x)
    return once


def authors_whole_run(torch, device):
    from diffevo import BayesianGenerator, DDIMSchedulerCosine

    def once():
        x = torch.randn(512, 2, device=device)
        for _, alpha in DDIMSchedulerCosine(num_step=25):
            g = himmelblau_density_torch(torch, 4 * x)
            x = BayesianGenerator(x, g, alpha)(noise=0.1)
        himmelblau_density_torch(torch, 4 * x)
    return once


def torch_cell(torch, device, n, d, latent):
    x = torch.randn(n, d, device=device)
    log_g = torch.randn(n, device=device)
    E = None
    if latent:
        E = torch.randn(latent, d, device=device)
        E = E / E.norm(dim=1, keepdim=True)
    return lambda: torch_update(torch, x, log_g, 0.5, 0.6, E)


def authors_cell(torch, device, n, d, latent):
    from diffevo import BayesianGenerator, LatentBayesianGenerator, RandomProjection
    x = torch.randn(n, d, device=device)
    g = torch.exp(torch.randn(n, device=device))
    alpha = (torch.tensor(0.5), torch.tensor(0.6))
    if latent:
        rp = RandomProjection(d, latent, normalize=True).to(device)
        return lambda: LatentBayesianGenerator(x, rp(x).detach(), g, alpha)(noise=1.0)
    return lambda: BayesianGenerator(x, g, alpha)(noise=1.0)


def torch_cartpole(torch, device, n, widths, max_steps=500):
    """SPEC §7 cart-pole for n MLP controllers at once (float32 PyTorch, batched matrix products)."""
    # The controllers of `diffevo-bench throughput`: u = theta + theta_dot pushed through every layer
    # (relu(u), relu(-u)), plus N(0, 0.05^2) on every parameter, so episodes last a varied while.
    layers = []
    for li, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        W = 0.05 * torch.randn(n, b, a, device=device)
        if li == 0:
            W[:, 0, 2] += 1
            W[:, 0, 3] += 1
            W[:, 1, 2] -= 1
            W[:, 1, 3] -= 1
        elif li + 2 < len(widths):
            W[:, 0, 0] += 1
            W[:, 1, 1] += 1
        else:
            W[:, 1, 0] += 1
            W[:, 0, 1] += 1
        layers.append((W, 0.05 * torch.randn(n, b, device=device)))
    high = torch.tensor([4.8, 1.0, 0.41887902, 1.0], device=device)

    def once():
        s = (torch.rand(n, 4, device=device) - 0.5) * 0.1
        alive = torch.ones(n, dtype=torch.bool, device=device)
        ret = torch.zeros(n, device=device)
        steps = 0
        for t in range(max_steps):
            h = s / high * math.sqrt(3)
            for li, (W, b) in enumerate(layers):
                h = torch.bmm(W, h.unsqueeze(2)).squeeze(2) + b
                if li + 1 < len(layers):
                    h = torch.relu(h)
            F = torch.where(h[:, 1] > h[:, 0], 10.0, -10.0)
            x, xd, th, thd = s.unbind(1)
            sin, cos = torch.sin(th), torch.cos(th)
            tmp = (F + 0.05 * thd * thd * sin) / 1.1
            thacc = (9.8 * sin - cos * tmp) / (0.5 * (4.0 / 3 - 0.1 * cos * cos / 1.1))
            xacc = tmp - 0.05 * thacc * cos / 1.1
            s = torch.stack([x + 0.02 * xd, xd + 0.02 * xacc, th + 0.02 * thd, thd + 0.02 * thacc], 1)
            ret += alive
            alive &= ~((s[:, 0].abs() > 2.4) | (s[:, 2].abs() > 12 * 2 * math.pi / 360))
            if t % 50 == 49 and not bool(alive.any()):  # one host sync every 50 steps
                break
        once.steps = float(ret.sum())
        return ret
    once.steps = 0.0
    return once


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
    for note in result["notes"]:
        print("note:", note)
    result["rows"] = [{"workload": n, "diffevo_s": o, **{f"{k}_s": v for k, v in p.items()}} for n, o, p in rows]
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
