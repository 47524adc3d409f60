#pragma once
// What the CUDA plugin (cuda/plugin/plugin.cu) hands to the core library: the implementations behind the
// table of host/backend/cuda_plugin.hpp. Their names differ from the core's forwarders (host/backend/cuda_loader.cpp)
// so both can be linked into one program (the emulated test library does).
#include <cstddef>
#include <cstdint>
#include <memory>

#include "host/backend/backend.hpp"
#include "host/rollout/rollout_backend.hpp"

namespace diffevo::detail {
std::unique_ptr<backend> create_cuda_backend(const config& cfg);  // cuda_backend.cu
std::size_t device_weight_budget() noexcept;
void set_device_weight_budget(std::size_t bytes) noexcept;
std::unique_ptr<rollout_device> create_cuda_rollout(const rollout_params& rp, const rollout_environment& env);  // rollout.cu
int launch_library_cartpole(const rollout_params& rp, const float* d_params, int n, float* d_returns,
                            std::uint64_t generation, const rollout_device_limits& limits, cuda_stream stream);
}  // namespace diffevo::detail
