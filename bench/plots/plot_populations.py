#!/usr/bin/env python3
"""Final populations over the density landscape, one panel per (function, method), from the JSON of
`diffevo-bench paper` (the first run of every cell). Usage:

    python3 bench/plots/plot_populations.py diffevo-bench-paper.json populations.png

Needs numpy and matplotlib (pip install numpy matplotlib). The input is checked before anything is
drawn: a missing, empty or invalid file, or one of another shape, prints `error: <why>` and exits
with status 2."""
import json
import sys

from plot_input import InputError, document_error, first_line_parses, import_plotting, is_number, kind_of
from plot_input import nonempty_list, parse_document, read_text, require, run

ACCEPTS = "plot_populations.py draws the JSON of `diffevo-bench paper`"


def is_point(v):
    return isinstance(v, list) and len(v) == 2 and all(is_number(x) for x in v)


def load(path):
    """The JSON of `diffevo-bench paper`, checked; InputError if the file is not one."""
    text = read_text(path)
    data = parse_document(path, text)
    if data is None:
        if first_line_parses(text):
            raise InputError(f"{path}: JSON Lines (several JSON values, one a line), not one JSON document; {ACCEPTS} "
                             "(plot_generations.py plots a JSON Lines file from diffevo::record_writer)")
        raise document_error(path, text)
    if not isinstance(data, dict):
        raise InputError(f"{path}: the JSON is {kind_of(data)}, not an object; {ACCEPTS}")
    if "mode" in data and data["mode"] != "paper":
        other = " (plot_generations.py plots the JSON of diffevo-bench cartpole)" if data["mode"] == "cartpole" else ""
        raise InputError(f'{path}: "mode" is {json.dumps(data["mode"])}, not "paper"{other}; {ACCEPTS}')
    cells = require(data, "cells", path, ACCEPTS, nonempty_list, "a non-empty list")
    n = require(data, "landscape_grid", path, ACCEPTS,
                lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0, "a positive integer")
    landscapes = require(data, "landscapes", path, ACCEPTS, lambda v: isinstance(v, dict), "an object")
    checked = set()
    for i, c in enumerate(cells):
        where = f"{path}: cells[{i}]"
        function = require(c, "function", where, ACCEPTS, lambda v: isinstance(v, str), "a string")
        require(c, "method", where, ACCEPTS, lambda v: isinstance(v, str), "a string")
        pop = require(c, "first_run_population", where, ACCEPTS, nonempty_list, "a non-empty list of [x, y] points")
        for k, p in enumerate(pop):
            if not is_point(p):
                raise InputError(f'{where}: "first_run_population"[{k}] is {json.dumps(p)[:40]}, expected an [x, y] '
                                 f"pair of numbers; {ACCEPTS}")
        if function not in checked:
            g = require(landscapes, function, f'{path}: "landscapes" (the density of cells[{i}]\'s function)',
                        ACCEPTS, lambda v: isinstance(v, list), "a list")
            numbers = all(is_number(x) for x in g)
            if len(g) != n * n or not numbers:
                raise InputError(f'{path}: "landscapes"["{function}"] must be landscape_grid^2 = {n * n} numbers; '
                                 f"it has {len(g)} values{'' if numbers else ', not all numbers'}; {ACCEPTS}")
            checked.add(function)
    return data


def plot(data, src, dst):
    plt, np = import_plotting("numpy")
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
    run(__doc__, sys.argv, load, plot)
