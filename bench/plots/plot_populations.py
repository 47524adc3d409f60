#!/usr/bin/env python3
"""Final populations over the density landscape, one panel per (function, method), from the JSON of
`diffevo-bench paper` (the first run of every cell). Usage:

    python3 bench/plots/plot_populations.py diffevo-bench-paper.json populations.png

Needs numpy and matplotlib (pip install numpy matplotlib)."""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main(src, dst):
    with open(src) as f:
        data = json.load(f)
    cells = data["cells"]
    functions = list(dict.fromkeys(c["function"] for c in cells))
    methods = list(dict.fromkeys(c["method"] for c in cells))
    n = data["landscape_grid"]
    fig, axes = plt.subplots(len(methods), len(functions), figsize=(2.4 * len(functions), 2.4 * len(methods)),
                             squeeze=False)
    for c in cells:
        ax = axes[methods.index(c["method"])][functions.index(c["function"])]
        g = np.array(data["landscapes"][c["function"]]).reshape(n, n)
        ax.imshow(g, origin="lower", extent=(-4, 4, -4, 4), cmap="viridis", vmin=0, vmax=1)
        pop = np.array(c["first_run_population"])
        ax.scatter(pop[:, 0], pop[:, 1], s=2, c="white", alpha=0.6, linewidths=0)
        ax.set_xlim(-4, 4)
        ax.set_ylim(-4, 4)
        ax.set_xticks([])
        ax.set_yticks([])
        if c["method"] == methods[0]:
            ax.set_title(c["function"], fontsize=10)
        if c["function"] == functions[0]:
            ax.set_ylabel(c["method"], fontsize=10)
    fig.suptitle("final populations (first run of each cell) over the density g", fontsize=11)
    fig.tight_layout()
    fig.savefig(dst, dpi=72)
    print(f"wrote {dst}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
