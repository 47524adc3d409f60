// Continuous actions (an environment with `action_dim`): examples/pendulum.hpp, the user's, against
// an independent transcription of Gymnasium's Pendulum-v1 and Gymnasium's own trajectories; the
// evaluator's returns against reference rollouts written here with the reference forward pass
// (env::mlp_forward), for the pendulum and the tests' two-dimensional point_mass; the descriptor and
// the errors. Host only (the cuda side: test_gpu_environment.cu).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "examples/pendulum.hpp"
#include "diffevo/diffevo.hpp"
#include "diffevo/env/cartpole.hpp"
#include "diffevo/rollout.cuh"
#include "tests/helpers/expect.hpp"
#include "tests/helpers/test_environments.hpp"

using namespace diffevo;

namespace trait_checks {  // named: its members are only ever used in static_asserts

// A step that takes the wrong kind of action is found by the trait check_environment's message
// rests on, so the user sees that message rather than a failed call deep in a template.
struct continuous_with_int_step {
  static constexpr int obs_dim = 1, action_dim = 1;
  struct state {
    double x;
  };
  static bool step(state&, int) { return false; }
};
static_assert(!detail::env_has_plain_step<continuous_with_int_step>::value &&
              !detail::env_has_rewards<continuous_with_int_step>::value);
static_assert(detail::env_has_plain_step<mountain_car>::value && !detail::env_has_plain_step<pendulum>::value);
struct no_actions {
  static constexpr int obs_dim = 1;
};
static_assert(detail::env_outputs<no_actions>() == 0 && !detail::env_is_continuous<no_actions>::value &&
              !detail::env_is_discrete<no_actions>::value);

}  // namespace trait_checks

namespace {

static_assert(detail::env_is_continuous<pendulum>::value && detail::env_is_continuous<point_mass>::value);
static_assert(!detail::env_is_continuous<mountain_car>::value && !detail::env_is_continuous<env::cartpole>::value);
static_assert(detail::env_has_rewards<pendulum>::value && detail::env_outputs<point_mass>() == 2);

// Gymnasium Pendulum-v1 step(), transcribed from its source. Under NumPy 2's promotion rules the
// float32 action stays float32 through np.clip, `0.001 * u**2` and `3.0 / (m * l**2) * u`; the state
// and the rest are float64. (NumPy's float32 scalar `u**2` is powf, which GCC would fold into u * u
// anyway; PendulumRewardsAreGymnasiumsUpToOneBitOfTheTorqueCost measures the difference.)
// angle_normalize's `%` is NumPy's remainder (fmod, then the divisor's sign).
struct gym_pendulum {
  double th, thdot;
};
double numpy_remainder(double a, double b) {
  double m = std::fmod(a, b);
  if (m != 0) {
    if ((b < 0) != (m < 0)) m += b;
  } else {
    m = std::copysign(0.0, b);
  }
  return m;
}
double gym_step(gym_pendulum& s, float action) {  // returns the reward
  const double pi = 3.141592653589793;
  const float u = std::clamp(action, -2.0f, 2.0f);
  const double a = numpy_remainder(s.th + pi, 2 * pi) - pi;
  const double costs = a * a + 0.1 * (s.thdot * s.thdot) + static_cast<double>(0.001f * (u * u));
  double thdot = s.thdot + (3 * 10.0 / (2 * 1.0) * std::sin(s.th) + static_cast<double>(3.0f * u)) * 0.05;
  thdot = std::clamp(thdot, -8.0, 8.0);
  s.th = s.th + thdot * 0.05;
  s.thdot = thdot;
  return -costs;
}

// Trajectories computed by Gymnasium itself (tests/rollout/gymnasium_pendulum.py prints this table): from a
// set state, a policy's states and summed rewards at every 25th step and the last, as exact doubles.
struct checkpoint {
  int step;
  double theta, theta_dot, total;
};
struct golden_trajectory {
  double theta, theta_dot;
  const char* policy;
  std::vector<checkpoint> points;
};
const std::vector<golden_trajectory>& gymnasium_trajectories() {
  // gymnasium 1.4.0, numpy 2.4.6: start theta, start theta_dot, policy, checkpoints
  static const std::vector<golden_trajectory> t = {
    {3.0, 0.5, "hold", {{25, 3.1068185894702252, -1.109760189829436, -210.82865025989139}, {50, 3.5423764274525147, -0.6582859923574288, -424.91486049964419}, {75, 3.5061759317207382, 0.98500229374626946, -649.15755999755072}, {100, 3.0639233210360222, 0.83508891044725542, -859.59767840327902}}},
    {-2.5, -1.0, "over", {{25, -2.4394857966225842, 0.96048103857147904, -204.87956849181742}, {50, -2.9964540346959088, 0.82562130801453681, -391.60481155701717}, {75, -2.9189679270991213, -1.2287941389717774, -563.7944288085946}, {100, -2.3859778923901955, -0.46742961718485387, -757.95157986984441}}},
    {0.4, 0.0, "pd", {{25, 0.073339480684373806, -0.33667486656246415, -2.9241023403614852}, {50, -0.00088881115142094738, 0.0033393328140856864, -2.9765338466607529}, {75, 9.849946289918481e-06, -2.8830641280232279e-05, -2.9765406710142299}, {100, -9.8947578385573459e-08, 1.906745717985287e-07, -2.9765406717807625}, {125, 8.7041116734588289e-10, -3.5641425334771143e-10, -2.9765406717808358}, {150, -6.0071347005494619e-12, -1.7677385063811685e-11, -2.9765406717808358}, {175, 1.6309765609711692e-14, 4.3929228444052311e-13, -2.9765406717808358}, {200, 4.4439145606122129e-16, -7.3581904869352616e-15, -2.9765406717808358}}},
    {3.1, 0.0, "swing", {{25, 2.8910788167190318, -4.8460359259150021, -188.31632635778448}, {50, 2.9710194701163513, 8, -292.47414558267934}, {75, 12.060138391380821, 6.1178045351464503, -516.14660684670798}, {100, 21.171461289134381, 8, -709.04528341149785}, {125, 30.423083261508836, 6.5719122580420208, -945.71752949991605}, {150, 39.371223412412689, 8, -1130.3111092665979}, {175, 48.720835228848713, 7.3070645383827584, -1370.5321492460132}, {200, 57.590564238115114, 7.7181638490585298, -1555.8962689890573}}},
    {-3.14, 0.9, "pd", {{25, -2.5495081296735735, 0.32124328548985942, -209.21648663998556}, {50, -2.8201690585555057, 0.55298937947072602, -398.35037979906872}, {75, -2.8749692517351293, -0.4537442989782785, -577.3750755202268}, {100, -2.6065154302019233, -0.44416661252150968, -764.36128933177895}, {125, -2.6043210832204284, 0.51442406655253858, -959.09613428994385}, {150, -2.8672524585795229, 0.36789668217896765, -1144.7084129434356}, {175, -2.823893920321332, -0.5893027711183374, -1324.1024829358889}, {200, -2.5708172371624518, -0.25045007466824698, -1513.6352601543249}}},
  };
  return t;
}

// Single steps from theta 1.0, theta_dot 0.5 with torques whose float32 square NumPy (glibc's powf)
// rounds differently from u * u, and Gymnasium's rewards (tests/rollout/gymnasium_pendulum.py prints them).
struct golden_reward {
  float torque;
  double reward;
};
const golden_reward k_powf_rewards[] = {
    {1.20665765f, -1.0264560228446498}, {0.0653600767f, -1.0250042719402699}, {1.60439289f, -1.0275740768760442},
    {0.969756603f, -1.0259404279408044}, {-1.3701601f, -1.0268773388583212}, {0.0940898284f, -1.0250088528968262},
};

// The policies of tests/rollout/gymnasium_pendulum.py: a float32 torque from the state.
float golden_torque(const std::string& policy, double th, double thdot) {
  if (policy == "hold") return 0.7f;
  if (policy == "over") return 5.0f;
  if (policy == "pd") return static_cast<float>(-(10.0 * std::sin(th) + 2.0 * thdot));
  return thdot >= 0 ? 2.0f : -2.0f;
}

rollout_config cpu_config(std::vector<int> layers, int max_steps) {
  rollout_config c;
  c.layers = std::move(layers);
  c.max_steps = max_steps;
  c.episodes = 2;
  c.seed = 13;
  c.backend = backend_kind::cpu;
  return c;
}

std::vector<float> normal_params(std::size_t count, float sd, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0, sd);
  std::vector<float> v(count);
  for (float& x : v) x = nd(rng);
  return v;
}

// The returns of the n controllers of `params` by a reference rollout: the reference forward pass
// (env::mlp_forward) gives the outputs, `episode_step(state, outputs)` the reward and termination.
template <class Env, class Step>
std::vector<float> reference_returns(const rollout_config& c, const std::vector<float>& params, int n,
                                     std::uint64_t generation, Step episode_step) {
  detail::rollout_params rp{};
  rp.seed = c.seed;
  rp.shape.layers = static_cast<int>(c.layers.size());
  for (int l = 0; l < rp.shape.layers; ++l) rp.shape.widths[l] = c.layers[static_cast<std::size_t>(l)];
  const std::size_t p = static_cast<std::size_t>(rp.shape.parameter_count());
  std::vector<float> a(static_cast<std::size_t>(rp.shape.max_width())), b(a.size()), out(n);
  for (int i = 0; i < n; ++i) {
    double total = 0;
    for (int e = 0; e < c.episodes; ++e) {
      typename Env::state s = Env::reset(detail::start_key(rp, generation, static_cast<std::uint64_t>(i), e));
      for (int t = 0; t < c.max_steps; ++t) {
        float obs[Env::obs_dim];
        Env::observe(s, c.normalize_obs, obs);
        const float* y = env::mlp_forward(rp.shape, params.data() + i * p, obs, a.data(), b.data());
        double r = 0;
        const bool done = episode_step(s, y, r);
        total += r;
        if (done) break;
      }
    }
    out[i] = static_cast<float>(total / c.episodes);
  }
  return out;
}

// The pendulum's reference episode step: the Gymnasium transcription (a NaN torque: none).
bool reference_pendulum_step(pendulum::state& s, const float* y, double& reward) {
  gym_pendulum g{s.theta, s.theta_dot};
  reward = gym_step(g, std::isnan(y[0]) ? 0.0f : y[0]);
  s = pendulum::state{g.th, g.thdot};
  return false;
}

}  // namespace

TEST(ContinuousEnvironment, PendulumStepsMatchAGymnasiumTranscription) {
  std::mt19937 rng(4);
  std::uniform_real_distribution<double> th(-30, 30), thdot(-8, 8);
  std::uniform_real_distribution<float> torque(-3, 3);
  int clipped_torque = 0, clipped_speed = 0;
  for (int i = 0; i < 20000; ++i) {
    pendulum::state s{th(rng), thdot(rng)};
    float u = torque(rng);
    if (i % 100 == 0) u = i % 200 == 0 ? 2.0f : -2.0f;  // exactly at the bounds
    if (i % 100 == 1) s.theta = -3.141592653589793;     // exactly at the wrap
    gym_pendulum g{s.theta, s.theta_dot};
    double reward = 0;
    ASSERT_FALSE(pendulum::step(s, &u, reward));
    const double gr = gym_step(g, u);
    ASSERT_EQ(s.theta, g.th) << "step " << i;
    ASSERT_EQ(s.theta_dot, g.thdot) << "step " << i;
    ASSERT_EQ(reward, gr) << "step " << i;
    clipped_torque += std::fabs(u) > 2;
    clipped_speed += std::fabs(s.theta_dot) == 8;
  }
  EXPECT_GT(clipped_torque, 5000);  // both clips were exercised
  EXPECT_GT(clipped_speed, 500);
  // A NaN torque applies none (the example's rule; Gymnasium would carry the NaN into the state).
  pendulum::state s{1.0, 0.5};
  gym_pendulum g{1.0, 0.5};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  double reward = 0;
  pendulum::step(s, &nan, reward);
  EXPECT_EQ(reward, gym_step(g, 0.0f));
  EXPECT_EQ(s.theta, g.th);
}

TEST(ContinuousEnvironment, PendulumFollowsGymnasiumsOwnTrajectories) {
  for (const golden_trajectory& g : gymnasium_trajectories()) {
    pendulum::state s{g.theta, g.theta_dot};
    double total = 0;
    std::size_t next = 0;
    for (int t = 1; next < g.points.size(); ++t) {
      const float u = golden_torque(g.policy, s.theta, s.theta_dot);
      double r = 0;
      pendulum::step(s, &u, r);
      total += r;
      if (t != g.points[next].step) continue;
      const checkpoint& c = g.points[next++];
      EXPECT_EQ(s.theta, c.theta) << g.policy << " from " << g.theta << ", step " << t;
      EXPECT_EQ(s.theta_dot, c.theta_dot) << g.policy << " from " << g.theta << ", step " << t;
      EXPECT_EQ(total, c.total) << g.policy << " from " << g.theta << ", step " << t;
    }
  }
}

TEST(ContinuousEnvironment, PendulumRewardsAreGymnasiumsUpToOneBitOfTheTorqueCost) {
  // The one documented difference (examples/pendulum.hpp): for these torques the reward's term
  // 0.001 u² is one float32 bit (at most 0.004 * 2^-23 = 4.8e-10) away from Gymnasium's.
  int equal = 0;
  for (const golden_reward& g : k_powf_rewards) {
    pendulum::state s{1.0, 0.5};
    double r = 0;
    pendulum::step(s, &g.torque, r);
    EXPECT_NEAR(r, g.reward, 4.8e-10) << "torque " << g.torque;
    equal += r == g.reward;
  }
  std::printf("[ pendulum ] %d of 6 rewards equal Gymnasium's to the bit where NumPy's powf differs from u * u\n",
              equal);
}

TEST(ContinuousEnvironment, PendulumResetDrawsGymnasiumsRanges) {
  const double pi = 3.141592653589793;
  double lo = 0, hi = 0, slo = 0, shi = 0, mean = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const pendulum::state s = pendulum::reset(detail::episode_key(3, 1, static_cast<std::uint64_t>(i), 0));
    lo = std::min(lo, s.theta);
    hi = std::max(hi, s.theta);
    slo = std::min(slo, s.theta_dot);
    shi = std::max(shi, s.theta_dot);
    mean += s.theta / n;
  }
  EXPECT_GE(lo, -pi);
  EXPECT_LT(lo, -pi + 0.01);
  EXPECT_LE(hi, pi);
  EXPECT_GT(hi, pi - 0.01);
  EXPECT_GE(slo, -1.0);
  EXPECT_LT(slo, -0.99);
  EXPECT_LE(shi, 1.0);
  EXPECT_GT(shi, 0.99);
  EXPECT_NEAR(mean, 0.0, 0.06);  // standard error 0.013
}

namespace {
// The evaluator's returns for n random controllers (weights N(0, sd^2)) at generation `generation`.
std::vector<float> evaluate_random(const rollout_config& c, const rollout_environment& env, int n, float sd,
                                   unsigned seed, std::uint64_t generation, std::vector<float>& params) {
  rollout_evaluator ev(c, env);
  params = normal_params(static_cast<std::size_t>(n) * ev.parameter_count(), sd, seed);
  std::vector<float> got(n);
  ev.evaluate(population_view{params.data(), n, ev.parameter_count()}, got.data(), generation);
  EXPECT_EQ(ev.last_steps(), -1);  // rewarded: returns are not lengths
  return got;
}
}  // namespace

TEST(ContinuousEnvironment, TheOutputsAreTheActionOnEveryNet) {
  // Random nets, with and without hidden layers, two episodes each: the evaluator's returns equal the
  // reference rollouts' bit for bit.
  const rollout_environment pend = make_environment<pendulum>("pendulum");
  for (const std::vector<int>& layers : {std::vector<int>{3, 1}, std::vector<int>{3, 16, 1},
                                         std::vector<int>{3, 8, 8, 1}}) {
    const rollout_config c = cpu_config(layers, 200);
    const int n = 40;
    std::vector<float> params;
    const std::vector<float> got = evaluate_random(c, pend, n, 1.0f, 17, 3, params);
    EXPECT_EQ(got, reference_returns<pendulum>(c, params, n, 3, reference_pendulum_step)) << layers.size() << " layers";
    EXPECT_LT(*std::min_element(got.begin(), got.end()), *std::max_element(got.begin(), got.end()));
  }
  // Two action components, and episodes that end early (inside the disc).
  const rollout_environment mass = make_environment<point_mass>("point mass");
  for (const std::vector<int>& layers : {std::vector<int>{4, 2}, std::vector<int>{4, 16, 2}}) {
    const rollout_config c = cpu_config(layers, 300);
    const int n = 60;
    std::vector<float> params;
    const std::vector<float> got = evaluate_random(c, mass, n, 1.5f, 19, 1, params);
    int ended = 0;
    const auto ref = reference_returns<point_mass>(c, params, n, 1, [&](point_mass::state& s, const float* y, double& r) {
      const bool done = point_mass::step(s, y, r);  // the test's own environment: the plumbing is under test
      ended += done;
      return done;
    });
    EXPECT_EQ(got, ref) << layers.size() << " layers";
    EXPECT_GT(ended, 0) << "some episodes must end inside the disc";
  }
}

TEST(ContinuousEnvironment, NonFiniteParametersGiveTheEnvironmentsNaNRule) {
  // All-NaN parameters: every output is NaN, which the pendulum turns into no torque.
  const rollout_config c = cpu_config({3, 16, 1}, 200);
  rollout_evaluator ev(c, make_environment<pendulum>("pendulum"));
  const int n = 8;
  std::vector<float> params(static_cast<std::size_t>(n) * ev.parameter_count(), std::numeric_limits<float>::quiet_NaN());
  std::vector<float> got(n);
  ev.evaluate(population_view{params.data(), n, ev.parameter_count()}, got.data(), 0);
  EXPECT_EQ(got, reference_returns<pendulum>(c, params, n, 0, reference_pendulum_step));
  for (float r : got) EXPECT_TRUE(std::isfinite(r)) << r;
}

TEST(ContinuousEnvironment, TheDescriptorAndTheErrorsNameTheActionDimension) {
  const rollout_environment pend = make_environment<pendulum>("pendulum");
  EXPECT_TRUE(pend.continuous);
  EXPECT_TRUE(pend.rewarded);
  EXPECT_EQ(pend.obs_dim, 3);
  EXPECT_EQ(pend.num_actions, 1);
  EXPECT_FALSE(make_environment<mountain_car>("mountain-car").continuous);
  EXPECT_EQ(make_host_environment<point_mass>("point mass").num_actions, 2);
  expect_message<invalid_argument>([&] { rollout_evaluator e(cpu_config({3, 8, 2}, 200), pend); },
                                   "the last layer width must be 1 (the dimension of the pendulum action; got 2 in 3-8-2)");
  expect_message<invalid_argument>([&] { rollout_evaluator e(cpu_config({4, 8, 1}, 200), pend); },
                                   "layers[0] must be 3 (the pendulum observation size; got 4 in 4-8-1)");
}
