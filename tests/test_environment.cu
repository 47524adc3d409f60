// Your own environment (diffevo/rollout.cuh), with examples/mountain_car.hpp as the user's: its
// dynamics against an independent float64 transcription of Gymnasium's MountainCar-v0, a hand-written
// controller's episode lengths through the evaluator against a reference rollout written here, the
// evaluator's errors naming the environment, and cart-pole through make_environment giving the
// library's cartpole_evaluator's returns. Host only (the cuda side: test_gpu_environment.cu).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "../examples/mountain_car.hpp"
#include "diffevo/diffevo.hpp"
#include "diffevo/env/cartpole.hpp"
#include "diffevo/rollout.cuh"
#include "expect.hpp"

using namespace diffevo;

namespace {

// Gymnasium MountainCar-v0 step(), transcribed from its source (float64; np.clip as min/max).
struct gym_car {
  double position, velocity;
};
bool gym_step(gym_car& s, int action) {
  s.velocity += (action - 1) * 0.001 + std::cos(3 * s.position) * (-0.0025);
  s.velocity = std::clamp(s.velocity, -0.07, 0.07);
  s.position += s.velocity;
  s.position = std::clamp(s.position, -1.2, 0.6);
  if (s.position == -1.2 && s.velocity < 0) s.velocity = 0;
  return s.position >= 0.5 && s.velocity >= 0;
}

rollout_config cpu_config(std::vector<int> layers) {
  rollout_config c;
  c.layers = std::move(layers);
  c.max_steps = 200;
  c.seed = 11;
  c.backend = backend_kind::cpu;
  return c;
}

}  // namespace

TEST(OwnEnvironment, MountainCarStepsMatchGymnasium) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> pos(-1.25, 0.65), vel(-0.08, 0.08);
  int terminated = 0, clipped_left = 0;
  for (int i = 0; i < 20000; ++i) {
    mountain_car::state s{pos(rng), vel(rng)};
    if (i % 50 == 0) s = {-1.2 + 1e-4 * (i % 7), -0.07};  // at the left wall, moving into it
    gym_car g{s.position, s.velocity};
    const int a = i % 3;
    const bool done = mountain_car::step(s, a), gdone = gym_step(g, a);
    ASSERT_EQ(done, gdone) << "step " << i;
    ASSERT_EQ(s.position, g.position) << "step " << i;
    ASSERT_EQ(s.velocity, g.velocity) << "step " << i;
    terminated += done;
    clipped_left += s.position == -1.2;
  }
  EXPECT_GT(terminated, 100);  // both branches of termination and the wall were exercised
  EXPECT_GT(clipped_left, 100);
}

TEST(OwnEnvironment, AHandWrittenControllerGivesTheReferenceEpisodeLengths) {
  // 2-3 with no hidden layer: logits (-v, 0, v) push in the direction of motion (ties: left), the
  // classic swing-up; its episodes are computed here with the transcription above.
  const rollout_config c = cpu_config({2, 3});
  rollout_evaluator ev(c, make_environment<mountain_car>("mountain-car"));
  ASSERT_EQ(ev.parameter_count(), 9);
  const int n = 300;
  const std::vector<float> one = {0, -1, 0, 0, 0, 1, 0, 0, 0};  // W (3 x 2, row-major), then 3 biases
  std::vector<float> params;
  for (int i = 0; i < n; ++i) params.insert(params.end(), one.begin(), one.end());
  std::vector<float> got(n);
  ev.evaluate(population_view{params.data(), n, 9}, got.data(), 4);
  detail::rollout_params rp{};
  rp.seed = c.seed;
  double mean = 0;
  for (int i = 0; i < n; ++i) {
    const std::uint64_t key = detail::start_key(rp, 4, static_cast<std::uint64_t>(i), 0);
    gym_car g{-0.5 + detail::uniform_pm(key, 0, 0.1), 0.0};
    ASSERT_GE(g.position, -0.6);
    ASSERT_LE(g.position, -0.4);
    int t = 1;
    for (;; ++t) {
      const float v = static_cast<float>(g.velocity / 0.07);
      if (gym_step(g, v > 0 ? 2 : 0) || t == 200) break;
    }
    ASSERT_EQ(got[i], static_cast<float>(t)) << "controller " << i;
    mean += t / static_cast<double>(n);
  }
  // The swing-up reaches the flag from every start of the valley (the episode lengths themselves were
  // checked one by one above).
  const auto [lo, hi] = std::minmax_element(got.begin(), got.end());
  std::printf("[ swing-up ] episode lengths %.0f to %.0f, mean %.2f over %d starts\n", *lo, *hi, mean, n);
  EXPECT_LT(*hi, 200.0f);
  EXPECT_EQ(ev.last_steps(), static_cast<long long>(std::llround(mean * n)));
}

TEST(OwnEnvironment, ErrorsNameTheEnvironment) {
  const rollout_environment car = make_environment<mountain_car>("mountain-car");
  EXPECT_EQ(car.obs_dim, 2);
  EXPECT_EQ(car.num_actions, 3);
  expect_message<invalid_argument>([&] { rollout_evaluator e(cpu_config({4, 8, 3}), car); },
                                   "layers[0] must be 2 (the mountain-car observation size; got 4 in 4-8-3)");
  expect_message<invalid_argument>([&] { rollout_evaluator e(cpu_config({2, 8, 2}), car); },
                                   "the last layer width must be 3 (one logit per mountain-car action; got 2");
  rollout_environment incomplete = car;
  incomplete.run_host = nullptr;
  expect_message<invalid_argument>([&] { rollout_evaluator e(cpu_config({2, 3}), incomplete); },
                                   "environment: incomplete");
  expect_message<invalid_argument>([&] { rollout_evaluator e(cpu_config({2, 3}), rollout_environment{}); },
                                   "environment: incomplete");
}

TEST(OwnEnvironment, CartpoleThroughMakeEnvironmentIsTheLibrarysEvaluator) {
  rollout_config c = cpu_config({4, 8, 2});
  c.max_steps = 500;
  c.episodes = 2;
  cartpole_evaluator lib(c);
  rollout_evaluator own(c, make_environment<env::cartpole>("cart-pole"));
  EXPECT_STREQ(lib.environment().name, "cart-pole");
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0, 1);
  const int n = 200;
  std::vector<float> params(static_cast<std::size_t>(n) * 58);
  for (float& v : params) v = nd(rng);
  std::vector<float> a(n), b(n);
  lib.evaluate(population_view{params.data(), n, 58}, a.data(), 2);
  own.evaluate(population_view{params.data(), n, 58}, b.data(), 2);
  EXPECT_EQ(a, b);
  EXPECT_GT(*std::max_element(a.begin(), a.end()), 30.0f);  // some episodes are long
}
