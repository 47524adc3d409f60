#!/usr/bin/env python3
"""Prints the golden Pendulum-v1 values of tests/rollout/test_continuous_environment.cu, computed by Gymnasium
itself (pip install gymnasium; 1.4.0 with NumPy 2.4.6 gave the values in the test):

    python3 tests/rollout/gymnasium_pendulum.py

Each trajectory starts from a set state and follows a policy whose float32 torque is a function of
the state; every 25th step and the last one are printed as {step, theta, theta_dot, summed reward}
with 17 significant digits (exact doubles). Then single steps with torques whose float32 square
NumPy computes (a scalar's `u**2` is powf) differently from u * u, and their rewards: examples/
pendulum.hpp squares with u * u, so these rewards differ in their last bits (tested)."""
import gymnasium as gym
import numpy as np

POLICIES = {
    "hold": lambda th, thd: 0.7,
    "over": lambda th, thd: 5.0,  # clipped to 2
    "pd": lambda th, thd: -(10.0 * np.sin(th) + 2.0 * thd),
    "swing": lambda th, thd: 2.0 if thd >= 0 else -2.0,
}


def trajectory(start, policy, steps):
    env = gym.make("Pendulum-v1").unwrapped
    env.reset(seed=0)
    env.state = np.array([start[0], start[1]])
    rows, total = [], 0.0
    for t in range(1, steps + 1):
        th, thd = (float(v) for v in env.state)
        u = np.array([POLICIES[policy](th, thd)], dtype=np.float32)
        _, reward, _, _, _ = env.step(u)
        total += float(reward)
        if t % 25 == 0 or t == steps:
            rows.append((t, float(env.state[0]), float(env.state[1]), total))
    return rows


CASES = [((3.0, 0.5), "hold", 100), ((-2.5, -1.0), "over", 100), ((0.4, 0.0), "pd", 200),
         ((3.1, 0.0), "swing", 200), ((-3.14, 0.9), "pd", 200)]

print(f"// gymnasium {gym.__version__}, numpy {np.__version__}: start theta, start theta_dot, policy, checkpoints")
for (th0, thd0), policy, steps in CASES:
    rows = trajectory((th0, thd0), policy, steps)
    body = ", ".join(f"{{{t}, {a:.17g}, {b:.17g}, {r:.17g}}}" for t, a, b, r in rows)
    print(f'{{{th0!r}, {thd0!r}, "{policy}", {{{body}}}}},')

# Torques where NumPy's float32 scalar power and the float32 product round differently.
rng = np.random.default_rng(7)
odd = []
while len(odd) < 6:
    u = np.float32(rng.uniform(-2, 2))
    if u ** 2 != np.float32(u * u):
        odd.append(u)
print("// one step from theta 1.0, theta_dot 0.5: torque, reward")
for u in odd:
    env = gym.make("Pendulum-v1").unwrapped
    env.reset(seed=0)
    env.state = np.array([1.0, 0.5])
    _, reward, _, _, _ = env.step(np.array([u], dtype=np.float32))
    print(f"{{{float(u):.9g}f, {float(reward):.17g}}},")
