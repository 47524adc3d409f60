#pragma once
// Environments of the tests' own (beside examples/mountain_car.hpp, the user's one), for
// test_environment.cu and test_continuous_environment.cu (host) and test_gpu_environment.cu (cpu vs
// cuda).
#include <cmath>
#include <cstdint>

#include "examples/mountain_car.hpp"
#include "diffevo/detail/hd.hpp"
#include "diffevo/detail/random.hpp"

// Mountain car with rewards (detail::env_has_rewards): -1 per step, +0.5 instead on the right of the
// valley's bottom. Returns are then sums of rewards, no longer episode lengths. The rewards are
// halves and ones, so their sums are exact: cpu and cuda agree unless an episode's path differs.
struct rewarded_car : mountain_car {
  DIFFEVO_HD static bool step(state& s, int action, double& reward) {
    const bool done = mountain_car::step(s, action);
    reward = s.position > 0 ? 0.5 : -1.0;
    return done;
  }
};

// More actions (40) than the hidden2<32> mapping has threads: a walker on a line that picks its step
// size, out at |x| > 1. Its nets never take that mapping (detail::hidden2_supports).
struct many_actions {
  static constexpr int obs_dim = 1, num_actions = 40;
  struct state {
    double x;
  };
  DIFFEVO_HD static state reset(std::uint64_t key) { return state{diffevo::detail::uniform_pm(key, 0, 0.5)}; }
  DIFFEVO_HD static bool step(state& s, int action) {
    s.x += (action - 19.5) * 0.002 + 0.01 * ::sin(7 * s.x);
    return s.x < -1 || s.x > 1;
  }
  DIFFEVO_HD static void observe(const state& s, bool, float* obs) { obs[0] = static_cast<float>(s.x); }
};

// Continuous actions in two dimensions: a point mass pushed toward the origin by the net's two
// outputs (clipped to [-1, 1], NaN as 0), rewarded -|position| per step, done inside a small disc.
struct point_mass {
  static constexpr int obs_dim = 4, action_dim = 2;
  struct state {
    double x, y, vx, vy;
  };
  DIFFEVO_HD static state reset(std::uint64_t key) {
    return state{diffevo::detail::uniform_pm(key, 0, 1.0), diffevo::detail::uniform_pm(key, 1, 1.0), 0.0, 0.0};
  }
  DIFFEVO_HD static double force(float a) { return a != a ? 0.0 : (a < -1 ? -1.0 : (a > 1 ? 1.0 : a)); }
  DIFFEVO_HD static bool step(state& s, const float* action, double& reward) {
    s.vx = 0.9 * s.vx + 0.05 * force(action[0]);
    s.vy = 0.9 * s.vy + 0.05 * force(action[1]);
    s.x += s.vx;
    s.y += s.vy;
    const double r = ::sqrt(s.x * s.x + s.y * s.y);
    reward = -r;
    return r < 0.05;
  }
  DIFFEVO_HD static void observe(const state& s, bool, float* obs) {
    obs[0] = static_cast<float>(s.x);
    obs[1] = static_cast<float>(s.y);
    obs[2] = static_cast<float>(s.vx * 10);
    obs[3] = static_cast<float>(s.vy * 10);
  }
};
