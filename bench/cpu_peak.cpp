#include "cpu_peak.hpp"

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

#include "common.hpp"
#include "diffevo/detail/parallel.hpp"

namespace bench::cpu {
namespace {

// Independent chains of a multiply then an add, each in its own named register variable: an array
// indexed in a loop was kept on the stack (a store and a reload between every two operations), which
// measured about half the float rate (found 2026-12-07). 12 chains: with the constants, 14 of the 16
// vector registers that SSE and AVX2 have (AVX-512 has 32), and enough to cover the latency of two
// ports (12 chains x 2 operations in flight against 2 x 4 cycles).
#define DIFFEVO_BENCH_STEP(x) x = x * m, x = x + c
#define DIFFEVO_BENCH_CHAINS(V, LANES)                                                                     \
  const V m = (V){} + 0.9999999f, c = (V){} + 1e-7f;                                                      \
  V a0 = (V){} + 1.000f, a1 = (V){} + 1.001f, a2 = (V){} + 1.002f, a3 = (V){} + 1.003f;                  \
  V a4 = (V){} + 1.004f, a5 = (V){} + 1.005f, a6 = (V){} + 1.006f, a7 = (V){} + 1.007f;                  \
  V a8 = (V){} + 1.008f, a9 = (V){} + 1.009f, a10 = (V){} + 1.010f, a11 = (V){} + 1.011f;                \
  for (long i = 0; i < iters; ++i) {                                                                      \
    DIFFEVO_BENCH_STEP(a0), DIFFEVO_BENCH_STEP(a1), DIFFEVO_BENCH_STEP(a2), DIFFEVO_BENCH_STEP(a3);       \
    DIFFEVO_BENCH_STEP(a4), DIFFEVO_BENCH_STEP(a5), DIFFEVO_BENCH_STEP(a6), DIFFEVO_BENCH_STEP(a7);       \
    DIFFEVO_BENCH_STEP(a8), DIFFEVO_BENCH_STEP(a9), DIFFEVO_BENCH_STEP(a10), DIFFEVO_BENCH_STEP(a11);     \
    /* every operation really runs, and every chain stays in a register */                                \
    asm volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5));                        \
    asm volatile("" : "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));                      \
  }                                                                                                       \
  const V all = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11));           \
  float s = 0;                                                                                            \
  for (int l = 0; l < LANES; ++l) s += all[l];                                                            \
  *sink = s;                                                                                              \
  return 2.0 * 12 * LANES * static_cast<double>(iters);

typedef float v16 __attribute__((vector_size(64)));
typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));

__attribute__((target("avx512f"), optimize("fp-contract=off"))) double chains512(long iters, float* sink) {
  DIFFEVO_BENCH_CHAINS(v16, 16)
}
__attribute__((target("avx2"), optimize("fp-contract=off"))) double chains256(long iters, float* sink) {
  DIFFEVO_BENCH_CHAINS(v8, 8)
}
__attribute__((optimize("fp-contract=off"))) double chains128(long iters, float* sink) {
  DIFFEVO_BENCH_CHAINS(v4, 4)
}
#undef DIFFEVO_BENCH_STEP
#undef DIFFEVO_BENCH_CHAINS

double chains(long iters, float* sink) {
  if (__builtin_cpu_supports("avx512f")) return chains512(iters, sink);
  if (__builtin_cpu_supports("avx2")) return chains256(iters, sink);
  return chains128(iters, sink);
}

}  // namespace

double float_lane_ops_per_second() {
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<float> sink(static_cast<std::size_t>(threads) * 16);
  std::vector<double> rates;
  for (int r = 0; r < 5; ++r) {  // the best of five: a floor is what the machine can do
    std::vector<double> ops(static_cast<std::size_t>(threads));
    const double t0 = now_seconds();
    diffevo::detail::parallel_rows(threads, threads, [&](int b, int e) {
      for (int t = b; t < e; ++t) ops[static_cast<std::size_t>(t)] = chains(20000000, &sink[static_cast<std::size_t>(t) * 16]);
    });
    const double secs = now_seconds() - t0;
    double total = 0;
    for (double v : ops) total += v;
    rates.push_back(total / secs);
  }
  return *std::max_element(rates.begin(), rates.end());
}

}  // namespace bench::cpu
