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
#include <string>
#include <vector>

#include "tests/helpers/test_environments.hpp"
#include "diffevo/diffevo.hpp"
#include "diffevo/env/cartpole.hpp"
#include "diffevo/rollout.cuh"
#include "tests/helpers/expect.hpp"

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

// Trajectories computed by Gymnasium itself (tests/rollout/gymnasium_mountain_car.py prints this table):
// from a set state, a policy's states at every 10th step and the last, as exact doubles.
struct checkpoint {
  int step;
  double position, velocity;
  bool terminated;
};
struct golden_trajectory {
  double position, velocity;
  const char* policy;  // right, left, coast, or swing (push in the direction of motion, left at rest)
  std::vector<checkpoint> points;
};
const std::vector<golden_trajectory>& gymnasium_trajectories() {
  // gymnasium 1.4.0: start position, start velocity, policy, checkpoints
  static const std::vector<golden_trajectory> t = {
    {-0.5, 0.0, "right", {{10, -0.4576895848965753, 0.007254692062725155, false}, {20, -0.36728764860273211, 0.0095358643064503423, false}, {30, -0.28850218185048093, 0.0057564639788999644, false}, {40, -0.26855587676821391, -0.0012795873773265353, false}, {50, -0.31846478881797813, -0.0076236327922376114, false}, {60, -0.4099055076557569, -0.0094821414817481981, false}}},
    {-1.1, -0.05, "left", {{10, -1.1647268252899894, 0.0089127877903156429, false}, {20, -0.99768155296350547, 0.02334484214326223, false}, {30, -0.69517326572240445, 0.034200425212998771, false}, {40, -0.38005628890379617, 0.025761696563866572, false}}},
    {0.3, 0.02, "coast", {{10, 0.43108329474139667, 0.0088128142452641983, false}, {20, 0.48999094573506619, 0.0041666417716942133, false}, {23, 0.50109636794457546, 0.0034978042096099858, true}}},
    {-0.5, 0.0, "swing", {{10, -0.56047391725188955, -0.010364912116038304, false}, {20, -0.68929649867054976, -0.013553076900667255, false}, {30, -0.80133451129586475, -0.0082519882726858791, false}, {40, -0.83065962379354907, 0.0033138855668461823, false}, {50, -0.64331885207039663, 0.029857627605661061, false}, {60, -0.28280319323442443, 0.037192781433729331, false}, {70, 0.029601533913861708, 0.024977882759017009, false}, {80, 0.20332746473993835, 0.01182376021821838, false}, {90, 0.27069333779950272, 0.00309720810751215, false}, {100, 0.2325751048709257, -0.014189070896705779, false}, {110, -0.083247771824707592, -0.046853554420147374, false}, {120, -0.69863409778388352, -0.068054956541066608, false}, {130, -1.194270205713714, 0.0044878982454506959, false}, {140, -0.96479050148651846, 0.038481993575760251, false}, {150, -0.42483165994736111, 0.062126840771030943, false}, {160, 0.1587533228802937, 0.052494214157606862, false}, {167, 0.50591108526202844, 0.049440816003469515, true}}},
    {-0.45, 0.0, "swing", {{10, -0.52960074048783901, -0.013651139935692924, false}, {20, -0.69917217844823398, -0.017819413222447362, false}, {30, -0.84696733826699344, -0.011027162263364294, false}, {40, -0.89384861133594751, 0.00079483123315860155, false}, {50, -0.71457919507445467, 0.030813281048497641, false}, {60, -0.31938225422494826, 0.042357282443607258, false}, {70, 0.05021126833969454, 0.030791434355821708, false}, {80, 0.28812067601677871, 0.019324255069268995, false}, {90, 0.46571290112000829, 0.018234860448995024, false}, {92, 0.50402624028277365, 0.019510443982001576, true}}},
  };
  return t;
}

int golden_action(const std::string& policy, double velocity) {
  if (policy == "right") return 2;
  if (policy == "left") return 0;
  if (policy == "coast") return 1;
  return velocity > 0 ? 2 : 0;
}

static_assert(detail::env_has_rewards<rewarded_car>::value && !detail::env_has_rewards<mountain_car>::value);

// The swing-up controller, 2-3 with no hidden layer: logits (-v, 0, v) push in the direction of
// motion (ties: left). n copies, as a parameter matrix.
std::vector<float> swing_up_copies(int n) {
  const std::vector<float> one = {0, -1, 0, 0, 0, 1, 0, 0, 0};  // W (3 x 2, row-major), then 3 biases
  std::vector<float> params;
  for (int i = 0; i < n; ++i) params.insert(params.end(), one.begin(), one.end());
  return params;
}

// One swing-up episode along the Gymnasium transcription, from the start state of `key` (the
// evaluator's reset, position -0.5 + uniform_pm(key, 0, 0.1), at rest), truncated at 200 steps;
// after_step(state) is called after every step. Returns the episode length.
template <class AfterStep>
int reference_swing_up(std::uint64_t key, AfterStep after_step) {
  gym_car g{-0.5 + detail::uniform_pm(key, 0, 0.1), 0.0};
  for (int t = 1;; ++t) {
    const bool done = gym_step(g, static_cast<float>(g.velocity / 0.07) > 0 ? 2 : 0);
    after_step(g);
    if (done || t == 200) return t;
  }
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

TEST(OwnEnvironment, MountainCarFollowsGymnasiumsOwnTrajectories) {
  int terminated = 0;
  for (const golden_trajectory& g : gymnasium_trajectories()) {
    mountain_car::state s{g.position, g.velocity};
    std::size_t next = 0;
    for (int t = 1; next < g.points.size(); ++t) {
      const bool done = mountain_car::step(s, golden_action(g.policy, s.velocity));
      if (t != g.points[next].step) {
        ASSERT_FALSE(done) << g.policy << " from " << g.position << ": terminated early at step " << t;
        continue;
      }
      const checkpoint& c = g.points[next++];
      EXPECT_EQ(s.position, c.position) << g.policy << " from " << g.position << ", step " << t;
      EXPECT_EQ(s.velocity, c.velocity) << g.policy << " from " << g.position << ", step " << t;
      EXPECT_EQ(done, c.terminated) << g.policy << " from " << g.position << ", step " << t;
      terminated += done;
    }
  }
  EXPECT_EQ(terminated, 3);  // coast from 0.3, and both swing-ups, reach the flag
}

TEST(OwnEnvironment, ResetDrawsThePositionUniformlyInTheValleyAtRest) {
  double lo = 0, hi = -1, mean = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const mountain_car::state s = mountain_car::reset(detail::episode_key(1, 2, static_cast<std::uint64_t>(i), 0));
    ASSERT_EQ(s.velocity, 0.0);
    lo = std::min(lo, s.position);
    hi = std::max(hi, s.position);
    mean += s.position / n;
  }
  EXPECT_GE(lo, -0.6);
  EXPECT_LT(lo, -0.599);
  EXPECT_LE(hi, -0.4);
  EXPECT_GT(hi, -0.401);
  EXPECT_NEAR(mean, -0.5, 0.002);  // standard error 0.0004
}

TEST(OwnEnvironment, AHandWrittenControllerGivesTheReferenceEpisodeLengths) {
  // The classic swing-up (swing_up_copies); its episodes are computed here with the transcription.
  const rollout_config c = cpu_config({2, 3});
  rollout_evaluator ev(c, make_environment<mountain_car>("mountain-car"));
  ASSERT_EQ(ev.parameter_count(), 9);
  const int n = 300;
  const std::vector<float> params = swing_up_copies(n);
  std::vector<float> got(n);
  ev.evaluate(population_view{params.data(), n, 9}, got.data(), 4);
  detail::rollout_params rp{};
  rp.seed = c.seed;
  double mean = 0;
  for (int i = 0; i < n; ++i) {
    const std::uint64_t key = detail::start_key(rp, 4, static_cast<std::uint64_t>(i), 0);
    ASSERT_GE(-0.5 + detail::uniform_pm(key, 0, 0.1), -0.6);
    ASSERT_LE(-0.5 + detail::uniform_pm(key, 0, 0.1), -0.4);
    const int t = reference_swing_up(key, [](const gym_car&) {});
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

// A type of its own, so that this file compiles its own copy of the cart-pole rollout (with this
// file's flags), never the library's.
struct cartpole_copy : env::cartpole {};

TEST(OwnEnvironment, CartpoleCompiledHereGivesTheLibrarysReturns) {
  rollout_config c = cpu_config({4, 8, 2});
  c.max_steps = 500;
  c.episodes = 2;
  cartpole_evaluator lib(c);
  rollout_evaluator own(c, make_environment<cartpole_copy>("cart-pole copy"));
  EXPECT_STREQ(lib.environment().name, "cart-pole");
  EXPECT_NE(lib.environment().run_host, own.environment().run_host);  // two compiled copies compared
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

TEST(OwnEnvironment, AHostOnlyEnvironmentRunsOnTheCpuAndRefusesCuda) {
  const rollout_environment host_car = make_host_environment<mountain_car>("mountain-car");
  EXPECT_EQ(host_car.launch_device, nullptr);
  rollout_config c = cpu_config({2, 3});
  c.backend = backend_kind::automatic;  // no device code: cpu, whatever the machine has
  rollout_evaluator host_ev(c, host_car);
  EXPECT_EQ(host_ev.backend(), backend_kind::cpu);
  rollout_evaluator full_ev(cpu_config({2, 3}), make_environment<mountain_car>("mountain-car"));
  std::mt19937 rng(8);
  std::normal_distribution<float> nd(0, 1);
  std::vector<float> params(9 * 100);
  for (float& v : params) v = nd(rng);
  std::vector<float> a(100), b(100);
  host_ev.evaluate(population_view{params.data(), 100, 9}, a.data(), 0);
  full_ev.evaluate(population_view{params.data(), 100, 9}, b.data(), 0);
  EXPECT_EQ(a, b);
  c.backend = backend_kind::cuda;
  expect_message<invalid_argument>([&] { rollout_evaluator e(c, host_car); },
                                   "backend = cuda, but the mountain-car environment has no device code");
}

TEST(OwnEnvironment, TheEvaluatorKeepsItsOwnCopyOfTheName) {
  std::string name = "mountain-car";
  rollout_evaluator ev(cpu_config({2, 3}), make_environment<mountain_car>(name.c_str()));
  name.assign(100, 'x');  // the caller's buffer changes (and moves)
  EXPECT_STREQ(ev.environment().name, "mountain-car");
  rollout_evaluator moved(std::move(ev));
  EXPECT_STREQ(moved.environment().name, "mountain-car");
}

TEST(OwnEnvironment, RewardedStepsSumToTheReturn) {
  // The swing-up controller, two episodes each, rewards summed here along the Gymnasium transcription.
  rollout_config c = cpu_config({2, 3});
  c.episodes = 2;
  const rollout_environment car = make_environment<rewarded_car>("rewarded mountain car");
  EXPECT_TRUE(car.rewarded);
  rollout_evaluator ev(c, car);
  const int n = 100;
  const std::vector<float> params = swing_up_copies(n);
  std::vector<float> got(n);
  ev.evaluate(population_view{params.data(), n, 9}, got.data(), 2);
  detail::rollout_params rp{};
  rp.seed = c.seed;
  int positive = 0;
  for (int i = 0; i < n; ++i) {
    double total = 0;
    for (int e = 0; e < 2; ++e)
      reference_swing_up(detail::start_key(rp, 2, static_cast<std::uint64_t>(i), e),
                         [&](const gym_car& g) { total += g.position > 0 ? 0.5 : -1.0; });
    ASSERT_EQ(got[i], static_cast<float>(total / 2)) << "controller " << i;
    positive += got[i] > 0;
  }
  EXPECT_LT(positive, n);  // the sums are not lengths: negative for most controllers
  EXPECT_EQ(ev.last_steps(), -1);
  expect_message<logic_error>([&] { (void)ev.count_steps(got.data(), n); },
                              "the rewarded mountain car environment has rewards");
}
