// The CPU backend against the float64 reference of docs/algorithm.md §4-§5 (tests/helpers/reference.hpp), on fresh random inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "diffevo/diffevo.hpp"
#include "host/cpu/blas.hpp"
#include "tests/helpers/reference.hpp"
#include "tests/helpers/tolerance.hpp"

using namespace diffevo;
using namespace reference;

TEST(CpuBackend, X0AndUpdateMatchFloat64ReferencePlain) {
  for (std::uint64_t seed : {1u, 2u, 3u}) check_one_generation({64, 3, 0, {0.9, 0.5, 0.2}}, seed);
}

TEST(CpuBackend, X0AndUpdateMatchFloat64ReferenceLargeD) {
  check_one_generation({48, 200, 0, {0.9, 0.5, 0.05}}, 11);  // float64 distance path (D > 32)
}

TEST(CpuBackend, X0AndUpdateMatchFloat64ReferenceLatent) {
  for (std::uint64_t seed : {4u, 5u}) check_one_generation({64, 40, 2, {0.9, 0.5, 0.2}}, seed);
}

// Late in a run (a_t = 0.999) the weights of a row span from 1 to below 2^-100, which the x0 product
// drops (docs/algorithm.md §4): x0 still matches the float64 reference that keeps every weight.
TEST(CpuBackend, X0MatchesFloat64ReferenceWhenWeightsFallBelowTheProductsCut) {
  for (std::uint64_t seed : {41u, 42u}) check_one_generation({256, 40, 2, {0.99999, 0.9999, 0.999}}, seed, backend_kind::cpu, true);
  check_one_generation({200, 60, 0, {0.9, 0.7, 0.5}}, 43, backend_kind::cpu, true);
}

// Shapes that leave remainders everywhere: N not a multiple of the reduction lanes (8) or of the x0
// tile rows (4), D not a multiple of the tile columns (16), D between the narrow and tiled paths, and
// a population large enough for several row blocks per thread.
TEST(CpuBackend, X0AndUpdateMatchFloat64ReferenceAwkwardShapes) {
  check_one_generation({61, 37, 0, {0.9, 0.5, 0.2}}, 21);  // float64 distances, x0 tail columns
  check_one_generation({67, 13, 0, {0.9, 0.5, 0.2}}, 22);  // float distances, one partial panel
  check_one_generation({29, 9, 3, {0.9, 0.5, 0.2}}, 23);   // latent, 9 columns
  check_one_generation({1100, 20, 0, {0.9, 0.5, 0.2}}, 24);
  check_one_generation({300, 50, 0, {0.9, 0.5, 0.2}}, 25);  // the Gram matrix in bands (fast), partial tiles
  check_one_generation({2500, 9, 0, {0.9, 0.5, 0.2}}, 26);  // x0 in several SGEMM row blocks (fast)
}

// Random shapes, from the smallest legal population up: every path (narrow, tiled, float64 distances,
// latent) with every remainder.
TEST(CpuBackend, X0AndUpdateMatchFloat64ReferenceOnRandomShapes) {
  check_one_generation({2, 1, 0, {0.9, 0.5, 0.2}}, 30);
  check_one_generation({3, 1, 1, {0.9, 0.5, 0.2}}, 31);
  std::mt19937 pick(2026);
  for (int t = 0; t < 24; ++t) {
    const int n = std::uniform_int_distribution<int>(2, 150)(pick);
    const int dim = std::uniform_int_distribution<int>(1, 90)(pick);
    const int latent = t % 3 == 0 ? std::uniform_int_distribution<int>(1, std::min(dim, 4))(pick) : 0;
    SCOPED_TRACE(::testing::Message() << "N " << n << ", D " << dim << ", latent " << latent);
    check_one_generation({n, dim, latent, {0.9, 0.5, 0.2}}, 100 + t);
  }
}

// Large D and a_t near 1: every exp(-d^2 / (2 (1 - a))) underflows to 0 in float and double, so a
// naive implementation divides 0 by 0 or falls back to a global mean. The log-domain one is exact.
TEST(CpuBackend, X0SurvivesTheUnderflowRegime) {
  check_one_generation({32, 1000, 0, {0.9999999, 0.999999}}, 7);
  check_one_generation({32, 1000, 4, {0.9999999, 0.999999}}, 8);
}

TEST(CpuBackend, ProjectionRowsHaveUnitNorm) {
  const auto e = reference_projection(9, 10, 3, 500);
  for (int r = 0; r < 3; ++r) {
    double s = 0;
    for (int c = 0; c < 500; ++c) s += e[r * 500 + c] * e[r * 500 + c];
    EXPECT_NEAR(s, 1.0, 1e-12);
  }
}

namespace {
std::vector<float> run_all(config cfg) {
  optimizer opt(cfg);
  std::vector<float> f(cfg.population);
  while (!opt.done()) {
    const population_view p = opt.ask();
    for (int i = 0; i < p.rows; ++i) f[i] = -(p.row(i)[0] * p.row(i)[0]) + std::sin(3 * p.row(i)[p.cols - 1]);
    opt.tell(f);
  }
  return copy(opt.ask());
}
config small_cfg() {
  config c;
  c.population = 40;
  c.dimension = 5;
  c.steps = 8;
  c.seed = 123;
  c.backend = backend_kind::cpu;
  return c;
}
}  // namespace

TEST(CpuBackend, SameSeedGivesBitIdenticalRuns) {
  const auto a = run_all(small_cfg()), b = run_all(small_cfg());
  EXPECT_EQ(a, b);
  config other = small_cfg();
  other.seed = 124;
  EXPECT_NE(a, run_all(other));
}

TEST(CpuBackend, ThreadCountDoesNotChangeResults) {
  config one = small_cfg(), three = small_cfg();
  one.cpu_threads = 1;
  three.cpu_threads = 3;
  one.cpu_math = three.cpu_math = cpu_math_kind::exact;  // the promise (fast: the BLAS may split by threads)
  one.latent_dim = three.latent_dim = 2;
  EXPECT_EQ(run_all(one), run_all(three));
}

// The two cpu_math choices run the same algorithm: from the same initial population (cuRAND's numbers in
// both), one noisy generation differs only by the products' summation order and the noise's rounding.
TEST(CpuBackend, FastAndExactMathDifferOnlyByRounding) {
  for (int latent : {0, 2}) {
    config exact = small_cfg(), fast = small_cfg();
    exact.dimension = fast.dimension = 60;
    exact.latent_dim = fast.latent_dim = latent;
    exact.cpu_math = cpu_math_kind::exact;
    fast.cpu_math = cpu_math_kind::fast;
    optimizer a(exact), b(fast);
    const population_view pa = a.ask(), pb = b.ask();
    ASSERT_EQ(std::memcmp(pa.data, pb.data, pa.size() * sizeof(float)), 0);
    std::vector<float> f(static_cast<std::size_t>(pa.rows));
    for (int i = 0; i < pa.rows; ++i) f[static_cast<std::size_t>(i)] = -std::fabs(pa.row(i)[0] - 0.5f);
    a.tell(f);
    b.tell(f);
    const population_view xa = a.ask(), xb = b.ask();
    double worst = 0;
    int differ = 0;
    for (std::size_t t = 0; t < xa.size(); ++t) {
      worst = std::max(worst, std::fabs(double(xa.data[t]) - xb.data[t]) / (1 + std::fabs(double(xa.data[t]))));
      differ += xa.data[t] != xb.data[t];
    }
    EXPECT_LT(worst, 1e-5) << "latent " << latent;
    EXPECT_GT(differ, 0) << "latent " << latent << ": fast computed exactly as exact";
  }
}

// fast with the BLAS splits the x0 product among the workers by columns when D has at least 64 per
// worker: every column is computed whatever D mod the worker count is (the shares once rounded D / T
// down, so D = 129 with 2 workers left column 128 of x0 at 0, and x was pulled toward 0 there).
TEST(CpuBackend, FastMathComputesEveryColumnOfX0WhateverTheWorkerCount) {
  for (const auto& [d, threads] : std::vector<std::pair<int, int>>{{129, 2}, {194, 3}, {1031, 16}, {130, 2}}) {
    config exact = small_cfg(), fast = small_cfg();
    exact.dimension = fast.dimension = d;
    exact.cpu_math = cpu_math_kind::exact;
    fast.cpu_math = cpu_math_kind::fast;
    fast.cpu_threads = threads;
    optimizer a(exact), b(fast);
    const population_view pa = a.ask();
    b.ask();
    std::vector<float> f(static_cast<std::size_t>(pa.rows));
    for (int i = 0; i < pa.rows; ++i) f[static_cast<std::size_t>(i)] = -std::fabs(pa.row(i)[d - 1] - 0.5f);
    a.tell(f);
    b.tell(f);
    const std::vector<float> xa = a.x0(), xb = b.x0();
    ASSERT_EQ(xa.size(), xb.size());
    for (int c = d - 20; c < d; ++c) {  // the columns a rounded-down share would miss, and some before
      double worst = 0, scale = 0;
      for (int i = 0; i < pa.rows; ++i) {
        const std::size_t t = static_cast<std::size_t>(i) * d + c;
        worst = std::max(worst, std::fabs(double(xa[t]) - xb[t]));
        scale = std::max(scale, std::fabs(double(xa[t])));
      }
      EXPECT_LT(worst, 1e-5 * (1 + scale)) << "D = " << d << ", " << threads << " workers: column " << c;
    }
  }
}

// run_device() on the cpu backend names itself (it named device_fitness(), a call the user never made);
// an empty checkpoint path is named too.
TEST(CpuBackend, RunDeviceAndAnEmptySavePathNameThemselves) {
  optimizer opt(small_cfg());
  try {
    run_device(opt, [](population_view, float*, cuda_stream) {});
    ADD_FAILURE() << "no exception";
  } catch (const logic_error& e) {
    EXPECT_EQ(std::string(e.what()), "run_device() needs backend = cuda; this optimizer runs on cpu (use run() with a host callback)");
  }
  EXPECT_EQ(opt.generation(), 0);
  try {
    opt.save("");
    ADD_FAILURE() << "no exception";
  } catch (const checkpoint_error& e) {
    EXPECT_EQ(std::string(e.what()), "checkpoint: the path is empty");
  }
}

// fast runs the BLAS in the library's own workers with the BLAS's threads off, and gives the process's
// setting back afterwards: also when two optimizers tell at once from two threads.
TEST(CpuBackend, FastMathLeavesTheBlasThreadSettingAsItFoundIt) {
  if (!diffevo::detail::have_blas()) GTEST_SKIP() << "built without a BLAS";
  const int was = diffevo::detail::blas_threads();
  diffevo::detail::set_blas_threads(2);
  auto run = [] {
    config c = small_cfg();
    c.dimension = 70;  // plain D > 32: the Gram product and the x0 product by the BLAS
    c.cpu_math = cpu_math_kind::fast;
    optimizer o(c);
    std::vector<float> f(static_cast<std::size_t>(c.population));
    while (!o.done()) {
      const population_view p = o.ask();
      for (int i = 0; i < p.rows; ++i) f[static_cast<std::size_t>(i)] = -std::fabs(p.row(i)[1]);
      o.tell(f);
    }
  };
  std::thread a(run), b(run);
  a.join();
  b.join();
  run();
  EXPECT_EQ(diffevo::detail::blas_threads(), 2);
  diffevo::detail::set_blas_threads(was);
}

TEST(CpuBackend, EtaZeroIsDeterministicGivenTheInitialPopulation) {
  // With eta = 0 no noise is drawn after the start: the final population is a deterministic function of
  // the initial one, so two runs with the same seed agree and the final population is finite.
  config c = small_cfg();
  c.eta = 0;
  const auto a = run_all(c);
  EXPECT_EQ(a, run_all(c));
  for (float v : a) EXPECT_TRUE(std::isfinite(v));
}

TEST(CpuBackend, AllFitnessOnOneIndividualCollapsesTowardIt) {
  config c;
  c.population = 30;
  c.dimension = 4;
  c.steps = 3;
  c.density = density_kind::identity;
  c.backend = backend_kind::cpu;
  c.seed = 5;
  optimizer opt(c);
  const std::vector<float> x = copy(opt.ask());
  std::vector<float> f(30, 0.0f);
  f[7] = 1.0f;
  opt.tell(f);
  const std::vector<float> x0 = opt.x0();
  for (int i = 0; i < 30; ++i)
    for (int d = 0; d < 4; ++d) EXPECT_EQ(x0[i * 4 + d], x[7 * 4 + d]) << "row " << i;
}

TEST(CpuBackend, BestSoFarTracksTheBestToldIndividual) {
  config c = small_cfg();
  c.goal = objective::minimize;
  optimizer opt(c);
  std::vector<float> f(c.population);
  for (int i = 0; i < c.population; ++i) f[i] = float(100 - i);
  const std::vector<float> x = copy(opt.ask());
  opt.tell(f);
  EXPECT_EQ(opt.best_fitness(), 100.0f - (c.population - 1));
  EXPECT_EQ(opt.best(), std::vector<float>(x.end() - c.dimension, x.end()));
}

TEST(CpuBackend, NonFiniteFitnessKeepsThePopulationFinite) {
  config c = small_cfg();
  optimizer opt(c);
  std::vector<float> f(c.population, NAN);
  f[3] = 1.0f;
  f[4] = -INFINITY;
  opt.ask();
  opt.tell(f);
  EXPECT_EQ(opt.last_nonfinite(), c.population - 1);
  std::fill(f.begin(), f.end(), NAN);  // all NaN: equal weights, never NaN
  opt.ask();
  opt.tell(f);
  for (float v : copy(opt.ask())) EXPECT_TRUE(std::isfinite(v));
  for (float v : opt.x0()) EXPECT_TRUE(std::isfinite(v));
}

TEST(CpuBackend, CenterAndScaleMapParameters) {
  config a = small_cfg(), b = small_cfg();
  b.center = {1.0f};
  b.scale = {2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
  optimizer oa(a), ob(b);
  const auto pa = copy(oa.ask()), pb = copy(ob.ask());
  for (int i = 0; i < a.population; ++i)
    for (int d = 0; d < 5; ++d) EXPECT_FLOAT_EQ(pb[i * 5 + d], 1.0f + b.scale[d] * pa[i * 5 + d]);
}

TEST(CpuBackend, RunHasTMinusOneGenerations) {
  config c = small_cfg();
  optimizer opt(c);
  EXPECT_EQ(opt.generations(), c.steps - 1);
  int told = 0;
  std::vector<float> f(c.population, 1.0f);
  while (!opt.done()) {
    opt.ask();
    opt.tell(f);
    ++told;
  }
  EXPECT_EQ(told, c.steps - 1);
  EXPECT_EQ(opt.generation(), c.steps - 1);
}
