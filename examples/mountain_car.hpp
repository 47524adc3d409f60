#pragma once
// A second environment, written as a user would: a copy of diffevo/env/cartpole.hpp with the physics
// of Gymnasium's MountainCar-v0 (Moore 1990). The car starts in a valley and must reach the flag at
// position 0.5 on the right hill; its engine is too weak to drive straight up, so it has to swing.
// The episode terminates at the flag; Gymnasium truncates at 200 steps. Every step costs reward -1, so
// the return to minimize is the episode length the evaluator reports.
#include <cmath>
#include <cstdint>

#include "diffevo/detail/hd.hpp"
#include "diffevo/detail/random.hpp"

struct mountain_car {
  static constexpr int obs_dim = 2;      ///< position, velocity
  static constexpr int num_actions = 3;  ///< 0 = accelerate left, 1 = coast, 2 = accelerate right

  static constexpr double min_position = -1.2, max_position = 0.6, max_speed = 0.07, goal_position = 0.5,
                          force = 0.001, gravity = 0.0025;

  struct state {
    double position, velocity;
  };

  /// Position uniform in [-0.6, -0.4], at rest (Gymnasium's reset), a pure function of the key.
  DIFFEVO_HD static state reset(std::uint64_t key) {
    return state{-0.5 + diffevo::detail::uniform_pm(key, 0, 0.1), 0.0};
  }

  /// Gymnasium's update, in its order. Returns true when the car has reached the flag.
  DIFFEVO_HD static bool step(state& s, int action) {
    s.velocity += (action - 1) * force + ::cos(3 * s.position) * (-gravity);
    s.velocity = s.velocity < -max_speed ? -max_speed : (s.velocity > max_speed ? max_speed : s.velocity);
    s.position += s.velocity;
    s.position = s.position < min_position ? min_position : (s.position > max_position ? max_position : s.position);
    if (s.position == min_position && s.velocity < 0) s.velocity = 0;
    return s.position >= goal_position && s.velocity >= 0;
  }

  /// Normalised: both coordinates mapped onto [-1, 1].
  DIFFEVO_HD static void observe(const state& s, bool normalize, float* obs) {
    obs[0] = static_cast<float>(normalize ? (s.position + 0.3) / 0.9 : s.position);
    obs[1] = static_cast<float>(normalize ? s.velocity / max_speed : s.velocity);
  }
};
