#pragma once
// A continuous-action environment, written as a user would: Gymnasium's Pendulum-v1. A pendulum hangs
// from a motor that applies a torque in [-2, 2]; it starts at a random angle and speed and should be
// swung up and held upright. It never terminates (Gymnasium truncates at 200 steps). Each step costs
// angle² + 0.1 speed² + 0.001 torque² (at most pi² + 6.4 + 0.004 = 16.27), so the return to maximize
// is the sum of the negated costs, at most 0.
//
// `action_dim` instead of `num_actions` makes the actions continuous: step receives the MLP's outputs
// as they are (one here: the torque, clipped to [-2, 2] as Gymnasium does).
#include <cmath>
#include <cstdint>

#include "diffevo/detail/hd.hpp"
#include "diffevo/detail/random.hpp"

struct pendulum {
  static constexpr int obs_dim = 3;     ///< cos(angle), sin(angle), angular speed
  static constexpr int action_dim = 1;  ///< the torque

  static constexpr double max_speed = 8, dt = 0.05, g = 10, m = 1, l = 1, pi = 3.141592653589793;
  static constexpr float max_torque = 2;

  struct state {
    double theta, theta_dot;  ///< angle (0 = upright) and angular speed
  };

  /// Angle uniform in [-pi, pi], speed in [-1, 1] (Gymnasium's reset), a pure function of the key.
  DIFFEVO_HD static state reset(std::uint64_t key) {
    return state{diffevo::detail::uniform_pm(key, 0, pi), diffevo::detail::uniform_pm(key, 1, 1.0)};
  }

  /// x wrapped into [-pi, pi] as NumPy's ((x + pi) % (2 pi)) - pi rounds it.
  DIFFEVO_HD static double angle_normalize(double x) {
    const double two_pi = 2 * pi;
    double r = ::fmod(x + pi, two_pi);
    if (r < 0) r += two_pi;
    if (r == 0) r = 0;  // NumPy's remainder returns +0
    return r - pi;
  }

  /// Gymnasium's update, in its order and precision: the torque stays a float32 (NumPy 2 keeps the
  /// Python constants it meets in float32), the state is float64. One difference: NumPy squares a
  /// float32 scalar with the C library's powf, which glibc rounds differently from u * u for about
  /// 0.07 % of torques; here the square is the correctly rounded u * u, so for those torques the
  /// reward's torque term differs in its last float32 bit (below 1e-9). The state never differs.
  /// A NaN torque (from non-finite parameters) applies none, where Gymnasium would carry the NaN into
  /// the state.
  DIFFEVO_HD static bool step(state& s, const float* action, double& reward) {
    float u = action[0];
    u = u != u ? 0.0f : (u < -max_torque ? -max_torque : (u > max_torque ? max_torque : u));
    const double a = angle_normalize(s.theta);
    const float torque_cost = 0.001f * (u * u);
    const double costs = a * a + 0.1 * (s.theta_dot * s.theta_dot) + static_cast<double>(torque_cost);
    const float torque_term = 3.0f / static_cast<float>(m * l * l) * u;
    double theta_dot = s.theta_dot + (3 * g / (2 * l) * ::sin(s.theta) + static_cast<double>(torque_term)) * dt;
    theta_dot = theta_dot < -max_speed ? -max_speed : (theta_dot > max_speed ? max_speed : theta_dot);
    s.theta += theta_dot * dt;
    s.theta_dot = theta_dot;
    reward = -costs;
    return false;
  }

  /// As Gymnasium's observation; normalised: the speed divided by its bound, 8.
  DIFFEVO_HD static void observe(const state& s, bool normalize, float* obs) {
    obs[0] = static_cast<float>(::cos(s.theta));
    obs[1] = static_cast<float>(::sin(s.theta));
    obs[2] = static_cast<float>(normalize ? s.theta_dot / max_speed : s.theta_dot);
  }
};
