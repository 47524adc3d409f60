#include "cpu_gemm.hpp"

#include <algorithm>
#include <random>
#include <vector>

#include "common.hpp"

#ifdef DIFFEVO_BENCH_BLAS
#include <cblas.h>
#endif

namespace bench::cpu {

#ifdef DIFFEVO_BENCH_BLAS
std::string blas_name() { return openblas_get_config(); }

double bare_gemm_seconds(int n, int d, int repeats) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> w(static_cast<std::size_t>(n) * n), x(static_cast<std::size_t>(n) * d),
      y(static_cast<std::size_t>(n) * d);
  for (float& v : w) v = u(rng) / static_cast<float>(n);
  for (float& v : x) v = u(rng);
  std::vector<double> t;
  for (int r = 0; r <= repeats; ++r) {
    const double t0 = now_seconds();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, n, 1.0f, w.data(), n, x.data(), d, 0.0f, y.data(), d);
    if (r > 0) t.push_back(now_seconds() - t0);
  }
  std::sort(t.begin(), t.end());
  return quantile(t, 0.5);
}
#else
std::string blas_name() { return "none"; }

double bare_gemm_seconds(int, int, int) { return 0; }
#endif

}  // namespace bench::cpu
