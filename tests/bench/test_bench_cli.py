#!/usr/bin/env python3
"""diffevo-bench's command line: flags of another mode, empty values and an unwritable --json are refused
with exit 2 and a message naming the flag, before any work and leaving no file behind.

    python3 tests/bench/test_bench_cli.py <path to diffevo-bench>
"""
import os
import subprocess
import sys
import tempfile
import unittest

BENCH = None


def run(*args, cwd=None):
    return subprocess.run([BENCH, *args], capture_output=True, text=True, cwd=cwd, timeout=600)


class Refused(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.tmp = self.dir.name

    def tearDown(self):
        self.dir.cleanup()

    def refused(self, args, message):
        r = run(*args, "--json", os.path.join(self.tmp, "out.json"), cwd=self.tmp) if "--json" not in args else run(*args, cwd=self.tmp)
        self.assertEqual(r.returncode, 2, f"{args}: exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}")
        self.assertIn(message, r.stderr, args)
        self.assertEqual(r.stdout, "", f"{args}: work started before the refusal")
        return r

    def test_flags_of_another_mode(self):
        self.refused(["paper", "--temperature", "5"], "--temperature applies to cartpole, not to paper")
        self.refused(["paper", "--population", "4"], "--population applies to speed throughput distributed, not to paper")
        self.refused(["speed", "--workload", "cartpole"], "--workload applies to distributed, not to speed")
        self.refused(["throughput", "--update", "sharded"], "--update applies to distributed, not to throughput")
        self.refused(["cartpole", "--methods", "de"], "--methods applies to paper, not to cartpole")
        self.refused(["schedules", "--latent", "3"], "--latent applies to paper, not to schedules")
        self.refused(["throughput", "--dimension", "3"], "--dimension applies to speed, not to throughput")
        self.refused(["speed", "--net", "plain"], "--net applies to cartpole, not to speed")
        self.refused(["--raw-obs"], "--raw-obs applies to cartpole, not to paper")
        self.refused(["speed", "--cpu-math", "exact"],
                     "--cpu-math applies to paper schedules cartpole throughput niching, not to speed")
        self.refused(["paper", "--cpu-math", "quick"], "--cpu-math must be auto, exact or fast (got 'quick')")

    def test_distributed_values(self):
        self.refused(["distributed", "--workload", "pendulum"], "--workload must be cartpole or synthetic (got 'pendulum')")
        self.refused(["distributed", "--update", "halved"], "--update must be automatic, replicated or sharded (got 'halved')")

    def test_values_the_modes_cannot_run(self):
        self.refused(["paper", "--latent", "3"], "--latent must be 1 or 2: the paper's functions are 2-D (got 3)")
        self.refused(["speed", "--population", "1"], "--population must be >= 2 (got 1)")

    def test_empty_values(self):
        self.refused(["paper", "--methods", ""], "--methods needs at least one of de,latent,cma-es,open-es,pepg")
        self.refused(["paper", "--json", ""], "--json needs a path")

    def test_json_that_cannot_be_written_is_refused_before_any_work(self):
        target = os.path.join(self.tmp, "a_directory")
        os.mkdir(target)
        self.refused(["paper", "--runs", "1", "--json", target], f"--json {target}: is a directory")
        missing = os.path.join(self.tmp, "no", "such", "folder", "out.json")
        self.refused(["paper", "--runs", "1", "--json", missing], "No such file or directory")
        self.assertEqual(sorted(os.listdir(self.tmp)), ["a_directory"], "a temporary file was left behind")
        if os.geteuid() != 0:  # root writes anywhere
            ro = os.path.join(self.tmp, "read_only")
            os.mkdir(ro, 0o500)
            self.refused(["paper", "--json", os.path.join(ro, "out.json")], "Permission denied")

    def test_a_good_run_writes_its_json_and_nothing_else(self):
        out = os.path.join(self.tmp, "paper.json")
        r = run("paper", "--runs", "1", "--methods", "de", "--quiet", "--json", out, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("cells: entropy (fitness)", r.stdout)
        self.assertIn("docs/algorithm.md", r.stdout)
        self.assertEqual(os.listdir(self.tmp), ["paper.json"])


class Progress(unittest.TestCase):
    def test_long_modes_say_what_they_do_unless_quiet(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "speed.json")
            args = ["speed", "--population", "64", "--dimension", "3", "--runs", "1", "--json", out]
            r = run(*args)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("whole 2-D run, N = 64: 1 warm-up + 1 runs", r.stderr)
            self.assertIn("N = 64, D = 3, plain: 1 warm-up + 1 tells", r.stderr)
            self.assertIn("N = 64, D = 3, latent d = 2: 1 warm-up + 1 tells", r.stderr)
            r = run(*args, "--quiet")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr, "")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    BENCH = os.path.abspath(sys.argv.pop(1))
    unittest.main()
