#pragma once
/// \file
/// Your own environment in the batched rollout: the same evaluator, kernels and host loop as
/// cart-pole, compiled for your environment type in your CUDA source (nvcc). Plain C++ code uses
/// cartpole_environment() from diffevo/rollout.hpp, or make_host_environment for the cpu backend.
///
/// An environment is a struct shaped like env::cartpole (diffevo/env/cartpole.hpp; copy it and edit
/// the physics):
///     struct my_env {
///       static constexpr int obs_dim = 2, num_actions = 3;
///       struct state { double position, velocity; };              // trivially copyable
///       DIFFEVO_HD static state reset(std::uint64_t key);         // detail::uniform_pm(key, i, half) draws
///       DIFFEVO_HD static bool step(state& s, int action);        // true: the episode terminates
///       // or, to reward steps: DIFFEVO_HD static bool step(state& s, int action, double& reward);
///       DIFFEVO_HD static void observe(const state& s, bool normalize, float* obs);  // obs_dim floats
///     };
///     diffevo::rollout_evaluator ev(rc, diffevo::make_environment<my_env>("my-env"));
///
/// Continuous actions: `static constexpr int action_dim = k;` instead of num_actions, and
/// `step(state& s, const float* action)` (or with `double& reward`): the MLP's k outputs as they are
/// (linear, possibly NaN for non-finite parameters), to squash or clip in step
/// (examples/pendulum.hpp).
///
/// (`detail::uniform_pm(key, i, half)`, uniform in [-half, half], is the draw cart-pole's reset uses;
/// any pure function of the key keeps the cpu and cuda episodes identical.) Plain C++ code can run
/// its environment on the cpu backend only: make_host_environment in diffevo/rollout.hpp.
///
/// A controller's return is the mean over episodes of its summed step rewards, each episode ending
/// when `step` reports termination or after rc.max_steps steps. Without the reward argument every
/// step earns 1, so the return is the mean episode length: maximize it for a task of staying alive
/// (cart-pole), minimize it for one of reaching a goal (mountain car: examples/own_environment.cu).
///
/// Compile as the library is, with --fmad=false and -Xcompiler=-ffp-contract=off (no fused
/// multiply-adds on device or host), for the cuda returns to match the cpu ones as closely as
/// cart-pole's do. Like any template, an environment type is compiled once per program: make it in
/// one source, or with the same flags.

#if !defined(__CUDACC__)
#error "diffevo/rollout.cuh needs nvcc; plain C++ code uses diffevo/rollout.hpp"
#endif

#include <cstdint>

#include "diffevo/detail/rollout.hpp"
#include "diffevo/detail/rollout_kernels.cuh"
#include "diffevo/rollout.hpp"

namespace diffevo {
namespace detail {

template <class Env>
int launch_environment(const rollout_params& rp, const float* d_params, int n, float* d_returns,
                       std::uint64_t generation, const rollout_device_limits& dl, cuda_stream stream) {
  return static_cast<int>(launch_rollout<Env>(rp, d_params, n, d_returns, generation, dl, stream));
}

}  // namespace detail

/// The environment `Env` (see the file comment) compiled for the evaluator: host loop and device
/// kernels, both instantiated here.
///
/// A shape error in `Env` is a compile-time error.
/// @tparam Env The environment type.
/// @param name Appears in the evaluator's messages; the result stores the pointer (an evaluator
///        copies the string).
/// @return The environment, for rollout_evaluator on the cpu or cuda backend.
/// @note Host only; no device work (the kernels are launched by the evaluator).
template <class Env>
rollout_environment make_environment(const char* name) {
  rollout_environment e = make_host_environment<Env>(name);
  e.launch_device = &detail::launch_environment<Env>;
  return e;
}

}  // namespace diffevo
