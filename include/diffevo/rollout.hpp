#pragma once
/// \file
/// Batched cart-pole evaluation (SPEC §7): a whole population of MLP controllers in one call, on the
/// cpu (host threads) or cuda (one kernel) backend, with the same dynamics and MLP code on both.

#include <cstdint>
#include <memory>
#include <vector>

#include "diffevo/config.hpp"
#include "diffevo/optimizer.hpp"

namespace diffevo {

/// What to simulate. Validated by the evaluator's constructor (invalid_argument naming the field).
struct rollout_config {
  std::vector<int> layers{4, 8, 2};  ///< MLP widths: 4 observations in, 2 actions out, 2 to 8 layers, each <= 2^20
  int episodes = 1;                  ///< per individual; the return is their mean
  int max_steps = 500;               ///< truncation (Gymnasium: 500)
  bool normalize_obs = true;         ///< SPEC §7 observation normalisation
  std::uint64_t seed = 0;            ///< start states are a function of (seed, generation, individual, episode)
  /// false (SPEC §7): every episode starts from its own random state. true: every individual in every
  /// generation starts episode e from the same state (common random numbers, noise-free fitness with
  /// one episode; the authors' experiment code resets Gymnasium with one fixed seed).
  bool fixed_start = false;
  backend_kind backend = backend_kind::automatic;
  int cpu_threads = 0;               ///< cpu backend; 0 = hardware concurrency. Results do not depend on it.
};

/// Evaluates populations of cart-pole controllers. Returns are in [1, max_steps]: the mean over
/// episodes of the steps survived, counting the terminating step. Non-finite parameters are legal:
/// ReLU maps NaN to 0 and a NaN logit never wins the argmax over a number (all NaN: action 0), so
/// the return is still defined.
class cartpole_evaluator {
 public:
  explicit cartpole_evaluator(const rollout_config& cfg);
  ~cartpole_evaluator();
  cartpole_evaluator(cartpole_evaluator&&) noexcept;
  cartpole_evaluator& operator=(cartpole_evaluator&&) noexcept;

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
  /// After evaluate_device() it is unknown (-1) until `count_steps(host returns)`.
  long long last_steps() const noexcept;
  /// Steps simulated for these returns: sum of returns times episodes.
  long long count_steps(const float* returns, int n) const;

 private:
  struct impl;
  std::unique_ptr<impl> p_;
};

}  // namespace diffevo
