// gpu-labelled: the device ask/tell calls, the functor path inside the library's kernel, and the 2-D
// benchmark functions evaluated on the device. Skipped when no CUDA device is present.
#include <gtest/gtest.h>

#include <cuda_runtime.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "diffevo/diffevo.hpp"
#include "diffevo/cec2013.cuh"
#include "diffevo/optimize.cuh"
#include "tests/helpers/expect.hpp"
#include "tests/helpers/paper_config.hpp"
#include "tests/helpers/tolerance.hpp"

using namespace diffevo;
using functions::benchmark;

namespace {
#define REQUIRE_DEVICE() \
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device"
#define CUDA_OK(call) ASSERT_EQ((call), cudaSuccess) << #call

config paper_cfg(backend_kind k) { return paper_config(k, 512, 25, 21); }

std::vector<double> widen(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

std::vector<float> to_host(const float* d, std::size_t n) {
  std::vector<float> h(n);
  if (cudaMemcpy(h.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost) != cudaSuccess) h.clear();
  return h;
}
}  // namespace

TEST(GpuDevice, AskDeviceHoldsTheSamePopulationAsAsk) {
  REQUIRE_DEVICE();
  optimizer o(paper_cfg(backend_kind::cuda));
  const population_view d = o.ask_device();
  ASSERT_NE(d.data, nullptr);
  CUDA_OK(cudaStreamSynchronize(o.stream()));
  const population_view h = o.ask();
  EXPECT_EQ(to_host(d.data, d.size()), std::vector<float>(h.data, h.data + h.size()));
}

TEST(GpuDevice, TellDeviceEqualsTellBitForBit) {
  REQUIRE_DEVICE();
  optimizer a(paper_cfg(backend_kind::cuda)), b(paper_cfg(backend_kind::cuda));
  const functions::paper_fitness f{benchmark::himmelblau};
  std::vector<float> fit(512);
  while (!a.done()) {
    a.ask();
    // b: its own device buffer, written by a kernel on its stream, told in place; a gets the same
    // values through the host path.
    const population_view db = b.ask_device();
    evaluate_device(f, db.data, db.rows, db.cols, b.device_fitness(), b.stream());
    CUDA_OK(cudaMemcpyAsync(fit.data(), b.device_fitness(), fit.size() * sizeof(float), cudaMemcpyDeviceToHost,
                            b.stream()));
    CUDA_OK(cudaStreamSynchronize(b.stream()));
    a.tell(fit);
    b.tell_device(b.device_fitness(), 512);
    const population_view pa = a.ask(), pb = b.ask();
    ASSERT_EQ(std::vector<float>(pa.data, pa.data + pa.size()), std::vector<float>(pb.data, pb.data + pb.size()))
        << "generation " << a.generation();
  }
}

TEST(GpuDevice, TellDeviceRejectsBadFitnessWithTheValue) {
  REQUIRE_DEVICE();
  optimizer o(paper_cfg(backend_kind::cuda));
  o.ask_device();
  std::vector<float> f(512, 0.5f);
  f[300] = -1.5f;
  float* d = o.device_fitness();
  CUDA_OK(cudaMemcpyAsync(d, f.data(), f.size() * sizeof(float), cudaMemcpyHostToDevice, o.stream()));
  try {
    o.tell_device(d, 512);
    FAIL() << "no exception";
  } catch (const invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("fitness[300] = -1.5"), std::string::npos) << e.what();
  }
  EXPECT_EQ(o.generation(), 0);
  EXPECT_THROW(o.tell_device(d, 511), invalid_argument);
}

TEST(GpuDevice, BenchmarkFunctionsOnTheDeviceAtTheirOptima) {
  REQUIRE_DEVICE();
  const std::vector<float> pts = {1.0f, 1.0f, 3.0f, 0.5f, 3.0f, 2.0f, 0.3f, -1.2f};
  float *d_x = nullptr, *d_out = nullptr;
  CUDA_OK(cudaMalloc(&d_x, pts.size() * sizeof(float)));
  CUDA_OK(cudaMalloc(&d_out, 4 * sizeof(float)));
  CUDA_OK(cudaMemcpy(d_x, pts.data(), pts.size() * sizeof(float), cudaMemcpyHostToDevice));
  for (benchmark b : {benchmark::rosenbrock, benchmark::beale, benchmark::himmelblau, benchmark::ackley,
                      benchmark::rastrigin}) {
    evaluate_device(functions::paper_fitness{b}, d_x, 4, 2, d_out, nullptr);
    CUDA_OK(cudaDeviceSynchronize());
    const std::vector<float> got = to_host(d_out, 4);
    std::vector<double> want(4);
    for (int i = 0; i < 4; ++i) want[i] = functions::paper_density(b, pts[2 * i], pts[2 * i + 1]);
    EXPECT_TRUE(all_close(got, want, 1e-6, 1e-5)) << "function " << int(b);
  }
  std::vector<float> opt(4);  // rosenbrock at (1,1), beale at (3,.5), himmelblau at (3,2): density 1
  evaluate_device(functions::paper_fitness{benchmark::rosenbrock}, d_x, 1, 2, d_out, nullptr);
  evaluate_device(functions::paper_fitness{benchmark::beale}, d_x + 2, 1, 2, d_out + 1, nullptr);
  evaluate_device(functions::paper_fitness{benchmark::himmelblau}, d_x + 4, 1, 2, d_out + 2, nullptr);
  CUDA_OK(cudaDeviceSynchronize());
  opt = to_host(d_out, 3);
  for (float v : opt) EXPECT_FLOAT_EQ(v, 1.0f);
  cudaFree(d_x);
  cudaFree(d_out);
}

TEST(GpuDevice, FunctorRunMatchesCpuAndFindsTheOptimum) {
  REQUIRE_DEVICE();
  const functions::paper_fitness f{benchmark::beale};
  const auto gpu = optimize_functor(paper_cfg(backend_kind::cuda), f);
  const auto cpu = optimize_functor(paper_cfg(backend_kind::cpu), f);
  EXPECT_EQ(gpu.backend, backend_kind::cuda);
  ASSERT_TRUE(gpu.has_best);
  EXPECT_GT(gpu.best_fitness, 0.98f);
  // Same noise, same math: the final populations agree to float tolerance. (A 25-step run can
  // amplify ulp differences; the bound is the one compare_backends uses per generation, x10.)
  EXPECT_TRUE(all_close(gpu.population, widen(cpu.population), 1e-2, 1e-2));
  // Same seed, same backend: bit-identical.
  const auto again = optimize_functor(paper_cfg(backend_kind::cuda), f);
  EXPECT_EQ(gpu.population, again.population);
  EXPECT_EQ(gpu.fitness, again.fitness);
}

namespace {
std::vector<float> population_of(optimizer& o) {
  const population_view p = o.ask();
  return std::vector<float>(p.data, p.data + p.size());
}

// Synchronous reference: ask_device / evaluate_device / tell_device, generation by generation.
void tell_generations(optimizer& o, int count, const functions::paper_fitness& f) {
  for (int g = 0; g < count && !o.done(); ++g) {
    const population_view d = o.ask_device();
    evaluate_device(f, d.data, d.rows, d.cols, o.device_fitness(), o.stream());
    o.tell_device(o.device_fitness(), static_cast<std::size_t>(d.rows));
  }
}

// A device fitness that writes `bad` into fitness[index] on the call numbered `at` (0-based).
struct poisoned_fitness {
  functions::paper_fitness f;
  int at, index;
  float bad;
  int calls = 0;
  void operator()(population_view pop, float* d_out, cuda_stream stream) {
    evaluate_device(f, pop.data, pop.rows, pop.cols, d_out, stream);
    if (calls++ == at)
      ASSERT_EQ(cudaMemcpyAsync(d_out + index, &bad, sizeof bad, cudaMemcpyHostToDevice, stream), cudaSuccess);
  }
};
}  // namespace

// run_device with deferred tells (the 2-D paper setting is on the fused path) gives the same bits as
// generation-by-generation tell_device, and as run_device with an observer (which tells synchronously).
TEST(GpuDevice, DeferredRunEqualsSynchronousTellsBitForBit) {
  REQUIRE_DEVICE();
  const functions::paper_fitness f{benchmark::rastrigin};
  const optimize_result deferred = optimize_functor(paper_cfg(backend_kind::cuda), f);

  optimizer sync(paper_cfg(backend_kind::cuda));
  tell_generations(sync, sync.generations(), f);
  ASSERT_TRUE(sync.done());
  EXPECT_EQ(deferred.population, population_of(sync));
  ASSERT_TRUE(deferred.has_best);

  optimizer observed(paper_cfg(backend_kind::cuda));
  int records = 0;
  observed.on_generation([&](const generation_record&) { ++records; });
  const optimize_result with_observer = run_functor(observed, f);
  EXPECT_EQ(records, observed.generations());
  EXPECT_EQ(deferred.population, with_observer.population);
  EXPECT_EQ(deferred.fitness, with_observer.fitness);
  EXPECT_EQ(deferred.best, with_observer.best);
  EXPECT_EQ(deferred.best_fitness, with_observer.best_fitness);
  EXPECT_EQ(deferred.nonfinite, with_observer.nonfinite);
}

// A bad value in generation 3 of a deferred run: the error names the generation, index and value;
// the optimizer is back at generation 3 with the population that was evaluated there, the best and
// the noise position of a synchronous run, and continuing gives that run's bits.
TEST(GpuDevice, DeferredRunReportsTheBadGenerationAndRewindsToIt) {
  REQUIRE_DEVICE();
  const functions::paper_fitness f{benchmark::himmelblau};
  optimizer o(paper_cfg(backend_kind::cuda));
  poisoned_fitness bad{f, 3, 7, -1.5f};
  expect_message<invalid_argument>([&] { run_device(o, std::ref(bad)); }, "generation 3: fitness[7] = -1.5");
  EXPECT_EQ(o.generation(), 3);

  optimizer ref(paper_cfg(backend_kind::cuda));
  tell_generations(ref, 3, f);
  EXPECT_EQ(population_of(o), population_of(ref));
  ASSERT_TRUE(o.has_best());
  EXPECT_EQ(o.best(), ref.best());
  EXPECT_EQ(o.best_fitness(), ref.best_fitness());
  EXPECT_EQ(o.total_nonfinite(), ref.total_nonfinite());
  EXPECT_EQ(o.x0(), ref.x0());

  const optimize_result rest = run_functor(o, f);
  tell_generations(ref, ref.generations(), f);
  EXPECT_EQ(rest.population, population_of(ref));
}

// The fitness callback throwing in generation 5: the four deferred tells before it are settled.
TEST(GpuDevice, DeferredRunSettlesWhenTheFitnessThrows) {
  REQUIRE_DEVICE();
  const functions::paper_fitness f{benchmark::ackley};
  optimizer o(paper_cfg(backend_kind::cuda));
  int calls = 0;
  EXPECT_THROW(run_device(o,
                          [&](population_view pop, float* d_out, cuda_stream s) {
                            if (calls++ == 5) throw std::runtime_error("user fitness failed");
                            evaluate_device(f, pop.data, pop.rows, pop.cols, d_out, s);
                          }),
               std::runtime_error);
  EXPECT_EQ(o.generation(), 5);
  optimizer ref(paper_cfg(backend_kind::cuda));
  tell_generations(ref, 5, f);
  EXPECT_EQ(population_of(o), population_of(ref));
  EXPECT_EQ(o.best(), ref.best());
}

// A bad value in generation 0: nothing went through, so there is no x0 and no best yet.
TEST(GpuDevice, DeferredRunHaltedAtTheFirstGenerationKeepsTheInitialState) {
  REQUIRE_DEVICE();
  const functions::paper_fitness f{benchmark::beale};
  optimizer o(paper_cfg(backend_kind::cuda));
  const std::vector<float> initial = population_of(o);
  poisoned_fitness bad{f, 0, 0, -0.25f};
  expect_message<invalid_argument>([&] { run_device(o, std::ref(bad)); }, "generation 0: fitness[0] = -0.25");
  EXPECT_EQ(o.generation(), 0);
  EXPECT_EQ(population_of(o), initial);
  EXPECT_FALSE(o.has_best());
  EXPECT_THROW(o.x0(), logic_error);
  EXPECT_EQ(o.total_nonfinite(), 0);
}

// The latent variant on the fused path (D = 6, d = 2: the projection GEMM, then the fused kernel):
// deferred and synchronous give the same bits.
TEST(GpuDevice, DeferredLatentRunEqualsSynchronousTells) {
  REQUIRE_DEVICE();
  config c = paper_cfg(backend_kind::cuda);
  c.dimension = 6;
  c.latent_dim = 2;
  const functions::paper_fitness f{benchmark::himmelblau};
  const optimize_result deferred = optimize_functor(c, f);
  optimizer sync(c);
  tell_generations(sync, sync.generations(), f);
  EXPECT_EQ(deferred.population, population_of(sync));
  EXPECT_EQ(deferred.best, sync.best());
}

// A hand-written device loop with tell_device_async: the same bits as tell_device; while tells are
// pending, readers of host state refuse, and ask() / synchronize() bring the host up to date.
TEST(GpuDevice, TellDeviceAsyncInAUserLoop) {
  REQUIRE_DEVICE();
  const functions::paper_fitness f{benchmark::rosenbrock};
  optimizer a(paper_cfg(backend_kind::cuda)), b(paper_cfg(backend_kind::cuda));
  for (int g = 0; g < 10; ++g) {
    const population_view d = a.ask_device();
    evaluate_device(f, d.data, d.rows, d.cols, a.device_fitness(), a.stream());
    a.tell_device_async(a.device_fitness(), 512);
  }
  EXPECT_TRUE(a.pending());
  EXPECT_EQ(a.generation(), 10);
  EXPECT_THROW(a.best(), logic_error);
  EXPECT_THROW(a.x0(), logic_error);
  EXPECT_THROW(a.save(::testing::TempDir() + "never_written"), logic_error);
  a.synchronize();
  EXPECT_FALSE(a.pending());
  tell_generations(b, 10, f);
  EXPECT_EQ(population_of(a), population_of(b));
  EXPECT_EQ(a.best(), b.best());
  EXPECT_EQ(a.x0(), b.x0());
  // ask() synchronizes by itself, and reports a pending error.
  const population_view d = a.ask_device();
  evaluate_device(f, d.data, d.rows, d.cols, a.device_fitness(), a.stream());
  const float bad = -3.0f;
  ASSERT_EQ(cudaMemcpyAsync(a.device_fitness() + 5, &bad, sizeof bad, cudaMemcpyHostToDevice, a.stream()), cudaSuccess);
  a.tell_device_async(a.device_fitness(), 512);
  EXPECT_THROW(a.ask(), invalid_argument);
  EXPECT_EQ(a.generation(), 10);
  EXPECT_FALSE(a.pending());
}

// The CEC'2013 problems evaluated on the device (inside evaluate_device, the composition data in device
// memory) against the host evaluation of the same float points. The math is the same code; only the
// math library's last bits may differ.
TEST(GpuFunctions, Cec2013OnTheDeviceMatchesTheHost) {
  REQUIRE_DEVICE();
  for (int id = 1; id <= cec2013::k_problems; ++id) {
    SCOPED_TRACE(id);
    const cec2013::problem_info in = cec2013::info(id);
    std::vector<double> lo, hi;
    cec2013::box(id, lo, hi);
    const int n = 1000;
    std::vector<float> x(static_cast<std::size_t>(n) * in.dimension);
    for (std::size_t k = 0; k < x.size(); ++k) {
      const std::size_t j = k % in.dimension;
      x[k] = static_cast<float>(lo[j] + (hi[j] - lo[j]) * ((k * 2654435761u) % 1000) / 999.0);
    }
    const cec2013::device_problem dp(id);
    float *dx = nullptr, *dy = nullptr;
    CUDA_OK(cudaMalloc(&dx, x.size() * sizeof(float)));
    CUDA_OK(cudaMalloc(&dy, n * sizeof(float)));
    CUDA_OK(cudaMemcpy(dx, x.data(), x.size() * sizeof(float), cudaMemcpyHostToDevice));
    evaluate_device(cec2013::fitness{dp.view()}, dx, n, in.dimension, dy, nullptr);
    CUDA_OK(cudaDeviceSynchronize());
    const std::vector<float> got = to_host(dy, n);
    cudaFree(dx);
    cudaFree(dy);
    const cec2013::fitness host{cec2013::make_problem(id)};
    for (int i = 0; i < n; ++i) {
      const float want = host(x.data() + static_cast<std::size_t>(i) * in.dimension, in.dimension);
      ASSERT_NEAR(got[i], want, 1e-5 * (1 + std::fabs(want))) << "point " << i;
    }
  }
}
