// The baselines (CMA-ES, OpenES, PEPG) behind the strategy interface: convergence on problems with
// known optima, objective symmetry, non-finite fitness, determinism, state machine and validation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "diffevo/diffevo.hpp"
#include "tests/helpers/expect.hpp"

using namespace diffevo;

namespace {

double sphere(const float* x, int d, double shift = 0) {
  double s = 0;
  for (int i = 0; i < d; ++i) s += (x[i] - shift) * (x[i] - shift);
  return s;
}

// Runs a strategy to the end on f (to minimize when goal is minimize), returns the final mean.
template <class F>
std::vector<float> drive(baseline_strategy& s, F f) {
  std::vector<float> fit(static_cast<std::size_t>(s.population_size()));
  while (!s.done()) {
    const population_view p = s.ask();
    for (int i = 0; i < p.rows; ++i) fit[i] = static_cast<float>(f(p.row(i), p.cols));
    s.tell(fit);
  }
  return s.mean();
}

}  // namespace

TEST(CmaEs, ConvergesOnTheSphere) {
  cma_es_config c;
  c.population = 16;
  c.dimension = 10;
  c.generations = 200;
  c.sigma0 = 1.0;
  c.mean0.assign(10, 3.0f);
  c.goal = objective::minimize;
  c.seed = 1;
  cma_es es(c);
  const auto m = drive(es, [](const float* x, int d) { return sphere(x, d); });
  EXPECT_LT(sphere(m.data(), 10), 1e-8);
  EXPECT_LT(es.best_fitness(), 1e-8f);
  EXPECT_LT(es.sigma(), 1e-3);
}

// Long after convergence the population is flat at float resolution and its steps are rounding:
// sigma and the population stay finite (before: sigma jumped to inf and ask() returned -inf, in 20 of
// 21 long runs, at generations 1070-4916).
TEST(CmaEs, StaysFiniteLongAfterConverging) {
  for (const auto& [d, lambda] : {std::pair<int, int>{3, 8}, {2, 6}, {10, 10}, {5, 12}}) {
    cma_es_config c;
    c.population = lambda;
    c.dimension = d;
    c.generations = 2500;
    c.goal = objective::minimize;
    cma_es s(c);
    std::vector<float> f(static_cast<std::size_t>(lambda));
    while (!s.done()) {
      const population_view p = s.ask();
      for (std::size_t t = 0; t < p.size(); ++t) ASSERT_TRUE(std::isfinite(p.data[t])) << "D = " << d << ", generation " << s.generation();
      for (int i = 0; i < p.rows; ++i) {
        double v = 0;
        for (int j = 0; j < d; ++j) v += (p.row(i)[j] - 1.0) * (p.row(i)[j] - 1.0);
        f[static_cast<std::size_t>(i)] = static_cast<float>(v);
      }
      s.tell(f);
    }
    EXPECT_TRUE(std::isfinite(s.sigma())) << "D = " << d;
    EXPECT_LT(s.best_fitness(), 1e-10) << "D = " << d;
  }
}

TEST(CmaEs, LearnsARotatedIllConditionedEllipsoid) {
  // f(x) = sum_i 10^(4 i / (d-1)) (R x)_i^2 with a random rotation R: needs the full covariance.
  const int d = 8;
  std::mt19937 rng(3);
  std::normal_distribution<double> nd(0, 1);
  std::vector<double> R(d * d);
  for (double& v : R) v = nd(rng);
  for (int i = 0; i < d; ++i) {  // Gram-Schmidt on the rows
    for (int j = 0; j < i; ++j) {
      double dot = 0;
      for (int k = 0; k < d; ++k) dot += R[i * d + k] * R[j * d + k];
      for (int k = 0; k < d; ++k) R[i * d + k] -= dot * R[j * d + k];
    }
    double nrm = 0;
    for (int k = 0; k < d; ++k) nrm += R[i * d + k] * R[i * d + k];
    for (int k = 0; k < d; ++k) R[i * d + k] /= std::sqrt(nrm);
  }
  auto ellipsoid = [&](const float* x, int) {
    double s = 0;
    for (int i = 0; i < d; ++i) {
      double y = 0;
      for (int k = 0; k < d; ++k) y += R[i * d + k] * x[k];
      s += std::pow(10.0, 4.0 * i / (d - 1)) * y * y;
    }
    return s;
  };
  cma_es_config c;
  c.population = 12;
  c.dimension = d;
  c.generations = 500;
  c.mean0.assign(d, 1.0f);
  c.goal = objective::minimize;
  c.seed = 2;
  cma_es es(c);
  const auto m = drive(es, ellipsoid);
  EXPECT_LT(ellipsoid(m.data(), d), 1e-6);
}

// The active update's weights (tutorial eq. 49-53), recomputed here: positive for the best
// mu = lambda / 2, summing to 1; the rest negative, decreasing, summing to -min(alpha_mu-,
// alpha_mueff-, alpha_posdef-).
TEST(CmaEs, ActiveWeightsFollowTheTutorial) {
  for (int lambda : {2, 3, 12, 17, 512})
    for (int d : {1, 2, 8, 100}) {
      cma_es_config c;
      c.population = lambda;
      c.dimension = d;
      const cma_es es(c);
      const std::vector<double>& w = es.weights();
      ASSERT_EQ(w.size(), static_cast<std::size_t>(lambda));
      const int mu = lambda / 2;
      double pos = 0, pos2 = 0, neg = 0, neg2 = 0, raw_neg = 0;
      for (int i = 0; i < lambda; ++i) {
        const double r = std::log((lambda + 1) / 2.0) - std::log(i + 1.0);
        (i < mu ? pos : raw_neg) += r;
        (i < mu ? pos2 : neg2) += r * r;
      }
      const double mueff = pos * pos / pos2, mueff_neg = raw_neg * raw_neg / neg2;
      const double c1 = 2 / ((d + 1.3) * (d + 1.3) + mueff);
      const double cmu = std::min(1 - c1, 2 * (mueff - 2 + 1 / mueff) / ((d + 2.0) * (d + 2.0) + mueff));
      const double want_neg = -std::min({1 + c1 / cmu, 1 + 2 * mueff_neg / (mueff + 2), (1 - c1 - cmu) / (d * cmu)});
      double got_pos = 0;
      for (int i = 0; i < lambda; ++i) {
        if (i < mu) {
          got_pos += w[i];
          EXPECT_GT(w[i], 0) << "lambda " << lambda << ", i " << i;
        } else {
          neg += w[i];
          EXPECT_LE(w[i], 0) << "lambda " << lambda << ", i " << i;
        }
        if (i > 0) EXPECT_LE(w[i], w[i - 1]);
      }
      EXPECT_NEAR(got_pos, 1.0, 1e-12) << "lambda " << lambda << ", d " << d;
      EXPECT_NEAR(neg, want_neg, 1e-12) << "lambda " << lambda << ", d " << d;
    }
}

TEST(OpenEs, MovesTheMeanToTheOptimum) {
  open_es_config c;
  c.population = 64;
  c.dimension = 5;
  c.generations = 400;
  c.learning_rate = 0.05;
  c.weight_decay = 0;
  c.mean0.assign(5, 2.0f);
  c.goal = objective::minimize;
  c.seed = 4;
  open_es es(c);
  const auto m = drive(es, [](const float* x, int d) { return sphere(x, d, -1.0); });
  for (float v : m) EXPECT_NEAR(v, -1.0f, 0.1f);
}

TEST(OpenEs, RawFitnessWithMomentumAlsoConverges) {
  open_es_config c;  // the paper's benchmark-script form: raw fitness, momentum 0.9, decays
  c.population = 128;
  c.dimension = 2;
  c.generations = 300;
  c.shaping = fitness_shaping::raw;
  c.optimizer = es_optimizer::momentum;
  c.learning_rate = 0.05;
  c.learning_rate_limit = 0;
  c.sigma_init = 1.0;
  c.sigma_limit = 0;
  c.sigma_decay = std::pow(0.05, 1.0 / 300);
  c.weight_decay = 0;
  c.mean0 = {2.0f, -2.0f};
  c.seed = 6;
  open_es es(c);  // maximize -(x - 1)^2
  const auto m = drive(es, [](const float* x, int d) { return -sphere(x, d, 1.0); });
  for (float v : m) EXPECT_NEAR(v, 1.0f, 0.1f);
}

TEST(OpenEs, AntitheticSamplesArePairs) {
  open_es_config c;
  c.population = 8;
  c.dimension = 3;
  c.antithetic = true;
  c.mean0 = {1.0f, 2.0f, 3.0f};
  open_es es(c);
  const population_view p = es.ask();
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 3; ++j) EXPECT_FLOAT_EQ(p.row(k)[j] + p.row(k + 4)[j], 2.0f * c.mean0[j]);
}

TEST(Pepg, MovesTheMeanToTheOptimumWithAndWithoutElite) {
  for (double elite : {0.0, 0.1}) {
    pepg_config c;
    c.population = 64;
    c.dimension = 4;
    c.generations = 300;
    c.learning_rate = 0.05;
    c.weight_decay = 0;
    c.sigma_init = 0.5;
    c.elite_ratio = elite;
    c.mean0.assign(4, 2.0f);
    c.goal = objective::minimize;
    c.seed = 5;
    pepg es(c);
    // Adam with estool's beta1 = 0.99 overshoots and circles the optimum for a long time (measured:
    // the mean passes 0.5 by generation 50 and swings between 0.2 and 0.9 afterwards), so the
    // gradient path is checked through the mean's time average over the last 200 generations.
    std::vector<double> avg(4, 0.0);
    std::vector<float> fit(64);
    while (!es.done()) {
      const population_view p = es.ask();
      for (int i = 0; i < 64; ++i) fit[i] = static_cast<float>(sphere(p.row(i), 4, 0.5));
      es.tell(fit);
      if (es.generation() > 100)
        for (int j = 0; j < 4; ++j) avg[j] += es.mean()[j] / 200.0;
    }
    EXPECT_LT(es.best_fitness(), 0.01f) << "elite ratio " << elite;
    for (double v : avg) EXPECT_NEAR(v, 0.5, 0.2) << "elite ratio " << elite;
    if (elite > 0)  // the elite step has no momentum: it settles
      for (float v : es.mean()) EXPECT_NEAR(v, 0.5f, 0.05f);
  }
}

TEST(Pepg, SamplesAreSymmetricPairsAroundTheMeanAndTheCentreComesFirst) {
  pepg_config c;
  c.population = 7;
  c.dimension = 2;
  c.average_baseline = false;
  c.mean0 = {0.5f, -1.0f};
  pepg es(c);
  const population_view p = es.ask();
  EXPECT_EQ(p.row(0)[0], 0.5f);
  EXPECT_EQ(p.row(0)[1], -1.0f);
  for (int k = 1; k <= 3; ++k)
    for (int j = 0; j < 2; ++j) EXPECT_NEAR(p.row(k)[j] + p.row(k + 3)[j], 2.0f * c.mean0[j], 1e-6);
}

TEST(Baselines, MinimizingFEqualsMaximizingMinusF) {
  auto f = [](const float* x, int d) { return sphere(x, d, 0.3) + std::sin(3.0 * x[0]); };
  cma_es_config c;
  c.population = 10;
  c.dimension = 3;
  c.generations = 30;
  c.seed = 8;
  c.goal = objective::minimize;
  cma_es a(c);
  c.goal = objective::maximize;
  cma_es b(c);
  EXPECT_EQ(drive(a, f), drive(b, [&](const float* x, int d) { return -f(x, d); }));
}

TEST(Baselines, SameSeedSameRunAndNonFiniteRanksLast) {
  auto run_once = [](std::uint64_t seed) {
    pepg_config c;
    c.population = 20;
    c.dimension = 3;
    c.generations = 15;
    c.seed = seed;
    pepg es(c);
    std::vector<float> fit(20);
    while (!es.done()) {
      const population_view p = es.ask();
      for (int i = 0; i < 20; ++i) fit[i] = static_cast<float>(-sphere(p.row(i), 3));
      fit[3] = NAN;  // one NaN and one losing-direction infinity per generation
      fit[7] = -INFINITY;
      es.tell(fit);
    }
    EXPECT_EQ(es.total_nonfinite(), 30);
    for (float v : es.mean()) EXPECT_TRUE(std::isfinite(v));
    EXPECT_TRUE(std::isfinite(es.best_fitness()));
    return es.mean();
  };
  EXPECT_EQ(run_once(1), run_once(1));
  EXPECT_NE(run_once(1), run_once(2));
}

TEST(Baselines, RunDrivesAnyStrategyAndEvaluatesTheFinalPopulation) {
  cma_es_config c;
  c.population = 8;
  c.dimension = 2;
  c.generations = 5;
  c.goal = objective::minimize;
  cma_es es(c);
  int calls = 0;
  const optimize_result r = run(es, [&](population_view p, float* f) {
    ++calls;
    for (int i = 0; i < p.rows; ++i) f[i] = static_cast<float>(sphere(p.row(i), p.cols));
  });
  EXPECT_EQ(calls, 6);  // 5 generations + the final population
  EXPECT_EQ(r.population.size(), 16u);
  EXPECT_EQ(r.generations, 5);
  EXPECT_EQ(r.backend, backend_kind::cpu);
  ASSERT_TRUE(r.has_best);
  for (float v : r.fitness) EXPECT_GE(v, r.best_fitness);
  EXPECT_STREQ(es.name(), "cma-es");
}

TEST(Baselines, StateMachineAndBadCalls) {
  open_es_config c;
  c.population = 4;
  c.dimension = 2;
  c.generations = 1;
  open_es es(c);
  std::vector<float> f(4, 1.0f);
  expect_message<logic_error>([&] { es.tell(f); }, "open-es: tell() before ask() at generation 0");
  es.ask();
  expect_message<invalid_argument>([&] { es.tell(f.data(), 3); }, "open-es: fitness has 3 values but population is 4");
  f[2] = INFINITY;
  expect_message<invalid_argument>([&] { es.tell(f); }, "fitness[2] = inf is infinite in the winning direction");
  EXPECT_EQ(es.generation(), 0);
  f[2] = 1.0f;
  es.tell(f);
  EXPECT_TRUE(es.done());
  es.ask();
  expect_message<logic_error>([&] { es.tell(f); }, "open-es: tell() after done()");
}

TEST(Baselines, BadConfigsNameTheField) {
  cma_es_config c;
  c.sigma0 = -1;
  expect_message<invalid_argument>([&] { cma_es x(c); }, "cma-es: sigma0 must be finite and > 0 (got -1)");
  c = cma_es_config{};
  c.population = 1;
  expect_message<invalid_argument>([&] { cma_es x(c); }, "cma-es: population must be >= 2 (got 1)");
  c = cma_es_config{};
  c.mean0 = {1.0f};
  expect_message<invalid_argument>([&] { cma_es x(c); }, "cma-es: mean0 must have 0 or dimension (2) values (got 1)");
  open_es_config o;
  o.antithetic = true;
  o.population = 5;
  expect_message<invalid_argument>([&] { open_es x(o); }, "open-es: population must be even with antithetic");
  o = open_es_config{};
  o.momentum = 1.0;
  expect_message<invalid_argument>([&] { open_es x(o); }, "open-es: momentum must be in [0, 1) (got 1)");
  pepg_config p;
  p.population = 9;
  expect_message<invalid_argument>([&] { pepg x(p); }, "pepg: population must be even and >= 2 with the average baseline (got 9)");
  p = pepg_config{};
  p.elite_ratio = 1.5;
  expect_message<invalid_argument>([&] { pepg x(p); }, "pepg: elite_ratio must be in [0, 1] (got 1.5)");
  // step sizes whose float samples overflow (before: every sample of the first ask() was inf or NaN)
  c = cma_es_config{};
  c.sigma0 = 1e300;
  expect_message<invalid_argument>([&] { cma_es x(c); }, "cma-es: sigma0 = 1e+300 with mean0[0] = 0 makes samples overflow float");
  c.sigma0 = 1e32;
  c.mean0 = {3e38f, 0.0f};  // 1e32 alone would fit; with this mean it does not
  expect_message<invalid_argument>([&] { cma_es x(c); }, "cma-es: sigma0 = 1e+32 with mean0[0] = ");
  o = open_es_config{};
  o.sigma_init = 1e39;
  expect_message<invalid_argument>([&] { open_es x(o); }, "open-es: sigma_init = 1e+39 with mean0[0] = 0 makes samples overflow");
  p = pepg_config{};
  p.sigma_init = 1e300;
  expect_message<invalid_argument>([&] { pepg x(p); }, "pepg: sigma_init = 1e+300 with mean0[0] = 0 makes samples overflow");
}

TEST(Baselines, AllNonFiniteFitnessLeavesTheDistributionUnchanged) {
  cma_es_config c;
  c.population = 6;
  c.dimension = 3;
  c.mean0 = {1.0f, 2.0f, 3.0f};
  cma_es cma(c);
  open_es_config o;
  o.population = 6;
  o.dimension = 3;
  o.mean0 = c.mean0;
  open_es oes(o);
  pepg_config p;
  p.population = 6;
  p.dimension = 3;
  p.mean0 = c.mean0;
  pepg pe(p);
  const std::vector<float> nan(6, NAN);
  for (baseline_strategy* s : std::initializer_list<baseline_strategy*>{&cma, &oes, &pe}) {
    s->ask();
    s->tell(nan);
    EXPECT_EQ(s->mean(), c.mean0) << s->name();
    EXPECT_EQ(s->total_nonfinite(), 6) << s->name();
    EXPECT_FALSE(s->has_best());
  }
  const double sigma = cma.sigma();
  cma.ask();
  cma.tell(nan);
  EXPECT_EQ(cma.sigma(), sigma);
}

TEST(Baselines, NonFiniteRanksBelowTheWorstFiniteFitness) {
  // Two individuals, mu = 1: CMA-ES moves its mean onto the better one. With the NaN at index 0 and
  // a finite value at index 1, the finite one must be chosen whatever its value.
  cma_es_config c;
  c.population = 2;
  c.dimension = 2;
  c.seed = 4;
  cma_es es(c);
  const population_view p = es.ask();
  const std::vector<float> second(p.row(1), p.row(1) + 2);
  es.tell(std::vector<float>{NAN, -1e30f});
  // m' = m + sigma * y_1 with y_1 the finite individual's step: exactly its position.
  EXPECT_EQ(es.mean(), second);
}

// The L2 penalty (weight_decay) lowers the finite entries only; a non-finite one must still rank last
// (tied with the worst finite value at most). A mirrored pair far from the origin, where the penalty
// exceeds the spread of the ranks: with the NaN at row 0 the mean must not move towards row 0.
TEST(Baselines, NonFiniteStaysLastUnderTheWeightDecay) {
  const auto never_towards_the_nan_row = [](auto& es, const std::string& what) {
    const population_view p = es.ask();
    const std::vector<float> nan_row(p.row(0), p.row(0) + 2), finite_row(p.row(1), p.row(1) + 2);
    es.tell(std::vector<float>{NAN, 0.0f});
    const std::vector<float> m = es.mean();
    for (int j = 0; j < 2; ++j) EXPECT_LE((m[j] - 30.0f) * (nan_row[j] - finite_row[j]), 0.0f) << what;
  };
  for (fitness_shaping shaping : {fitness_shaping::centered_ranks, fitness_shaping::standardized}) {
    open_es_config c;
    c.population = 2;
    c.dimension = 2;
    c.antithetic = true;
    c.mean0 = {30.0f, 30.0f};
    c.weight_decay = 0.01;
    c.shaping = shaping;
    c.seed = 3;
    open_es es(c);
    never_towards_the_nan_row(es, "open_es, shaping " + std::to_string(static_cast<int>(shaping)));
  }
  pepg_config q;
  q.population = 2;
  q.dimension = 2;
  q.mean0 = {30.0f, 30.0f};
  q.weight_decay = 0.01;
  q.sigma_alpha = 0;
  q.seed = 3;
  pepg pe(q);
  never_towards_the_nan_row(pe, "pepg");
}
