#pragma once
/// \file
/// Cart-pole with Gymnasium CartPole-v1 semantics (docs/algorithm.md §7), as plain host/device code.
///
/// An environment for the batched rollout is a struct with exactly this shape: compile-time sizes,
/// a `state`, `reset` from a counter key, `step` returning "terminated", and `observe`. A second
/// environment is a copy of this file with the physics edited, given to the evaluator by
/// make_environment<Env>(name) of diffevo/rollout.cuh (examples/mountain_car.hpp is one).

#include <cmath>
#include <cstdint>

#include "diffevo/detail/hd.hpp"
#include "diffevo/detail/random.hpp"

namespace diffevo::env {

struct cartpole {
  static constexpr int obs_dim = 4;      ///< x, x_dot, theta, theta_dot
  static constexpr int num_actions = 2;  ///< 0 = push left (-10 N), 1 = push right (+10 N)

  // Gymnasium's constants.
  static constexpr double gravity = 9.8, masscart = 1.0, masspole = 0.1, total_mass = 1.1, length = 0.5,
                          force_mag = 10.0, tau = 0.02;
  static constexpr double x_threshold = 2.4;
  static constexpr double theta_threshold = 12 * 2 * 3.14159265358979323846 / 360;

  /// Float64 like Gymnasium's Python floats; observations are float32 like its observation array.
  struct state {
    double x, x_dot, theta, theta_dot;
  };

  /// Start state uniform in [-0.05, 0.05]^4, a pure function of the key (seed, generation,
  /// individual, episode): identical on host and device.
  DIFFEVO_HD static state reset(std::uint64_t key) {
    return state{detail::uniform_pm(key, 0, 0.05), detail::uniform_pm(key, 1, 0.05), detail::uniform_pm(key, 2, 0.05),
                 detail::uniform_pm(key, 3, 0.05)};
  }

  /// One explicit-Euler step of 0.02 s (Gymnasium's update order). Returns true when the episode
  /// terminates on this step (|x| > 2.4 or |theta| > 12 degrees); the step still earns its reward.
  DIFFEVO_HD static bool step(state& s, int action) { return advance(s, action, ::cos(s.theta), ::sin(s.theta)); }

  /// step() given costheta = cos(s.theta) and sintheta = sin(s.theta): the part of a step with no call
  /// into the math library, which the cpu evaluator runs for many controllers at once in vector lanes.
  DIFFEVO_HD_INLINE static bool advance(state& s, int action, double costheta, double sintheta) {
    const double force = action == 1 ? force_mag : -force_mag;
    const double polemass_length = masspole * length;
    const double temp = (force + polemass_length * s.theta_dot * s.theta_dot * sintheta) / total_mass;
    const double thetaacc = (gravity * sintheta - costheta * temp) /
                            (length * (4.0 / 3.0 - masspole * costheta * costheta / total_mass));
    const double xacc = temp - polemass_length * thetaacc * costheta / total_mass;
    s.x = s.x + tau * s.x_dot;
    s.x_dot = s.x_dot + tau * xacc;
    s.theta = s.theta + tau * s.theta_dot;
    s.theta_dot = s.theta_dot + tau * thetaacc;
    return s.x < -x_threshold || s.x > x_threshold || s.theta < -theta_threshold || s.theta > theta_threshold;
  }

  /// The observation; normalised (docs/algorithm.md §7) as obs / high * sqrt(3), high = (4.8, 1, 0.41887902, 1).
  DIFFEVO_HD_INLINE static void observe(const state& s, bool normalize, float* obs) {
    const double v[obs_dim] = {s.x, s.x_dot, s.theta, s.theta_dot};
    const double high[obs_dim] = {4.8, 1.0, 0.41887902, 1.0};
    const double sqrt3 = 1.7320508075688772;
    for (int k = 0; k < obs_dim; ++k) obs[k] = static_cast<float>(normalize ? v[k] / high[k] * sqrt3 : v[k]);
  }
};

}  // namespace diffevo::env
