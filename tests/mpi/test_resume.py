#!/usr/bin/env python3
"""A rank killed mid-run ends the job; the last checkpoint (written at 3 ranks) resumes at 2 and at 1
rank to the bits of the uninterrupted single-process run. Usage: test_resume.py MPIEXEC DRIVER DIR"""
import os
import subprocess
import sys

mpiexec, driver, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
ckpt = os.path.join(work, "killed.ckpt")
env = dict(os.environ, OMPI_MCA_rmaps_base_oversubscribe="1")


def run(n, *args, expect_ok=True):
    cmd = [mpiexec, "-n", str(n), driver, *args]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    if expect_ok and p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


if os.path.exists(ckpt):
    os.remove(ckpt)
killed = run(3, "run", ckpt, "6", expect_ok=False)
if killed.returncode == 0 or killed.returncode == 3:
    sys.exit(f"FAIL: the job with a killed rank exited {killed.returncode}\n{killed.stderr}")
if not os.path.exists(ckpt):
    sys.exit("FAIL: no checkpoint was left by the killed job")
print(f"the job with a rank killed at generation 6 ended with exit code {killed.returncode}")

single = os.path.join(work, "single.bin")
run(1, "single", single)
want = open(single, "rb").read()
for n in (2, 1, 3):
    out = os.path.join(work, f"resumed-{n}.bin")
    p = run(n, "resume", ckpt, out)
    print(p.stdout.strip())
    if "resumed at generation 6" not in p.stdout:
        sys.exit(f"FAIL: expected to resume at generation 6: {p.stdout}")
    got = open(out, "rb").read()
    if got != want:
        sys.exit(f"FAIL: resumed at {n} ranks, the final population differs from the uninterrupted run")
    print(f"resumed at {n} rank(s): the final population ({len(got)} bytes) equals the single-process run's")
print("ok")
