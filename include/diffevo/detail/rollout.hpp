#pragma once
/// \file
/// The batched rollout's plain C++ parts, shared by the library and diffevo/rollout.cuh: the settings
/// a kernel receives, the start-state key, and the host loop over controllers for any environment.

#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "diffevo/detail/hd.hpp"
#include "diffevo/detail/parallel.hpp"
#include "diffevo/detail/random.hpp"
#include "diffevo/env/mlp.hpp"

namespace diffevo::detail {

/// Plain-data rollout settings, passed by value into kernels.
struct rollout_params {
  env::mlp_shape shape;
  int episodes;
  int max_steps;
  bool normalize;
  std::uint64_t seed;
  bool fixed_start;
  /// The population index of the first row evaluated (a process evaluating rows [b, e) of the
  /// population passes b), so an individual's start states do not depend on how rows are split.
  std::uint64_t first_individual;
};

/// The key of an episode's start state (rollout_config::fixed_start: one start for everyone).
DIFFEVO_HD inline std::uint64_t start_key(const rollout_params& rp, std::uint64_t generation, std::uint64_t individual,
                                          int episode) {
  const std::uint64_t e = static_cast<std::uint64_t>(episode);
  return rp.fixed_start ? episode_key(rp.seed, 0, 0, e)
                        : episode_key(rp.seed, generation, rp.first_individual + individual, e);
}

/// What the device kernels' choice of mapping depends on: the shared-memory opt-in limit per block
/// and the SM count of the evaluator's device.
struct rollout_device_limits {
  int optin = 48 * 1024, sms = 1;
};

/// One controller's MLP on the host (compiled in the library, host/rollout/rollout_cpu.cpp): the weights are
/// transposed once per load so each layer is a vectorized dense layer, with exactly the per-output
/// summation order of env::dense_unit (bias, then k ascending), so the actions are the reference
/// forward pass's bit for bit.
class host_mlp {
 public:
  explicit host_mlp(const env::mlp_shape& s);
  /// One controller's parameters in the docs/algorithm.md §7 layout.
  void load(const float* params);
  /// The outputs (widths[layers - 1] floats, valid until the next call) for an observation of
  /// widths[0] floats.
  const float* forward(const float* obs);

 private:
  env::mlp_shape s_;
  std::vector<float> wt_, a_, b_;
};

/// Whether Env's actions are continuous: it has `action_dim` (the MLP's outputs are the action, passed
/// to step as `const float*`) instead of `num_actions` (the argmax of the outputs, passed as `int`).
template <class Env, class = void>
struct env_is_continuous : std::false_type {};
template <class Env>
struct env_is_continuous<Env, std::void_t<decltype(Env::action_dim)>> : std::true_type {};

template <class Env, class = void>
struct env_is_discrete : std::false_type {};
template <class Env>
struct env_is_discrete<Env, std::void_t<decltype(Env::num_actions)>> : std::true_type {};

/// What Env::step takes as its action.
template <class Env>
using env_action_t = std::conditional_t<env_is_continuous<Env>::value, const float*, int>;

/// The MLP's last width for Env: num_actions logits, or action_dim action components (0 for neither).
template <class Env>
DIFFEVO_HD constexpr int env_outputs() {
  if constexpr (env_is_continuous<Env>::value)
    return Env::action_dim;
  else if constexpr (env_is_discrete<Env>::value)
    return Env::num_actions;
  else
    return 0;
}

/// Whether Env rewards its steps: it has `step(state&, action, double& reward)` (else every step earns
/// 1, and a return is an episode length).
template <class Env, class = void>
struct env_has_rewards : std::false_type {};
template <class Env>
struct env_has_rewards<Env, std::void_t<decltype(Env::step(std::declval<typename Env::state&>(),
                                                            std::declval<env_action_t<Env>>(),
                                                            std::declval<double&>()))>> : std::true_type {};

/// Whether Env has `bool step(state&, action)` for its action type (int or const float*).
template <class Env, class = void>
struct env_has_plain_step : std::false_type {};
template <class Env>
struct env_has_plain_step<
    Env, std::enable_if_t<std::is_convertible_v<decltype(Env::step(std::declval<typename Env::state&>(),
                                                                   std::declval<env_action_t<Env>>())),
                                                bool>>> : std::true_type {};

/// One step of Env for the MLP's `outputs` (env_outputs<Env>() floats): the argmax action of a discrete
/// environment, the outputs themselves for a continuous one. Adds the step's reward to
/// `episode_return` (1 for an environment without rewards). True when the episode terminates.
template <class Env>
DIFFEVO_HD inline bool env_step(typename Env::state& s, const float* outputs, double& episode_return) {
  env_action_t<Env> action;
  if constexpr (env_is_continuous<Env>::value)
    action = outputs;
  else
    action = env::argmax(outputs, Env::num_actions);
  if constexpr (env_has_rewards<Env>::value) {
    double r = 0;
    const bool done = Env::step(s, action, r);
    episode_return += r;
    return done;
  } else {
    episode_return += 1;
    return Env::step(s, action);
  }
}

/// Compile-time checks of the environment concept (diffevo/env/cartpole.hpp has the shape).
template <class Env>
constexpr void check_environment() {
  constexpr bool continuous = env_is_continuous<Env>::value, discrete = env_is_discrete<Env>::value;
  static_assert(continuous || discrete,
                "Env needs `static constexpr int num_actions` (discrete actions: the argmax of the MLP's "
                "outputs, an int) or `static constexpr int action_dim` (continuous: the outputs, a const float*)");
  static_assert(!(continuous && discrete), "Env has both num_actions (discrete) and action_dim (continuous): keep one");
  if constexpr (continuous != discrete) {
    using state = typename Env::state;
    using action = env_action_t<Env>;
    static_assert(Env::obs_dim >= 1 && env_outputs<Env>() >= 1,
                  "Env::obs_dim and Env::num_actions (or Env::action_dim) must be >= 1");
    static_assert(std::is_trivially_copyable_v<state>, "Env::state must be trivially copyable (it lives in kernels)");
    static_assert(std::is_same_v<decltype(Env::reset(std::uint64_t{})), state>,
                  "Env::reset(std::uint64_t key) must return an Env::state");
    if constexpr (env_has_rewards<Env>::value)
      static_assert(std::is_convertible_v<decltype(Env::step(std::declval<state&>(), std::declval<action>(),
                                                             std::declval<double&>())),
                                          bool>,
                    "Env::step(Env::state&, action, double& reward) must return bool (true: the episode terminates)");
    else
      static_assert(env_has_plain_step<Env>::value,
                    "Env needs step(Env::state&, action) returning bool (true: the episode terminates), or "
                    "step(Env::state&, action, double& reward); the action is an int with num_actions, a "
                    "const float* (the MLP's outputs) with action_dim");
    static_assert(std::is_void_v<decltype(Env::observe(std::declval<const state&>(), true, std::declval<float*>()))>,
                  "Env::observe(const Env::state&, bool normalize, float* obs) must write obs_dim floats");
  }
}

/// The mean episode return of one controller (its weights loaded in `net`); without rewards, the
/// mean episode length.
template <class Env>
float rollout_one(const rollout_params& rp, host_mlp& net, std::uint64_t generation, std::uint64_t individual) {
  double total = 0;  // the episodes' returns
  float obs[Env::obs_dim];
  for (int e = 0; e < rp.episodes; ++e) {
    typename Env::state s = Env::reset(start_key(rp, generation, individual, e));
    int t = 0;
    while (t < rp.max_steps) {
      Env::observe(s, rp.normalize, obs);
      ++t;
      if (env_step<Env>(s, net.forward(obs), total)) break;
    }
  }
  return static_cast<float>(total / rp.episodes);
}

/// Host threads: returns[i] for the n controllers of `params` (n x P, row-major).
template <class Env>
void rollout_host(const rollout_params& rp, const float* params, int n, float* returns, std::uint64_t generation,
                  int threads) {
  const std::size_t p = static_cast<std::size_t>(rp.shape.parameter_count());
  parallel_rows(n, threads, [&](int b, int e) {
    host_mlp net(rp.shape);
    for (int i = b; i < e; ++i) {
      net.load(params + static_cast<std::size_t>(i) * p);
      returns[i] = rollout_one<Env>(rp, net, generation, static_cast<std::uint64_t>(i));
    }
  });
}

}  // namespace diffevo::detail
