#pragma once
// The batched rollout's cuda side, as the facade (host/rollout/rollout.cpp) sees it: the evaluator of
// cuda/rollout/rollout.cu (through the CUDA plugin), which owns the device staging buffers of evaluate(). The settings and the host
// loop are in diffevo/detail/rollout.hpp.
#include <cstdint>
#include <memory>

#include "diffevo/detail/rollout.hpp"
#include "diffevo/optimizer.hpp"
#include "diffevo/rollout.hpp"

namespace diffevo::detail {

class rollout_device {
 public:
  virtual ~rollout_device() = default;
  /// `first`: the population index of row 0 (rollout_params::first_individual).
  virtual void evaluate_host(const float* params, int n, float* returns, std::uint64_t generation,
                             std::uint64_t first) = 0;
  virtual void evaluate_device(const float* d_params, int n, float* d_returns, std::uint64_t generation,
                               std::uint64_t first, cuda_stream stream) = 0;
};
/// The CUDA plugin's evaluator (host/backend/cuda_loader.cpp forwards to it; device_unavailable without one).
/// env.name must outlive the evaluator (the facade passes its own copy).
std::unique_ptr<rollout_device> make_cuda_rollout(const rollout_params& rp, const rollout_environment& env);

/// Cart-pole's launch_device (rollout_environment): its kernels are compiled in the plugin, which is
/// loaded by the time an evaluator launches them.
int launch_cartpole_on_device(const rollout_params& rp, const float* d_params, int n, float* d_returns,
                              std::uint64_t generation, const rollout_device_limits& limits, cuda_stream stream);

}  // namespace diffevo::detail
