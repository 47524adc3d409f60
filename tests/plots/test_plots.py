#!/usr/bin/env python3
"""The plot scripts of bench/plots on wrong inputs: each one exits with status 2 and `error: <why>` on
stderr (no traceback, no PNG written), also where matplotlib cannot be imported; and, where matplotlib
is installed, they draw a record_writer JSON Lines file, a cart-pole JSON and a paper JSON.

    python3 tests/plots/test_plots.py [-v]

DIFFEVO_PLOTS_DIR=<dir> runs the scripts of another directory (default: bench/plots of this tree)."""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PLOTS = os.environ.get("DIFFEVO_PLOTS_DIR") or os.path.join(HERE, "..", "..", "bench", "plots")
GENERATIONS = os.path.join(PLOTS, "plot_generations.py")
POPULATIONS = os.path.join(PLOTS, "plot_populations.py")
HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def record(g, generations=5):
    """One line of diffevo::record_writer's JSON Lines (host/api/observe.cpp): every field it writes."""
    return {"generation": g, "generations": generations, "alpha": 0.1 * g, "alpha_next": 0.1 * g + 0.05,
            "best": 10.0 / g, "mean": 20.0 / g, "median": 15.0 / g, "worst": None if g == 2 else 40.0 / g,
            "nonfinite": 1 if g == 2 else 0, "effective_neighbours": 3.5, "spread": 1.0 / g,
            "update_seconds": 0.001, "generation_seconds": 0.002, "best_so_far": 10.0 / g}


def jsonl(records):
    return "".join(json.dumps(r) + "\n" for r in records)


def cartpole():
    """A small JSON of `diffevo-bench cartpole` (bench/cartpole.cpp)."""
    def gen(g):
        return {"generation": g, "mean": 20.0 + 10 * g, "q1": 9, "median": 10, "q3": 16 + 5 * g, "max": 500,
                "share500": 0.01 * g}
    return {"mode": "cartpole", "backend": "cpu", "temperature": 1, "normalize_obs": True, "fixed_start": False,
            "seeds": [0, 1],
            "nets": [{"net": "4-8-2 latent", "layers": [4, 8, 2], "latent": 2,
                      "generations": [gen(g) for g in range(4)],
                      "final_mean_per_seed": [50, 60], "final_share500_per_seed": [0, 0.1], "env_steps": 1000,
                      "seconds": 0.5}]}


def paper(grid=3):
    """A small JSON of `diffevo-bench paper` (bench/paper.cpp): 2 functions x 2 methods, grid x grid landscapes."""
    cells = [{"function": f, "method": m, "fitness": [0.1, 0.2], "entropy": [1.0, 1.1],
              "first_run_population": [[0.5, -1.0], [1.5, 2.0], [-3.0, 0.25]]}
             for f in ("rosenbrock", "rastrigin") for m in ("de", "cma-es")]
    return {"mode": "paper", "backend": "cpu", "runs": 2, "first_seed": 0, "cells": cells, "landscape_grid": grid,
            "landscapes": {f: [k / (grid * grid) for k in range(grid * grid)] for f in ("rosenbrock", "rastrigin")}}


def pretty(doc):
    """As the bench writes it: one JSON document over many lines."""
    return json.dumps(doc, indent=1)


class PlotCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.png = os.path.join(self.dir, "out.png")
        self.env = dict(os.environ)

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, content):
        path = os.path.join(self.dir, name)
        with open(path, "wb" if isinstance(content, bytes) else "w") as f:
            f.write(content)
        return path

    def run_script(self, script, *args):
        return subprocess.run([sys.executable, script, *args], cwd=self.dir, env=self.env, capture_output=True,
                              text=True, timeout=120)

    def assert_refused(self, script, src, *needles, status=2):
        """`script src out.png` exits with `status`, says `error:` and every needle, writes nothing."""
        p = self.run_script(script, src, self.png)
        self.assertNotIn("Traceback", p.stderr)
        self.assertEqual(p.returncode, status, p.stderr)
        self.assertTrue(p.stderr.startswith("error: "), p.stderr)
        for needle in needles:
            self.assertIn(needle, p.stderr)
        self.assertFalse(os.path.exists(self.png), "a PNG was written")
        return p.stderr


class Usage(PlotCase):
    def test_wrong_argument_count(self):
        for script in (GENERATIONS, POPULATIONS):
            for args in ([], ["only-one.json"], ["a", "b", "c"]):
                with self.subTest(script=os.path.basename(script), args=args):
                    p = self.run_script(script, *args)
                    self.assertEqual(p.returncode, 2, p.stderr)
                    self.assertNotIn("Traceback", p.stderr)
                    self.assertIn("error: expected 2 arguments", p.stderr)
                    self.assertIn("usage", p.stderr)
                    self.assertIn(os.path.basename(script), p.stderr)


class Generations(PlotCase):
    ACCEPTS = ("diffevo::record_writer", "diffevo-bench cartpole")

    def test_missing_file(self):
        self.assert_refused(GENERATIONS, os.path.join(self.dir, "nope.jsonl"), "nope.jsonl", "no such file")

    def test_directory(self):
        self.assert_refused(GENERATIONS, self.dir, "is a directory")

    def test_empty_file(self):
        self.assert_refused(GENERATIONS, self.write("empty.jsonl", ""), "empty.jsonl", "empty")

    def test_blank_lines_only(self):
        self.assert_refused(GENERATIONS, self.write("blank.jsonl", "\n  \n\n"), "blank.jsonl", "empty")

    def test_binary_file(self):
        self.assert_refused(GENERATIONS, self.write("run.jsonl", b"\x89PNG\r\n\x1a\n\xff\xfe"), "not a text file")

    def test_invalid_json_line_is_named(self):
        text = jsonl([record(1), record(2)]) + '{"generation": 3, "best": }\n' + jsonl([record(4)])
        self.assert_refused(GENERATIONS, self.write("run.jsonl", text), "run.jsonl, line 3", "invalid JSON")

    def test_invalid_first_line_is_named(self):
        self.assert_refused(GENERATIONS, self.write("run.jsonl", "not json\n{}\n"), "line 1", "invalid JSON")

    def test_truncated_bench_json(self):
        text = pretty(cartpole())
        self.assert_refused(GENERATIONS, self.write("cartpole.json", text[:len(text) // 2]), "invalid JSON at line")

    def test_record_without_a_key(self):
        bad = record(2)
        del bad["best_so_far"]
        stderr = self.assert_refused(GENERATIONS, self.write("run.jsonl", jsonl([record(1), bad, record(3)])),
                                     "run.jsonl, line 2", '"best_so_far"', *self.ACCEPTS)
        self.assertIn("plot_generations.py", stderr)

    def test_record_with_a_string(self):
        bad = record(1)
        bad["best"] = "low"
        self.assert_refused(GENERATIONS, self.write("run.jsonl", jsonl([bad])), '"best"', "a string",
                            "expected a number")

    def test_record_writer_csv(self):
        self.assert_refused(GENERATIONS, self.write("run.csv", "generation,generations,alpha\n1,24,0.5\n"),
                            "run.csv", "a CSV file", "format::jsonl", *self.ACCEPTS)

    def test_lines_that_are_not_objects(self):
        self.assert_refused(GENERATIONS, self.write("run.jsonl", "[1, 2]\n[3, 4]\n"), "line 1", "a list, not an object")

    def test_json_array(self):
        self.assert_refused(GENERATIONS, self.write("x.json", pretty([1, 2, 3])), "a list, not an object",
                            *self.ACCEPTS)

    def test_paper_json(self):
        self.assert_refused(GENERATIONS, self.write("paper.json", pretty(paper())), '"mode" is "paper"',
                            "plot_populations.py", *self.ACCEPTS)

    def test_json_without_mode(self):
        self.assert_refused(GENERATIONS, self.write("x.json", pretty({"nets": []})), 'no "mode" key', *self.ACCEPTS)

    def test_cartpole_without_nets(self):
        doc = cartpole()
        del doc["nets"]
        self.assert_refused(GENERATIONS, self.write("cartpole.json", pretty(doc)), 'no "nets" key', *self.ACCEPTS)

    def test_cartpole_with_no_nets(self):
        doc = cartpole()
        doc["nets"] = []
        self.assert_refused(GENERATIONS, self.write("cartpole.json", pretty(doc)), '"nets"', "non-empty")

    def test_cartpole_net_without_generations(self):
        doc = cartpole()
        doc["nets"][0]["generations"] = []
        self.assert_refused(GENERATIONS, self.write("cartpole.json", pretty(doc)), "nets[0]", '"generations"')

    def test_cartpole_generation_without_q3(self):
        doc = cartpole()
        del doc["nets"][0]["generations"][1]["q3"]
        self.assert_refused(GENERATIONS, self.write("cartpole.json", pretty(doc)), "nets[0].generations[1]",
                            'no "q3" key', *self.ACCEPTS)


class Populations(PlotCase):
    ACCEPTS = "diffevo-bench paper"

    def test_missing_file(self):
        self.assert_refused(POPULATIONS, os.path.join(self.dir, "nope.json"), "nope.json", "no such file")

    def test_empty_file(self):
        self.assert_refused(POPULATIONS, self.write("paper.json", ""), "paper.json", "empty")

    def test_invalid_json(self):
        text = pretty(paper()).replace('"runs": 2', '"runs": 2,,', 1)
        line = text[:text.index(",,")].count("\n") + 1
        self.assert_refused(POPULATIONS, self.write("paper.json", text), f"invalid JSON at line {line}")

    def test_json_lines(self):
        self.assert_refused(POPULATIONS, self.write("run.jsonl", jsonl([record(1), record(2)])), "JSON Lines",
                            "plot_generations.py", self.ACCEPTS)

    def test_cartpole_json(self):
        self.assert_refused(POPULATIONS, self.write("cartpole.json", pretty(cartpole())), '"mode" is "cartpole"',
                            self.ACCEPTS)

    def test_json_array(self):
        self.assert_refused(POPULATIONS, self.write("x.json", "[]"), "a list, not an object", self.ACCEPTS)

    def test_no_cells(self):
        doc = paper()
        doc["cells"] = []
        self.assert_refused(POPULATIONS, self.write("paper.json", pretty(doc)), '"cells"', "non-empty", self.ACCEPTS)

    def test_without_landscapes(self):
        doc = paper()
        del doc["landscapes"]
        self.assert_refused(POPULATIONS, self.write("paper.json", pretty(doc)), 'no "landscapes" key', self.ACCEPTS)

    def test_cell_without_population(self):
        doc = paper()
        del doc["cells"][1]["first_run_population"]
        self.assert_refused(POPULATIONS, self.write("paper.json", pretty(doc)), "cells[1]",
                            'no "first_run_population" key', self.ACCEPTS)

    def test_population_point_not_a_pair(self):
        doc = paper()
        doc["cells"][2]["first_run_population"][1] = [1.0]
        self.assert_refused(POPULATIONS, self.write("paper.json", pretty(doc)), "cells[2]",
                            '"first_run_population"[1]', "[x, y]")

    def test_landscape_missing_for_a_function(self):
        doc = paper()
        del doc["landscapes"]["rastrigin"]
        self.assert_refused(POPULATIONS, self.write("paper.json", pretty(doc)), 'no "rastrigin" key')

    def test_landscape_of_the_wrong_size(self):
        doc = paper()
        doc["landscapes"]["rosenbrock"].pop()
        self.assert_refused(POPULATIONS, self.write("paper.json", pretty(doc)), '"landscapes"["rosenbrock"]',
                            "9 numbers", "8 values")


class WithoutMatplotlib(PlotCase):
    """matplotlib made unimportable: the input is still checked (before any import), and a valid input
    ends with a message naming the missing library, not a traceback."""

    def setUp(self):
        super().setUp()
        blocked = os.path.join(self.dir, "blocked")
        for name in ("matplotlib", "numpy"):
            os.makedirs(os.path.join(blocked, name))
            with open(os.path.join(blocked, name, "__init__.py"), "w") as f:
                f.write(f"raise ImportError('{name} blocked by test_plots.py', name='{name}')\n")
        self.env["PYTHONPATH"] = blocked + os.pathsep + self.env.get("PYTHONPATH", "")

    def test_bad_inputs_still_checked(self):
        self.assert_refused(GENERATIONS, self.write("empty.jsonl", ""), "empty")
        self.assert_refused(POPULATIONS, self.write("cartpole.json", pretty(cartpole())), '"mode" is "cartpole"')

    def test_valid_input_names_the_missing_library(self):
        self.assert_refused(GENERATIONS, self.write("run.jsonl", jsonl([record(1), record(2)])),
                            "matplotlib is needed", status=1)
        self.assert_refused(POPULATIONS, self.write("paper.json", pretty(paper())), "is needed", status=1)


@unittest.skipUnless(HAVE_MATPLOTLIB, "matplotlib is not installed (pip install matplotlib)")
class Draws(PlotCase):
    def assert_drawn(self, script, src):
        p = self.run_script(script, src, self.png)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("Traceback", p.stderr)
        self.assertIn("wrote", p.stdout)
        with open(self.png, "rb") as f:
            head = f.read(8)
        self.assertEqual(head, b"\x89PNG\r\n\x1a\n")
        self.assertGreater(os.path.getsize(self.png), 1000)
        return p

    def test_record_writer_jsonl(self):
        self.assert_drawn(GENERATIONS, self.write("run.jsonl", jsonl(record(g) for g in range(1, 6))))

    def test_one_record(self):
        self.assert_drawn(GENERATIONS, self.write("run.jsonl", jsonl([record(1)])))

    def test_interrupted_run_keeps_complete_records(self):
        text = jsonl(record(g) for g in range(1, 5)) + json.dumps(record(5))[:40]  # killed mid-line
        p = self.assert_drawn(GENERATIONS, self.write("run.jsonl", text))
        self.assertIn("warning: ", p.stderr)
        self.assertIn("line 5", p.stderr)

    def test_cartpole_json(self):
        self.assert_drawn(GENERATIONS, self.write("cartpole.json", pretty(cartpole())))

    def test_paper_json(self):
        self.assert_drawn(POPULATIONS, self.write("paper.json", pretty(paper())))


if __name__ == "__main__":
    unittest.main()
