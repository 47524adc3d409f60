// The drivers on the cpu backend: run() from any generation, a throwing fitness, the functor path
// (optimize.cuh, compiled by nvcc, run on the host), the device-only calls refusing the cpu backend.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "diffevo/detail/parallel.hpp"
#include "diffevo/diffevo.hpp"
#include "diffevo/optimize.cuh"
#include "tests/helpers/paper_config.hpp"

using namespace diffevo;
using functions::benchmark;

namespace {

config paper_cfg(int seed) { return paper_config(backend_kind::cpu, 256, 10, static_cast<std::uint64_t>(seed)); }

batch_fitness host_paper(benchmark b) {
  return [b](population_view pop, float* f) {
    for (int i = 0; i < pop.rows; ++i) f[i] = float(functions::paper_density(b, pop.row(i)[0], pop.row(i)[1]));
  };
}

// A functor with state, to check it is copied whole.
struct shifted_sphere {
  float shift[3];
  __host__ __device__ float operator()(const float* p, int dim) const {
    float s = 0;
    for (int i = 0; i < dim; ++i) s += (p[i] - shift[i % 3]) * (p[i] - shift[i % 3]);
    return s;
  }
};

void expect_same(const optimize_result& a, const optimize_result& b) {
  EXPECT_EQ(a.population, b.population);
  EXPECT_EQ(a.fitness, b.fitness);
  EXPECT_EQ(a.best, b.best);
  EXPECT_EQ(a.best_fitness, b.best_fitness);
  EXPECT_EQ(a.nonfinite, b.nonfinite);
  EXPECT_EQ(a.generations, b.generations);
}

}  // namespace

TEST(Drivers, FunctorOnCpuEqualsHostCallbackBitForBit) {
  for (benchmark b : {benchmark::rosenbrock, benchmark::rastrigin}) {
    const auto host = optimize(paper_cfg(5), host_paper(b));
    const auto functor = optimize_functor(paper_cfg(5), functions::paper_fitness{b});
    EXPECT_EQ(functor.backend, backend_kind::cpu);
    expect_same(host, functor);
  }
}

TEST(Drivers, FunctorStateIsUsedAndThreadCountDoesNotMatter) {
  config c;
  c.population = 300;
  c.dimension = 7;
  c.steps = 20;
  c.goal = objective::minimize;
  c.seed = 3;
  c.backend = backend_kind::cpu;
  const shifted_sphere f{{1.0f, -2.0f, 0.5f}};
  c.cpu_threads = 1;
  const auto one = optimize_functor(c, f);
  c.cpu_threads = 4;
  const auto four = optimize_functor(c, f);
  expect_same(one, four);
  ASSERT_TRUE(one.has_best);
  // Evolving toward the shift: the best is much closer than a typical N(0, 1) start (E f = 7 + 5.25).
  EXPECT_LT(one.best_fitness, 1.0f);
  EXPECT_NEAR(one.best[0], 1.0f, 0.5f);
  EXPECT_NEAR(one.best[1], -2.0f, 0.5f);
}

TEST(Drivers, RunContinuesAManuallyDrivenOptimizer) {
  const auto whole = optimize(paper_cfg(8), host_paper(benchmark::himmelblau));
  optimizer opt(paper_cfg(8));
  const batch_fitness f = host_paper(benchmark::himmelblau);
  std::vector<float> fit(256);
  for (int g = 0; g < 3; ++g) {
    f(opt.ask(), fit.data());
    opt.tell(fit);
  }
  expect_same(whole, run(opt, f));
  EXPECT_TRUE(opt.done());
}

TEST(Drivers, ThrowingFitnessLeavesTheOptimizerRetryable) {
  const auto whole = optimize(paper_cfg(9), host_paper(benchmark::beale));
  optimizer opt(paper_cfg(9));
  const batch_fitness good = host_paper(benchmark::beale);
  int calls = 0;
  const batch_fitness flaky = [&](population_view pop, float* out) {
    if (++calls == 4) throw std::runtime_error("simulator crashed");
    good(pop, out);
  };
  EXPECT_THROW(run(opt, flaky), std::runtime_error);
  EXPECT_EQ(opt.generation(), 3);
  expect_same(whole, run(opt, flaky));  // the 4th call threw; the retry continues from generation 3
}

TEST(Drivers, ExceptionOnAWorkerThreadReachesTheCaller) {
  std::vector<int> seen(100, 0);
  try {
    detail::parallel_rows(100, 4, [&](int b, int e) {
      for (int i = b; i < e; ++i) seen[i] = 1;
      if (b > 0) throw std::runtime_error("row " + std::to_string(b));
    });
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "row 25");  // the first worker's, deterministically
  }
  for (int v : seen) EXPECT_EQ(v, 1);  // every range still ran to completion before the rethrow
}

TEST(Drivers, EvaluateHostAtTheKnownOptima) {
  // (x, y) at each function's optimum; paper_density is 1 there.
  const std::vector<std::pair<benchmark, std::vector<float>>> cases = {
      {benchmark::rosenbrock, {1.0f, 1.0f}}, {benchmark::beale, {3.0f, 0.5f}}, {benchmark::himmelblau, {3.0f, 2.0f}}};
  for (const auto& [b, p] : cases) {
    float out = -1;
    evaluate_host(functions::paper_fitness{b}, population_view{p.data(), 1, 2}, &out, 1);
    EXPECT_FLOAT_EQ(out, 1.0f);
  }
}

TEST(Drivers, DeviceCallsRefuseTheCpuBackend) {
  optimizer opt(paper_cfg(1));
  EXPECT_EQ(opt.stream(), nullptr);
  const auto expect_msg = [](auto&& call, const char* name) {
    try {
      call();
      FAIL() << name << " did not throw";
    } catch (const logic_error& e) {
      EXPECT_EQ(std::string(e.what()), std::string(name) + " needs backend = cuda; this optimizer runs on cpu");
    }
  };
  expect_msg([&] { opt.ask_device(); }, "ask_device()");
  expect_msg([&] { opt.device_fitness(); }, "device_fitness()");
  opt.ask();
  std::vector<float> f(256, 0.5f);
  expect_msg([&] { opt.tell_device(f.data(), f.size()); }, "tell_device()");
  expect_msg([&] { opt.tell_device_async(f.data(), f.size()); }, "tell_device_async()");
  EXPECT_EQ(opt.generation(), 0);
  EXPECT_FALSE(opt.pending());
  opt.synchronize();  // nothing pending: a no-op on any backend
  opt.tell(f);
  EXPECT_EQ(opt.generation(), 1);
  try {  // run_device names itself, not the device_fitness() it calls
    run_device(opt, [](population_view, float*, cuda_stream) {});
    FAIL() << "run_device did not throw";
  } catch (const logic_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "run_device() needs backend = cuda; this optimizer runs on cpu (use run() with a host callback)");
  }
}
