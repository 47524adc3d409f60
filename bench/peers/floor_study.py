#!/usr/bin/env python3
"""Why plain 4-8-2 cart-pole ends below the paper's 482.9 / 92.5 %: an ablation in NumPy (float64).

The paper's numbers come from the authors' public code, whose x0 weights are
    w_ij = (g_j + 1e-9) (p_ij + 1e-9) / (1/N + 1e-9),   p_ij = exp(-|x_i - sqrt(a_t) x_j|^2 / (2 (1 - a_t))),
where docs/algorithm.md §4 (and diffevo) use the exact w_ij = g_j p_ij in the log domain. In 58 dimensions p_ij is
far below 1e-9 for every j except i itself, so the floor turns the weights into
    w_ii ~ g_i p_ii,   w_ij ~ 1e-9 g_j (j != i):
an individual whose return is more than ~15 below the best (g_i = exp(r_i - r_max) < 1e-6) gets an x0
near the fitness-weighted mean of the whole population. That is a global selection step that the definition's
exact weights do not have. In d = 2 latent coordinates p_ij is rarely below 1e-9, so the floor barely
matters there, which matches where the library agrees with the paper (latent) and where it does not
(plain).

This script runs the paper setting (N = 256, T = 10, eta = 1, energy temperature 1, one episode per
individual, normalised observations, docs/algorithm.md §7 dynamics with a random start per individual, episode and
generation) with four weightings:
  spec            log-domain exact weights, the definition's cosine schedule (what diffevo computes)
  spec+floor      the definition's schedule with the authors' 1e-9 floors
  authors         the authors' weights and their cosine schedule alpha = (cos(linspace(0, pi, T)) + 1) / 2
  authors-nofloor the authors' schedule with exact weights
and prints the final generation's mean return and share at 500 over the seeds, for the plain 4-8-2 net
and (with --latent) the latent d = 2 net.

    python3 bench/peers/floor_study.py [--runs 100] [--latent] [--json out.json]
"""
import argparse
import json
import math

import numpy as np

HIGH = np.array([4.8, 1.0, 0.41887902, 1.0])


def spec_cosine(T):
    k = np.arange(T)
    c = (np.cos(np.pi * k / (T - 1)) + 1) / 2
    return (c + 1e-3) * (1 - 1e-3) / (1 + 1e-3)


def authors_cosine(T):
    return (np.cos(np.linspace(0, np.pi, T)) + 1) / 2


def returns(params, rng, widths=(4, 8, 2), max_steps=500):
    """docs/algorithm.md §7 cart-pole for a batch of MLP controllers (float64); one episode each."""
    n = params.shape[0]
    layers, off = [], 0
    for a, b in zip(widths[:-1], widths[1:]):
        W = params[:, off:off + a * b].reshape(n, b, a)
        off += a * b
        bias = params[:, off:off + b]
        off += b
        layers.append((W, bias))
    s = rng.uniform(-0.05, 0.05, size=(n, 4))
    alive = np.ones(n, bool)
    ret = np.zeros(n)
    g, mc, mp, l, tau = 9.8, 1.0, 0.1, 0.5, 0.02
    M = mc + mp
    for _ in range(max_steps):
        h = s / HIGH * math.sqrt(3)
        for li, (W, bias) in enumerate(layers):
            h = np.einsum("nba,na->nb", W, h) + bias
            if li + 1 < len(layers):
                h = np.maximum(h, 0)
        action = (h[:, 1] > h[:, 0]).astype(float)  # argmax, ties -> 0
        F = np.where(action > 0, 10.0, -10.0)
        x, xd, th, thd = s.T
        sin, cos = np.sin(th), np.cos(th)
        tmp = (F + mp * l * thd * thd * sin) / M
        thacc = (g * sin - cos * tmp) / (l * (4.0 / 3 - mp * cos * cos / M))
        xacc = tmp - mp * l * thacc * cos / M
        s = np.stack([x + tau * xd, xd + tau * xacc, th + tau * thd, thd + tau * thacc], axis=1)
        ret += alive
        done = (np.abs(s[:, 0]) > 2.4) | (np.abs(s[:, 2]) > 12 * 2 * math.pi / 360)
        alive &= ~done
        if not alive.any():
            break
    return ret


def x0_estimate(x, q, log_g, a_t, floor):
    """x0 for every row: exact log-domain softmax, or the authors' floored product."""
    d2 = ((q[:, None, :] - math.sqrt(a_t) * q[None, :, :]) ** 2).sum(-1)
    if floor:
        n = x.shape[0]
        p = np.exp(-d2 / (2 * (1 - a_t)))
        w = (np.exp(log_g)[None, :] + 1e-9) * (p + 1e-9) / (1.0 / n + 1e-9)
        return (w @ x) / (w.sum(1, keepdims=True) + 1e-9)
    lw = log_g[None, :] - d2 / (2 * (1 - a_t))
    lw -= lw.max(1, keepdims=True)
    w = np.exp(lw)
    return (w @ x) / w.sum(1, keepdims=True)


def run(seed, schedule, floor, latent, T=10, n=256, dim=58):
    rng = np.random.default_rng(seed)
    alphas = schedule(T)
    x = rng.standard_normal((n, dim))
    E = None
    if latent:
        E = rng.standard_normal((latent, dim))
        E /= np.linalg.norm(E, axis=1, keepdims=True)
    for k in range(T - 1):
        a_t, a_p = alphas[T - 1 - k], alphas[T - 2 - k]
        r = returns(x, rng)
        log_g = r - r.max()  # energy, temperature 1
        q = x if E is None else x @ E.T
        x0 = x0_estimate(x, q, log_g, a_t, floor)
        sigma = math.sqrt((1 - a_p) / (1 - a_t) * (1 - a_t / a_p))
        eps = (x - math.sqrt(a_t) * x0) / math.sqrt(1 - a_t)
        x = math.sqrt(a_p) * x0 + math.sqrt(max(1 - a_p - sigma * sigma, 0.0)) * eps + sigma * rng.standard_normal(x.shape)
    r = returns(x, rng)
    return float(r.mean()), float((r >= 500).mean())


VARIANTS = {
    "spec": (spec_cosine, False),
    "spec+floor": (spec_cosine, True),
    "authors": (authors_cosine, True),
    "authors-nofloor": (authors_cosine, False),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--latent", action="store_true", help="also the latent d = 2 net")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    nets = [("plain 4-8-2", 0)] + ([("latent 4-8-2 d=2", 2)] if args.latent else [])
    out = {"runs": args.runs, "seeds": f"0..{args.runs - 1}", "cells": []}
    print("| net | weights and schedule | mean return | share at 500 |\n|---|---|---|---|")
    for net, latent in nets:
        for name, (schedule, floor) in VARIANTS.items():
            res = [run(s, schedule, floor, latent) for s in range(args.runs)]
            m = np.array([a for a, _ in res])
            sh = np.array([b for _, b in res])
            se_m, se_s = m.std(ddof=1) / math.sqrt(len(m)), sh.std(ddof=1) / math.sqrt(len(sh))
            print(f"| {net} | {name} | {m.mean():.1f} ± {se_m:.1f} | {100 * sh.mean():.1f} ± {100 * se_s:.1f} % |",
                  flush=True)
            out["cells"].append({"net": net, "variant": name, "mean_return": m.tolist(), "share_500": sh.tolist()})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f)


if __name__ == "__main__":
    main()
