// gpu-labelled: your own environment on the cuda evaluator (diffevo/rollout.cuh, compiled here with
// --fmad=false as the library is), with examples/mountain_car.hpp as the user's: the same returns as
// on the cpu for every kernel mapping, up to episodes on which the float64 cos of host and device
// rounds differently at the flag (at most 1 %, printed). Continuous actions (examples/pendulum.hpp,
// the tests' point_mass) likewise, their returns compared to a relative 1e-4. On the emulator, whose
// device math is the host's, every return must be equal.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "examples/pendulum.hpp"
#include "tests/helpers/test_environments.hpp"
#include "diffevo/diffevo.hpp"
#include "diffevo/rollout.cuh"
#include "tests/helpers/rollout_helpers.hpp"

using namespace diffevo;

namespace {

static_assert(!detail::hidden2_supports<many_actions, 32> && detail::hidden2_supports<many_actions, 64>);

// Swing-up controllers (push in the direction of motion, through the hidden layers by ReLU pairs)
// with noise: varied episode lengths, most of them ending at the flag.
std::vector<float> swing_up_population(const std::vector<int>& w, int n, std::mt19937& rng) {
  std::vector<float> all;
  for (int i = 0; i < n; ++i) {
    for (std::size_t l = 0; l + 1 < w.size(); ++l) {
      const int ni = w[l], no = w[l + 1];
      // Noise of the same size in a unit's sum whatever its fan-in.
      std::normal_distribution<float> nd(0, 0.05f * static_cast<float>(i % 5) / std::sqrt(ni / 2.0f));
      std::vector<float> W(static_cast<std::size_t>(no) * ni, 0.0f), b(no, 0.0f);
      if (w.size() == 2) {           // logits (-v, 0, v)
        W[1] = -1.0f;
        W[2 * ni + 1] = 1.0f;
      } else if (l == 0) {           // h0 = relu(v), h1 = relu(-v)
        W[1] = 1.0f;
        W[ni + 1] = -1.0f;
      } else if (l + 2 < w.size()) {  // pass h0, h1 on
        W[0] = 1.0f;
        W[ni + 1] = 1.0f;
      } else {                       // logits (h1, 0, h0)
        W[1] = 1.0f;
        W[2 * ni] = 1.0f;
      }
      for (float& v : W) v += nd(rng);
      for (float& v : b) v += nd(rng);
      all.insert(all.end(), W.begin(), W.end());
      all.insert(all.end(), b.begin(), b.end());
    }
  }
  return all;
}

// The returns of the n controllers of `params` on the cpu and on cuda (through evaluate, and through
// evaluate_device, which must agree with evaluate), and how many differ.
struct cpu_and_cuda {
  std::vector<float> cpu;
  int flips = 0;
  int far = 0;           // returns that differ by more than a relative 1e-4
  float lo = 0, hi = 0;  // of the cpu returns
};
cpu_and_cuda run_both(const rollout_environment& env, rollout_config c, const std::vector<float>& params, int n,
                      std::uint64_t generation) {
  c.backend = backend_kind::cpu;
  rollout_evaluator cpu(c, env);
  c.backend = backend_kind::cuda;
  rollout_evaluator gpu(c, env);
  const int p = cpu.parameter_count();
  cpu_and_cuda r;
  r.cpu.resize(n);
  std::vector<float> rg(n);
  cpu.evaluate(population_view{params.data(), n, p}, r.cpu.data(), generation);
  gpu.evaluate(population_view{params.data(), n, p}, rg.data(), generation);
  for (int i = 0; i < n; ++i) {
    r.flips += r.cpu[i] != rg[i];
    r.far += !(std::fabs(r.cpu[i] - rg[i]) <= 1e-4f * std::fabs(r.cpu[i]));
  }
  r.lo = *std::min_element(r.cpu.begin(), r.cpu.end());
  r.hi = *std::max_element(r.cpu.begin(), r.cpu.end());
  EXPECT_EQ(gpu.last_steps(), env.rewarded ? -1 : gpu.count_steps(rg.data(), n));
  EXPECT_EQ(evaluate_on_device(gpu, params, n, generation), rg);
  return r;
}

void compare(const std::vector<int>& layers, int n) {
  if (std::getenv("DIFFEVO_SANITIZE")) n = std::min(n, 64);  // as test_gpu_cartpole.cpp
  std::mt19937 rng(23);
  const auto params = swing_up_population(layers, n, rng);
  rollout_config c;
  c.layers = layers;
  c.max_steps = 200;
  c.seed = 9;
  const cpu_and_cuda r = run_both(make_environment<mountain_car>("mountain-car"), c, params, n, 1);
  const int at_flag = static_cast<int>(std::count_if(r.cpu.begin(), r.cpu.end(), [](float v) { return v < 200; }));
  std::printf("[ mountain car, layers %zu, width %d ] %d of %d returns differ cpu vs cuda; %d reach the flag\n",
              layers.size(), layers[1], r.flips, n, at_flag);
  EXPECT_LE(r.flips, std::max(1, n / 100)) << "more than 1 % of episodes differ (one allowed below 100)";
  EXPECT_GT(at_flag, n / 2) << "the comparison needs episodes that end at the flag";
}

}  // namespace

TEST(GpuOwnEnvironment, EveryMappingMatchesTheCpu) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  compare({2, 3}, 300);            // thread mapping, no hidden layer
  compare({2, 16, 3}, 130);        // thread mapping, a partial block
  compare({2, 32, 32, 3}, 100);    // hidden2<32>
  compare({2, 64, 64, 3}, 100);    // hidden2<64>
  compare({2, 128, 128, 3}, 64);   // hidden2<128>
  compare({2, 200, 3}, 100);       // block mapping, weights in shared memory
  compare({2, 256, 256, 3}, 32);   // block mapping, 67,331 parameters: weights from global memory
}

TEST(GpuOwnEnvironment, RewardedReturnsMatchTheCpuOnEveryMapping) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  const rollout_environment car = make_environment<rewarded_car>("rewarded mountain car");
  for (const std::vector<int>& layers : {std::vector<int>{2, 3}, std::vector<int>{2, 32, 32, 3},
                                         std::vector<int>{2, 200, 3}}) {
    const int n = 64;
    std::mt19937 rng(5);
    rollout_config c;
    c.layers = layers;
    c.max_steps = 200;
    c.episodes = 2;
    c.seed = 6;
    const cpu_and_cuda r = run_both(car, c, swing_up_population(layers, n, rng), n, 0);
    std::printf("[ rewarded mountain car, width %d ] %d of %d returns differ cpu vs cuda; returns %.1f to %.1f\n",
                layers[1], r.flips, n, r.lo, r.hi);
    EXPECT_LE(r.flips, 1);
    EXPECT_LT(r.lo, r.hi) << "the comparison needs varied returns";
  }
}

TEST(GpuOwnEnvironment, MoreActionsThanAHidden2BlockHasThreadsTakeAnotherMapping) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  const rollout_environment walker = make_environment<many_actions>("walker");
  for (const std::vector<int>& layers : {std::vector<int>{1, 32, 32, 40}, std::vector<int>{1, 64, 64, 40}}) {
    rollout_config c;
    c.layers = layers;
    c.max_steps = 200;
    c.seed = 4;
    const int n = 64;
    const int p = rollout_evaluator(c, walker).parameter_count();
    std::mt19937 rng(31);
    std::normal_distribution<float> nd(0, 0.3f);
    std::vector<float> params(static_cast<std::size_t>(n) * p);
    for (float& v : params) v = nd(rng);
    const cpu_and_cuda r = run_both(walker, c, params, n, 0);
    std::printf("[ walker, 40 actions, width %d ] %d of %d returns differ cpu vs cuda; lengths %.0f to %.0f\n",
                layers[1], r.flips, n, r.lo, r.hi);
    EXPECT_LE(r.flips, 1);
    EXPECT_LT(r.lo, r.hi) << "the comparison needs varied episodes";
  }
}

namespace {

// Random nets for a continuous environment (weights N(0, (scale / sqrt(the last hidden width))^2)),
// their returns on cpu and cuda: at most one controller further apart than a relative 1e-4, every
// return equal on the emulator.
void compare_continuous(const rollout_environment& env, const std::vector<int>& layers, rollout_config c,
                        unsigned rng_seed, float scale, std::uint64_t generation) {
  c.layers = layers;
  const int n = std::getenv("DIFFEVO_SANITIZE") ? 32 : 64;
  const int p = rollout_evaluator(c, env).parameter_count();
  std::mt19937 rng(rng_seed);
  std::normal_distribution<float> nd(0, scale / std::sqrt(static_cast<float>(layers[layers.size() - 2])));
  std::vector<float> params(static_cast<std::size_t>(n) * p);
  for (float& v : params) v = nd(rng);
  const cpu_and_cuda r = run_both(env, c, params, n, generation);
  std::printf("[ %s, layers %zu, width %d ] %d of %d returns differ cpu vs cuda, %d by more than 1e-4; returns %.1f "
              "to %.1f\n", env.name, layers.size(), layers[1], r.flips, n, r.far, r.lo, r.hi);
  EXPECT_LE(r.far, 1);
#ifdef DIFFEVO_CUDA_EMULATOR
  EXPECT_EQ(r.flips, 0);
#endif
  EXPECT_LT(r.lo, r.hi) << "the comparison needs varied returns";
}

}  // namespace

TEST(GpuOwnEnvironment, ContinuousActionsMatchTheCpuOnEveryMapping) {
  // A return sums 200 float64 rewards, and the float64 sin and cos of host and device may round a
  // step's state differently, which the rest of the episode carries on; so the returns are compared to
  // a relative 1e-4, and at most one controller per net (of 64, or 32 under compute-sanitizer) may be
  // further apart. This bound is a guess until the test has run on a GPU (it prints the counts).
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  rollout_config c;
  c.max_steps = 200;
  c.seed = 8;
  const rollout_environment pend = make_environment<pendulum>("pendulum");
  for (const std::vector<int>& layers :
       {std::vector<int>{3, 1}, std::vector<int>{3, 16, 1}, std::vector<int>{3, 32, 32, 1},
        std::vector<int>{3, 64, 64, 1}, std::vector<int>{3, 128, 128, 1}, std::vector<int>{3, 200, 1},
        std::vector<int>{3, 256, 256, 1}})
    compare_continuous(pend, layers, c, 41, 1.0f, 2);
  // Two action components, two episodes each.
  c.max_steps = 300;
  c.episodes = 2;
  c.seed = 3;
  const rollout_environment mass = make_environment<point_mass>("point mass");
  for (const std::vector<int>& layers : {std::vector<int>{4, 2}, std::vector<int>{4, 32, 32, 2},
                                         std::vector<int>{4, 200, 2}})
    compare_continuous(mass, layers, c, 43, 1.5f, 1);
}
