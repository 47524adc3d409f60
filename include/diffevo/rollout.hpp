#pragma once
/// \file
/// Batched evaluation of MLP controllers in an environment (docs/algorithm.md §7: cart-pole): a whole population
/// in one call, on the cpu (host threads) or cuda (one kernel) backend, with the same dynamics and MLP
/// code on both. Your own environment: diffevo/rollout.cuh.

#include <cstdint>
#include <memory>
#include <vector>

#include "diffevo/config.hpp"
#include "diffevo/detail/rollout.hpp"
#include "diffevo/optimizer.hpp"

namespace diffevo {

/// What to simulate. Validated by the evaluator's constructor (invalid_argument naming the field).
struct rollout_config {
  std::vector<int> layers{4, 8, 2};  ///< MLP widths: observations in (cart-pole: 4), actions out (2); 2 to 8 layers, each <= 2^20
  int episodes = 1;                  ///< per individual; the return is their mean
  int max_steps = 500;               ///< truncation (Gymnasium's CartPole-v1: 500)
  bool normalize_obs = true;         ///< docs/algorithm.md §7 observation normalisation
  std::uint64_t seed = 0;            ///< start states are a function of (seed, generation, individual, episode)
  /// false (docs/algorithm.md §7): every episode starts from its own random state. true: every individual in every
  /// generation starts episode e from the same state (common random numbers, noise-free fitness with
  /// one episode; the authors' experiment code resets Gymnasium with one fixed seed).
  bool fixed_start = false;
  backend_kind backend = backend_kind::automatic;
  int cpu_threads = 0;               ///< cpu backend; 0 = hardware concurrency. Results do not depend on it.
};

/// An environment compiled for the evaluator: cartpole_environment(); for your own, make_environment
/// of diffevo/rollout.cuh (cpu and cuda) or make_host_environment below (cpu only, plain C++). Plain
/// data, cheap to copy; the pointers are to code compiled with the environment.
struct rollout_environment {
  const char* name = nullptr;  ///< in messages ("cart-pole"); the evaluator keeps a copy
  int obs_dim = 0;             ///< observations: the MLP's first width
  int num_actions = 0;         ///< the MLP's last width: discrete actions (the argmax logit is taken) or
                               ///< the dimension of a continuous action (the outputs are the action)
  bool continuous = false;     ///< continuous actions (Env::action_dim), else discrete (Env::num_actions)
  bool rewarded = false;       ///< its step gives rewards (else every step earns 1: returns are lengths)
  /// The host loop: returns[i] for the n controllers of `params` on `threads` host threads.
  void (*run_host)(const detail::rollout_params& rp, const float* params, int n, float* returns,
                   std::uint64_t generation, int threads) = nullptr;
  /// Enqueues the device rollouts of n controllers on `stream`; returns the cudaError_t (as an int) of
  /// the launch, so that the evaluator reports it. Null for a host-only environment: the evaluator
  /// then runs on the cpu (backend = cuda is refused).
  int (*launch_device)(const detail::rollout_params& rp, const float* d_params, int n, float* d_returns,
                       std::uint64_t generation, const detail::rollout_device_limits& limits,
                       cuda_stream stream) = nullptr;
};

/// Gymnasium's CartPole-v1 (diffevo/env/cartpole.hpp), compiled in the library.
rollout_environment cartpole_environment();

/// Your environment `Env` (shaped like env::cartpole; see diffevo/rollout.cuh) for the cpu backend
/// only, from plain C++: the host loop is instantiated here. `name` appears in messages.
template <class Env>
rollout_environment make_host_environment(const char* name) {
  detail::check_environment<Env>();
  rollout_environment e;
  e.name = name;
  e.obs_dim = Env::obs_dim;
  e.num_actions = detail::env_outputs<Env>();
  e.continuous = detail::env_is_continuous<Env>::value;
  e.rewarded = detail::env_has_rewards<Env>::value;
  e.run_host = &detail::rollout_host<Env>;
  return e;
}

/// Evaluates populations of MLP controllers in an environment. A return is the mean over episodes of
/// the sum of the step rewards; for an environment without rewards (cart-pole) every step earns 1,
/// so returns are in [1, max_steps]: the steps taken, counting the terminating step (cart-pole: the
/// steps survived). Non-finite parameters are legal: ReLU maps NaN to 0 and a NaN logit never wins
/// the argmax over a number (all NaN: action 0), so the return is still defined. A continuous
/// environment receives the outputs as they are, NaN included: what it makes of them is its own rule
/// (examples/pendulum.hpp applies no torque for a NaN).
class rollout_evaluator {
 public:
  /// Throws invalid_argument naming the field when `cfg` does not fit `env` (layers[0] must be
  /// env.obs_dim and the last width env.num_actions: the actions, or a continuous action's
  /// dimension), when `env` has no name or host loop, or when cfg.backend is cuda and `env` has no
  /// device code. With backend automatic, an environment without
  /// device code runs on the cpu.
  rollout_evaluator(const rollout_config& cfg, const rollout_environment& env);
  ~rollout_evaluator();
  rollout_evaluator(rollout_evaluator&&) noexcept;
  rollout_evaluator& operator=(rollout_evaluator&&) noexcept;

  const rollout_environment& environment() const noexcept;
  /// Parameters per controller (58 for 4-8-2, 17,410 for 4-128-128-2).
  int parameter_count() const noexcept;
  backend_kind backend() const noexcept;
  const rollout_config& cfg() const noexcept;

  /// Host parameters (pop.rows x parameter_count()) to host returns (pop.rows). On the cuda backend
  /// the parameters are copied to the device and back. `generation` keys the start states.
  void evaluate(population_view params, float* returns, std::uint64_t generation);

  /// cuda backend only: device parameters and device returns, enqueued on `stream` (no
  /// synchronization).
  void evaluate_device(population_view d_params, float* d_returns, std::uint64_t generation, cuda_stream stream);

  /// Environment steps simulated by the last evaluate() (sum over individuals and episodes).
  /// After evaluate_device() it is unknown (-1) until `count_steps(host returns)`; for a rewarded
  /// environment, whose returns are not lengths, it is always unknown (-1).
  long long last_steps() const noexcept;
  /// Steps simulated for these returns: sum of returns times episodes. Throws logic_error for a
  /// rewarded environment, and invalid_argument naming the index and value of a return outside
  /// [1, max_steps] (NaN included).
  long long count_steps(const float* returns, int n) const;

 private:
  struct impl;
  std::unique_ptr<impl> p_;
};

/// The evaluator for cart-pole: rollout_evaluator(cfg, cartpole_environment()).
class cartpole_evaluator final : public rollout_evaluator {
 public:
  explicit cartpole_evaluator(const rollout_config& cfg) : rollout_evaluator(cfg, cartpole_environment()) {}
};

}  // namespace diffevo
