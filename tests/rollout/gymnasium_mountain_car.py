#!/usr/bin/env python3
"""Prints the golden MountainCar-v0 trajectories of tests/rollout/test_environment.cu, computed by Gymnasium
itself (pip install gymnasium; 1.4.0 gave the values in the test):

    python3 tests/rollout/gymnasium_mountain_car.py

Each trajectory starts from a set state and follows a policy; every 10th step and the last one are
printed as {step, position, velocity, terminated} with 17 significant digits (exact doubles)."""
import gymnasium as gym

POLICIES = {
    "right": lambda p, v: 2,
    "left": lambda p, v: 0,
    "coast": lambda p, v: 1,
    "swing": lambda p, v: 2 if v > 0 else 0,
}


def trajectory(start, policy, steps):
    env = gym.make("MountainCar-v0").unwrapped
    env.reset(seed=0)
    env.state = (start[0], start[1])
    rows = []
    for t in range(1, steps + 1):
        p, v = env.state
        _, _, terminated, _, _ = env.step(POLICIES[policy](p, v))
        p, v = env.state
        if t % 10 == 0 or terminated or t == steps:
            rows.append((t, float(p), float(v), bool(terminated)))
        if terminated:
            break
    return rows


CASES = [((-0.5, 0.0), "right", 60), ((-1.1, -0.05), "left", 40), ((0.3, 0.02), "coast", 50),
         ((-0.5, 0.0), "swing", 200), ((-0.45, 0.0), "swing", 200)]

print(f"// gymnasium {gym.__version__}: start position, start velocity, policy, checkpoints")
for (p0, v0), policy, steps in CASES:
    rows = trajectory((p0, v0), policy, steps)
    body = ", ".join(f"{{{t}, {p:.17g}, {v:.17g}, {str(d).lower()}}}" for t, p, v, d in rows)
    print(f'{{{p0!r}, {v0!r}, "{policy}", {{{body}}}}},')
