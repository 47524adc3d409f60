// gpu-labelled: your own environment on the cuda evaluator (diffevo/rollout.cuh, compiled here with
// --fmad=false as the library is), with examples/mountain_car.hpp as the user's: the same returns as
// on the cpu for every kernel mapping, up to episodes on which the float64 cos of host and device
// rounds differently at the flag (at most 1 %, printed).
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "test_environments.hpp"
#include "diffevo/diffevo.hpp"
#include "diffevo/rollout.cuh"
#include "rollout_helpers.hpp"

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

void compare(const std::vector<int>& layers, int n) {
  if (std::getenv("DIFFEVO_SANITIZE")) n = std::min(n, 64);  // as test_gpu_cartpole.cpp
  std::mt19937 rng(23);
  const auto params = swing_up_population(layers, n, rng);
  rollout_config c;
  c.layers = layers;
  c.max_steps = 200;
  c.seed = 9;
  c.backend = backend_kind::cpu;
  const rollout_environment car = make_environment<mountain_car>("mountain-car");
  rollout_evaluator cpu(c, car);
  c.backend = backend_kind::cuda;
  rollout_evaluator gpu(c, car);
  const int p = cpu.parameter_count();
  std::vector<float> rc(n), rg(n);
  cpu.evaluate(population_view{params.data(), n, p}, rc.data(), 1);
  gpu.evaluate(population_view{params.data(), n, p}, rg.data(), 1);
  int flips = 0, at_flag = 0;
  for (int i = 0; i < n; ++i) {
    flips += rc[i] != rg[i];
    at_flag += rc[i] < 200;
  }
  std::printf("[ mountain car, layers %zu, width %d ] %d of %d returns differ cpu vs cuda; %d reach the flag\n",
              layers.size(), layers[1], flips, n, at_flag);
  EXPECT_LE(flips, std::max(1, n / 100)) << "more than 1 % of episodes differ (one allowed below 100)";
  EXPECT_GT(at_flag, n / 2) << "the comparison needs episodes that end at the flag";

  EXPECT_EQ(evaluate_on_device(gpu, params, n, 1), rg);  // evaluate_device gives what evaluate gives
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
    const auto params = swing_up_population(layers, n, rng);
    rollout_config c;
    c.layers = layers;
    c.max_steps = 200;
    c.episodes = 2;
    c.seed = 6;
    c.backend = backend_kind::cpu;
    rollout_evaluator cpu(c, car);
    c.backend = backend_kind::cuda;
    rollout_evaluator gpu(c, car);
    const int p = cpu.parameter_count();
    std::vector<float> rc(n), rg(n);
    cpu.evaluate(population_view{params.data(), n, p}, rc.data(), 0);
    gpu.evaluate(population_view{params.data(), n, p}, rg.data(), 0);
    int flips = 0;
    for (int i = 0; i < n; ++i) flips += rc[i] != rg[i];
    const auto [lo, hi] = std::minmax_element(rc.begin(), rc.end());
    std::printf("[ rewarded mountain car, width %d ] %d of %d returns differ cpu vs cuda; returns %.1f to %.1f\n",
                layers[1], flips, n, *lo, *hi);
    EXPECT_LE(flips, 1);
    EXPECT_LT(*lo, *hi) << "the comparison needs varied returns";
    EXPECT_EQ(evaluate_on_device(gpu, params, n, 0), rg);
    EXPECT_EQ(gpu.last_steps(), -1);
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
    c.backend = backend_kind::cpu;
    rollout_evaluator cpu(c, walker);
    c.backend = backend_kind::cuda;
    rollout_evaluator gpu(c, walker);
    const int n = 64, p = cpu.parameter_count();
    std::mt19937 rng(31);
    std::normal_distribution<float> nd(0, 0.3f);
    std::vector<float> params(static_cast<std::size_t>(n) * p);
    for (float& v : params) v = nd(rng);
    std::vector<float> rc(n), rg(n);
    cpu.evaluate(population_view{params.data(), n, p}, rc.data(), 0);
    gpu.evaluate(population_view{params.data(), n, p}, rg.data(), 0);
    int flips = 0;
    for (int i = 0; i < n; ++i) flips += rc[i] != rg[i];
    const auto [lo, hi] = std::minmax_element(rc.begin(), rc.end());
    std::printf("[ walker, 40 actions, width %d ] %d of %d returns differ cpu vs cuda; lengths %.0f to %.0f\n",
                layers[1], flips, n, *lo, *hi);
    EXPECT_LE(flips, 1);
    EXPECT_LT(*lo, *hi) << "the comparison needs varied episodes";
  }
}
