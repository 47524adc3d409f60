// Open-ended Diffusion Evolution: box rules, budgets and stopping criteria, restarts and continuation
// deterministic from the seed, rank shaping's invariance to the fitness units, the archive, refinement,
// warm starts and injected candidates, checkpoints resumed bit for bit, and bad inputs named.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "diffevo/diffevo.hpp"
#include "host/open_ended/checkpoint.hpp"
#include "tests/helpers/expect.hpp"
#include "tests/helpers/file_bytes.hpp"

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

namespace {
/// Every row of p lies in the box [-1, 1] x [-0.5, 2].
::testing::AssertionResult in_box(population_view p) {
  for (int i = 0; i < p.rows; ++i)
    if (!(p.row(i)[0] >= -1.0f && p.row(i)[0] <= 1.0f && p.row(i)[1] >= -0.5f && p.row(i)[1] <= 2.0f))
      return ::testing::AssertionFailure() << "row " << i << " = (" << p.row(i)[0] << ", " << p.row(i)[1] << ")";
  return ::testing::AssertionSuccess();
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
      ASSERT_TRUE(in_box(p));
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

namespace {

// Restarts that double the population from 16 to 100, and a fitness that records the sizes it is asked.
open_ended_config growing_run() {
  open_ended_config c = base(16);
  c.restarts = 3;
  c.population_growth = 2;
  c.max_population = 100;
  c.continuations = 1;
  return c;
}

batch_fitness recording_sizes(std::vector<int>& sizes) {
  return [&sizes](population_view p, float* out) {
    if (sizes.empty() || sizes.back() != p.rows) sizes.push_back(p.rows);
    for (int i = 0; i < p.rows; ++i) out[i] = std::cos(3 * p.row(i)[0]) + std::cos(3 * p.row(i)[1]);
  };
}

}  // namespace

TEST(OpenEnded, RestartsGrowThePopulationAndTheRunIsDeterministic) {
  open_ended_config c = growing_run();
  c.archive_radius = 0.1;
  c.archive_tolerance = 0.5;
  std::vector<int> sizes;
  const batch_fitness f = recording_sizes(sizes);
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

// run(open_ended&, ...) drives a run whose population changes size (restarts that grow it) to the
// same end as optimize(); from part-way it asks only what is left; in double as well. The generic
// run(strategy&, ...) refuses an open_ended before asking anything.
TEST(OpenEnded, RunDrivesAnOpenEndedRunToTheEndOfOptimize) {
  const open_ended_config c = growing_run();
  std::vector<int> sizes;
  const batch_fitness f = recording_sizes(sizes);
  const open_ended_result want = optimize(c, f);
  const auto same = [&](const open_ended_result& got) {
    EXPECT_EQ(got.population, want.population);
    EXPECT_EQ(got.fitness, want.fitness);
    EXPECT_EQ(got.best, want.best);
    EXPECT_EQ(got.evaluations, want.evaluations);
    EXPECT_EQ(got.cycles, want.cycles);
    EXPECT_EQ(got.stop_reason, want.stop_reason);
    ASSERT_EQ(got.archive.size(), want.archive.size());
    for (std::size_t k = 0; k < got.archive.size(); ++k) EXPECT_EQ(got.archive[k].x, want.archive[k].x);
  };

  sizes.clear();
  open_ended whole(c);
  same(run(whole, f));
  EXPECT_TRUE(whole.done());
  EXPECT_EQ(sizes, (std::vector<int>{16, 32, 64, 100}));

  open_ended part(c);
  std::vector<float> v;
  for (int g = 0; g < 25; ++g) {  // past the first restart
    const population_view p = part.ask();
    v.resize(static_cast<std::size_t>(p.rows));
    f(p, v.data());
    part.tell(v);
  }
  ASSERT_GT(part.restarts(), 0);
  same(run(part, f));

  open_ended precise(c);
  same(run(precise, [&](population_view p, double* out) {
    std::vector<float> tmp(static_cast<std::size_t>(p.rows));
    f(p, tmp.data());
    std::copy(tmp.begin(), tmp.end(), out);
  }));

  open_ended refused(c);
  strategy& generic = refused;
  bool called = false;
  expect_message<invalid_argument>([&] { diffevo::run(generic, [&](population_view, float*) { called = true; }); },
                                   "generations() = -1");
  EXPECT_FALSE(called);
  EXPECT_EQ(refused.generation(), 0);
  EXPECT_EQ(refused.evaluations(), 0);
}

// Under rank shaping only the order of the fitness matters: a monotone change of units gives the same bits.
// Local restarts: each restart after the first starts around its own uniform random point of the box
// with scale restart_scale x run.scale; the first cycle keeps run.center; the centres repeat with the seed.
TEST(OpenEnded, LocalRestartsStartAtRandomPointsOfTheBox) {
  const auto centres = [](std::uint64_t seed) {
    open_ended_config c = base(64, 2);
    c.run.seed = seed;
    c.run.center = {1};
    c.run.scale = {10};
    c.lower = {-10};
    c.upper = {10};
    c.restarts = 5;
    c.restart_scale = 0.01;  // a spread of 0.1 around each centre
    open_ended run(c);
    std::vector<std::vector<double>> out;
    int seen = -1;
    while (!run.done()) {
      const population_view p = run.ask();
      if (run.restarts() != seen) {  // the first population of a restart
        seen = run.restarts();
        double m[2] = {0, 0}, far = 0;
        for (int i = 0; i < p.rows; ++i) m[0] += p.row(i)[0] / p.rows, m[1] += p.row(i)[1] / p.rows;
        for (int i = 0; i < p.rows; ++i) far = std::max(far, std::hypot(p.row(i)[0] - m[0], p.row(i)[1] - m[1]));
        if (seen > 0) EXPECT_LT(far, 1.0) << "restart " << seen << " is not local";
        out.push_back({m[0], m[1]});
      }
      run.tell(all(p, sphere));
    }
    return out;
  };
  const std::vector<std::vector<double>> a = centres(7), b = centres(7), other = centres(8);
  ASSERT_EQ(a.size(), 6u);
  EXPECT_NEAR(a[0][0], 1.0, 3.0);  // the first cycle: run.center, run.scale (10): wide
  for (std::size_t k = 1; k < a.size(); ++k) {
    for (const double v : a[k]) EXPECT_TRUE(v > -10 && v < 10) << v;
    for (std::size_t q = 1; q < k; ++q) EXPECT_GT(std::hypot(a[k][0] - a[q][0], a[k][1] - a[q][1]), 0.5);
  }
  EXPECT_EQ(a, b);
  EXPECT_NE(a, other);
}

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
  expect_message<invalid_argument>([&] { run.inject(cand, 9); }, "inject(): count = 9 must be in [0, 8]");
  run.inject(cand, 1);
  p = run.ask();
  EXPECT_EQ(p.row(0)[0], 3.5f);
  EXPECT_EQ(p.row(0)[1], -2.5f);
  // between ask() and tell() the log would replay it into the population already asked: refused
  expect_message<logic_error>([&] { run.inject(cand, 1); }, "inject() between ask() and tell()");
}

// The configs a run builds later (a local cycle, a local restart) are checked when it is made: each of
// these was accepted and then failed inside a tell() part-way, after which the run was broken
// (population_size() garbage, ask() a segfault).
TEST(OpenEnded, ConfigsOfLaterCyclesAreCheckedUpFront) {
  const auto refuse = [](auto edit, const char* part) {
    open_ended_config c = base();
    edit(c);
    expect_message<invalid_argument>([&] { open_ended run(c); }, part);
  };
  refuse([](open_ended_config& c) {
    c.run.schedule = schedule_kind::user, c.run.user_alphas = {0.9, 0.7, 0.5, 0.3, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01};
    c.refine_levels = 2, c.refine_steps = 6;
  }, "the local cycles (population = refine_population = 32, steps = refine_steps = 6, scale = run.scale x refine_scale = 0.05): user_alphas must have steps = 6 values (got 10)");
  refuse([](open_ended_config& c) { c.run.eta = 1.05, c.run.steps = 25, c.refine_levels = 2, c.refine_steps = 10; },
         "the local cycles (population = refine_population = 32, steps = refine_steps = 10, scale = run.scale x refine_scale = 0.05): eta = 1.05 is too large");
  refuse([](open_ended_config& c) { c.refine_levels = 2, c.refine_scale = 1e-50; }, "scale = run.scale x refine_scale = 1e-50): scale[0] must be");
  refuse([](open_ended_config& c) { c.refine_levels = 2, c.refine_scale = 1e40; }, "scale = run.scale x refine_scale = 1e+40): scale[0] must be");
  const auto boxed = [](double restart_scale) {
    return [restart_scale](open_ended_config& c) { c.lower = {-3}, c.upper = {3}, c.restart_scale = restart_scale; };
  };
  refuse(boxed(1e-50), "the local restarts (a centre in the box, scale = run.scale x restart_scale = 1e-50): scale[0] must be");
  refuse(boxed(1e40), "the local restarts (a centre in the box, scale = run.scale x restart_scale = 1e+40): scale[0] must be");
  // the box: every point of it enters a population (folded), so the parameter map must hold it, and
  // its points are floats
  refuse([](open_ended_config& c) { c.lower = {1e7}, c.upper = {2e7}; },
         "the box in dimension 0: lower = 10000000, upper = 20000000 reaches 20000000 run.scale from run.center (0, scale 1)");
  refuse([](open_ended_config& c) { c.lower = {-1e39}, c.upper = {1e39}, c.run.scale = {1e32f}; },
         "the box in dimension 0: lower = -1e+39, upper = 1e+39 is beyond float range");
  refuse([](open_ended_config& c) { c.lower = {0.1000000001}, c.upper = {0.1000000002}; }, "holds no float");
  // what stays accepted: a far box with the map moved onto it, and the schedules' own limits
  open_ended_config far = base();
  far.lower = {1e7}, far.upper = {2e7}, far.run.center = {1.5e7f}, far.run.scale = {1e6f};
  EXPECT_NO_THROW(open_ended run(far));
  config ddpm;
  ddpm.schedule = schedule_kind::ddpm;
  ddpm.steps = 184000;
  EXPECT_NO_THROW(validate(ddpm));
  ddpm.steps = 200000;  // past its turn alpha fell below 1e-4 and rose again: refused by name
  expect_message<invalid_argument>([&] { validate(ddpm); }, "schedule = ddpm is not decreasing at steps = 200000");
  expect_message<invalid_argument>([] { make_schedule(static_cast<schedule_kind>(7), 10, {}); },
                                   "schedule must be cosine, linear, ddpm or user (0-3) (got 7)");
}

// clip and penalize (and reflect) ask floats inside the box also where a bound is not a float
// (-0.1, 0.1): rounding to nearest left 56 of the points outside by one ulp.
TEST(OpenEnded, BoxRulesAskFloatsInsideTheBox) {
  for (bound_rule rule : {bound_rule::clip, bound_rule::penalize, bound_rule::reflect}) {
    open_ended_config c = base(64, 2);
    c.lower = {-0.1}, c.upper = {0.1};
    c.bounds = rule;
    c.max_evaluations = 64 * 20;
    open_ended run(c);
    int outside = 0, asked = 0;
    while (!run.done()) {
      const population_view p = run.ask();
      for (std::size_t t = 0; t < p.size(); ++t) outside += p.data[t] < -0.1 || p.data[t] > 0.1;
      asked += static_cast<int>(p.size());
      run.tell(all(p, sphere));
    }
    EXPECT_GT(asked, 0);
    EXPECT_EQ(outside, 0) << "rule " << static_cast<int>(rule);
  }
}

// ask() again before tell() (a retry after the evaluation threw) gives the same points, bit for bit,
// also where the box moved some (reflect, clip: they went through the parameter map once more and
// moved by up to 3e-8 in 32 of 40 batches).
TEST(OpenEnded, AskingAgainBeforeATellGivesTheSamePoints) {
  for (bound_rule rule : {bound_rule::reflect, bound_rule::clip, bound_rule::penalize}) {
    open_ended_config c = base(32, 3);
    c.run.center = {0.3f}, c.run.scale = {0.7f};  // a map that is not the identity: p = 0.3 + 0.7 x
    c.lower = {-0.1}, c.upper = {0.1};
    c.bounds = rule;
    c.max_evaluations = 32 * 40;
    open_ended run(c);
    int differ = 0;
    while (!run.done()) {
      const population_view p = run.ask();
      const std::vector<float> first(p.data, p.data + p.size());
      const population_view q = run.ask();
      differ += std::memcmp(first.data(), q.data, first.size() * sizeof(float)) != 0;
      run.tell(all(q, sphere));
    }
    EXPECT_EQ(differ, 0) << "rule " << static_cast<int>(rule);
  }
}

// A candidate injected while a local cycle (a narrow parameter map about its seed) is next is not
// used when that map cannot hold it; the run goes on (every ask() after it threw before).
TEST(OpenEnded, InjectedPointsALocalCycleCannotHoldAreNotUsed) {
  open_ended_config c = base(32, 2);
  c.lower = {-3}, c.upper = {3};
  c.refine_levels = 3, c.refine_scale = 1e-7;  // local maps reach 1e6 x 1e-7 = 0.1 from their seed
  c.refine_population = 16;                      // (told apart from the global cycles' 32 by size)
  c.max_evaluations = 32 * 40;
  open_ended run(c);
  int injected_local = 0;
  const std::vector<float> far = {2.5f, 2.5f};
  while (!run.done()) {
    const population_view p = run.ask();
    run.tell(all(p, sphere));
    if (!run.done() && p.rows == c.refine_population) {  // a local cycle runs: its next generation gets it
      run.inject(far.data(), 1);
      ++injected_local;
      const population_view q = run.ask();
      if (q.rows == c.refine_population)
        for (int i = 0; i < q.rows; ++i) EXPECT_FALSE(q.row(i)[0] == 2.5f && q.row(i)[1] == 2.5f) << "row " << i;
      run.tell(all(q, sphere));
    }
  }
  EXPECT_GT(injected_local, 0);
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
  refuse([](open_ended_config& c) { c.restarts = -1; }, "restarts = -1 (unlimited) needs a stopping criterion");
  refuse([](open_ended_config& c) { c.rank_temperature = 0; }, "rank_temperature = 0");
  refuse([](open_ended_config& c) { c.run.population = 1; }, "population");
  refuse([](open_ended_config& c) { c.refine_shrink = 0; }, "refine_shrink = 0 must be in (0, 1]");
  refuse([](open_ended_config& c) { c.refine_levels = -1; }, "refine_levels = -1");
  refuse([](open_ended_config& c) { c.refine_population = 1; }, "refine_population = 1");
  refuse([](open_ended_config& c) { c.refine_distance = -0.5; }, "refine_distance = -0.5");
  refuse([](open_ended_config& c) { c.derate_radius = -1; }, "derate_radius = -1");
  refuse([](open_ended_config& c) { c.refine_precision = -1; }, "refine_precision = -1");
  refuse([](open_ended_config& c) { c.refine_abandon = -2; }, "refine_abandon = -2");
  refuse([](open_ended_config& c) { c.refine_abandon_gain = -0.1; }, "refine_abandon_gain = -0.1 must be finite and >= 0");
  refuse([](open_ended_config& c) { c.refine_abandon_gain = NAN; }, "refine_abandon_gain = nan");
  refuse([](open_ended_config& c) { c.refine_cycles = -1; }, "refine_cycles = -1 must be >= 0 (0: 3 x refine_levels)");
  refuse([](open_ended_config& c) { c.refine_taboo = true; }, "refine_taboo = true needs refinement (refine_levels = 0)");
  refuse([](open_ended_config& c) { c.refine_taboo = true, c.refine_levels = 2; },
         "refine_taboo = true needs a niche radius (refine_distance = 0 and archive_radius = 0)");
  refuse([](open_ended_config& c) { c.restart_scale = 0.5; }, "restart_scale = 0.5 needs a box");
  refuse([](open_ended_config& c) { c.refine_polish = -1; }, "refine_polish = -1 must be >= 0 (0: never)");
  refuse([](open_ended_config& c) { c.refine_polish = 2; }, "refine_polish = 2 needs refinement (refine_levels = 0)");
  refuse([](open_ended_config& c) { c.refine_seed_cut = 0; }, "refine_seed_cut = 0 must be finite and > 0");
  refuse([](open_ended_config& c) { c.refine_seed_cut = NAN; }, "refine_seed_cut = nan");
  refuse([](open_ended_config& c) { c.refine_levels = 0, c.derate_radius = 1; }, "derate_radius = 1 needs refinement");
  refuse([](open_ended_config& c) { c.refine_abandon_level = 0; }, "refine_abandon_level = 0 must be >= 1");
  refuse([](open_ended_config& c) { c.refine_probe = -0.5, c.refine_levels = 2; }, "refine_probe = -0.5 must be in [0, 1] (0: off)");
  refuse([](open_ended_config& c) { c.refine_probe = 1.5, c.refine_levels = 2; }, "refine_probe = 1.5 must be in [0, 1]");
  refuse([](open_ended_config& c) { c.refine_probe = NAN, c.refine_levels = 2; }, "refine_probe = nan must be in [0, 1]");
  refuse([](open_ended_config& c) { c.refine_probe = 0.5; }, "refine_probe = 0.5 needs refinement (refine_levels = 0)");
  refuse([](open_ended_config& c) { c.refine_translate = -1, c.refine_levels = 2; }, "refine_translate = -1 must be in [0, 64]");
  refuse([](open_ended_config& c) { c.refine_translate = 65, c.refine_levels = 2; }, "refine_translate = 65 must be in [0, 64]");
  refuse([](open_ended_config& c) { c.refine_translate = 6; }, "refine_translate = 6 needs refinement (refine_levels = 0)");
  refuse([](open_ended_config& c) { c.refine_translate_optima = true, c.refine_levels = 2; },
         "refine_translate_optima = true needs refine_translate > 0 (the neighbours it uses), got 0");
  refuse([](open_ended_config& c) { c.refine_nudge = -1, c.refine_levels = 2; }, "refine_nudge = -1 must be in [0, 1000]");
  refuse([](open_ended_config& c) { c.refine_nudge = 1001, c.refine_levels = 2; }, "refine_nudge = 1001 must be in [0, 1000]");
  refuse([](open_ended_config& c) { c.refine_nudge = 16; }, "refine_nudge = 16 needs refinement (refine_levels = 0)");
  refuse([](open_ended_config& c) { c.explore_samples = -1; }, "explore_samples = -1 must be in [0, 16777216]");
  refuse([](open_ended_config& c) { c.explore_samples = 64, c.lower = {-1}, c.upper = {1}; },
         "explore_samples = 64 needs refinement (refine_levels = 0)");
  refuse([](open_ended_config& c) { c.explore_samples = 64, c.refine_levels = 2; }, "explore_samples = 64 needs a box");
  refuse([](open_ended_config& c) { c.explore_samples = 64, c.refine_levels = 2, c.lower = {-1}, c.upper = {1}, c.max_evaluations = 40; },
         "max_evaluations = 40 is less than one exploration sample (explore_samples = 64)");
}

namespace {
/// Himmelblau's function as maximisation (problem 4 of CEC'2013): four optima of value 200.
open_ended_config himmelblau_run(std::uint64_t seed) {
  open_ended_config c = base(64, 2);
  c.run.seed = seed;
  c.run.steps = 15;
  c.run.scale = {6};
  c.lower = {-6};
  c.upper = {6};
  c.shaping = density_shaping::rank;
  c.rank_temperature = 0.05;
  c.continuations = 1;
  c.restarts = -1;
  c.archive_radius = 0.01;
  c.archive_tolerance = 0.1;
  c.refine_levels = 6;
  c.refine_shrink = 0.2;
  c.refine_population = 16;
  c.refine_steps = 8;
  c.max_evaluations = 50000;
  return c;
}
float himmelblau(const float* x, int) {
  const cec2013::fitness f{cec2013::make_problem(4)};
  return f(x, 2);
}
std::string temp_file(const char* name) { return ::testing::TempDir() + name + std::to_string(::getpid()); }
/// Himmelblau's values in double, each 1e-9 x its row index above the float value (so all but row 0's
/// are not floats).
std::vector<double> told_in_double(population_view p) {
  const std::vector<float> f = all(p, himmelblau);
  std::vector<double> out(f.begin(), f.end());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] += 1e-9 * static_cast<double>(i);
  return out;
}
/// A run of `c` told Himmelblau in float: every population asked, then its cycles and refinements. At
/// step `save_at` (-1: never) it is saved, rewritten in format `version` and resumed from that file;
/// `on_load` sees the resumed run. A file of a version before 9 holds a run whose restarts were seeded
/// as that version's were (run.seed + k), and the run resumed from it goes on so; saved at step 0, the
/// whole run is such a run.
std::vector<float> trace_through_version(const open_ended_config& c, const std::string& path, int save_at,
                                         std::uint32_t version, void (*on_load)(const open_ended&) = nullptr) {
  std::vector<float> seen;
  open_ended run(c);
  for (int step = 0; !run.done(); ++step) {
    if (step == save_at) {
      run.save(path);
      const std::vector<unsigned char> bytes = read_all(path);
      detail::open_ended_checkpoint cp = detail::decode_open_ended(bytes.data(), bytes.size(), path);
      cp.version = version;
      const std::vector<unsigned char> old = detail::encode_open_ended(cp, version);
      EXPECT_EQ(old[8], version);
      if (version < detail::k_open_ended_version) EXPECT_LT(old.size(), bytes.size());  // fewer config fields
      write_all(path, old);
      run = open_ended::load(path, &c);
      if (on_load) on_load(run);
    }
    const population_view q = run.ask();
    seen.insert(seen.end(), q.data, q.data + q.size());
    run.tell(all(q, himmelblau));
  }
  seen.push_back(static_cast<float>(run.cycles() + 1000 * run.refinements()));
  return seen;
}
}  // namespace

// Without refinement a cycle ends at alpha[0] = 0.999, whose noise keeps the population about 0.2
// from each optimum (scale 6): 1e-1 is reached, 1e-4 is not. Refinement's local cycles reach 1e-4 at
// all four optima, within the competition's budget.
TEST(OpenEnded, RefinementReachesFineAccuracy) {
  for (const std::uint64_t seed : {1u, 2u}) {
    const open_ended_result r = optimize(himmelblau_run(seed), [](population_view p, float* out) {
      const std::vector<float> f = all(p, himmelblau);
      std::copy(f.begin(), f.end(), out);
    });
    EXPECT_LE(r.evaluations, 50000);
    EXPECT_GT(r.refinements, 0);
    std::vector<float> pts;
    for (const archived_point& a : r.archive) pts.insert(pts.end(), a.x.begin(), a.x.end());
    EXPECT_EQ(count_global_optima(4, pts.data(), static_cast<int>(r.archive.size()), 1e-4), 4) << "seed " << seed;
  }
}

// Himmelblau's four optima 1e4 above their value (a fitness near a large constant): a float is 1e-3
// coarse at 1e4, so a run told in float cannot tell the points within 1e-4 of an optimum apart, while a
// run told in double keeps the values as they are and refines all four to 1e-5 (the count evaluates the
// points in double, without the constant).
TEST(OpenEnded, ValuesToldInDoubleAreKeptInDouble) {
  const cec2013::problem h = cec2013::make_problem(4);
  const auto lifted = [&](const float* x) {
    const double xd[2] = {x[0], x[1]};
    return 1e4 + cec2013::evaluate(h, xd);
  };
  for (const std::uint64_t seed : {1u, 2u}) {
    const open_ended_result precise = optimize(himmelblau_run(seed), [&](population_view p, double* out) {
      for (int i = 0; i < p.rows; ++i) out[i] = lifted(p.row(i));
    });
    const open_ended_result rounded = optimize(himmelblau_run(seed), [&](population_view p, float* out) {
      for (int i = 0; i < p.rows; ++i) out[i] = static_cast<float>(lifted(p.row(i)));
    });
    const auto found = [](const open_ended_result& r, double accuracy) {
      std::vector<float> pts;
      for (const archived_point& a : r.archive) pts.insert(pts.end(), a.x.begin(), a.x.end());
      return count_global_optima(4, pts.data(), static_cast<int>(r.archive.size()), accuracy);
    };
    EXPECT_EQ(found(precise, 1e-5), 4) << "seed " << seed;
    EXPECT_LT(found(rounded, 1e-5), 4) << "seed " << seed;  // measured: 0 and 0
    // kept as told: the best value and the archive's are the double values, above float resolution
    for (const double v : {precise.best_fitness, precise.archive.front().fitness}) {
      EXPECT_GT(v, 1e4 + 200 - 1e-5);
      EXPECT_NE(v, static_cast<double>(static_cast<float>(v)));
    }
    EXPECT_EQ(precise.fitness.size(), precise.population.size() / 2);
  }
}

// tell(const double*) is checked as tell(const float*) is, and a refused tell changes nothing: the
// count, the null pointer, the order, and (shaping = none: the update takes floats) a finite value
// beyond float range, named; the run then goes on as if the refused tell had not been made.
TEST(OpenEnded, ATellInDoubleIsCheckedAndARefusedOneChangesNothing) {
  open_ended_config c = base(8);
  c.max_evaluations = 400;
  open_ended run(c);
  expect_message<logic_error>([&] { run.precise_best_fitness(); }, "precise_best_fitness() before any finite fitness was told");
  const std::vector<double> eight(8, 1.0);
  expect_message<logic_error>([&] { run.tell(eight); }, "tell() before ask()");
  const population_view p = run.ask();
  const std::vector<float> asked(p.data, p.data + p.size());
  expect_message<invalid_argument>([&] { run.tell(std::vector<double>(7, 1.0)); }, "fitness has 7 values but the population is 8");
  expect_message<invalid_argument>([&] { run.tell(static_cast<const double*>(nullptr), 8); }, "fitness is a null pointer");
  std::vector<double> huge(8, 1.0);
  huge[3] = 1e300;
  expect_message<invalid_argument>([&] { run.tell(huge); }, "fitness[3] = 1e+300 is beyond float range");
  EXPECT_EQ(run.evaluations(), 0);
  EXPECT_EQ(run.generation(), 0);
  EXPECT_FALSE(run.has_best());
  const population_view again = run.ask();
  EXPECT_EQ(asked, std::vector<float>(again.data, again.data + again.size()));
  // with rank shaping only the order reaches the update: any finite double is taken
  open_ended_config r = c;
  r.shaping = density_shaping::rank;
  open_ended ranked(r);
  ranked.ask();
  ranked.tell(huge);
  EXPECT_EQ(ranked.precise_best_fitness(), 1e300);
  // the refused run, told again, is the run that was never refused
  open_ended fresh(c);
  std::vector<float> a, b;
  for (open_ended* o : {&run, &fresh}) {
    std::vector<float>& seen = o == &run ? a : b;
    while (!o->done()) {
      const population_view q = o->ask();
      seen.insert(seen.end(), q.data, q.data + q.size());
      std::vector<double> f(static_cast<std::size_t>(q.rows));
      for (int i = 0; i < q.rows; ++i) f[static_cast<std::size_t>(i)] = -sphere(q.row(i), q.cols) + 1e-12 * i;
      o->tell(f);
    }
  }
  EXPECT_EQ(a, b);
}

// Two equal maxima on a flat floor: a broad peak at (2, 2) (radius 1.5) and a narrow one at (-3, -1)
// (radius 0.3, a twenty-fifth of the area). Sequential niching (derate_radius) gives the broad niche,
// once refined, the worst fitness in the global cycles: they leave it (the share of their points in it
// falls) and find the narrow peak.
namespace {
/// True when the archive holds a point within 0.01 of (x, y) whose fitness is within 1e-4 of 1 (the
/// peaks' value).
bool archived_peak(const std::vector<archived_point>& archive, double x, double y) {
  return std::any_of(archive.begin(), archive.end(), [&](const archived_point& a) {
    return std::hypot(a.x[0] - x, a.x[1] - y) < 0.01 && a.fitness > 1 - 1e-4;
  });
}
float broad_and_narrow(const float* x, int) {
  const double a = (x[0] - 2.0) * (x[0] - 2.0) + (x[1] - 2.0) * (x[1] - 2.0);
  const double b = (x[0] + 3.0) * (x[0] + 3.0) + (x[1] + 1.0) * (x[1] + 1.0);
  return static_cast<float>(std::max({0.0, 1.0 - a / 2.25, 1.0 - b / 0.09}));
}
}  // namespace
TEST(OpenEnded, DeratingLeavesRefinedNichesAndFindsNarrowPeaks) {
  for (const std::uint64_t seed : {1u, 2u, 3u}) {
    const auto trial = [&](double derate, double& near_share) {
      open_ended_config c = himmelblau_run(seed);
      c.max_evaluations = 20000;
      c.derate_radius = derate;
      open_ended run(c);
      long long global = 0, near = 0;
      while (!run.done()) {
        const population_view p = run.ask();
        if (p.rows == c.run.population && run.refinements() > 0)  // a global cycle after the first refinement
          for (int i = 0; i < p.rows; ++i, ++global) near += std::hypot(p.row(i)[0] - 2.0, p.row(i)[1] - 2.0) <= 1.5;
        run.tell(all(p, broad_and_narrow));
      }
      near_share = global ? double(near) / global : 1.0;
      return archived_peak(run.archive(), -3, -1);
    };
    double plain_share = 0, derated_share = 0;
    trial(0, plain_share);
    EXPECT_TRUE(trial(1.5, derated_share)) << "seed " << seed << ": the narrow peak was not found";
    EXPECT_LT(derated_share, 0.5 * plain_share) << "seed " << seed;
  }
}

// The same landscape without derating: seeds from each global cycle's first generation (its widest
// sample) find the narrow peak that the cycles' selection leaves early. Not in every run (in 20 of
// seeds 1-40 with the first generation, in none of them without: measured 2026-12-06), so over 12
// seeds: in at least 3 with it, in fewer without; the broad peak in every run with it.
TEST(OpenEnded, FirstGenerationSeedsFindNarrowPeaks) {
  int with = 0, without = 0;
  for (std::uint64_t seed = 1; seed <= 12; ++seed)
    for (const bool first : {true, false}) {
      open_ended_config c = himmelblau_run(seed);
      c.max_evaluations = 20000;
      c.refine_first_generation = first;
      const open_ended_result r = optimize(c, [](population_view p, float* out) {
        const std::vector<float> f = all(p, broad_and_narrow);
        std::copy(f.begin(), f.end(), out);
      });
      (first ? with : without) += archived_peak(r.archive, -3, -1);
      if (first) EXPECT_TRUE(archived_peak(r.archive, 2, 2)) << "seed " << seed << ": the broad peak was not found";
    }
  EXPECT_GE(with, 3);
  EXPECT_GT(with, without);
}

// refine_taboo on Vincent's function in 2-D (CEC'2013 problem 7: 36 optima of value 1, the peaks at
// small coordinates narrow): a seed in a narrow niche beside a refined broad one, sampled at the local
// scale, finds better points in the neighbour's niche and climbs there, so its own optimum is lost.
// With the refined niches taboo in local cycles (the competition's radius), it climbs its own: more
// optima at 1e-4 within the same budget, in each run.
TEST(OpenEnded, TabooLocalCyclesClimbTheirOwnNarrowPeaks) {
  const cec2013::fitness f{cec2013::make_problem(7)};
  int with_total = 0, without_total = 0;
  for (const std::uint64_t seed : {1u, 2u, 3u, 4u}) {
    const auto found = [&](bool taboo) {
      open_ended_config c = himmelblau_run(seed);  // its rank shaping, cycles and local cycles of 16 x 8
      c.run.population = 576, c.run.cpu_math = cpu_math_kind::exact;  // exact: the same counts on every processor
      c.run.center = {5.125f}, c.run.scale = {4.875f}, c.lower = {0.25}, c.upper = {10};  // the bench's settings:
      c.restart_scale = 0.3, c.archive_radius = 0.2, c.derate_radius = 0.4875, c.max_evaluations = 30000;
      c.refine_levels = 10, c.refine_scale = 0.15, c.refine_first_generation = true, c.refine_precision = 1e-6;
      c.refine_taboo = taboo;
      const open_ended_result r = optimize(c, [&](population_view p, double* out) {
        for (int i = 0; i < p.rows; ++i) out[i] = f.value(p.row(i));
      });
      std::vector<float> pts;
      for (const archived_point& a : r.archive) pts.insert(pts.end(), a.x.begin(), a.x.end());
      return count_global_optima(7, pts.data(), static_cast<int>(r.archive.size()), 1e-4);
    };
    const int with = found(true), without = found(false);
    EXPECT_GT(with, without) << "seed " << seed;
    with_total += with, without_total += without;
  }
  EXPECT_GE(with_total, without_total + 8);
}

// Runs `run` to its end on f; returns the local cycles' populations asked per refined seed.
namespace {
double local_asks_per_refinement(open_ended& run, float (*f)(const float*, int)) {
  long long local = 0;
  while (!run.done()) {
    const population_view p = run.ask();
    local += p.rows == run.cfg().refine_population;
    run.tell(all(p, f));
  }
  return double(local) / std::max(1, run.refinements());
}
}  // namespace

// refine_precision ends a seed as converged once its local cycle's final population spans no more than
// that in fitness: a coarse precision takes fewer local cycles per refined seed, and its refined points
// still lie at the optima, at a coarser accuracy. (At 0, a seed ends when the values are all equal.)
TEST(OpenEnded, ConvergedSeedsEndEarly) {
  const auto cycles_per_seed = [](double precision, double accuracy, int& at_optima) {
    open_ended_config c = himmelblau_run(4);
    c.refine_levels = 10;
    c.refine_precision = precision;
    open_ended run(c);
    const double asks = local_asks_per_refinement(run, himmelblau);
    std::vector<float> pts;
    for (const archived_point& a : run.archive()) pts.insert(pts.end(), a.x.begin(), a.x.end());
    at_optima = count_global_optima(4, pts.data(), static_cast<int>(run.archive().size()), accuracy);
    return asks;
  };
  int exact = 0, coarse = 0;
  const double full = cycles_per_seed(0, 1e-4, exact), early = cycles_per_seed(0.05, 1e-1, coarse);
  EXPECT_LT(early, 0.75 * full);
  EXPECT_EQ(exact, 4);
  EXPECT_EQ(coarse, 4);
}

// refine_cycles caps the local cycles of a seed. On a plane, one global cycle's first seed climbs
// without end, at a scale that never shrinks (refine_shrink 1, and 40 levels it cannot reach), so it
// ends at the cap; no valley lies between any later seed and it, so the hill-valley tests drop them
// before any local cycle: 1 + cap cycles in all, and 0 keeps the cap of earlier versions, 3 x
// refine_levels.
namespace {
float plane(const float* x, int) { return x[0] + 0.5f * x[1]; }
}  // namespace
TEST(OpenEnded, RefineCyclesCapsTheLocalCyclesOfASeed) {
  for (const int cap : {0, 3, 11}) {
    open_ended_config c = base(16, 2);
    c.run.steps = 4;
    c.refine_levels = 40;
    c.refine_shrink = 1;
    c.refine_scale = 1;
    c.refine_population = 8;
    c.refine_steps = 3;
    c.refine_cycles = cap;
    open_ended run(c);
    while (!run.done()) run.tell(all(run.ask(), plane));
    EXPECT_EQ(run.refinements(), 1) << "cap " << cap;
    EXPECT_EQ(run.cycles(), 1 + (cap > 0 ? cap : 3 * 40)) << "cap " << cap;
  }
}

// refine_abandon: on Rastrigin (one global maximum at 0, local ones at the other integer points), seeds
// that stop climbing far below the best are abandoned after two levels: fewer local cycles per
// refined seed, and the global maximum is still refined.
namespace {
float neg_rastrigin(const float* x, int d) {
  double s = 0;
  for (int j = 0; j < d; ++j) s += double(x[j]) * x[j] - 10 * std::cos(2 * 3.14159265358979323846 * x[j]) + 10;
  return static_cast<float>(-s);
}
/// A run on neg_rastrigin with 10 levels and the abandon rule's settings: the local cycles' populations
/// asked per refined seed; `global` says whether the global maximum was refined.
double abandon_trial(double abandon, double gain, int level, bool& global) {
  open_ended_config c = himmelblau_run(5);
  c.refine_levels = 10;
  c.refine_abandon = abandon;
  c.refine_abandon_gain = gain;
  c.refine_abandon_level = level;
  c.max_evaluations = 30000;
  open_ended run(c);
  const double asks = local_asks_per_refinement(run, neg_rastrigin);
  global = run.has_best() && run.best_fitness() > -1e-3f && std::hypot(run.best()[0], run.best()[1]) < 1e-3;
  return asks;
}
}  // namespace
TEST(OpenEnded, SeedsOnLocalOptimaAreAbandoned) {
  const auto trial = [](double abandon, double gain, bool& global) { return abandon_trial(abandon, gain, 2, global); };
  bool kept = false, abandoned = false, abandoned_unless_climbing = false;
  const double full = trial(INFINITY, 0, kept), early = trial(0.5, 0, abandoned);
  EXPECT_LT(early, 0.75 * full);
  EXPECT_TRUE(kept);
  EXPECT_TRUE(abandoned);
  // refine_abandon_gain spares only climbing seeds: Rastrigin's local optima still end early
  const double climbing = trial(0.5, 0.1, abandoned_unless_climbing);
  EXPECT_LT(climbing, 0.75 * full);
  EXPECT_TRUE(abandoned_unless_climbing);
}

// refine_abandon_level: the same seeds abandoned only after three shrinks get one more local cycle
// each (more cycles per refined seed than after two, fewer than never), and the global maximum is
// still refined.
TEST(OpenEnded, TheAbandonLevelSetsHowManyShrinksASeedGets) {
  const auto asks = [](int level, bool& global) { return abandon_trial(0.5, 0, level, global); };
  bool g2 = false, g3 = false, g10 = false;
  const double two = asks(2, g2), three = asks(3, g3), never = asks(10, g10);
  EXPECT_GT(three, 1.1 * two);
  EXPECT_LT(three, 0.9 * never);
  EXPECT_TRUE(g2 && g3 && g10);
}

// refine_abandon_gain: two global maxima of the same height 0, a smooth one -|x - (-3, -3)|^2 and a
// cusp -10 |x - (3, 3)|^(1/2). A seed on the cusp gains about half of what it lacks per level but can
// still lack more than refine_abandon after two levels: then it is abandoned without the gain rule,
// and with it always refined to the top (the first cycle starts late from a cluster on each peak, so
// both are seeds and the smooth one, the better, is refined first).
namespace {
float smooth_and_cusp(const float* x, int) {
  const double a = std::hypot(x[0] + 3.0, x[1] + 3.0), b = std::hypot(x[0] - 3.0, x[1] - 3.0);
  return static_cast<float>(std::max(-a * a, -10.0 * std::sqrt(b)));
}
/// One cycle started late from a cluster on each of smooth_and_cusp's peaks (both become seeds; the
/// smooth one, the better, is refined first), 10 levels, every refined point archived.
open_ended_config two_peaks_run(std::uint64_t seed) {
  open_ended_config c = himmelblau_run(seed);
  c.restarts = 0;
  c.continuations = 0;
  c.refine_levels = 10;
  c.archive_tolerance = INFINITY;
  std::mt19937 rng(static_cast<unsigned>(seed));
  std::uniform_real_distribution<float> u(-0.15f, 0.15f);
  for (int i = 0; i < c.run.population; ++i)
    for (int k = 0; k < 2; ++k) c.start.population.push_back((i % 2 ? 3.0f : -3.0f) + u(rng));
  c.start.generation = c.run.steps - 3;
  return c;
}
}  // namespace
TEST(OpenEnded, ASeedClimbingACuspIsNotAbandoned) {
  const auto cusp_top = [](std::uint64_t seed, double gain) {
    open_ended_config c = two_peaks_run(seed);
    c.refine_abandon = 0.2;
    c.refine_abandon_gain = gain;
    open_ended run(c);
    local_asks_per_refinement(run, smooth_and_cusp);
    EXPECT_EQ(run.refinements(), 2);
    double best_at_cusp = -INFINITY;
    for (const archived_point& a : run.archive())
      if (std::hypot(a.x[0] - 3.0f, a.x[1] - 3.0f) < 1.0f) best_at_cusp = std::max(best_at_cusp, a.fitness);
    return best_at_cusp;
  };
  int abandoned = 0;
  for (std::uint64_t seed = 6; seed <= 9; ++seed) {
    EXPECT_GT(cusp_top(seed, 0.1), -0.05f) << "seed " << seed;
    abandoned += cusp_top(seed, 0) < -0.05f;
  }
  EXPECT_GE(abandoned, 2);  // measured: 3 of the 4 seeds
}

// refine_probe on two hills: a broad one of top 10 at R = (4, 0) and a narrow one of top 5 at P = (-2, 0).
// The cycle starts at its last generation from a cluster on R's top and a second cluster, whose best
// point becomes a seed after R's. Around S = (-2, 1.4), low on P's hill (value about 1), the way to R
// climbs all the way (R's hill is higher from a quarter of the way on): the hill-valley test finds no
// valley and drops the seed, and P is never refined. With the probe, the seed's first local cycle moves
// towards P, nearly across the way to R (cosine about 0.2): it is kept and refined to P's top. Around
// (-0.5, 3), low on R's own hill, the probe moves towards R, and the seed is dropped as before.
namespace {
float hill_beyond_ridge(const float* x, int) {
  const double r = (x[0] - 4.0) * (x[0] - 4.0) + x[1] * x[1], p = (x[0] + 2.0) * (x[0] + 2.0) + x[1] * x[1];
  return static_cast<float>(std::max(10 - 0.25 * r, 5 - 2 * p));
}
struct probed {
  int refinements = 0;
  long long local_asks = 0;
  double narrow_top = -INFINITY;  // the best archived point on P's hill
};
probed two_clusters(std::uint64_t seed, double probe, float x, float y) {
  open_ended_config c = himmelblau_run(seed);
  c.restarts = 0;
  c.continuations = 0;
  c.refine_levels = 10;
  c.archive_tolerance = INFINITY;
  c.refine_probe = probe;
  std::mt19937 rng(static_cast<unsigned>(seed));
  std::uniform_real_distribution<float> u(-0.15f, 0.15f);
  for (int i = 0; i < c.run.population; ++i) {
    c.start.population.push_back((i % 2 ? 4.0f : x) + u(rng));
    c.start.population.push_back((i % 2 ? 0.0f : y) + u(rng));
  }
  c.start.generation = c.run.steps - 2;
  c.start.diffuse = false;
  open_ended run(c);
  probed out;
  while (!run.done()) {
    const population_view p = run.ask();
    out.local_asks += p.rows == c.refine_population;
    run.tell(all(p, hill_beyond_ridge));
  }
  out.refinements = run.refinements();
  for (const archived_point& a : run.archive())
    if (std::hypot(a.x[0] + 2.0f, a.x[1]) < 1.0f) out.narrow_top = std::max(out.narrow_top, a.fitness);
  return out;
}
}  // namespace
TEST(OpenEnded, AProbedSeedBelowTheRidgeClimbsItsOwnHill) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const probed with = two_clusters(seed, 0.5, -2.0f, 1.4f), without = two_clusters(seed, 0, -2.0f, 1.4f);
    EXPECT_EQ(with.refinements, 2) << "seed " << seed;
    EXPECT_GT(with.narrow_top, 4.99) << "seed " << seed;
    EXPECT_EQ(without.refinements, 1) << "seed " << seed;
    EXPECT_LT(without.narrow_top, 4.99) << "seed " << seed;
    // low on R's hill: probed (one more local cycle) and dropped
    const probed on_r = two_clusters(seed, 0.5, -0.5f, 3.0f), on_r_without = two_clusters(seed, 0, -0.5f, 3.0f);
    EXPECT_EQ(on_r.refinements, 1) << "seed " << seed;
    EXPECT_EQ(on_r_without.refinements, 1) << "seed " << seed;
    EXPECT_GT(on_r.local_asks, on_r_without.local_asks) << "seed " << seed;
  }
}

// refine_translate on a lattice of local optima: every integer point m of the box but the origin tops
// a cusp of value -|m|^2 (a bowl of local optima), the origin only a needle of radius 1e-3 (top 20)
// in a cell of -200, and a peak of top 20 stands at (3, -3), which the cycles find first (the derating
// then sends them to the lattice). Seeds converge on the lattice points around the origin, and (1, 0) +
// (0, 1) - (1, 1) and its like land on the needle, which no sample reaches (its share of the box is
// 6e-8): with translations every seed finds it, without none.
namespace {
/// f at each row of p.
template <class F>
std::vector<double> each_row(population_view p, F&& f) {
  std::vector<double> out(static_cast<std::size_t>(p.rows));
  for (int i = 0; i < p.rows; ++i) out[static_cast<std::size_t>(i)] = f(p.row(i));
  return out;
}
/// himmelblau_run's settings on the box [-half, half]^2, with 10 refinement levels and 30,000 evaluations.
open_ended_config square_run(std::uint64_t seed, float half) {
  open_ended_config c = himmelblau_run(seed);
  c.run.scale = {half};
  c.lower = {-half};
  c.upper = {half};
  c.refine_levels = 10;
  c.max_evaluations = 30000;
  return c;
}
double needle_lattice_value(const float* x, bool needle) {
  const double m0 = std::round(x[0]), m1 = std::round(x[1]);
  const double d = std::hypot(x[0] - m0, x[1] - m1);
  const double peak = 20 - 50 * ((x[0] - 3.0) * (x[0] - 3.0) + (x[1] + 3.0) * (x[1] + 3.0));
  const double cell = m0 == 0 && m1 == 0 ? (needle && d < 1e-3 ? 20 - 1e3 * d : -200) : -(m0 * m0 + m1 * m1) - 20 * std::sqrt(d);
  return std::max(cell, peak);
}
std::vector<double> needle_lattice(population_view p, bool needle = true) {
  return each_row(p, [&](const float* x) { return needle_lattice_value(x, needle); });
}
open_ended_config lattice_run(std::uint64_t seed, int translate) {
  open_ended_config c = square_run(seed, 3.5f);
  c.derate_radius = 1;
  c.refine_translate = translate;
  return c;
}
/// The best archived value within 1e-3 of the origin (-inf: none), and the populations asked that were
/// translation candidates (neither a cycle's, a local cycle's nor hill-valley tests).
std::pair<double, int> lattice_needle(std::uint64_t seed, int translate) {
  const open_ended_config c = lattice_run(seed, translate);
  open_ended run(c);
  int candidates = 0;
  while (!run.done()) {
    const population_view p = run.ask();
    candidates += p.rows != c.run.population && p.rows != c.refine_population && p.rows != 3;
    run.tell(needle_lattice(p));
  }
  double top = -INFINITY;
  for (const archived_point& a : run.archive())
    if (std::hypot(a.x[0], a.x[1]) < 1e-3) top = std::max(top, a.fitness);
  return {top, candidates};
}
}  // namespace
TEST(OpenEnded, TranslationsAmongLocalOptimaFindTheNeedleAtTheLatticeCentre) {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    const auto with = lattice_needle(seed, 4), without = lattice_needle(seed, 0);
    EXPECT_GT(with.first, 19.9) << "seed " << seed;
    EXPECT_GT(with.second, 0) << "seed " << seed;
    EXPECT_EQ(without.first, -INFINITY) << "seed " << seed;
    EXPECT_EQ(without.second, 0) << "seed " << seed;
  }
}
namespace {
/// A run of c told by `values`, with its translation batches (populations of neither c.run.population,
/// c.refine_population nor 3 rows) checked to lie in [-half, half]^2; saved and loaded again between
/// the ask and the tell of batch save_at (-1: never), with `inject` (2-D points, or none) injected
/// after each batch. @return Everything asked, the archive, the evaluations and refinements.
/// `batches` counts the batches, `cycle_after_batch` the optimizer's populations asked right after one.
template <class Values>
std::vector<double> translation_trace(const open_ended_config& c, Values&& values, float half, int save_at,
                                      const std::string& path, const std::vector<float>& inject, int& batches,
                                      int& cycle_after_batch) {
  std::vector<double> seen;
  open_ended run(c);
  batches = 0;
  bool after_batch = false;
  while (!run.done()) {
    population_view p = run.ask();
    const bool batch = p.rows != c.run.population && p.rows != c.refine_population && p.rows != 3;
    cycle_after_batch += after_batch && (p.rows == c.run.population || p.rows == c.refine_population);
    if (batch) {
      for (int i = 0; i < p.rows; ++i)
        for (int k = 0; k < 2; ++k) EXPECT_TRUE(p.row(i)[k] >= -half && p.row(i)[k] <= half);
      if (batches++ == save_at) {
        run.save(path);
        run = open_ended::load(path, &c);
        p = run.ask();
      }
    }
    seen.insert(seen.end(), p.data, p.data + p.size());
    run.tell(values(p));
    after_batch = batch;
    if (batch && !run.done() && !inject.empty()) run.inject(inject.data(), static_cast<int>(inject.size() / 2));
  }
  for (const archived_point& a : run.archive()) seen.insert(seen.end(), a.x.begin(), a.x.end()), seen.push_back(a.fitness);
  seen.push_back(static_cast<double>(run.evaluations() + 1000000 * run.refinements()));
  return seen;
}
}  // namespace
// On the lattice without the needle (the candidates go on as more lattice points are refined: 10
// batches in this run, where the needle ends them after one or two): candidates are asked only from
// the box (the lattice points refined near its edges give some outside it), and the run resumes bit
// for bit from a checkpoint saved between the ask and the tell of a batch. Points injected after each
// batch go to the rows of the optimizer's next population, not to the batch's rows: a batch has up to
// 22 rows here (k = 4), and a global cycle (64 rows) or a local one (16) may follow it directly.
TEST(OpenEnded, TranslationCandidatesLieInTheBoxAndResumeBitForBit) {
  const open_ended_config c = lattice_run(2, 4);
  const std::string path = temp_file("diffevo_open_ended_translate_");
  const auto values = [](population_view p) { return needle_lattice(p, false); };
  const std::vector<float> inside = {0.5f, 0.5f, -0.5f, 0.5f};
  int batches = 0, cycle_after_batch = 0;
  const std::vector<double> whole = translation_trace(c, values, 3.5f, -1, path, inside, batches, cycle_after_batch);
  EXPECT_GT(cycle_after_batch, 0);  // the case the injection checks happened
  for (const int at : {0, 4, 8}) {
    EXPECT_EQ(translation_trace(c, values, 3.5f, at, path, inside, batches, cycle_after_batch), whole)
        << "saved at candidate batch " << at;
    EXPECT_GT(batches, at);  // the save happened
  }
  std::remove(path.c_str());
}

// refine_translate_optima on a grid of equal peaks: every integer point m of the box [-2.5, 2.5]^2 tops
// a cone of value 0 (25 global optima), but the origin's cell is a pit of -50 with a needle of radius
// 1e-3 at its centre (its share of the box: 1e-7). Once three of its neighbours are found, (1, 0) +
// (0, 1) - (1, 1) and its like land on the needle: with translations among the optima every seed finds
// it, with those among local optima alone (refine_translate) none, as every optimum here is global.
// The candidates find the other optima sooner too: all 25 in 30,000 evaluations, against 18 or 19.
namespace {
double needle_grid_value(const float* x, bool needle) {
  const double m0 = std::round(x[0]), m1 = std::round(x[1]);
  const double d = std::hypot(x[0] - m0, x[1] - m1);
  if (m0 == 0 && m1 == 0) return needle && d < 1e-3 ? -1e3 * d : -50;
  return -10 * d;
}
std::vector<double> needle_grid(population_view p, bool needle = true) {
  return each_row(p, [&](const float* x) { return needle_grid_value(x, needle); });
}
open_ended_config grid_run(std::uint64_t seed, bool optima) {
  open_ended_config c = square_run(seed, 2.5f);
  c.refine_translate = 4;
  c.refine_translate_optima = optima;
  return c;
}
struct grid_result {
  double top = -INFINITY;  // the best archived value within 1e-3 of the origin (-inf: none)
  int found = 0;           // the optima archived within 1e-3 of their integer point, above -0.01
  int batches = 0;         // the populations asked that were translation candidates
};
grid_result grid_needle(std::uint64_t seed, bool optima) {
  const open_ended_config c = grid_run(seed, optima);
  open_ended run(c);
  grid_result r;
  while (!run.done()) {
    const population_view p = run.ask();
    r.batches += p.rows != c.run.population && p.rows != c.refine_population && p.rows != 3;
    run.tell(needle_grid(p));
  }
  std::set<std::pair<int, int>> found;
  for (const archived_point& a : run.archive()) {
    const float m0 = std::round(a.x[0]), m1 = std::round(a.x[1]);
    if (std::hypot(a.x[0] - m0, a.x[1] - m1) < 1e-3 && a.fitness > -0.01) found.insert({int(m0), int(m1)});
    if (std::hypot(a.x[0], a.x[1]) < 1e-3) r.top = std::max(r.top, a.fitness);
  }
  r.found = static_cast<int>(found.size());
  return r;
}
}  // namespace
TEST(OpenEnded, TranslationsAmongOptimaFindTheNeedleOnAGridOfEqualPeaks) {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    const grid_result with = grid_needle(seed, true), without = grid_needle(seed, false);
    EXPECT_GT(with.top, -0.01) << "seed " << seed;
    EXPECT_EQ(with.found, 25) << "seed " << seed;
    EXPECT_GT(with.batches, 0) << "seed " << seed;
    EXPECT_EQ(without.top, -INFINITY) << "seed " << seed;
    EXPECT_LT(without.found, with.found) << "seed " << seed;
    EXPECT_EQ(without.batches, 0) << "seed " << seed;  // refine_translate alone: no local optima here
  }
}
// On the grid without the needle, translations among the optima go on as optima are found: the
// candidates lie in the box, and the run resumes bit for bit from a checkpoint saved between the ask
// and the tell of a batch.
TEST(OpenEnded, TranslationsAmongOptimaResumeBitForBit) {
  const open_ended_config c = grid_run(2, true);
  const std::string path = temp_file("diffevo_open_ended_translate_optima_");
  const auto values = [](population_view p) { return needle_grid(p, false); };
  int batches = 0, cycle_after_batch = 0;
  const std::vector<double> whole = translation_trace(c, values, 2.5f, -1, path, {}, batches, cycle_after_batch);
  for (const int at : {0, 3, 6}) {
    EXPECT_EQ(translation_trace(c, values, 2.5f, at, path, {}, batches, cycle_after_batch), whole)
        << "saved at candidate batch " << at;
    EXPECT_GT(batches, at);  // the save happened
  }
  std::remove(path.c_str());
}

// refine_nudge on a cusp rough down to float resolution, in 5-D and rotated, with a Weierstrass
// function's Hoelder exponent: f = -100 sum_k |z_k|^0.63 with z = R (x - a), R a fixed rotation, whose
// top is the float point a; one float step from it costs about 100 x (1.2e-7)^0.63 = 0.004. The local
// cycles end within a few float steps of it (-0.005 to -0.01 in these seeds), but their samples,
// rounded to floats, do not land on the top itself (all five coordinates at once); steps on the float
// lattice from the seed's end reach it exactly.
namespace {
constexpr int k_cusp_dim = 5;
constexpr float k_cusp_top[k_cusp_dim] = {1.2345678f, -0.7654321f, 2.5f, -3.1415927f, 0.33333334f};
std::vector<double> float_cusp(population_view p) {
  // a rotation: the product of the Givens rotations by 0.7 in the planes (k, k + 1)
  static const std::vector<double> r = [] {
    std::vector<double> m(k_cusp_dim * k_cusp_dim, 0.0);
    for (int k = 0; k < k_cusp_dim; ++k) m[static_cast<std::size_t>(k * k_cusp_dim + k)] = 1;
    for (int k = 0; k + 1 < k_cusp_dim; ++k)
      for (int i = 0; i < k_cusp_dim; ++i) {
        double& u = m[static_cast<std::size_t>(i * k_cusp_dim + k)];
        double& v = m[static_cast<std::size_t>(i * k_cusp_dim + k + 1)];
        const double a = std::cos(0.7) * u - std::sin(0.7) * v, b = std::sin(0.7) * u + std::cos(0.7) * v;
        u = a, v = b;
      }
    return m;
  }();
  return each_row(p, [](const float* x) {
    double f = 0;
    for (int k = 0; k < k_cusp_dim; ++k) {
      double z = 0;
      for (int j = 0; j < k_cusp_dim; ++j) z += r[static_cast<std::size_t>(k * k_cusp_dim + j)] * (double(x[j]) - double(k_cusp_top[j]));
      f -= 100 * std::pow(std::fabs(z), 0.63);
    }
    return f;
  });
}
open_ended_config cusp_run(std::uint64_t seed, int nudge) {
  open_ended_config c = himmelblau_run(seed);
  c.run.dimension = k_cusp_dim;
  c.restarts = 0;
  c.refine_levels = 10;
  c.refine_scale = 0.15;
  c.refine_population = 30;
  c.refine_precision = 1e-6;
  c.max_evaluations = 60000;
  c.refine_nudge = nudge;
  return c;
}
/// The best value the run found, and the populations asked that were nudges (2 D = 10 points).
std::pair<double, int> cusp_top(std::uint64_t seed, int nudge) {
  open_ended run(cusp_run(seed, nudge));
  int nudges = 0;
  while (!run.done()) {
    const population_view p = run.ask();
    nudges += p.rows == 2 * k_cusp_dim;
    run.tell(float_cusp(p).data(), static_cast<std::size_t>(p.rows));
  }
  return {run.best_fitness(), nudges};
}
}  // namespace
TEST(OpenEnded, NudgesReachTheFloatTopOfARoughPeak) {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    const auto with = cusp_top(seed, 16), without = cusp_top(seed, 0);
    EXPECT_EQ(with.first, 0.0) << "seed " << seed;  // the float point a itself
    EXPECT_GT(with.second, 0) << "seed " << seed;
    EXPECT_LT(without.first, 0.0) << "seed " << seed;
    EXPECT_EQ(without.second, 0) << "seed " << seed;
  }
}

// The run resumes bit for bit from a checkpoint saved between the ask and the tell of a nudge (the
// first, and the last of three), and a point injected after a nudge is asked in the optimizer's next
// population (a nudge's rows are not the optimizer's).
TEST(OpenEnded, NudgesResumeBitForBit) {
  const open_ended_config c = cusp_run(1, 16);
  const std::string path = temp_file("diffevo_open_ended_nudge_");
  const auto trace = [&](int save_at) {
    std::vector<double> seen;
    open_ended run(c);
    int nudges = 0, landed = 0;
    bool pending = false;  // an injection waits for the optimizer's next population
    const std::vector<float> inside = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
    while (!run.done()) {
      population_view p = run.ask();
      const bool nudge = p.rows == 2 * k_cusp_dim;
      if (nudge && nudges++ == save_at) {
        run.save(path);
        run = open_ended::load(path, &c);
        p = run.ask();
      }
      if (pending && (p.rows == c.run.population || p.rows == c.refine_population)) {
        for (int i = 0; i < p.rows; ++i) landed += std::equal(inside.begin(), inside.end(), p.row(i));
        pending = false;
      }
      seen.insert(seen.end(), p.data, p.data + p.size());
      run.tell(float_cusp(p).data(), static_cast<std::size_t>(p.rows));
      if (nudge && !run.done()) run.inject(inside.data(), 1), pending = true;
    }
    EXPECT_EQ(nudges, 3);
    EXPECT_GE(landed, 1);  // an injection after the last nudge reached the next cycle's population
    for (const archived_point& a : run.archive()) seen.insert(seen.end(), a.x.begin(), a.x.end()), seen.push_back(a.fitness);
    seen.push_back(static_cast<double>(run.evaluations() + 1000000 * run.refinements()));
    seen.push_back(run.best_fitness());
    return seen;
  };
  const std::vector<double> whole = trace(-1);
  EXPECT_EQ(whole.back(), 0.0);  // the top reached
  for (const int at : {0, 2}) EXPECT_EQ(trace(at), whole) << "saved at nudge " << at;
  std::remove(path.c_str());
}

// refine_polish on a smooth, ill-conditioned peak (curvatures 1 and 1e3 along rotated axes, top 0 at
// (1, -1)): quadratic-model steps reach the top within 1e-9 for a small share of the evaluations the
// local Diffusion Evolution cycles take to get as close, as each step's model is exact there and the
// metric makes the peak round.
namespace {
float thin_peak(const float* x, int) {
  const double a = x[0] - 1.0, b = x[1] + 1.0;
  const double u = 0.6 * a + 0.8 * b, v = -0.8 * a + 0.6 * b;
  return static_cast<float>(-(u * u + 1e3 * v * v));
}
/// Evaluations until the best fitness first reaches -tolerance on thin_peak (-1: never).
long long evaluations_to(int polish, std::uint64_t seed, double tolerance) {
  open_ended_config c = himmelblau_run(seed);
  c.restarts = 0;
  c.refine_levels = 30;
  c.refine_cycles = 200;
  c.refine_polish = polish;
  open_ended run(c);
  while (!run.done()) {
    run.tell(all(run.ask(), thin_peak));
    if (run.best_fitness() >= -tolerance) return run.evaluations();
  }
  return -1;
}
}  // namespace
TEST(OpenEnded, PolishStepsClimbASmoothThinPeakForFewerEvaluations) {
  for (const std::uint64_t seed : {1u, 2u, 3u}) {
    const long long global = 2 * 15;  // asks of the cycle and its continuation (at most 64 each)
    const long long with = evaluations_to(1, seed, 1e-9), without = evaluations_to(0, seed, 1e-9);
    ASSERT_GT(with, 0) << "seed " << seed;
    if (without > 0) EXPECT_LT(with - global * 64, (without - global * 64) / 3) << "seed " << seed;
  }
}

// A rough peak (the cusp of smooth_and_cusp) is not fitted by a quadratic: its seed goes on with local
// Diffusion Evolution cycles and reaches the top as without polish steps; the smooth peak beside it is
// refined too.
TEST(OpenEnded, PolishStepsLeaveARoughPeakToLocalCycles) {
  for (std::uint64_t seed = 6; seed <= 9; ++seed) {
    open_ended_config c = two_peaks_run(seed);
    c.refine_polish = 1;
    const open_ended_result r = optimize(c, [](population_view p, float* out) {
      const std::vector<float> f = all(p, smooth_and_cusp);
      std::copy(f.begin(), f.end(), out);
    });
    double cusp = -INFINITY, smooth = -INFINITY;
    for (const archived_point& a : r.archive) {
      if (std::hypot(a.x[0] - 3.0f, a.x[1] - 3.0f) < 1.0f) cusp = std::max(cusp, a.fitness);
      if (std::hypot(a.x[0] + 3.0f, a.x[1] + 3.0f) < 1.0f) smooth = std::max(smooth, a.fitness);
    }
    EXPECT_GT(cusp, -0.05) << "seed " << seed;
    EXPECT_GT(smooth, -1e-6) << "seed " << seed;
  }
}

// Polish steps ask points around a seed at the box's corner (maximizing |x|^2): every one lies in the
// box, under each rule.
TEST(OpenEnded, PolishStepsAskPointsInTheBox) {
  for (bound_rule rule : {bound_rule::reflect, bound_rule::clip, bound_rule::penalize}) {
    open_ended_config c = base();
    c.run.scale = {2};
    c.lower = {-1, -0.5};
    c.upper = {1, 2};
    c.bounds = rule;
    c.refine_levels = 6, c.refine_polish = 1, c.refine_scale = 0.5;
    c.max_evaluations = 3000;
    open_ended run(c);
    int polish = 0;
    while (!run.done()) {
      const population_view p = run.ask();
      polish += p.rows == 8 || p.rows == 1;
      ASSERT_TRUE(in_box(p));
      run.tell(all(p, sphere));
    }
    EXPECT_GT(polish, 0) << static_cast<int>(rule);
  }
}

// refine_seed_cut: the nearest-better clustering's cut. On Vincent's function in 2-D (36 optima), one
// global cycle's final population heads more clusters at 0.5 than at the default 2: more seeds, each
// hill-valley tested (3 points) before its first local cycle.
TEST(OpenEnded, ASmallerSeedCutMakesMoreSeeds) {
  const cec2013::fitness f{cec2013::make_problem(7)};
  const auto tests = [&](double cut) {
    open_ended_config c = himmelblau_run(2);
    c.run.population = 576, c.run.cpu_math = cpu_math_kind::exact;
    c.run.center = {5.125f}, c.run.scale = {4.875f}, c.lower = {0.25}, c.upper = {10};
    c.restarts = 0, c.continuations = 0, c.archive_radius = 0.2, c.refine_levels = 10, c.refine_scale = 0.15;
    c.refine_seed_cut = cut;
    c.max_evaluations = 0;
    open_ended run(c);
    int asked = 0;
    while (!run.done()) {
      const population_view p = run.ask();
      asked += p.rows == 3;
      std::vector<double> v(static_cast<std::size_t>(p.rows));
      for (int i = 0; i < p.rows; ++i) v[static_cast<std::size_t>(i)] = f.value(p.row(i));
      run.tell(v);
    }
    return asked;
  };
  const int fewer = tests(2.0), more = tests(0.5);
  EXPECT_GT(more, fewer + 5) << fewer;
}

// Exploration samples: before each restart's first cycle, explore_samples points uniform in the box are
// asked as one population (all inside, spread over the whole box, drawn from the seed), then the
// restart's own population; an injection right after a sample goes into the optimizer's last rows.
TEST(OpenEnded, ExplorationSamplesAreUniformInTheBoxAndComeBeforeEachRestart) {
  open_ended_config c = himmelblau_run(3);
  c.lower = {-6, -1}, c.upper = {2, 5};
  c.explore_samples = 500;
  c.max_evaluations = 6000;
  const auto samples = [&](std::uint64_t seed) {
    open_ended_config d = c;
    d.run.seed = seed;
    open_ended run(d);
    std::vector<std::vector<float>> out;
    while (!run.done()) {
      const population_view p = run.ask();
      if (p.rows == 500) out.emplace_back(p.data, p.data + p.size());
      run.tell(all(p, himmelblau));
    }
    return out;
  };
  const std::vector<std::vector<float>> a = samples(3);
  ASSERT_GE(a.size(), 2u);  // restart 0 and later ones
  for (const std::vector<float>& s : a) {
    int corner[2][2] = {};
    for (std::size_t i = 0; i < s.size(); i += 2) {
      ASSERT_TRUE(s[i] >= -6 && s[i] <= 2 && s[i + 1] >= -1 && s[i + 1] <= 5) << s[i] << ", " << s[i + 1];
      ++corner[s[i] > -2][s[i + 1] > 2];
    }
    for (const auto& row : corner)
      for (const int n : row) EXPECT_GT(n, 90) << "a quarter of the box holds " << n << " of 500";  // 125 expected
  }
  EXPECT_NE(a[0], a[1]);            // each restart its own sample
  EXPECT_EQ(samples(3), a);         // deterministic from the seed
  EXPECT_NE(samples(4)[0], a[0]);   // and a different seed draws another

  open_ended run(c);
  ASSERT_EQ(run.ask().rows, 500);
  run.tell(all(run.ask(), himmelblau));
  const std::vector<float> outside = {1.25f, 4.5f, -5.5f, -0.75f};
  run.inject(outside.data(), 2);
  const population_view p = run.ask();
  ASSERT_EQ(p.rows, c.run.population);
  EXPECT_EQ(std::vector<float>(p.row(p.rows - 1), p.row(p.rows - 1) + 2), std::vector<float>(outside.begin(), outside.begin() + 2));
  EXPECT_EQ(std::vector<float>(p.row(p.rows - 2), p.row(p.rows - 2) + 2), std::vector<float>(outside.begin() + 2, outside.end()));
}

// A needle in a pit: a broad peak of value 1 at (2, 2) on a floor of 0, and at (-3, -1) a pit of value
// -1 (radius 1) with a cone of value 1 at its centre (radius 0.1). The global cycles' selection leaves
// the pit at once, so they and their first generations seldom sample the cone; a uniform sample of
// the box lands in it at the rate of its area (1 in 460), and its seed climbs it.
namespace {
float needle_in_a_pit(const float* x, int) {
  const double a = std::hypot(x[0] - 2.0, x[1] - 2.0), b = std::hypot(x[0] + 3.0, x[1] + 1.0);
  if (b < 1) return static_cast<float>(std::max(-1.0, 1.0 - b / 0.1));
  return static_cast<float>(std::max(0.0, 1.0 - a * a / 2.25));
}
}  // namespace
TEST(OpenEnded, ExplorationSamplesFindANeedleInAPit) {
  int with_found = 0, without_found = 0;
  for (const std::uint64_t seed : {1u, 2u, 3u, 4u}) {
    const auto found = [&](int samples) {
      open_ended_config c = himmelblau_run(seed);
      c.max_evaluations = 20000;
      c.refine_first_generation = true;
      c.explore_samples = samples;
      const open_ended_result r = optimize(c, [](population_view p, float* out) {
        const std::vector<float> f = all(p, needle_in_a_pit);
        std::copy(f.begin(), f.end(), out);
      });
      EXPECT_TRUE(archived_peak(r.archive, 2, 2)) << "seed " << seed << ", samples " << samples;
      return archived_peak(r.archive, -3, -1);
    };
    const bool with = found(1000), without = found(0);
    EXPECT_TRUE(with) << "seed " << seed << ": the needle was not found";
    with_found += with, without_found += without;
  }
  EXPECT_GT(with_found, without_found);
}

// A run saved at several points (mid-cycle, between ask and tell, after an injection, after it
// stopped) and loaded goes on exactly as the uninterrupted run: the same populations asked, the same
// archive, best point, counters and stop reason.
namespace {
/// A run saved in an older `version` (before a config field) resumes as the uninterrupted run of that
/// version (saved at step 0: its restarts seeded as that version's were), loaded with the field at its
/// default (`on_load` checks it); a run with the field set (`set`) cannot be written in that version.
void expect_older_version_resumes(const open_ended_config& c, std::uint32_t version, void (*on_load)(const open_ended&),
                                  void (*set)(open_ended_config&)) {
  const std::string path = temp_file(("diffevo_open_ended_v" + std::to_string(version) + "_").c_str());
  EXPECT_EQ(trace_through_version(c, path, 40, version, on_load), trace_through_version(c, path, 0, version));
  detail::open_ended_checkpoint on;
  on.version = version;
  on.cfg = c;
  set(on.cfg);
  expect_message<logic_error>([&] { detail::encode_open_ended(on, version); },
                              "version " + std::to_string(version) + " cannot hold this run");
  std::remove(path.c_str());
}
}  // namespace

// A version 2 file (before refine_abandon_gain) is read with the gain rule off, which is what that
// version's runs did: it resumes as the uninterrupted run with refine_abandon_gain = 0. A run with the
// rule on cannot be written in version 2.
TEST(OpenEnded, AVersion2CheckpointResumesWithTheGainRuleOff) {
  open_ended_config c = himmelblau_run(3);
  c.max_evaluations = 12000;
  c.refine_abandon = 0.5;
  expect_older_version_resumes(c, 2, [](const open_ended& r) { EXPECT_EQ(r.cfg().refine_abandon_gain, 0); },
                               [](open_ended_config& o) { o.refine_abandon_gain = 0.1; });
}

// A version 4 file (before refine_cycles) is read with it 0, the cap those versions' runs had (3 x
// refine_levels): it resumes as the uninterrupted run. A run with another cap cannot be written in
// version 4.
TEST(OpenEnded, AVersion4CheckpointResumesWithTheDefaultCycleCap) {
  open_ended_config c = himmelblau_run(3);
  c.max_evaluations = 12000;
  expect_older_version_resumes(c, 4, [](const open_ended& r) { EXPECT_EQ(r.cfg().refine_cycles, 0); },
                               [](open_ended_config& o) { o.refine_cycles = 5; });
}

// A version 5 file (before refine_taboo) is read with it false, what that version's runs did: it
// resumes as the uninterrupted run. A run with the taboo on cannot be written in version 5.
TEST(OpenEnded, AVersion5CheckpointResumesWithTheTabooOff) {
  open_ended_config c = himmelblau_run(3);
  c.max_evaluations = 12000;
  expect_older_version_resumes(c, 5, [](const open_ended& r) { EXPECT_FALSE(r.cfg().refine_taboo); },
                               [](open_ended_config& o) { o.refine_taboo = true; });
}

// A version 6 file (before refine_polish and refine_seed_cut) is read with them 0 and 2, what that
// version's runs did: it resumes as the uninterrupted run. A run with either set cannot be written in
// version 6.
TEST(OpenEnded, AVersion6CheckpointResumesWithoutPolishSteps) {
  open_ended_config c = himmelblau_run(3);
  c.max_evaluations = 12000;
  expect_older_version_resumes(
      c, 6, [](const open_ended& r) {
        EXPECT_EQ(r.cfg().refine_polish, 0);
        EXPECT_EQ(r.cfg().refine_seed_cut, 2.0);
      },
      [](open_ended_config& o) { o.refine_polish = 2; });
  expect_older_version_resumes(c, 6, nullptr, [](open_ended_config& o) { o.refine_seed_cut = 1; });
}

// A version 7 file (before explore_samples and refine_abandon_level) is read with them 0 and 2, what that
// version's runs did: it resumes as the uninterrupted run. A run with either set otherwise cannot be
// written in version 7.
TEST(OpenEnded, AVersion7CheckpointResumesWithoutExplorationSamples) {
  open_ended_config c = himmelblau_run(3);
  c.max_evaluations = 12000;
  c.refine_polish = 2;
  expect_older_version_resumes(
      c, 7, [](const open_ended& r) {
        EXPECT_EQ(r.cfg().explore_samples, 0);
        EXPECT_EQ(r.cfg().refine_abandon_level, 2);
      },
      [](open_ended_config& o) { o.explore_samples = 100; });
  expect_older_version_resumes(c, 7, nullptr, [](open_ended_config& o) { o.refine_abandon_level = 3; });
}

// A version 8 file holds a run whose restart k was seeded run.seed + k (so run s's restart k was run
// s + k's first): it resumes as such a run, which differs from the current one once a restart begins,
// and saving it again writes version 8 so that it keeps doing so. A current run cannot be written in
// version 8, nor such a run in version 9.
TEST(OpenEnded, AVersion8CheckpointResumesWithRestartsSeededAsBefore) {
  open_ended_config c = himmelblau_run(3);
  c.max_evaluations = 12000;
  const std::string path = temp_file("diffevo_open_ended_v8_");
  const std::vector<float> legacy = trace_through_version(c, path, 0, 8);
  EXPECT_EQ(trace_through_version(c, path, 40, 8), legacy);
  EXPECT_NE(trace_through_version(c, path, -1, 8), legacy) << "the restarts are seeded as in version 9";
  // resumed from version 8, saved again: version 8, and it resumes as before
  detail::open_ended_checkpoint cp;
  cp.version = 8;
  cp.cfg = c;
  write_all(path, detail::encode_open_ended(cp));
  open_ended run = open_ended::load(path, &c);
  std::vector<float> seen;
  for (int step = 0; !run.done(); ++step) {
    if (step == 60) {
      run.save(path);
      const std::vector<unsigned char> bytes = read_all(path);
      EXPECT_EQ(bytes[8], 8);
      EXPECT_EQ(detail::decode_open_ended(bytes.data(), bytes.size(), path).version, 8u);
      run = open_ended::load(path, &c);
    }
    const population_view q = run.ask();
    seen.insert(seen.end(), q.data, q.data + q.size());
    run.tell(all(q, himmelblau));
  }
  seen.push_back(static_cast<float>(run.cycles() + 1000 * run.refinements()));
  EXPECT_EQ(seen, legacy);
  cp.version = detail::k_open_ended_version;
  expect_message<logic_error>([&] { detail::encode_open_ended(cp, 8); }, "version 8 cannot hold this run");
  cp.version = 8;
  expect_message<logic_error>([&] { detail::encode_open_ended(cp, 9); }, "version 9 cannot hold this run");
  std::remove(path.c_str());
}

// A version 9 file (before refine_probe) is read with it 0, what that version's runs did: it resumes as
// the uninterrupted run. A run with probes cannot be written in version 9.
TEST(OpenEnded, AVersion9CheckpointResumesWithoutProbes) {
  open_ended_config c = himmelblau_run(3);
  c.max_evaluations = 12000;
  expect_older_version_resumes(c, 9, [](const open_ended& r) { EXPECT_EQ(r.cfg().refine_probe, 0); },
                               [](open_ended_config& o) { o.refine_probe = 0.5; });
}

// A version 10 file (before refine_translate) is read with it 0, what that version's runs did: it resumes
// as the uninterrupted run. A run with translations cannot be written in version 10.
TEST(OpenEnded, AVersion10CheckpointResumesWithoutTranslations) {
  open_ended_config c = himmelblau_run(3);
  c.max_evaluations = 12000;
  expect_older_version_resumes(c, 10, [](const open_ended& r) { EXPECT_EQ(r.cfg().refine_translate, 0); },
                               [](open_ended_config& o) { o.refine_translate = 6; });
}

// A version 11 file (before refine_translate_optima) is read with it false, what that version's runs
// did: it resumes as the uninterrupted run. A run with translations among optima cannot be written in
// version 11.
TEST(OpenEnded, AVersion11CheckpointResumesWithoutTranslationsAmongOptima) {
  open_ended_config c = himmelblau_run(3);
  c.max_evaluations = 12000;
  c.refine_translate = 4;
  expect_older_version_resumes(c, 11, [](const open_ended& r) { EXPECT_FALSE(r.cfg().refine_translate_optima); },
                               [](open_ended_config& o) { o.refine_translate_optima = true; });
}

// A run that stops on its budget right after a nudge that moved the seed (so that the next step does
// not fit) keeps the seed's point as that nudge left it: the archive holds it, at the run's best value.
TEST(OpenEnded, ARunStoppedBetweenNudgesArchivesTheNudgedPoint) {
  open_ended_config c = cusp_run(1, 16);
  long long after = -1;  // the evaluations once the first nudge that raised the run's best is told
  float top = 0;         // and that best
  {
    open_ended run(c);
    while (!run.done() && after < 0) {
      const population_view p = run.ask();
      const std::vector<double> f = float_cusp(p);
      const float before = run.evaluations() > 0 ? run.best_fitness() : -INFINITY;
      run.tell(f.data(), f.size());
      if (p.rows == 2 * k_cusp_dim && run.best_fitness() > before) after = run.evaluations(), top = run.best_fitness();
    }
  }
  ASSERT_GT(after, 0);
  c.max_evaluations = after + 2 * k_cusp_dim - 1;  // the next step does not fit
  open_ended run(c);
  while (!run.done()) {
    const population_view p = run.ask();
    run.tell(float_cusp(p).data(), static_cast<std::size_t>(p.rows));
  }
  EXPECT_EQ(run.stop_reason(), "max_evaluations");
  EXPECT_EQ(run.evaluations(), after);
  EXPECT_EQ(run.population_size(), 2 * k_cusp_dim);  // what did not fit: the next step
  EXPECT_EQ(run.best_fitness(), top);
  ASSERT_FALSE(run.archive().empty());
  EXPECT_EQ(static_cast<float>(run.archive().front().fitness), top);  // best_fitness() is a float
}

// A version 12 file (before refine_nudge) is read with it 0, what that version's runs did: it resumes
// as the uninterrupted run. A run with nudges cannot be written in version 12.
TEST(OpenEnded, AVersion12CheckpointResumesWithoutNudges) {
  open_ended_config c = himmelblau_run(3);
  c.max_evaluations = 12000;
  expect_older_version_resumes(c, 12, [](const open_ended& r) { EXPECT_EQ(r.cfg().refine_nudge, 0); },
                               [](open_ended_config& o) { o.refine_nudge = 16; });
}

// Runs with nearby seeds draw unrelated restarts: no population asked by the run seeded 5 (restart
// centres, exploration samples, cycles) is one asked by the run seeded 6. Before format 9, restart k
// of the run seeded s was seeded s + k, so run 5's second restart asked run 6's first exploration
// sample and cycle again (and the runs of a benchmark's consecutive seeds shared most restarts).
TEST(OpenEnded, RunsWithNearbySeedsDrawUnrelatedRestarts) {
  const auto asked = [](std::uint64_t seed) {
    open_ended_config c = himmelblau_run(seed);
    c.max_evaluations = 12000;
    c.continuations = 0;
    c.restart_scale = 0.3;
    c.explore_samples = 64;
    c.refine_levels = 1;  // short seeds: many restarts within the budget
    open_ended run(c);
    std::vector<std::vector<float>> pops;
    while (!run.done()) {
      const population_view q = run.ask();
      pops.emplace_back(q.data, q.data + q.size());
      run.tell(all(q, himmelblau));
    }
    EXPECT_GE(run.restarts(), 3) << "seed " << seed;
    return pops;
  };
  const std::vector<std::vector<float>> a = asked(5), b = asked(6);
  int shared = 0;
  for (const auto& p : a)
    for (const auto& q : b) shared += p == q;
  EXPECT_EQ(shared, 0);
}

// A version 3 file (before values told in double) is read with every tell in float: a run told in
// float resumes from it bit for bit; a run with a tell in double cannot be written in version 3, and a
// file of version 4 or later whose precision flags do not match its tells is refused.
TEST(OpenEnded, AVersion3CheckpointHoldsRunsToldInFloat) {
  open_ended_config c = himmelblau_run(3);
  c.max_evaluations = 12000;
  const std::string path = temp_file("diffevo_open_ended_v3_");
  const auto write = [&](const std::vector<unsigned char>& b) { write_all(path, b); };
  EXPECT_EQ(trace_through_version(c, path, 40, 3), trace_through_version(c, path, 0, 3));
  open_ended run(c);
  run.tell(all(run.ask(), himmelblau));
  run.tell(told_in_double(run.ask()));
  run.save(path);
  const std::vector<unsigned char> bytes = read_all(path);
  detail::open_ended_checkpoint cp = detail::decode_open_ended(bytes.data(), bytes.size(), path);
  EXPECT_EQ(cp.log.precise, (std::vector<std::uint8_t>{0, 1}));
  cp.version = 3;  // a run of version 3's restart seeds, but told in double
  expect_message<logic_error>([&] { detail::encode_open_ended(cp, 3); }, "version 3 cannot hold this run");
  cp.version = detail::k_open_ended_version;
  cp.log.precise.pop_back();
  write(detail::encode_open_ended(cp));
  expect_message<checkpoint_error>([&] { open_ended::load(path); }, "the log has 2 tells but 1 precision flags (corrupted)");
  cp.log.precise = {0, 2};
  write(detail::encode_open_ended(cp));
  expect_message<checkpoint_error>([&] { open_ended::load(path); }, "precision flag 2 is not 0 or 1 (corrupted)");
  cp.log.precise = {0, 0};
  write(detail::encode_open_ended(cp));
  expect_message<checkpoint_error>([&] { open_ended::load(path); }, "values told in float");
  std::remove(path.c_str());
}

TEST(OpenEnded, CheckpointResumesBitForBit) {
  open_ended_config c = himmelblau_run(3);
  c.max_evaluations = 12000;  // restarts, refinement and tests all happen before the budget ends
  c.refine_cycles = 7;        // saved and compared with the expected config on load
  c.refine_taboo = true;      //   (Himmelblau's optima are far apart: the taboo seldom fires here)
  c.refine_polish = 2;        //   polish steps (batches of 8 and 1) from a seed's third level
  c.refine_seed_cut = 1.5;
  c.explore_samples = 200;    //   a uniform sample of the box before each restart
  const std::string path = temp_file("diffevo_open_ended_");
  const auto trace = [&](int save_at, bool between) {
    std::vector<float> seen;
    open_ended run(c);
    int step = 0;
    while (!run.done()) {
      if (step == save_at && !between) {
        run.save(path);
        run = open_ended::load(path, &c);
      }
      const population_view p = run.ask();
      if (step == save_at && between) {
        const std::vector<float> asked(p.data, p.data + p.size());
        run.save(path);
        run = open_ended::load(path);
        const population_view q = run.ask();
        EXPECT_EQ(asked, std::vector<float>(q.data, q.data + q.size()));
      }
      const population_view q = run.ask();
      seen.insert(seen.end(), q.data, q.data + q.size());
      if (step % 3 == 1)  // every third tell in double, a hair above the float values
        run.tell(told_in_double(q));
      else
        run.tell(all(q, himmelblau));
      if (step == 7) {
        const std::vector<float> outside(2 * 2, 1.5f);
        run.inject(outside.data(), 2);
      }
      ++step;
    }
    run.save(path);
    const open_ended ended = open_ended::load(path);
    EXPECT_TRUE(ended.done());
    EXPECT_EQ(ended.stop_reason(), run.stop_reason());
    EXPECT_EQ(ended.evaluations(), run.evaluations());
    for (const archived_point& a : run.archive()) {
      seen.insert(seen.end(), a.x.begin(), a.x.end());
      seen.push_back(static_cast<float>(a.fitness)), seen.push_back(static_cast<float>(a.fitness - static_cast<float>(a.fitness)));
    }
    seen.push_back(run.best_fitness());
    seen.push_back(static_cast<float>(run.precise_best_fitness() - run.best_fitness()));
    seen.push_back(static_cast<float>(run.cycles() + 1000 * run.refinements()));
    return seen;
  };
  const std::vector<float> whole = trace(-1, false);
  for (const int at : {1, 8, 40, 95})
    for (const bool between : {false, true}) EXPECT_EQ(trace(at, between), whole) << "saved at step " << at << (between ? " after ask" : "");
  std::remove(path.c_str());
}

TEST(OpenEnded, CheckpointRefusesBadFiles) {
  const open_ended_config c = himmelblau_run(4);
  const std::string path = temp_file("diffevo_open_ended_bad_");
  open_ended run(c);
  for (int g = 0; g < 3; ++g) run.tell(all(run.ask(), himmelblau));
  run.save(path);
  open_ended_config other = c;
  other.refine_levels = 5;
  expect_message<invalid_argument>([&] { open_ended::load(path, &other); }, "refine_levels is 6 in the checkpoint but 5 expected");
  other = c;
  other.run.seed = 9;
  expect_message<invalid_argument>([&] { open_ended::load(path, &other); }, "run.seed is 4 in the checkpoint but 9 expected");
  std::vector<unsigned char> bytes = read_all(path);
  const auto write = [&](const std::vector<unsigned char>& b) { write_all(path, b); };
  std::vector<unsigned char> old = bytes;  // the format before the config's fields of 2026-12-04: version 1 in the header
  old[8] = 1;
  write(old);
  expect_message<checkpoint_error>([&] { open_ended::load(path); },
                                   "format version 1 but this library reads versions 2 to 13 of a diffevo open-ended checkpoint");
  bytes[bytes.size() / 2] ^= 0x20;
  write(bytes);
  expect_message<checkpoint_error>([&] { open_ended::load(path); }, "checksum");
  optimizer opt(c.run);
  opt.save(path);
  expect_message<checkpoint_error>([&] { open_ended::load(path); }, "it is an optimizer checkpoint");
  // A log (checksum intact) that injects more points than the file holds is refused before any replay:
  // INT_MIN points (enough such events once made the size check's product wrap to a match, and the
  // replay read past the points), and one point more than there are.
  run.save(path);
  const std::vector<unsigned char> good = read_all(path);
  for (const std::int32_t extra : {std::numeric_limits<std::int32_t>::min(), -1}) {
    detail::open_ended_checkpoint cp = detail::decode_open_ended(good.data(), good.size(), path);
    cp.log.events.push_back(extra);
    write_all(path, detail::encode_open_ended(cp));
    expect_message<checkpoint_error>([&] { open_ended::load(path); }, "the log injects more points than the file's 0");
  }
  std::remove(path.c_str());
}
