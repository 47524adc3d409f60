#include "cpu_peak.hpp"

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

#include "common.hpp"
#include "diffevo/detail/parallel.hpp"

namespace bench::cpu {
namespace {

constexpr int k_chains = 16;  // independent chains: enough to cover the adds' and multiplies' latency

// One body per width, compiled for its instruction set, without fused multiply-adds.
#define DIFFEVO_BENCH_CHAINS(V, LANES)                                         \
  V a[k_chains];                                                              \
  for (int k = 0; k < k_chains; ++k) a[k] = (V){} + 1.0f + 0.001f * k;       \
  const V m = (V){} + 0.9999999f, c = (V){} + 1e-7f;                          \
  for (long i = 0; i < iters; ++i)                                            \
    for (int k = 0; k < k_chains; ++k) {                                      \
      a[k] = a[k] * m;                                                        \
      a[k] = a[k] + c;                                                        \
      asm volatile("" : "+v"(a[k])); /* every operation really runs */        \
    }                                                                         \
  float s = 0;                                                                \
  for (int k = 0; k < k_chains; ++k)                                          \
    for (int l = 0; l < LANES; ++l) s += a[k][l];                             \
  *sink = s;                                                                  \
  return 2.0 * k_chains * LANES * static_cast<double>(iters);

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
