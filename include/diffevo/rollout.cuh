#pragma once
/// \file
/// Your own environment in the batched rollout: the same evaluator, kernels and host loop as
/// cart-pole, compiled for your environment type in your CUDA source (nvcc). Plain C++ code uses
/// cartpole_environment() from diffevo/rollout.hpp.
///
/// An environment is a struct shaped like env::cartpole (diffevo/env/cartpole.hpp; copy it and edit
/// the physics):
///     struct my_env {
///       static constexpr int obs_dim = 2, num_actions = 3;
///       struct state { double position, velocity; };              // trivially copyable
///       DIFFEVO_HD static state reset(std::uint64_t key);         // detail::uniform_pm(key, i, half) draws
///       DIFFEVO_HD static bool step(state& s, int action);        // true: the episode terminates
///       DIFFEVO_HD static void observe(const state& s, bool normalize, float* obs);  // obs_dim floats
///     };
///     diffevo::rollout_evaluator ev(rc, diffevo::make_environment<my_env>("my-env"));
///
/// A controller's return is its mean episode length: the steps taken until `step` reports
/// termination, or rc.max_steps. Maximize it for a task of staying alive (cart-pole), minimize it for
/// one of reaching a goal (mountain car: examples/own_environment.cu). Compile with --fmad=false, as
/// the library is, for the cuda returns to match the cpu ones as closely as cart-pole's do.

#if !defined(__CUDACC__) && !defined(DIFFEVO_CUDA_EMULATOR)  // the emulator: tests/emulator
#error "diffevo/rollout.cuh needs nvcc; plain C++ code uses diffevo/rollout.hpp"
#endif

#include <cstdint>
#include <type_traits>
#include <utility>

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

/// The environment `Env` (see the file comment) compiled for the evaluator: its host loop and its
/// device kernels are instantiated here. `name` (kept as a pointer: a string literal) appears in the
/// evaluator's messages.
template <class Env>
rollout_environment make_environment(const char* name) {
  using state = typename Env::state;
  static_assert(Env::obs_dim >= 1 && Env::num_actions >= 1, "Env::obs_dim and Env::num_actions must be >= 1");
  static_assert(std::is_trivially_copyable_v<state>, "Env::state must be trivially copyable (it lives in kernels)");
  static_assert(std::is_same_v<decltype(Env::reset(std::uint64_t{})), state>,
                "Env::reset(std::uint64_t key) must return an Env::state");
  static_assert(std::is_convertible_v<decltype(Env::step(std::declval<state&>(), 0)), bool>,
                "Env::step(Env::state&, int action) must return bool (true: the episode terminates)");
  static_assert(std::is_void_v<decltype(Env::observe(std::declval<const state&>(), true, std::declval<float*>()))>,
                "Env::observe(const Env::state&, bool normalize, float* obs) must write obs_dim floats");
  rollout_environment e;
  e.name = name;
  e.obs_dim = Env::obs_dim;
  e.num_actions = Env::num_actions;
  e.run_host = &detail::rollout_host<Env>;
  e.launch_device = &detail::launch_environment<Env>;
  return e;
}

}  // namespace diffevo
