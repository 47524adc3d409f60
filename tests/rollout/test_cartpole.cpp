// Cart-pole (docs/algorithm.md §7): the dynamics against an independent float64 transcription of Gymnasium's
// CartPole-v1, the MLP against a float64 reference, the parameter layout, hand-written controllers
// with known returns, the evaluator's bad-input errors.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "diffevo/detail/random.hpp"
#include "diffevo/diffevo.hpp"
#include "tests/helpers/expect.hpp"
#include "diffevo/env/cartpole.hpp"
#include "diffevo/env/mlp.hpp"
#include "diffevo/rollout.hpp"
#include "host/rollout/library_cartpole.hpp"
#include "tests/helpers/vector_isa.hpp"

using namespace diffevo;
using env::cartpole;

namespace {

// Gymnasium CartPole-v1 step(), transcribed from its source (float64, Euler integrator).
struct gym_state {
  double x, x_dot, theta, theta_dot;
};
bool gym_step(gym_state& s, int action) {
  const double gravity = 9.8, masspole = 0.1, total_mass = 1.1, length = 0.5, polemass_length = 0.05, tau = 0.02;
  const double force = action == 1 ? 10.0 : -10.0;
  const double c = std::cos(s.theta), sn = std::sin(s.theta);
  const double temp = (force + polemass_length * s.theta_dot * s.theta_dot * sn) / total_mass;
  const double thetaacc = (gravity * sn - c * temp) / (length * (4.0 / 3.0 - masspole * c * c / total_mass));
  const double xacc = temp - polemass_length * thetaacc * c / total_mass;
  s.x += tau * s.x_dot;
  s.x_dot += tau * xacc;
  s.theta += tau * s.theta_dot;
  s.theta_dot += tau * thetaacc;
  const double th = 12 * 2 * M_PI / 360;
  return s.x < -2.4 || s.x > 2.4 || s.theta < -th || s.theta > th;
}

// One episode with a policy on the (normalised) float observation, reference side.
int gym_episode(std::uint64_t key, int max_steps, bool normalize, const std::function<int(const float*)>& policy) {
  gym_state s{detail::uniform_pm(key, 0, 0.05), detail::uniform_pm(key, 1, 0.05), detail::uniform_pm(key, 2, 0.05),
              detail::uniform_pm(key, 3, 0.05)};
  const double high[4] = {4.8, 1.0, 0.41887902, 1.0};
  for (int t = 1;; ++t) {
    const double v[4] = {s.x, s.x_dot, s.theta, s.theta_dot};
    float obs[4];
    for (int k = 0; k < 4; ++k) obs[k] = static_cast<float>(normalize ? v[k] / high[k] * std::sqrt(3.0) : v[k]);
    if (gym_step(s, policy(obs)) || t == max_steps) return t;
  }
}

std::vector<float> evaluate(rollout_evaluator& ev, const std::vector<float>& params, int n, std::uint64_t gen = 0) {
  std::vector<float> r(n);
  ev.evaluate(population_view{params.data(), n, ev.parameter_count()}, r.data(), gen);
  return r;
}

env::mlp_shape shape_of(const std::vector<int>& widths) {
  env::mlp_shape s;
  s.layers = static_cast<int>(widths.size());
  std::copy(widths.begin(), widths.end(), s.widths);
  return s;
}

rollout_config cpu_cfg(std::vector<int> layers) {
  rollout_config c;
  c.layers = std::move(layers);
  c.backend = backend_kind::cpu;
  c.seed = 11;
  return c;
}

// A [4, h..., 2] net (every h >= 2) that computes u = theta + theta_dot and pushes toward its sign
// (relu(u) and relu(-u) carried through the hidden layers), plus N(0, noise) on every parameter:
// long, varied episodes for the comparisons.
std::vector<float> balancing_net(const std::vector<int>& w, float noise, std::mt19937& rng) {
  std::normal_distribution<float> nd(0, noise);
  std::vector<float> p;
  for (std::size_t l = 0; l + 1 < w.size(); ++l) {
    const int ni = w[l], no = w[l + 1];
    std::vector<float> W(static_cast<std::size_t>(no) * ni, 0.0f), b(no, 0.0f);
    if (l == 0) {
      W[0 * ni + 2] = W[0 * ni + 3] = 1.0f;
      W[1 * ni + 2] = W[1 * ni + 3] = -1.0f;
    } else if (l + 2 < w.size()) {
      W[0 * ni + 0] = W[1 * ni + 1] = 1.0f;
    } else {
      W[1 * ni + 0] = 1.0f;  // logit 1 (push right) = relu(u)
      W[0 * ni + 1] = 1.0f;  // logit 0 = relu(-u)
    }
    for (float& v : W) v += nd(rng);
    for (float& v : b) v += nd(rng);
    p.insert(p.end(), W.begin(), W.end());
    p.insert(p.end(), b.begin(), b.end());
  }
  return p;
}

}  // namespace

TEST(Cartpole, SingleStepsMatchGymnasiumFromRandomStates) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(-3, 3);
  for (int trial = 0; trial < 2000; ++trial) {
    gym_state g{u(rng), u(rng), u(rng) * 0.3, u(rng)};
    cartpole::state s{g.x, g.x_dot, g.theta, g.theta_dot};
    const int a = trial % 2;
    const bool tg = gym_step(g, a), ts = cartpole::step(s, a);
    EXPECT_EQ(tg, ts);
    EXPECT_NEAR(s.x, g.x, 1e-13);
    EXPECT_NEAR(s.x_dot, g.x_dot, 1e-13);
    EXPECT_NEAR(s.theta, g.theta, 1e-13);
    EXPECT_NEAR(s.theta_dot, g.theta_dot, 1e-13);
  }
}

TEST(Cartpole, TerminatesJustPastEitherThreshold) {
  const double th = 12 * 2 * M_PI / 360;
  // x moves by tau * x_dot = 0.02 * x_dot before the test; theta by 0.02 * theta_dot.
  for (double sign : {1.0, -1.0}) {
    cartpole::state in{sign * 2.39, sign * 0.4, 0, 0}, out{sign * 2.39, sign * 0.6, 0, 0};
    EXPECT_FALSE(cartpole::step(in, 0)) << "x -> " << in.x;
    EXPECT_TRUE(cartpole::step(out, 0)) << "x -> " << out.x;
    cartpole::state tin{0, 0, sign * (th - 0.01), sign * 0.4}, tout{0, 0, sign * (th - 0.01), sign * 0.6};
    EXPECT_FALSE(cartpole::step(tin, 1));
    EXPECT_TRUE(cartpole::step(tout, 1));
  }
}

TEST(Cartpole, ObservationNormalisation) {
  const cartpole::state s{1.2, -0.5, 0.2, 2.0};
  float raw[4], norm[4];
  cartpole::observe(s, false, raw);
  cartpole::observe(s, true, norm);
  const double high[4] = {4.8, 1.0, 0.41887902, 1.0}, v[4] = {1.2, -0.5, 0.2, 2.0};
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(raw[k], static_cast<float>(v[k]));
    EXPECT_NEAR(norm[k], v[k] / high[k] * std::sqrt(3.0), 1e-6);
  }
}

TEST(Cartpole, StartStatesAreUniformInTheBoxAndKeyed) {
  double mean = 0, lo = 1, hi = -1;
  for (int i = 0; i < 4000; ++i) {
    const auto s = cartpole::reset(detail::episode_key(3, 0, i, 0));
    for (double v : {s.x, s.x_dot, s.theta, s.theta_dot}) {
      mean += v / 16000;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  EXPECT_GE(lo, -0.05);
  EXPECT_LT(hi, 0.05);
  EXPECT_LT(lo, -0.049);
  EXPECT_GT(hi, 0.049);
  EXPECT_NEAR(mean, 0, 0.002);  // sd of the mean: 0.0289 / sqrt(16000) = 2.3e-4
  EXPECT_NE(detail::episode_key(3, 0, 1, 0), detail::episode_key(3, 1, 1, 0));
  EXPECT_NE(detail::episode_key(3, 0, 1, 0), detail::episode_key(3, 0, 1, 1));
  EXPECT_NE(detail::episode_key(3, 0, 1, 0), detail::episode_key(4, 0, 1, 0));
}

TEST(Mlp, ArgmaxTiesGoLowAndNaNNeverWins) {
  const float a[3] = {1.0f, 1.0f, 0.5f}, b[2] = {NAN, -3.0f}, c[3] = {2.0f, NAN, 5.0f}, d[2] = {NAN, NAN};
  EXPECT_EQ(env::argmax(a, 3), 0);
  EXPECT_EQ(env::argmax(b, 2), 1);
  EXPECT_EQ(env::argmax(c, 3), 2);
  EXPECT_EQ(env::argmax(d, 2), 0);
}

TEST(Mlp, ParameterCountsOfThePaperNets) {
  EXPECT_EQ(cartpole_evaluator(cpu_cfg({4, 8, 2})).parameter_count(), 58);
  EXPECT_EQ(cartpole_evaluator(cpu_cfg({4, 128, 128, 2})).parameter_count(), 17410);
  EXPECT_EQ(cartpole_evaluator(cpu_cfg({4, 2})).parameter_count(), 10);
}

TEST(Mlp, ForwardMatchesFloat64ReferenceOnRandomWeights) {
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0, 1);
  for (const std::vector<int>& widths : {std::vector<int>{4, 8, 2}, {4, 128, 128, 2}, {4, 16, 7, 3, 2}}) {
    const env::mlp_shape s = shape_of(widths);
    std::vector<float> p(static_cast<std::size_t>(s.parameter_count()));
    int decided = 0;
    for (int trial = 0; trial < 200; ++trial) {
      for (float& v : p) v = nd(rng);
      float obs[4];
      for (float& o : obs) o = nd(rng);
      // float64 forward
      std::vector<double> in(obs, obs + 4);
      std::size_t off = 0;
      for (int l = 0; l + 1 < s.layers; ++l) {
        const int ni = widths[l], no = widths[l + 1];
        std::vector<double> out(no);
        for (int j = 0; j < no; ++j) {
          double acc = p[off + static_cast<std::size_t>(no) * ni + j];
          for (int k = 0; k < ni; ++k) acc += double(p[off + static_cast<std::size_t>(j) * ni + k]) * in[k];
          out[j] = l + 2 < s.layers ? std::max(acc, 0.0) : acc;
        }
        off += static_cast<std::size_t>(no) * ni + no;
        in = out;
      }
      std::vector<float> a(s.max_width()), b(s.max_width());
      const int got = env::mlp_action(s, p.data(), obs, a.data(), b.data());
      int want = 0;
      for (int k = 1; k < static_cast<int>(in.size()); ++k)
        if (in[k] > in[want]) want = k;
      // The float forward may only disagree when the two best logits are within float rounding.
      double gap = 1e300;
      for (int k = 0; k < static_cast<int>(in.size()); ++k)
        if (k != want) gap = std::min(gap, in[want] - in[k]);
      if (gap > 1e-3 * (1 + std::fabs(in[want]))) {
        EXPECT_EQ(got, want) << "trial " << trial;
        ++decided;
      }
    }
    EXPECT_GT(decided, 190);
  }
}

TEST(Mlp, LayoutIsWeightsRowMajorThenBiasPerLayer) {
  // 4-8-2: W1 at [0, 32), b1 at [32, 40), W2 at [40, 56), b2 at [56, 58).
  cartpole_evaluator ev(cpu_cfg({4, 8, 2}));
  std::vector<float> right(58, 0.0f), lean(58, 0.0f);
  right[57] = 1.0f;                 // b2[1]: logit 1 always wins -> always push right
  lean[0 * 4 + 2] = 1.0f;           // W1[0][2]: hidden 0 = relu(theta)
  lean[40 + 1 * 8 + 0] = 1.0f;      // W2[1][0]: logit 1 = hidden 0 -> push right iff theta > 0
  const int n = 64;
  std::vector<float> params;
  for (int i = 0; i < n; ++i) params.insert(params.end(), right.begin(), right.end());
  for (int i = 0; i < n; ++i) params.insert(params.end(), lean.begin(), lean.end());
  const auto r = evaluate(ev, params, 2 * n);
  for (int i = 0; i < 2 * n; ++i) {
    const std::uint64_t key = detail::episode_key(11, 0, i, 0);
    const int want = i < n ? gym_episode(key, 500, true, [](const float*) { return 1; })
                           : gym_episode(key, 500, true, [](const float* o) { return o[2] > 0 ? 1 : 0; });
    EXPECT_EQ(r[i], static_cast<float>(want)) << "individual " << i;
  }
}

TEST(Rollout, HandWrittenControllersHaveTheirKnownReturns) {
  // Linear 4-2 nets, logit0 = 0. "Push toward the lean" (logit1 = theta) fails within ~25-70 steps
  // (measured mean 42.5 at this seed); adding theta_dot (logit1 = theta + theta_dot) balances the
  // pole through the 500-step truncation every time.
  cartpole_evaluator ev(cpu_cfg({4, 2}));
  const int n = 200;
  for (const bool damped : {false, true}) {
    std::vector<float> one(10, 0.0f);
    one[4 + 2] = 1.0f;
    if (damped) one[4 + 3] = 1.0f;
    std::vector<float> params;
    for (int i = 0; i < n; ++i) params.insert(params.end(), one.begin(), one.end());
    const auto r = evaluate(ev, params, n, 7);
    double mean = 0;
    for (int i = 0; i < n; ++i) {
      const int want = gym_episode(detail::episode_key(11, 7, i, 0), 500, true, [damped](const float* o) {
        return 0.0f + o[2] + (damped ? o[3] : 0.0f) > 0.0f ? 1 : 0;
      });
      EXPECT_EQ(r[i], static_cast<float>(want)) << "individual " << i;
      mean += r[i] / n;
    }
    EXPECT_EQ(ev.last_steps(), static_cast<long long>(std::llround(mean * n)));
    if (damped) {
      EXPECT_EQ(mean, 500.0);
    } else {
      EXPECT_GT(mean, 20);
      EXPECT_LT(mean, 80);
    }
  }
}

TEST(Rollout, ZeroWeightsPushLeftAndTheTerminalStepCounts) {
  cartpole_evaluator ev(cpu_cfg({4, 8, 2}));
  const std::vector<float> params(58 * 10, 0.0f);  // equal logits -> action 0
  const auto r = evaluate(ev, params, 10);
  for (int i = 0; i < 10; ++i) {
    const int want = gym_episode(detail::episode_key(11, 0, i, 0), 500, true, [](const float*) { return 0; });
    EXPECT_EQ(r[i], static_cast<float>(want));
    EXPECT_GE(r[i], 1.0f);
  }
}

TEST(Rollout, TruncatesAtMaxStepsAndAveragesEpisodes) {
  rollout_config c = cpu_cfg({4, 2});
  c.max_steps = 40;
  c.episodes = 3;
  cartpole_evaluator ev(c);
  std::vector<float> one(10, 0.0f);
  one[6] = 1.0f;  // push toward the lean: episodes of ~25-70 steps, so some truncate at 40
  std::vector<float> params;
  for (int i = 0; i < 50; ++i) params.insert(params.end(), one.begin(), one.end());
  const auto r = evaluate(ev, params, 50, 2);
  int truncated = 0;
  long long steps = 0;
  for (int i = 0; i < 50; ++i) {
    int sum = 0;
    for (int e = 0; e < 3; ++e)
      sum += gym_episode(detail::episode_key(11, 2, i, e), 40, true,
                         [](const float* o) { return 0.0f + o[2] > 0.0f ? 1 : 0; });
    EXPECT_FLOAT_EQ(r[i], static_cast<float>(sum / 3.0));
    EXPECT_LE(r[i], 40.0f);
    truncated += r[i] == 40.0f;
    steps += sum;
  }
  EXPECT_GT(truncated, 5);
  EXPECT_LT(truncated, 50);
  EXPECT_EQ(ev.last_steps(), steps);
}

TEST(Rollout, DeterministicAcrossThreadCountsAndKeyedByGeneration) {
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0, 1);
  std::vector<float> params(58 * 300);
  for (float& v : params) v = nd(rng);
  rollout_config c = cpu_cfg({4, 8, 2});
  c.cpu_threads = 1;
  cartpole_evaluator one(c);
  c.cpu_threads = 3;
  cartpole_evaluator three(c);
  EXPECT_EQ(evaluate(one, params, 300, 4), evaluate(three, params, 300, 4));
  EXPECT_NE(evaluate(one, params, 300, 4), evaluate(one, params, 300, 5));
}

TEST(Rollout, RowsEvaluatedApartWithTheirFirstIndexGetTheWholeEvaluationsReturns) {
  // A process evaluating rows [b, e) passes b: every individual keeps its own start states.
  std::mt19937 rng(2);
  std::normal_distribution<float> nd(0, 1);
  const int n = 50;
  std::vector<float> params(58 * n);
  for (float& v : params) v = nd(rng);
  cartpole_evaluator ev(cpu_cfg({4, 8, 2}));
  const std::vector<float> whole = evaluate(ev, params, n, 7);
  std::vector<float> parts(static_cast<std::size_t>(n));
  for (const auto& [b, e] : {std::pair<int, int>{0, 13}, {13, 14}, {14, 14}, {14, 50}})
    ev.evaluate(population_view{params.data() + 58 * b, e - b, 58}, parts.data() + b, 7, static_cast<std::uint64_t>(b));
  EXPECT_EQ(whole, parts);
  // Without the offset the rows would take the first rows' start states.
  std::vector<float> shifted(36);
  ev.evaluate(population_view{params.data() + 58 * 14, 36, 58}, shifted.data(), 7);
  EXPECT_NE(std::vector<float>(whole.begin() + 14, whole.end()), shifted);
}

TEST(Rollout, CpuEvaluatorEqualsTheReferenceForwardBitForBit) {
  // The vectorized, transposed cpu forward against env::mlp_action driving the same episodes.
  std::mt19937 rng(4);
  for (const std::vector<int>& widths : {std::vector<int>{4, 8, 2}, {4, 128, 128, 2}, {4, 33, 5, 2}}) {
    rollout_config c = cpu_cfg(widths);
    cartpole_evaluator ev(c);
    const int n = 24, p = ev.parameter_count();
    std::vector<float> params;
    for (int i = 0; i < n; ++i) {
      const auto net = balancing_net(widths, 0.02f * static_cast<float>(i % 6), rng);  // noise 0 .. 0.1
      params.insert(params.end(), net.begin(), net.end());
    }
    const auto r = evaluate(ev, params, n, 1);
    double mean = 0;
    for (float v : r) mean += v / n;
    EXPECT_GT(mean, 100) << "the comparison needs long episodes";
    const env::mlp_shape s = shape_of(widths);
    std::vector<float> a(s.max_width()), b(s.max_width());
    for (int i = 0; i < n; ++i) {
      const float* w = params.data() + static_cast<std::size_t>(i) * p;
      const int want = gym_episode(detail::episode_key(11, 1, i, 0), 500, true, [&](const float* o) {
        return env::mlp_action(s, w, o, a.data(), b.data());
      });
      EXPECT_EQ(r[i], static_cast<float>(want)) << "net " << widths.size() << " individual " << i;
    }
  }
}

namespace {
// Puts back the lanes' cost-model L2 size that a test changed (detail::set_cartpole_l2_bytes).
struct l2_restore {
  std::size_t bytes = detail::cartpole_l2_bytes();
  ~l2_restore() { detail::set_cartpole_l2_bytes(bytes); }
};
}  // namespace

// The lanes' cost model scales with the core's L2 (5/8 of it): with a 512 KiB L2, two-layer nets from
// 4-80-80-2 on keep the scalar loop; with 2 MiB, 4-128-128-2's weights in lanes (1.1 MB) stay in it and
// run in lanes, 4-160-160-2's (1.7 MB) do not. The returns are the same bits either way.
TEST(Rollout, LanesCostModelFollowsTheL2) {
  l2_restore guard;
  EXPECT_GE(detail::cartpole_l2_bytes() / 8 * 5, std::size_t(64) << 10) << "the default comes from the machine's L2";
  struct net {
    std::vector<int> widths;
    bool in_lanes_512k, in_lanes_2m;
  };
  for (const net& kind : {net{{4, 72, 72, 2}, true, true}, net{{4, 80, 80, 2}, false, true},
                          net{{4, 128, 128, 2}, false, true}, net{{4, 160, 160, 2}, false, false},
                          net{{4, 2048, 2}, true, true}}) {
    detail::set_cartpole_l2_bytes(std::size_t(512) << 10);
    EXPECT_EQ(detail::cartpole_runs_in_lanes(shape_of(kind.widths)), kind.in_lanes_512k) << kind.widths[1] << " wide, 512 KiB";
    detail::set_cartpole_l2_bytes(std::size_t(2) << 20);
    EXPECT_EQ(detail::cartpole_runs_in_lanes(shape_of(kind.widths)), kind.in_lanes_2m) << kind.widths[1] << " wide, 2 MiB";
  }
  const std::vector<int> widths{4, 128, 128, 2};
  rollout_config c = cpu_cfg(widths);
  c.max_steps = 60;
  std::mt19937 rng(12);
  const int n = 19;
  std::vector<float> params;
  for (int i = 0; i < n; ++i) {
    const auto net = balancing_net(widths, 0.05f * static_cast<float>(i % 5), rng);
    params.insert(params.end(), net.begin(), net.end());
  }
  std::vector<float> by_path[2];
  for (int in_lanes = 0; in_lanes < 2; ++in_lanes) {
    detail::set_cartpole_l2_bytes(in_lanes ? std::size_t(2) << 20 : std::size_t(512) << 10);
    ASSERT_EQ(detail::cartpole_runs_in_lanes(shape_of(widths)), in_lanes == 1);
    cartpole_evaluator ev(c);
    by_path[in_lanes] = evaluate(ev, params, n, 3);
  }
  EXPECT_EQ(by_path[1], by_path[0]);
  EXPECT_GT(std::set<float>(by_path[0].begin(), by_path[0].end()).size(), 2u) << "episodes of several lengths";
}

TEST(Rollout, LanesGiveTheScalarLoopsReturnsBitForBitOnEveryInstructionSet) {
  // The library's cart-pole steps small nets 16 controllers at a time in vector lanes
  // (host/rollout/rollout_cpu.cpp); a user's make_host_environment<env::cartpole> runs the scalar loop
  // of diffevo/detail/rollout.hpp one controller at a time. Every return must agree: many episodes
  // of different lengths (lanes end and take the next controller at different steps), truncation,
  // raw and normalised observations, fixed starts, non-finite weights, a count of controllers that is
  // no multiple of 16, one and two threads, each instruction set of the vector kernels.
  std::mt19937 rng(9);
  // Nets on both sides of the lanes' cost model with a 512 KiB L2 (set here, whatever this machine's):
  // 4-72-72-2 and 4-1024-2 (weights of 16 controllers past its cache size) run in lanes, 4-80-80-2
  // runs the scalar loop.
  l2_restore guard;
  detail::set_cartpole_l2_bytes(std::size_t(512) << 10);
  struct net {
    std::vector<int> widths;
    bool in_lanes;
  };
  for (const net& kind : {net{{4, 8, 2}, true}, net{{4, 33, 5, 2}, true}, net{{4, 3, 2}, true}, net{{4, 48, 48, 2}, true},
                          net{{4, 72, 72, 2}, true}, net{{4, 1024, 2}, true}, net{{4, 80, 80, 2}, false}}) {
    const std::vector<int>& widths = kind.widths;
    EXPECT_EQ(detail::cartpole_runs_in_lanes(shape_of(widths)), kind.in_lanes) << widths.size() << " layers, " << widths[1] << " wide";
    rollout_config c = cpu_cfg(widths);
    const int n = 37;
    std::vector<float> params;
    for (int i = 0; i < n; ++i) {
      const auto net = balancing_net(widths, 0.1f * static_cast<float>(i % 9), rng);  // noise 0 .. 0.8
      params.insert(params.end(), net.begin(), net.end());
    }
    const std::size_t p = params.size() / n;
    params[5 * p + 1] = NAN;
    params[6 * p + p - 1] = INFINITY;
    for (std::size_t k = 0; k < p; ++k) params[7 * p + k] = NAN;
    for (int variant = 0; variant < 4; ++variant) {
      c.episodes = variant == 1 ? 3 : 1;
      c.max_steps = variant == 1 ? 120 : 500;
      c.normalize_obs = variant != 2;
      c.fixed_start = variant == 3;
      c.cpu_threads = 1 + variant % 2;
      rollout_evaluator scalar(c, make_host_environment<env::cartpole>("cart-pole, scalar loop"));
      const std::vector<float> want = evaluate(scalar, params, n, 2);
      std::set<float> lengths(want.begin(), want.end());
      EXPECT_GT(lengths.size(), 8u) << "the comparison needs episodes of many lengths";
      test::for_each_isa([&] {
        cartpole_evaluator lanes(c);
        EXPECT_EQ(evaluate(lanes, params, n, 2), want) << widths.size() << " layers, variant " << variant;
      });
    }
  }
  // Populations that fill no lanes, exactly one thread's lanes, or one more; rows evaluated with the
  // population index of their first row; a net with no hidden layer.
  for (const std::vector<int>& widths : {std::vector<int>{4, 8, 2}, {4, 2}}) {
    rollout_config c = cpu_cfg(widths);
    c.cpu_threads = 1;
    for (int n : {1, 16, 17}) {
      std::vector<float> params;
      for (int i = 0; i < n; ++i) {
        const auto net = widths.size() > 2 ? balancing_net(widths, 0.1f * static_cast<float>(i % 9), rng)
                                           : std::vector<float>(10, 0.1f * static_cast<float>(i % 7) - 0.3f);
        params.insert(params.end(), net.begin(), net.end());
      }
      const int p = static_cast<int>(params.size()) / n;
      rollout_evaluator scalar(c, make_host_environment<env::cartpole>("cart-pole, scalar loop"));
      std::vector<float> want(static_cast<std::size_t>(n)), got(static_cast<std::size_t>(n));
      scalar.evaluate(population_view{params.data(), n, p}, want.data(), 3, 40);
      test::for_each_isa([&] {
        cartpole_evaluator lanes(c);
        lanes.evaluate(population_view{params.data(), n, p}, got.data(), 3, 40);
        EXPECT_EQ(got, want) << widths.size() << " layers, n = " << n;
      });
    }
  }
}

// Lanes whose controllers are done wait to be loaded together (rollout_cpu.cpp, k_refill_lanes): with
// many controllers of short and long episodes, 4-24-16-2's lanes (35 KB of weights) are refilled four
// at a time, after a wait of steps, or when none runs; 4-8-2's (3.7 KB) at once. The returns are the scalar loop's whatever the refills' timing.
TEST(Rollout, LanesRefilledTogetherGiveTheScalarLoopsReturns) {
  std::mt19937 rng(21);
  for (const std::vector<int>& widths : {std::vector<int>{4, 8, 2}, {4, 24, 16, 2}}) {
    const int n = 203;
    std::vector<float> params;
    for (int i = 0; i < n; ++i) {  // runs of weak and strong noise: bursts of short episodes among long ones
      const auto net = balancing_net(widths, (i / 7) % 3 == 0 ? 0.02f : 0.9f, rng);
      params.insert(params.end(), net.begin(), net.end());
    }
    const int p = static_cast<int>(params.size()) / n;
    for (int variant = 0; variant < 2; ++variant) {
      rollout_config c = cpu_cfg(widths);
      c.cpu_threads = 1 + variant;
      c.episodes = 1 + variant;
      rollout_evaluator scalar(c, make_host_environment<env::cartpole>("cart-pole, scalar loop"));
      std::vector<float> want(static_cast<std::size_t>(n)), got(static_cast<std::size_t>(n));
      scalar.evaluate(population_view{params.data(), n, p}, want.data(), 5);
      std::set<float> lengths(want.begin(), want.end());
      EXPECT_GT(lengths.size(), 20u) << "the comparison needs episodes of many lengths";
      EXPECT_LT(*lengths.begin(), 30.0f) << "and short ones";
      cartpole_evaluator lanes(c);
      ASSERT_TRUE(detail::cartpole_runs_in_lanes(shape_of(widths)));
      lanes.evaluate(population_view{params.data(), n, p}, got.data(), 5);
      EXPECT_EQ(got, want) << widths.size() << " layers, variant " << variant;
    }
  }
}

TEST(Rollout, NonFiniteParametersGiveADefinedReturn) {
  cartpole_evaluator ev(cpu_cfg({4, 8, 2}));
  std::vector<float> params(58 * 3, 0.5f);
  for (int k = 0; k < 58; ++k) params[k] = NAN;
  params[58 + 5] = INFINITY;
  params[116 + 57] = -INFINITY;
  const auto r = evaluate(ev, params, 3);
  for (float v : r) {
    EXPECT_TRUE(std::isfinite(v));
    EXPECT_GE(v, 1.0f);
    EXPECT_LE(v, 500.0f);
  }
  // All-NaN: every logit is NaN, action 0 every step, the same return as the zero controller.
  EXPECT_EQ(r[0], static_cast<float>(gym_episode(detail::episode_key(11, 0, 0, 0), 500, true,
                                                 [](const float*) { return 0; })));
}

TEST(RolloutValidation, BadConfigsNameTheField) {
  auto make = [](rollout_config c) { cartpole_evaluator ev(c); };
  rollout_config c = cpu_cfg({4, 0, 2});
  expect_message<invalid_argument>([&] { make(c); }, "layers[1] must be in [1, 1048576] (got 0 in 4-0-2)");
  c = cpu_cfg({4, -3, 2});
  expect_message<invalid_argument>([&] { make(c); }, "layers[1] must be in [1, 1048576] (got -3");
  c = cpu_cfg({4, 2147483647, 2147483647, 2147483647, 2});  // would overflow the parameter count
  expect_message<invalid_argument>([&] { make(c); }, "layers[1] must be in [1, 1048576] (got 2147483647");
  c = cpu_cfg({5, 8, 2});
  expect_message<invalid_argument>([&] { make(c); }, "layers[0] must be 4");
  c = cpu_cfg({4, 8, 3});
  expect_message<invalid_argument>([&] { make(c); }, "the last layer width must be 2");
  c = cpu_cfg({4});
  expect_message<invalid_argument>([&] { make(c); }, "layers must list 2 to 8 widths (got 1");
  c = cpu_cfg({4, 8, 2});
  c.episodes = 0;
  expect_message<invalid_argument>([&] { make(c); }, "episodes must be >= 1 (got 0)");
  c = cpu_cfg({4, 8, 2});
  c.cpu_threads = 5000;
  expect_message<invalid_argument>([&] { make(c); }, "cpu_threads must be in [0, 4096] (got 5000)");
  c = cpu_cfg({4, 8, 2});
  c.max_steps = -5;
  expect_message<invalid_argument>([&] { make(c); }, "max_steps must be >= 1 (got -5)");
  // a float return could no longer count every step: 2^24 + 3 steps made evaluate() throw in count_steps
  c.max_steps = (1 << 24) + 3;
  expect_message<invalid_argument>([&] { make(c); }, "episodes x max_steps must be at most 2^23 = 8388608, so that a "
                                                     "float return counts its steps exactly (got 1 x 16777219)");
  c.max_steps = 3000000;
  c.episodes = 3;
  expect_message<invalid_argument>([&] { make(c); }, "(got 3 x 3000000)");
  c.max_steps = 1 << 23;
  c.episodes = 1;
  EXPECT_NO_THROW(make(c));
}

TEST(RolloutValidation, BadCallsNameTheValue) {
  cartpole_evaluator ev(cpu_cfg({4, 8, 2}));
  std::vector<float> params(57 * 2), r(2);
  expect_message<invalid_argument>(
      [&] { ev.evaluate(population_view{params.data(), 2, 57}, r.data(), 0); },
      "evaluate: the parameter matrix has 57 columns but the 4-8-2 MLP has 58 parameters");
  expect_message<invalid_argument>([&] { ev.evaluate(population_view{nullptr, 2, 58}, r.data(), 0); },
                                   "null parameter or return pointer");
  expect_message<logic_error>([&] { ev.evaluate_device(population_view{params.data(), 1, 58}, r.data(), 0, nullptr); },
                              "evaluate_device() needs backend = cuda");
  rollout_config c = cpu_cfg({4, 8, 2});
  c.backend = backend_kind::cuda;
  if (!cuda_device_available())
    expect_message<device_unavailable>([&] { cartpole_evaluator e(c); }, "no CUDA device");
}

TEST(RolloutValidation, CountStepsRefusesReturnsThatAreNotEpisodeLengths) {
  // {-5, NaN} used to give 9223372036854775803 (a signed overflow).
  rollout_config c = cpu_cfg({4, 8, 2});
  c.episodes = 2;
  cartpole_evaluator ev(c);
  const std::vector<float> bad{-5.0f, NAN};
  expect_message<invalid_argument>([&] { ev.count_steps(bad.data(), 2); },
                                   "count_steps: returns[0] = -5 is not an episode length in [1, max_steps = 500]");
  const std::vector<float> nan_second{3.0f, NAN, 2.0f};
  expect_message<invalid_argument>([&] { ev.count_steps(nan_second.data(), 3); }, "returns[1] = nan");
  const std::vector<float> too_long{500.5f};
  expect_message<invalid_argument>([&] { ev.count_steps(too_long.data(), 1); }, "returns[0] = 500.5");
  expect_message<invalid_argument>([&] { ev.count_steps(nullptr, 1); }, "count_steps: n must be >= 0");
  const std::vector<float> good{1.0f, 500.0f, 7.5f};
  EXPECT_EQ(ev.count_steps(good.data(), 3), 2 + 1000 + 15);
  EXPECT_EQ(ev.count_steps(nullptr, 0), 0);
}

TEST(Rollout, FixedStartGivesEveryoneTheSameEpisode) {
  rollout_config c = cpu_cfg({4, 2});
  c.fixed_start = true;
  cartpole_evaluator ev(c);
  std::vector<float> one(10, 0.0f);
  one[6] = 1.0f;  // push toward the lean: the return depends on the start state
  std::vector<float> params;
  for (int i = 0; i < 40; ++i) params.insert(params.end(), one.begin(), one.end());
  const auto g0 = evaluate(ev, params, 40, 0), g5 = evaluate(ev, params, 40, 5);
  const int want =
      gym_episode(detail::episode_key(11, 0, 0, 0), 500, true, [](const float* o) { return 0.0f + o[2] > 0.0f ? 1 : 0; });
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(g0[i], static_cast<float>(want));
    EXPECT_EQ(g5[i], static_cast<float>(want));
  }
  c.fixed_start = false;  // the default: each individual its own start, so returns vary
  cartpole_evaluator varied(c);
  const auto r = evaluate(varied, params, 40, 0);
  EXPECT_NE(*std::min_element(r.begin(), r.end()), *std::max_element(r.begin(), r.end()));
}
