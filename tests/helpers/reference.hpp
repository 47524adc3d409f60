#pragma once
// A float64 reference of docs/algorithm.md §4-§5 written in the tests, and the one-generation check against it that
// both backends pass (tests/api/test_optimizer.cpp on the cpu, tests/cuda/test_gpu.cpp on the cuda backend).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "host/cpu/rng.hpp"
#include "diffevo/diffevo.hpp"
#include "tolerance.hpp"

namespace reference {
using namespace diffevo;

// docs/algorithm.md §4 in float64: log-domain softmax over all j (self included), then the weighted mean of x.
// Every weight counts, however small (the backends drop those below 2^-100); `tiny`, if given, receives
// how many are positive and below 2^-100.
inline std::vector<double> reference_x0(const std::vector<float>& x, const std::vector<double>& q, int n, int dim, int k,
                                 const std::vector<double>& log_g, double a, int* tiny = nullptr) {
  if (tiny) *tiny = 0;
  std::vector<double> x0(static_cast<std::size_t>(n) * dim, 0.0);
  const double s = std::sqrt(a);
  for (int i = 0; i < n; ++i) {
    std::vector<double> v(n);
    double m = -INFINITY;
    for (int j = 0; j < n; ++j) {
      double d2 = 0;
      for (int c = 0; c < k; ++c) {
        const double diff = q[i * k + c] - s * q[j * k + c];
        d2 += diff * diff;
      }
      v[j] = log_g[j] - d2 / (2 * (1 - a));
      m = std::max(m, v[j]);
    }
    double sum = 0;
    for (int j = 0; j < n; ++j) sum += std::exp(v[j] - m);
    for (int j = 0; j < n; ++j) {
      const double w = std::exp(v[j] - m) / sum;
      if (tiny && w > 0 && w < std::ldexp(1.0, -100)) ++*tiny;
      for (int c = 0; c < dim; ++c) x0[i * dim + c] += w * x[j * dim + c];
    }
  }
  return x0;
}

inline std::vector<float> copy(const population_view& p) { return std::vector<float>(p.data, p.data + p.size()); }

// The projection the optimizer draws (docs/algorithm.md §5), rebuilt independently: it is the second draw of the
// run's sequence, after the N x D initial population.
inline std::vector<double> reference_projection(std::uint64_t seed, int n, int d, int dim) {
  detail::host_normal_generator gen(seed);
  std::vector<float> skip(detail::draw_count(static_cast<std::size_t>(n) * dim));
  gen.fill(skip.data(), static_cast<std::size_t>(n) * dim);
  std::vector<float> e(detail::draw_count(static_cast<std::size_t>(d) * dim));
  gen.fill(e.data(), static_cast<std::size_t>(d) * dim);
  std::vector<double> out(static_cast<std::size_t>(d) * dim);
  for (int r = 0; r < d; ++r) {
    double nrm = 0;
    for (int c = 0; c < dim; ++c) nrm += double(e[r * dim + c]) * e[r * dim + c];
    for (int c = 0; c < dim; ++c) out[r * dim + c] = e[r * dim + c] / std::sqrt(nrm);
  }
  return out;
}

struct case_t {
  int n, dim, latent;
  std::vector<double> alphas;  // user schedule
};

/// One eta = 0 generation of `backend` on random energy fitness, x0 and the update against float64,
/// with the cpu backend's products computed as `math` says. `tiny_weights`: the case must have weights
/// below 2^-100 (which the backends drop, docs/algorithm.md §4).
inline void check_one_generation_with(const case_t& tc, std::uint64_t seed, backend_kind backend, cpu_math_kind math,
                                      bool tiny_weights = false) {
  SCOPED_TRACE(::testing::Message() << "cpu_math = " << to_string(math));
  config cfg;
  cfg.cpu_math = math;
  cfg.population = tc.n;
  cfg.dimension = tc.dim;
  cfg.latent_dim = tc.latent;
  cfg.steps = static_cast<int>(tc.alphas.size());
  cfg.schedule = schedule_kind::user;
  cfg.user_alphas = tc.alphas;
  cfg.eta = 0.0;
  cfg.seed = seed;
  cfg.backend = backend;
  optimizer opt(cfg);
  const std::vector<float> x = copy(opt.ask());

  std::mt19937 rng(static_cast<unsigned>(seed) + 17);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  std::vector<float> f(tc.n);
  for (float& v : f) v = nd(rng);
  opt.tell(f);

  // Energy mapping, temperature 1, maximize.
  double fmax = -INFINITY;
  for (float v : f) fmax = std::max(fmax, double(v));
  std::vector<double> log_g(tc.n);
  for (int j = 0; j < tc.n; ++j) log_g[j] = f[j] - fmax;

  const int k = tc.latent > 0 ? tc.latent : tc.dim;
  std::vector<double> q(static_cast<std::size_t>(tc.n) * k);
  if (tc.latent > 0) {
    const auto e = reference_projection(seed, tc.n, tc.latent, tc.dim);
    for (int i = 0; i < tc.n; ++i)
      for (int r = 0; r < tc.latent; ++r) {
        double acc = 0;
        for (int c = 0; c < tc.dim; ++c) acc += e[r * tc.dim + c] * x[i * tc.dim + c];
        q[i * k + r] = acc;
      }
  } else {
    for (std::size_t t = 0; t < q.size(); ++t) q[t] = x[t];
  }
  const double a_t = tc.alphas.back(), a_p = tc.alphas[tc.alphas.size() - 2];
  int tiny = 0;
  const auto x0 = reference_x0(x, q, tc.n, tc.dim, k, log_g, a_t, &tiny);
  if (tiny_weights) EXPECT_GT(tiny, 0) << "the case has no weight below 2^-100";
  const std::vector<float> got_x0 = opt.x0();
  EXPECT_TRUE(all_close(got_x0, x0, 1e-4, 1e-4));

  // eta = 0 update: x' = sqrt(a_p) x0 + sqrt(1 - a_p) eps.
  std::vector<double> next(x0.size());
  for (std::size_t t = 0; t < x0.size(); ++t) {
    const double eps = (x[t] - std::sqrt(a_t) * x0[t]) / std::sqrt(1 - a_t);
    next[t] = std::sqrt(a_p) * x0[t] + std::sqrt(1 - a_p) * eps;
  }
  // The update divides by sqrt(1 - a_t): scale the tolerance by the float rounding it amplifies.
  const double amp = std::sqrt(1 - a_p) / std::sqrt(1 - a_t);
  EXPECT_TRUE(all_close(copy(opt.ask()), next, 1e-4 * (1 + amp), 1e-4));
}

/// check_one_generation_with, on the cpu backend for both cpu_math choices.
inline void check_one_generation(const case_t& tc, std::uint64_t seed, backend_kind backend = backend_kind::cpu,
                                 bool tiny_weights = false) {
  if (backend != backend_kind::cpu)
    return check_one_generation_with(tc, seed, backend, cpu_math_kind::automatic, tiny_weights);
  for (cpu_math_kind m : {cpu_math_kind::exact, cpu_math_kind::fast})
    check_one_generation_with(tc, seed, backend, m, tiny_weights);
}

}  // namespace reference
