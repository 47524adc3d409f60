#!/usr/bin/env python3
"""Turns the output of `.ci/gpu-check` (its stage archives, or folders holding the bench's JSON) into
the Markdown summary that goes to bench/results/<device>-<date>.md: every issue target next to what was
measured, then the tables. Reads only what is there; says what is missing. Standard library only.

    python3 bench/summarize_results.py first.tgz tests.tgz bench.tgz sanitize.tgz peers.tgz > bench/results/h100-2026-11-30.md
    python3 bench/summarize_results.py build/ci-bench > ...          (a folder: CI does this with the cpu JSON)

With several inputs (one .tgz per gpu-check stage, each from its own call of the device tool), a file
is taken from the last input that has it and the summary.txt files are joined.

Files it reads (names as .ci/gpu-check writes them): summary.txt, ctest.txt, gpu-tests.txt,
speed*.json, throughput.json, paper.json, cartpole.json, compare-gpu.json, sanitizer-*.txt.
"""
import atexit
import glob
import json
import os
import re
import shutil
import statistics
import sys
import tarfile
import tempfile


def load(folders, name):
    """The file `name` from the last folder that has it (JSON parsed); summary.txt joined from all."""
    found = [os.path.join(f, name) for f in folders if os.path.exists(os.path.join(f, name))]
    if not found:
        return None
    if name == "summary.txt":
        parts = []
        for path in found:
            with open(path) as f:
                parts.append(f.read().strip())
        return "\n".join(parts)
    with open(found[-1]) as f:
        return json.load(f) if name.endswith(".json") else f.read()


def load_speed(folders):
    """speed.json and every speed-*.json (gpu-check's first stage runs the whole 2-D run at N = 512 and
    the N = 4096 update cell in two calls): the whole run of the N = 512 file (else the last), and the
    update cells of all of them."""
    paths = [p for f in folders for p in sorted(glob.glob(os.path.join(f, "speed*.json")))]
    if not paths:
        return None
    runs = []
    for p in paths:
        with open(p) as f:
            runs.append(json.load(f))
    base = next((r for r in runs if r.get("whole_2d_population", 512) == 512), runs[-1])
    merged = dict(base)
    cells = {}  # one cell per (N, D, variant): of two files with one cell, the later in name order wins
    for r in runs:
        for c in r.get("update", []):
            cells[(c["n"], c["d"], c["latent"])] = c
    merged["update"] = list(cells.values())
    return merged


def ms(s):
    return f"{s * 1e3:.3f} ms"


def verdict(ok):
    return "**met**" if ok else "**not met**"


def targets(speed, thr, cmp, ctest):
    rows = []
    if speed:
        cell = next((c for c in speed["update"] if c["n"] == 4096 and c["d"] == 17410 and c["latent"] == 2), None)
        if cell and "bare_gemm_seconds" in cell:
            r = cell["update_seconds"] / cell["bare_gemm_seconds"]
            rows.append(("update N = 4096, D = 17,410, d = 2, within 1.2x a bare SGEMM of the x0 shape",
                         f"{ms(cell['update_seconds'])} vs {ms(cell['bare_gemm_seconds'])}: {r:.2f}x", verdict(r <= 1.2)))
        else:
            rows.append(("update within 1.2x the bare SGEMM",
                         "speed.json has no cuda cell at N = 4096, D = 17,410, latent d = 2", "—"))
        w = speed["whole_2d_run_seconds"]
        split = ""
        if "whole_2d_construct_seconds" in speed:
            split = f" (construction {ms(speed['whole_2d_construct_seconds'])}, run {ms(speed['whole_2d_run_only_seconds'])})"
        n2 = speed.get("whole_2d_population", 512)
        if n2 == 512:
            rows.append(("whole 2-D run N = 512, T = 25, fitness included, under 1 ms", ms(w) + split, verdict(w < 1e-3)))
        else:
            rows.append(("whole 2-D run N = 512, T = 25, fitness included, under 1 ms",
                         f"measured at N = {n2} instead: {ms(w)}{split}", "—"))
    if thr:
        for p, goal in ((17410, 2e8), (58, 2e9)):
            net = next((x for x in thr["nets"] if x["parameters"] == p), None)
            if net:
                r = net["env_steps_per_s_median"]
                rows.append((f"evaluator, N = {thr['population']}, {p:,} parameters, >= {goal:.0e} env-steps/s",
                             f"{r:.3g} env-steps/s ({r / goal:.2f}x the target)", verdict(r >= goal)))
    if cmp and cmp.get("generation"):
        g = cmp["generation"]
        r = g["python_s"] / g["diffevo_s"]
        u = g["python_update_s"] / g["diffevo_update_s"]
        rows.append(("cart-pole generation (N = 4096, 17,410 parameters) >= 10x the fastest Python peer",
                     f"{g['diffevo_s']:.4f} s vs {g['python_s']:.4f} s (batched PyTorch evaluation + "
                     f"{g['python_update_peer']} update): {r:.1f}x", verdict(r >= 10)))
        rows.append(("its update alone >= 2x the fastest Python peer",
                     f"{g['diffevo_update_s']:.4f} s vs {g['python_update_s']:.4f} s: {u:.1f}x", verdict(u >= 2)))
    elif cmp is not None:
        rows.append(("cart-pole generation vs Python peers", "compare-gpu.json has no generation entry "
                     "(PyTorch missing, or a quick run)", "—"))
    if ctest:
        # test_gpu_cartpole.cpp prints "[ layers L, width W ] ...", test_gpu_environment.cu
        # "[ mountain car, layers L, width W ] ...": one row each.
        for what, prefix in (("cart-pole", r"\[ layers"), ("mountain car (own environment)", r"\[ mountain car, layers")):
            flips = re.findall(r"^" + prefix + r" \d+, width \d+ \] (\d+) of (\d+) returns differ", ctest, re.M)
            if flips:
                diff = sum(int(a) for a, _ in flips)
                total = sum(int(b) for _, b in flips)
                rows.append((f"{what} cpu vs cuda: share of episodes whose return differs (measure and report)",
                             f"{diff} of {total} ({100 * diff / total:.2f} %) over {len(flips)} comparisons",
                             "measured"))
    out = ["| target | measured | verdict |", "|---|---|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return out


def speed_table(speed):
    gpu = speed["backend"] == "cuda"
    bw = speed.get("copy_bandwidth_bytes_per_second")
    out = [f"Copy bandwidth measured in the same run: {bw / 1e9:.1f} GB/s." if bw else "", "",
           "| N | D | variant | update (median) | mean over the run | memory floor | " + ("bare SGEMM | ratio |" if gpu else ""),
           "|---|---|---|---|---|---|" + ("---|---|" if gpu else "")]
    for c in speed["update"]:
        # each cell's floor at its own run's bandwidth (files written before floor_seconds: this one's)
        floor = (ms(c["floor_seconds"]) if "floor_seconds" in c
                 else f"{ms(c['floor_bytes'] / bw)}" if bw and "floor_bytes" in c else "—")
        mean = ms(c["update_mean_seconds"]) if "update_mean_seconds" in c else "—"
        line = (f"| {c['n']} | {c['d']} | {'latent d = 2' if c['latent'] else 'plain'} | {ms(c['update_seconds'])} | "
                f"{mean} | {floor} |")
        if gpu and "bare_gemm_seconds" in c:
            line += f" {ms(c['bare_gemm_seconds'])} | {c['update_seconds'] / c['bare_gemm_seconds']:.2f} |"
        out.append(line)
    return out


def paper_table(paper):
    methods = []
    for c in paper["cells"]:
        if c["method"] not in methods:
            methods.append(c["method"])
    funcs = []
    for c in paper["cells"]:
        if c["function"] not in funcs:
            funcs.append(c["function"])
    by = {(c["function"], c["method"]): c for c in paper["cells"]}
    out = [f"{paper['runs']} runs per cell, seeds {paper['first_seed']}..{paper['first_seed'] + paper['runs'] - 1}; "
           "cells entropy (fitness), mean ± std", "", "| function | " + " | ".join(methods) + " |",
           "|---|" + "---|" * len(methods)]
    for f in funcs:
        cells = []
        for m in methods:
            c = by.get((f, m))
            if not c:
                cells.append("—")
                continue
            e, fi = c["entropy"], c["fitness"]
            cells.append(f"{statistics.mean(e):.2f} ± {statistics.pstdev(e):.2f} "
                         f"({statistics.mean(fi):.3f} ± {statistics.pstdev(fi):.3f})")
        out.append(f"| {f} | " + " | ".join(cells) + " |")
    return out


def cartpole_table(cp):
    out = ["| net | final mean return | share at 500 | seeds | time |", "|---|---|---|---|---|"]
    for n in cp["nets"]:
        m, s = n["final_mean_per_seed"], n["final_share500_per_seed"]
        out.append(f"| {n['net']} | {statistics.mean(m):.1f} ± {statistics.pstdev(m):.1f} | "
                   f"{100 * statistics.mean(s):.1f} ± {100 * statistics.pstdev(s):.1f} % | {len(m)} | "
                   f"{n['seconds']:.1f} s |")
    out.append("")
    out.append("Paper (docs/algorithm.md §7, 100 runs): 4-8-2 plain 482.9 / 92.5 %, 4-8-2 latent 491.6 / 96.4 %, "
               "4-128-128-2 latent 445.0 / 79.4 %.")
    return out


def peers_table(cmp):
    out = [f"Peers: {', '.join(f'{k}: {v}' for k, v in cmp.get('peers', {}).items()) or 'none importable'}", "",
           "| workload | diffevo | torch | authors | evosax |", "|---|---|---|---|---|"]
    for r in cmp.get("rows", []):
        cells = []
        for k in ("torch", "authors", "evosax"):
            v = r.get(f"{k}_s")
            cells.append("—" if v is None else f"{ms(v)} ({v / r['diffevo_s']:.1f}x)")
        out.append(f"| {r['workload']} | {ms(r['diffevo_s'])} | " + " | ".join(cells) + " |")
    for note in cmp.get("notes", []):
        out.append(f"\nnote: {note}")
    return out


def unpack(paths):
    """Folders as given; each .tgz (a gpu-check stage archive) extracted into a folder of its own."""
    folders = []
    for p in paths:
        if p.endswith(".tgz"):
            d = tempfile.mkdtemp(prefix="gpu-check-")
            atexit.register(shutil.rmtree, d, True)
            with tarfile.open(p) as t:
                try:
                    t.extractall(d, filter="data")  # plain files only
                except TypeError:  # Python before 3.11.4 has no filter
                    t.extractall(d)
            folders.append(d)
        else:
            folders.append(p)
    return folders


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    folder = unpack(sys.argv[1:])
    summary = load(folder, "summary.txt")
    speed, thr = load_speed(folder), load(folder, "throughput.json")
    paper, cp = load(folder, "paper.json"), load(folder, "cartpole.json")
    cmp, ctest = load(folder, "compare-gpu.json"), load(folder, "ctest.txt")
    gpu_tests = load(folder, "gpu-tests.txt")
    device = "unknown device"
    if summary:
        m = re.search(r"^name, memory.total.*\n(.+)$", summary, re.M)
        if m:
            device = m.group(1).strip()
    backend = (speed or thr or {}).get("backend", "?")
    print(f"# diffevo bench results: {device} (backend {backend})\n")
    print("Written by `bench/summarize_results.py` from the stage archives of a `.ci/gpu-check` run (or "
          "output folders); every number below is read from them.\n")
    if summary:
        print("## Steps\n\n```\n" + summary.strip() + "\n```\n")
    if ctest:
        totals = re.findall(r"\d+% tests passed, \d+ tests failed out of \d+", ctest)
        skipped = len(re.findall(r"\*\*\*Skipped", ctest))
        failed = re.findall(r"^\s*\d+ - (\S+) \(Failed\)", ctest, re.M)
        print("ctest: " + (totals[-1] if totals else "no summary line") + f"; {skipped} skipped"
              + (f"; failed: {', '.join(failed)}" if failed else "") + "\n")
    if gpu_tests:
        ran = re.findall(r"\[==========\] (\d+ tests? from \d+ test suites? ran.*)", gpu_tests)
        failed = re.findall(r"^\[  FAILED  \] (\w+\.\w+)", gpu_tests, re.M)
        skipped = re.findall(r"^\[  SKIPPED \] (\d+) tests?", gpu_tests, re.M)
        print("gpu tests (diffevo_gpu_tests): " + (ran[-1] if ran else "no summary line (see gpu-tests.txt)")
              + (f"; failed: {', '.join(sorted(set(failed)))}" if failed else "; none failed")
              + (f"; **{skipped[-1]} skipped** (a GPU test skips only without a usable device)" if skipped else "")
              + "\n")
    print("## Issue targets\n")
    if backend != "cuda":
        print(f"These figures are from the {backend} backend; the targets are for one H100.\n")
    print("\n".join(targets(speed, thr, cmp, gpu_tests or ctest)) + "\n")
    sections = [("Update step and whole run (`diffevo-bench speed`)", speed, speed_table),
                ("Paper 2-D table (`diffevo-bench`)", paper, paper_table),
                ("Cart-pole, paper setting (`diffevo-bench cartpole`)", cp, cartpole_table),
                ("Python peers side by side (`bench/peers/compare_gpu.py`)", cmp, peers_table)]
    for title, data, fn in sections:
        print(f"## {title}\n")
        print("\n".join(fn(data)) + "\n" if data else "(missing from this folder)\n")
    if thr and "generation" in thr:
        g = thr["generation"]
        print("## Whole cart-pole generation of the optimizer (`diffevo-bench throughput`)\n")
        print(f"N = {thr['population']}, {g['parameters']:,} parameters, latent d = {g['latent']}: evaluation "
              f"{g['evaluation_seconds_median']:.6f} s, update {g['update_seconds_median']:.6f} s, "
              f"{g['env_steps_per_s_median']:.3g} env-steps/s over the generation.\n")
    sans = sorted(p for f in folder for p in glob.glob(os.path.join(f, "sanitizer-*.txt")))
    if sans:
        print("## compute-sanitizer\n")
        for p in sans:
            with open(p) as f:
                text = f.read()
            m = re.findall(r"ERROR SUMMARY: .*", text)
            print(f"- {os.path.basename(p)}: {m[-1] if m else 'no ERROR SUMMARY line (see the log)'}")
        print()


if __name__ == "__main__":
    main()
