#pragma once
// The library's own cart-pole type. A type of its own (not env::cartpole), so that its host loop
// (host/rollout/rollout.cpp) and kernels (cuda/rollout/rollout.cu), compiled with the library's flags, are symbols
// no user source can instantiate: a user's make_environment<env::cartpole> compiles other ones.
#include <cstddef>
#include <cstdint>

#include "diffevo/detail/rollout.hpp"
#include "diffevo/env/cartpole.hpp"

namespace diffevo::detail {
struct library_cartpole : env::cartpole {};

/// The library cart-pole's cpu loop (rollout_environment::run_host; host/rollout/rollout_cpu.cpp):
/// rollout_host<library_cartpole>'s returns bit for bit. The nets of cartpole_runs_in_lanes step
/// k_env_lanes controllers at once, one per vector lane; the others run rollout_host.
void rollout_cartpole_host(const rollout_params& rp, const float* params, int n, float* returns,
                           std::uint64_t generation, int threads);

/// Whether rollout_cartpole_host runs this net in lanes: where a cost model says they are faster than
/// the scalar loop (the same returns either way).
bool cartpole_runs_in_lanes(const env::mlp_shape& shape);

/// The core's L2 size in bytes that the cost model uses: the C library's report (sysconf), else
/// 512 KiB. Lanes' weights past 5/8 of it make a multiply-add in lanes cost more. Tests set it to fix
/// which path a net takes; the returns do not depend on it.
std::size_t cartpole_l2_bytes() noexcept;
void set_cartpole_l2_bytes(std::size_t bytes) noexcept;
}  // namespace diffevo::detail
