#!/usr/bin/env python3
"""The model of bench/NOTES.md "Many processes", from a `diffevo-bench distributed` JSON file.

    python3 bench/mpi_model.py diffevo-bench-distributed.json

Measured inputs (from the file): MPI_Allgather's small-message latency and large-message bandwidth on
this machine, and the cart-pole workload's evaluation and update times at one rank. Assumed inputs
(printed): the network's latency and bandwidth (InfiniBand about 50 GB/s, NVLink about 900 GB/s, the
issue's figures; 2 us per message step) and, for GPU nodes, a generation's device time (no GPU has been
lent to this project: an estimate from NOTES.md's floors, not a measurement).

Per generation the first design (replicated update) makes three collectives: the agreement before the
fitness all-gather (4 B), the all-gather of N fitness floats, and one reduction of 40 B (failure,
applied, hash range). Modelled with recursive doubling for small messages and a ring for the gather:
    t_comm(P) = 3 * ceil(log2 P) * alpha + (P - 1) / P * 4 N / beta
The sharded update also all-gathers the new x (4 N D bytes), the latent rows (4 N d) and the effective
neighbours (8 N), and saves (1 - 1/P) of the update; it pays when
    U(N) * (1 - 1/P) > ceil(log2 P) * alpha + (P - 1) / P * (4 N D + 4 N d + 8 N) / beta,
with U(N) = c N^2 D (c measured here; for a GPU, 2 / F with F its float32 GEMM rate).
"""
import json
import math
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: mpi_model.py DISTRIBUTED.json")
    d = json.load(open(sys.argv[1]))
    ag = d["allgather"]
    p_here = d["ranks"]
    alpha_shm = ag[0]["seconds"]
    big = ag[-1]
    beta_shm = big["bytes_per_rank"] * p_here / big["seconds"]
    cart = next(w for w in d["workloads"] if w["workload"].startswith("cartpole"))
    n, dim = cart["population"], cart["dimension"]
    latent = 2
    t1 = cart["one_rank_seconds_per_generation"]
    e1 = cart["evaluation_seconds"] * p_here  # the P-rank run evaluated N / P rows per rank
    u1 = t1 - e1
    c_cpu = u1 / (n * n * dim)
    print(f"measured here: allgather latency {alpha_shm * 1e6:.2f} us (4 B per rank, {p_here} ranks), "
          f"bandwidth {beta_shm / 1e9:.2f} GB/s gathered (64 MB per rank)")
    print(f"cart-pole N = {n}, D = {dim}, one rank: {t1:.3f} s per generation = evaluation {e1:.3f} s + "
          f"update {u1:.3f} s (c = {c_cpu:.3g} s per N^2 D)")

    nets = {
        "InfiniBand (assumed 2 us, 50 GB/s)": (2e-6, 50e9),
        "NVLink (assumed 2 us, 900 GB/s)": (2e-6, 900e9),
    }
    # GPU nodes: the update 2 N^2 D flops at an assumed 50 TFLOP/s float32 GEMM rate, the evaluation at
    # NOTES.md's 2e8 env-steps/s target with episodes of 500 steps (estimates, not measurements).
    f_gpu = 50e12
    u_gpu = 2.0 * n * n * dim / f_gpu
    e_gpu = n * 500 / 2e8
    c_gpu = 2.0 / f_gpu
    print(f"GPU node estimate (not measured): update {u_gpu * 1e3:.1f} ms at {f_gpu / 1e12:.0f} TFLOP/s, "
          f"evaluation {e_gpu * 1e3:.1f} ms at 2e8 env-steps/s, 500-step episodes")
    print()
    print("First design (replicated update): communication per generation and its share of a generation")
    print()
    print("| ranks P | network | comm per generation | CPU-node generation (this machine's cores) | share | GPU-node generation (estimate) | share |")
    print("|---|---|---|---|---|---|---|")
    for p in (8, 32, 128, 512, 1024):
        steps = math.ceil(math.log2(p))
        for name, (alpha, beta) in nets.items():
            comm = 3 * steps * alpha + (p - 1) / p * 4 * n / beta
            gen_cpu = e1 / p + u1 + comm
            gen_gpu = e_gpu / p + u_gpu + comm
            print(f"| {p} | {name} | {comm * 1e6:.1f} us | {gen_cpu:.3f} s | {100 * comm / gen_cpu:.4f} % | "
                  f"{gen_gpu * 1e3:.2f} ms | {100 * comm / gen_gpu:.2f} % |")
    print()
    print("Sharded update: the population N above which sharding pays (large P; then N* = 4 / (c beta))")
    print()
    print("| nodes | network | c (s per N^2 D) | N* |")
    print("|---|---|---|---|")
    rows = [("CPU (this machine's cores, one per rank)", "shared memory (measured)", c_cpu, beta_shm)]
    ib = nets["InfiniBand (assumed 2 us, 50 GB/s)"][1]
    rows.append(("CPU (this machine's cores, one per rank)", "InfiniBand (assumed 2 us, 50 GB/s)", c_cpu, ib))
    for name, (alpha, beta) in nets.items():
        rows.append(("GPU (50 TFLOP/s, assumed)", name, c_gpu, beta))
    for kind, name, c, beta in rows:
        # solve c N^2 D > 4 N (D + d + 2) / beta, i.e. N > 4 (D + d + 2) / (c D beta)
        n_star = 4.0 * (dim + latent + 2) / (c * dim * beta)
        print(f"| {kind} | {name} | {c:.3g} | {n_star:.0f} |")


if __name__ == "__main__":
    main()
