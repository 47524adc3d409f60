// gpu-labelled: the cuda cart-pole evaluator against the cpu one, for every kernel mapping.
// Returns may differ only where the float64 sin/cos of host and device round differently and an
// episode sits on a termination threshold; the test allows at most 1 % such flips and prints the count.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "diffevo/diffevo.hpp"
#include "tests/helpers/expect.hpp"
#include "tests/helpers/rollout_helpers.hpp"

using namespace diffevo;

namespace {
#define REQUIRE_DEVICE() \
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device"

// Under compute-sanitizer (.ci/gpu-check sets DIFFEVO_SANITIZE=1), or on the CUDA emulator under
// AddressSanitizer (.ci/run sets it), every shared-memory access of the rollout kernels is checked,
// so the comparisons use at most 64 controllers: the same kernels and mappings, a bounded time.
bool sanitizing() { return std::getenv("DIFFEVO_SANITIZE") != nullptr; }

// Balancing nets with noise (as in test_cartpole.cpp): long, varied episodes.
std::vector<float> population(const std::vector<int>& w, int n, std::mt19937& rng) {
  std::vector<float> all;
  for (int i = 0; i < n; ++i) {
    std::normal_distribution<float> nd(0, 0.02f * static_cast<float>(i % 6));
    for (std::size_t l = 0; l + 1 < w.size(); ++l) {
      const int ni = w[l], no = w[l + 1];
      std::vector<float> W(static_cast<std::size_t>(no) * ni, 0.0f), b(no, 0.0f);
      if (l == 0) {
        W[2] = W[3] = 1.0f;
        W[ni + 2] = W[ni + 3] = -1.0f;
      } else if (l + 2 < w.size()) {
        W[0] = W[ni + 1] = 1.0f;
      } else {
        W[ni] = 1.0f;
        W[1] = 1.0f;
      }
      for (float& v : W) v += nd(rng);
      for (float& v : b) v += nd(rng);
      all.insert(all.end(), W.begin(), W.end());
      all.insert(all.end(), b.begin(), b.end());
    }
  }
  return all;
}

void compare(const std::vector<int>& layers, int n, int episodes) {
  if (sanitizing()) n = std::min(n, 64);
  std::mt19937 rng(17);
  const auto params = population(layers, n, rng);
  rollout_config c;
  c.layers = layers;
  c.episodes = episodes;
  c.seed = 5;
  c.backend = backend_kind::cpu;
  cartpole_evaluator cpu(c);
  c.backend = backend_kind::cuda;
  cartpole_evaluator gpu(c);
  const int p = cpu.parameter_count();
  std::vector<float> rc(n), rg(n);
  cpu.evaluate(population_view{params.data(), n, p}, rc.data(), 3);
  gpu.evaluate(population_view{params.data(), n, p}, rg.data(), 3);
  int flips = 0;
  double mean = 0;
  for (int i = 0; i < n; ++i) {
    flips += rc[i] != rg[i];
    mean += rc[i] / n;
  }
  std::printf("[ layers %zu, width %d ] %d of %d returns differ cpu vs cuda; mean return %.1f\n", layers.size(),
              layers[1], flips, n, mean);
  EXPECT_LE(flips, std::max(1, n / 100)) << "more than 1 % of episodes differ (one allowed below 100)";
  EXPECT_GT(mean, 50) << "the comparison needs long episodes";
  EXPECT_EQ(gpu.last_steps(), gpu.count_steps(rg.data(), n));
  EXPECT_EQ(evaluate_on_device(gpu, params, n, 3), rg);  // evaluate_device gives what evaluate gives
}
}  // namespace

TEST(GpuCartpole, ThreadMappingSmallNet) {
  REQUIRE_DEVICE();
  compare({4, 8, 2}, 1000, 1);
  compare({4, 8, 2}, 130, 3);  // partial last block, several episodes
}
TEST(GpuCartpole, Hidden2MappingPaperBigNet) {
  REQUIRE_DEVICE();
  compare({4, 128, 128, 2}, 300, 1);
  compare({4, 64, 64, 2}, 200, 2);
  compare({4, 32, 32, 2}, 200, 1);
}
TEST(GpuCartpole, BlockMappingSharedAndGlobal) {
  REQUIRE_DEVICE();
  compare({4, 200, 2}, 200, 1);            // 1,402 parameters: too big for the thread mapping
  compare({4, 96, 64, 2}, 200, 1);         // three layers, not hidden2: block mapping in shared memory
  compare({4, 160, 96, 2}, 200, 1);        // 16,450 parameters: 67 KB of shared memory (the opt-in limit)
  compare({4, 256, 256, 256, 2}, 64, 1);   // 133,378 parameters: weights from global memory
}
TEST(GpuCartpole, ThreadMappingWithBlocksOf64AboveTheDefaultSharedMemory) {
  REQUIRE_DEVICE();
  if (sanitizing()) GTEST_SKIP() << "64 controllers per SM: too many under compute-sanitizer (the kernel is checked by ThreadMappingSmallNet)";
  int device = 0, sms = 0;
  ASSERT_EQ(cudaGetDevice(&device), cudaSuccess);
  ASSERT_EQ(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), cudaSuccess);
  // 242 parameters: a 64-controller block takes 68 KB, used once there are 64 controllers per SM.
  compare({4, 12, 12, 2}, 64 * sms, 1);
}
TEST(GpuCartpole, ALayerTooWideForTheDeviceIsAClearError) {
  REQUIRE_DEVICE();
  rollout_config c;
  c.layers = {4, 60000, 2};  // 480 KB of activations per controller
  c.backend = backend_kind::cuda;
  expect_message<invalid_argument>([&] { cartpole_evaluator ev(c); }, "layers: a layer of width 60000");
}
