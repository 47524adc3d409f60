#pragma once
// The batched rollout's internals, shared by the facade (host/rollout.cpp), the cpu evaluator
// (host/rollout_cpu.cpp) and the cuda evaluator (cuda/rollout.cu).
#include <cstdint>
#include <memory>

#include "diffevo/detail/hd.hpp"
#include "diffevo/detail/random.hpp"
#include "diffevo/env/mlp.hpp"
#include "diffevo/optimizer.hpp"

namespace diffevo::detail {

/// Plain-data rollout settings, passed by value into kernels.
struct rollout_params {
  env::mlp_shape shape;
  int episodes;
  int max_steps;
  bool normalize;
  std::uint64_t seed;
  bool fixed_start;
};

/// The key of an episode's start state (rollout_config::fixed_start: one start for everyone).
DIFFEVO_HD inline std::uint64_t start_key(const rollout_params& rp, std::uint64_t generation, std::uint64_t individual,
                                          int episode) {
  const std::uint64_t e = static_cast<std::uint64_t>(episode);
  return rp.fixed_start ? episode_key(rp.seed, 0, 0, e) : episode_key(rp.seed, generation, individual, e);
}

/// Host threads: returns[i] for the n controllers of `params` (n x P, row-major).
void rollout_cpu(const rollout_params& rp, const float* params, int n, float* returns, std::uint64_t generation,
                 int threads);

/// The cuda evaluator (cuda/rollout.cu): owns the device staging buffers of evaluate().
class rollout_device {
 public:
  virtual ~rollout_device() = default;
  virtual void evaluate_host(const float* params, int n, float* returns, std::uint64_t generation) = 0;
  virtual void evaluate_device(const float* d_params, int n, float* d_returns, std::uint64_t generation,
                               cuda_stream stream) = 0;
};
std::unique_ptr<rollout_device> make_cuda_rollout(const rollout_params& rp);

}  // namespace diffevo::detail
