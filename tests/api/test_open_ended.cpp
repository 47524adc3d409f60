// Open-ended Diffusion Evolution: box rules, budgets and stopping criteria, restarts and continuation
// deterministic from the seed, rank shaping's invariance to the fitness units, the archive, warm
// starts and injected candidates, and bad inputs named.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "diffevo/diffevo.hpp"
#include "tests/helpers/expect.hpp"

using namespace diffevo;

namespace {
open_ended_config base(int n = 32, int dim = 2) {
  open_ended_config c;
  c.run.population = n;
  c.run.dimension = dim;
  c.run.steps = 10;
  c.run.seed = 5;
  c.run.backend = backend_kind::cpu;
  return c;
}
float sphere(const float* x, int d) {
  double s = 0;
  for (int j = 0; j < d; ++j) s += double(x[j]) * x[j];
  return float(s);
}
std::vector<float> all(population_view p, float (*f)(const float*, int)) {
  std::vector<float> out(static_cast<std::size_t>(p.rows));
  for (int i = 0; i < p.rows; ++i) out[static_cast<std::size_t>(i)] = f(p.row(i), p.cols);
  return out;
}
}  // namespace

// Maximizing |x|^2 pushes the population against the box; it starts wide outside it (scale 5).
TEST(OpenEnded, EveryAskedPointLiesInTheBox) {
  for (bound_rule rule : {bound_rule::reflect, bound_rule::clip, bound_rule::penalize}) {
    SCOPED_TRACE(static_cast<int>(rule));
    open_ended_config c = base();
    c.run.scale = {5};
    c.lower = {-1, -0.5};
    c.upper = {1, 2};
    c.bounds = rule;
    c.restarts = 1;
    c.continuations = 1;
    open_ended run(c);
    int asked = 0;
    while (!run.done()) {
      const population_view p = run.ask();
      for (int i = 0; i < p.rows; ++i) {
        ASSERT_GE(p.row(i)[0], -1.0f);
        ASSERT_LE(p.row(i)[0], 1.0f);
        ASSERT_GE(p.row(i)[1], -0.5f);
        ASSERT_LE(p.row(i)[1], 2.0f);
      }
      run.tell(all(p, sphere));
      ++asked;
    }
    EXPECT_EQ(run.cycles(), 4);
    // A first cycle: 9 generations and the final evaluation; a continuation starts at generation
    // (T - 1) / 2 = 4: 5 generations and the final evaluation.
    EXPECT_EQ(asked, 2 * (10 + 6));
    EXPECT_NEAR(run.best_fitness(), 5.0f, 0.5f);  // the corner (+-1, 2)
  }
}

TEST(OpenEnded, TheBudgetIsNeverExceeded) {
  open_ended_config c = base();
  c.restarts = -1;
  c.max_evaluations = 1000;
  const open_ended_result r = optimize(c, [](population_view p, float* f) {
    for (int i = 0; i < p.rows; ++i) f[i] = -sphere(p.row(i), p.cols);
  });
  EXPECT_EQ(r.stop_reason, "max_evaluations");
  EXPECT_LE(r.evaluations, 1000);
  EXPECT_GT(r.evaluations, 1000 - 32);
}

TEST(OpenEnded, StopsAtTheTargetAndOnWallTime) {
  open_ended_config c = base();
  c.restarts = -1;
  c.run.goal = objective::minimize;
  c.target = 1e-2;
  const open_ended_result r = optimize(c, [](population_view p, float* f) {
    for (int i = 0; i < p.rows; ++i) f[i] = sphere(p.row(i), p.cols);
  });
  EXPECT_EQ(r.stop_reason, "target");
  EXPECT_LE(r.best_fitness, 1e-2f);
  c.target = -1;  // unreachable under minimize of |x|^2
  c.max_seconds = 0.2;
  EXPECT_EQ(optimize(c, [](population_view p, float* f) {
              for (int i = 0; i < p.rows; ++i) f[i] = sphere(p.row(i), p.cols);
            }).stop_reason,
            "max_seconds");
}

// Flat fitness ends a cycle after flat_generations generations; the run goes on to the next restart.
TEST(OpenEnded, FlatFitnessEndsEachCycleEarly) {
  open_ended_config c = base(16);
  c.restarts = 2;
  c.flat_generations = 3;
  const open_ended_result r = optimize(c, [](population_view p, float* f) { std::fill(f, f + p.rows, 7.0f); });
  EXPECT_EQ(r.cycles, 3);
  EXPECT_EQ(r.stop_reason, "restarts");
  EXPECT_EQ(r.evaluations, 3 * 3 * 16);
}

TEST(OpenEnded, RestartsGrowThePopulationAndTheRunIsDeterministic) {
  open_ended_config c = base(16);
  c.restarts = 3;
  c.population_growth = 2;
  c.max_population = 100;
  c.continuations = 1;
  c.archive_radius = 0.1;
  c.archive_tolerance = 0.5;
  std::vector<int> sizes;
  const auto f = [&](population_view p, float* out) {
    if (sizes.empty() || sizes.back() != p.rows) sizes.push_back(p.rows);
    for (int i = 0; i < p.rows; ++i) out[i] = std::cos(3 * p.row(i)[0]) + std::cos(3 * p.row(i)[1]);
  };
  const open_ended_result a = optimize(c, f);
  EXPECT_EQ(sizes, (std::vector<int>{16, 32, 64, 100}));
  EXPECT_EQ(a.cycles, 8);
  const open_ended_result b = optimize(c, f);
  EXPECT_EQ(a.population, b.population);
  EXPECT_EQ(a.best, b.best);
  ASSERT_EQ(a.archive.size(), b.archive.size());
  ASSERT_FALSE(a.archive.empty());
  for (std::size_t k = 0; k < a.archive.size(); ++k) EXPECT_EQ(a.archive[k].x, b.archive[k].x);
  // Archive members are within the tolerance of the best, and farther apart than the radius.
  for (std::size_t k = 0; k < a.archive.size(); ++k) {
    EXPECT_LE(a.best_fitness - a.archive[k].fitness, 0.5f);
    for (std::size_t m = 0; m < k; ++m) {
      const double dx = a.archive[k].x[0] - a.archive[m].x[0], dy = a.archive[k].x[1] - a.archive[m].x[1];
      EXPECT_GT(dx * dx + dy * dy, 0.01);
    }
  }
}

// Under rank shaping only the order of the fitness matters: a monotone change of units gives the same bits.
TEST(OpenEnded, RankShapingIgnoresTheFitnessUnits) {
  open_ended_config c = base();
  c.shaping = density_shaping::rank;
  c.continuations = 1;
  const open_ended_result a = optimize(c, [](population_view p, float* f) {
    for (int i = 0; i < p.rows; ++i) f[i] = -sphere(p.row(i), p.cols);
  });
  const open_ended_result b = optimize(c, [](population_view p, float* f) {
    for (int i = 0; i < p.rows; ++i) f[i] = 1e6f - 1e6f * std::exp(0.1f * sphere(p.row(i), p.cols));
  });
  EXPECT_EQ(a.population, b.population);
  EXPECT_LT(-a.best_fitness, 1e-2f);
}

// The archive on a CEC'2013 problem: the five equal maxima of problem 2 from one run.
TEST(OpenEnded, ArchiveKeepsDistinctOptima) {
  open_ended_config c = base(64, 1);
  c.run.center = {0.5f};
  c.run.scale = {0.3f};
  c.run.steps = 30;
  c.lower = {0};
  c.upper = {1};
  c.continuations = 2;
  c.archive_radius = 0.01;
  c.archive_tolerance = 0.1;
  const cec2013::fitness f{cec2013::make_problem(2)};
  const open_ended_result r = optimize(c, [&](population_view p, float* out) { for (int i = 0; i < p.rows; ++i) out[i] = f(p.row(i), p.cols); });
  std::vector<float> pts;
  for (const archived_point& a : r.archive) pts.push_back(a.x[0]);
  EXPECT_EQ(count_global_optima(2, pts.data(), static_cast<int>(r.archive.size()), 1e-1), 5);
}

TEST(OpenEnded, WarmStartAndInjectedCandidates) {
  open_ended_config c = base(8);
  c.start.population.assign(16, 0.25f);
  c.start.generation = 4;
  c.start.diffuse = false;
  open_ended run(c);
  population_view p = run.ask();
  EXPECT_EQ(std::vector<float>(p.data, p.data + p.size()), c.start.population);
  std::vector<float> f(8);
  for (int i = 0; i < 8; ++i) f[static_cast<std::size_t>(i)] = float(i);  // row 0 is the worst
  run.tell(f);
  const float cand[2] = {3.5f, -2.5f};
  run.inject(cand, 1);
  p = run.ask();
  EXPECT_EQ(p.row(0)[0], 3.5f);
  EXPECT_EQ(p.row(0)[1], -2.5f);
  expect_message<invalid_argument>([&] { run.inject(cand, 9); }, "inject(): count = 9 must be in [0, 8]");
}

TEST(OpenEnded, BadInputsAreNamed) {
  const auto refuse = [](auto edit, const char* part) {
    open_ended_config c = base();
    edit(c);
    expect_message<invalid_argument>([&] { open_ended run(c); }, part);
  };
  refuse([](open_ended_config& c) { c.lower = {1}, c.upper = {1}; }, "the box is empty in dimension 0: lower = 1, upper = 1");
  refuse([](open_ended_config& c) { c.lower = {0, 2}, c.upper = {1, 1}; }, "the box is empty in dimension 1");
  refuse([](open_ended_config& c) { c.lower = {0}; }, "give both or neither");
  refuse([](open_ended_config& c) { c.lower = {0, 0, 0}, c.upper = {1}; }, "lower has 3 values; give 0, 1 or dimension = 2");
  refuse([](open_ended_config& c) { c.max_evaluations = 31; }, "max_evaluations = 31 is less than one population (32)");
  refuse([](open_ended_config& c) { c.archive_radius = -1; }, "archive_radius = -1");
  refuse([](open_ended_config& c) { c.population_growth = 0.5; }, "population_growth = 0.5");
  refuse([](open_ended_config& c) { c.continue_at = 9; }, "continue_at = 9 must be -1 or in [0, 8]");
  refuse([](open_ended_config& c) { c.rank_temperature = 0; }, "rank_temperature = 0");
  refuse([](open_ended_config& c) { c.run.population = 1; }, "population");
}
