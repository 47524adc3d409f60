#!/usr/bin/env python3
"""Fitness over generations, from either
  - a JSON Lines file written by diffevo::record_writer (one record per generation), or
  - the JSON of `diffevo-bench cartpole` (per-generation return statistics of every net).

    python3 bench/plots/plot_generations.py run.jsonl fitness.png
    python3 bench/plots/plot_generations.py diffevo-bench-cartpole.json returns.png

Needs matplotlib (pip install matplotlib). The input is checked before anything is drawn: a missing,
empty or invalid file, or one of another shape, prints `error: <why>` and exits with status 2."""
import json
import sys

from plot_input import InputError, document_error, first_line_parses, import_plotting, is_number, kind_of
from plot_input import nonempty_list, parse_document, parse_json_lines, read_text, require, run

ACCEPTS = ("plot_generations.py plots a JSON Lines file from diffevo::record_writer (one object per generation "
           "with generation, best, mean, median, worst, best_so_far) or the JSON of `diffevo-bench cartpole`")
RECORD_KEYS = ("best", "mean", "median", "worst", "best_so_far")


def check_records(path, lines):
    """The record_writer records of [(line number, value)], checked."""
    recs = []
    for number, r in lines:
        where = f"{path}, line {number}"
        require(r, "generation", where, ACCEPTS, is_number, "a number")
        for key in RECORD_KEYS:
            require(r, key, where, ACCEPTS, lambda v: v is None or is_number(v), "a number or null")
        recs.append(r)
    return recs


def check_cartpole(path, data):
    """The JSON of `diffevo-bench cartpole`, checked."""
    mode = require(data, "mode", path, ACCEPTS)
    if mode != "cartpole":
        other = " (plot_populations.py draws the JSON of diffevo-bench paper)" if mode == "paper" else ""
        raise InputError(f'{path}: "mode" is {json.dumps(mode)}, not "cartpole"{other}; {ACCEPTS}')
    require(data, "backend", path, ACCEPTS, lambda v: isinstance(v, str), "a string")
    nets = require(data, "nets", path, ACCEPTS, nonempty_list, "a non-empty list")
    for i, net in enumerate(nets):
        where = f"{path}: nets[{i}]"
        require(net, "net", where, ACCEPTS, lambda v: isinstance(v, str), "a string")
        gens = require(net, "generations", where, ACCEPTS, nonempty_list, "a non-empty list")
        for k, g in enumerate(gens):
            for key in ("generation", "mean", "q1", "q3"):
                require(g, key, f"{where}.generations[{k}]", ACCEPTS, is_number, "a number")
    return data


def load(path):
    """("cartpole", data) or ("records", [record]); InputError if the file is neither."""
    text = read_text(path)
    data = parse_document(path, text)
    if data is None:
        if text.lstrip().startswith("generation,"):
            raise InputError(f"{path}: a CSV file (record_writer::format::csv); {ACCEPTS}: write the records with "
                             "record_writer::format::jsonl")
        if not first_line_parses(text):
            raise document_error(path, text)
        lines = parse_json_lines(path, text)
    elif not isinstance(data, dict):
        raise InputError(f"{path}: the JSON is {kind_of(data)}, not an object; {ACCEPTS}")
    elif "generation" not in data:
        return "cartpole", check_cartpole(path, data)
    else:  # a JSON Lines file of one record
        lines = [(next(n for n, line in enumerate(text.splitlines(), 1) if line.strip()), data)]
    return "records", check_records(path, lines)


def plot_records(recs, path, ax):
    g = [r["generation"] for r in recs]
    for key in RECORD_KEYS:
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


def plot(loaded, src, dst):
    plt, = import_plotting()
    kind, data = loaded
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if kind == "cartpole":
        plot_cartpole(data, ax)
    else:
        plot_records(data, src, ax)
    fig.tight_layout()
    fig.savefig(dst, dpi=80)
    print(f"wrote {dst}")


if __name__ == "__main__":
    run(__doc__, sys.argv, load, plot)
