#!/usr/bin/env python3
"""Fitness over generations, from either
  - a JSON Lines file written by diffevo::record_writer (one record per generation), or
  - the JSON of `diffevo-bench cartpole` (per-generation return statistics of every net).

    python3 bench/plots/plot_generations.py run.jsonl fitness.png
    python3 bench/plots/plot_generations.py diffevo-bench-cartpole.json returns.png

Needs matplotlib (pip install matplotlib)."""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_records(path, ax):
    recs = [json.loads(line) for line in open(path) if line.strip()]
    g = [r["generation"] for r in recs]
    for key in ("best", "mean", "median", "worst", "best_so_far"):
        ax.plot(g, [r[key] if r[key] is not None else float("nan") for r in recs], label=key)
    ax.set_xlabel("generation")
    ax.set_ylabel("fitness")
    ax.set_title(path)
    ax.legend()


def plot_cartpole(data, ax):
    for net in data["nets"]:
        gens = net["generations"]
        x = [g["generation"] for g in gens]
        line, = ax.plot(x, [g["mean"] for g in gens], label=f"{net['net']} mean")
        ax.fill_between(x, [g["q1"] for g in gens], [g["q3"] for g in gens], color=line.get_color(), alpha=0.2)
    ax.set_xlabel("evaluated generation")
    ax.set_ylabel("return (mean, band: quartiles)")
    ax.set_ylim(0, 510)
    ax.set_title(f"cart-pole, backend {data['backend']}")
    ax.legend()


def main(src, dst):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    with open(src) as f:
        first = f.read(1)
    if src.endswith(".json") and first == "{":
        with open(src) as f:
            data = json.load(f)
        if data.get("mode") != "cartpole":
            sys.exit(f"{src}: not a cartpole result (mode {data.get('mode')})")
        plot_cartpole(data, ax)
    else:
        plot_records(src, ax)
    fig.tight_layout()
    fig.savefig(dst, dpi=80)
    print(f"wrote {dst}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
