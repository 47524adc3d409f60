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
  int max_steps = 500;               ///< truncation (Gymnasium's CartPole-v1: 500); episodes x max_steps <= 2^23
  bool normalize_obs = true;         ///< docs/algorithm.md §7 observation normalisation
  std::uint64_t seed = 0;            ///< start states are a function of (seed, generation, individual, episode)
  /// false (docs/algorithm.md §7): every episode starts from its own random state. true: every individual in every
  /// generation starts episode e from the same state (common random numbers, noise-free fitness with
  /// one episode; the authors' experiment code resets Gymnasium with one fixed seed).
  bool fixed_start = false;
  backend_kind backend = backend_kind::automatic;
  int cpu_threads = 0;               ///< cpu backend; 0 = hardware concurrency, at most k_max_cpu_threads. Results do not depend on it.
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
  /// The host loop: returns[i] for the n controllers of `params` (n x parameter count, host) on
  /// `threads` host threads, `rp` holding the evaluator's settings and `generation` keying the start
  /// states. Host only.
  void (*run_host)(const detail::rollout_params& rp, const float* params, int n, float* returns,
                   std::uint64_t generation, int threads) = nullptr;
  /// Enqueues the device rollouts of n controllers on `stream`; returns the cudaError_t (as an int) of
  /// the launch, so that the evaluator reports it. Null for a host-only environment: the evaluator
  /// then runs on the cpu (backend = cuda is refused). Called with the evaluator's device current;
  /// it only enqueues work on `stream` (`limits`: the device's limits the kernels are chosen by).
  int (*launch_device)(const detail::rollout_params& rp, const float* d_params, int n, float* d_returns,
                       std::uint64_t generation, const detail::rollout_device_limits& limits,
                       cuda_stream stream) = nullptr;
};

/// Gymnasium's CartPole-v1 (diffevo/env/cartpole.hpp), compiled in the library.
/// @return The environment: 4 observations, 2 discrete actions, no rewards; with device code when
///         the library was built with CUDA.
/// @note Host only; no device work (the cuda backend is loaded only when an evaluator uses it).
rollout_environment cartpole_environment();

/// Your environment `Env` for the cpu backend only, from plain C++.
///
/// `Env` is shaped like env::cartpole (see diffevo/rollout.cuh); a shape error is a compile-time
/// error. The host loop is instantiated here; the result has no device code.
/// @tparam Env The environment type.
/// @param name Appears in messages; the result stores the pointer (an evaluator copies the string).
/// @return The environment, for rollout_evaluator.
/// @note Host only; no device work.
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

/// Evaluates populations of MLP controllers in an environment.
///
/// A return is the mean over episodes of the sum of the step rewards; for an environment without
/// rewards (cart-pole) every step earns 1, so returns are in [1, max_steps]: the steps taken,
/// counting the terminating step (cart-pole: the steps survived). Non-finite parameters are legal: ReLU maps NaN to 0 and a NaN logit never wins
/// the argmax over a number (all NaN: action 0), so the return is still defined. A continuous
/// environment receives the outputs as they are, NaN included: what it makes of them is its own rule
/// (examples/pendulum.hpp applies no torque for a NaN).
///
/// Device work (cuda backend): the evaluator runs on the device current at its construction, with
/// a stream of its own for evaluate(). On the cpu backend every member is host only.
class rollout_evaluator {
 public:
  /// Validates `cfg` against `env` and picks the backend.
  ///
  /// With backend automatic, cuda is used when `env` has device code and cuda_device_available();
  /// else the cpu.
  /// @param cfg What to simulate (copied; cfg() returns it).
  /// @param env The environment (copied, its name included).
  /// @throws invalid_argument naming the field when `cfg` does not fit `env` (layers[0] must be
  ///         env.obs_dim and the last width env.num_actions: the actions, or a continuous action's
  ///         dimension) or is out of range, when `env` has no name or host loop, when cfg.backend is
  ///         cuda and `env` has no device code, or (cuda backend) when the widest layer needs more
  ///         shared memory per block than the device allows.
  /// @throws device_unavailable if cfg.backend is cuda and no CUDA device can be used.
  /// @throws cuda_error if querying the device or creating the evaluator's stream fails (cuda
  ///         backend); out_of_memory if the device has no memory for it.
  /// @note cuda backend: queries the device and creates a stream; enqueues nothing and waits for no
  ///       device work. cpu backend: host only.
  rollout_evaluator(const rollout_config& cfg, const rollout_environment& env);
  /// Frees the evaluator.
  /// @note cuda backend: waits for the evaluator's own stream (that of evaluate()), not for work
  ///       evaluate_device() enqueued on yours; never throws.
  ~rollout_evaluator();
  /// Takes over another evaluator, which may then only be destroyed or assigned to.
  /// @note Host only; no device work.
  rollout_evaluator(rollout_evaluator&&) noexcept;
  /// Takes over another evaluator, which may then only be destroyed or assigned to; this one's
  /// previous state is freed as in the destructor.
  /// @return *this.
  /// @note cuda backend: waits for the previous evaluator's stream, as the destructor does.
  rollout_evaluator& operator=(rollout_evaluator&&) noexcept;

  /// @return The environment (its name points to the evaluator's copy).
  /// @note Host only; no device work.
  const rollout_environment& environment() const noexcept;
  /// @return Parameters per controller (58 for 4-8-2, 17,410 for 4-128-128-2).
  /// @note Host only; no device work.
  int parameter_count() const noexcept;
  /// @return The backend actually in use (never automatic).
  /// @note Host only; no device work.
  backend_kind backend() const noexcept;
  /// @return The configuration the evaluator was constructed with.
  /// @note Host only; no device work.
  const rollout_config& cfg() const noexcept;

  /// Evaluates host parameters to host returns.
  ///
  /// On the cuda backend the parameters are copied to the device and back.
  /// @param params params.rows x parameter_count() host parameters, one controller per row.
  /// @param returns params.rows host floats, written with each controller's return.
  /// @param generation Keys the start states (with cfg().seed).
  /// @param first_individual The population index of row 0, which keys its start states with the
  ///        generation: a process evaluating rows [b, e) of a population passes b, so every
  ///        individual gets the start states it gets in one evaluation of the whole population.
  /// @throws invalid_argument when params.cols is not parameter_count(), rows < 0, or a pointer is
  ///         null (rows > 0).
  /// @throws out_of_memory if the device staging buffers cannot be allocated (cuda backend).
  /// @throws cuda_error if a copy or the kernel launch fails (cuda backend).
  /// @note cuda backend: waits for the evaluator's stream (the returns are on the host when it
  ///       returns). cpu backend: host only, on cfg().cpu_threads threads.
  void evaluate(population_view params, float* returns, std::uint64_t generation, std::uint64_t first_individual = 0);

  /// Evaluates device parameters to device returns (cuda backend only).
  /// @param d_params d_params.rows x parameter_count() parameters in device memory.
  /// @param d_returns d_params.rows floats of device memory, written in stream order.
  /// @param generation Keys the start states (with cfg().seed).
  /// @param stream The stream to enqueue the rollout kernels on.
  /// @param first_individual The population index of row 0 (as in evaluate()).
  /// @throws logic_error on the cpu backend.
  /// @throws invalid_argument as evaluate().
  /// @throws cuda_error if the launch fails.
  /// @note Only enqueues on `stream` (on the evaluator's device); no synchronization.
  void evaluate_device(population_view d_params, float* d_returns, std::uint64_t generation, cuda_stream stream,
                       std::uint64_t first_individual = 0);

  /// Environment steps simulated by the last evaluate() (sum over individuals and episodes).
  ///
  /// After evaluate_device() it is unknown (-1): count the steps of its returns, copied to the host,
  /// with count_steps() (which does not change this value). For a rewarded environment, whose
  /// returns are not lengths, it is unknown (-1) after any evaluation of one or more rows; an
  /// evaluation of zero rows sets it to 0.
  /// @return The step count, or -1 when unknown.
  /// @note Host only; no device work.
  long long last_steps() const noexcept;
  /// Steps simulated for these returns: sum of returns times episodes.
  /// @param returns n host returns from evaluate() or evaluate_device().
  /// @param n The number of returns (>= 0).
  /// @return The steps, each return times cfg().episodes rounded to the nearest integer, summed.
  /// @throws logic_error for a rewarded environment.
  /// @throws invalid_argument for n < 0 or null `returns` (n > 0), and naming the index and value
  ///         of a return outside [1, max_steps] (NaN included).
  /// @note Host only; no device work.
  long long count_steps(const float* returns, int n) const;

 private:
  struct impl;
  std::unique_ptr<impl> p_;
};

/// The evaluator for cart-pole: rollout_evaluator(cfg, cartpole_environment()).
class cartpole_evaluator final : public rollout_evaluator {
 public:
  /// @param cfg What to simulate; layers must start with 4 and end with 2.
  /// @throws invalid_argument as rollout_evaluator's constructor.
  /// @throws device_unavailable as rollout_evaluator's constructor.
  /// @throws cuda_error as rollout_evaluator's constructor.
  /// @note As rollout_evaluator's constructor: no device work is enqueued or waited for.
  explicit cartpole_evaluator(const rollout_config& cfg) : rollout_evaluator(cfg, cartpole_environment()) {}
};

}  // namespace diffevo
