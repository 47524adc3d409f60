// A run started from a given population (start_point) and rows replaced in a running optimizer
// (replace_rows): the primitives of warm starts, continuation and bound repair.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "diffevo/diffevo.hpp"
#include "tests/helpers/expect.hpp"
#include "tests/helpers/population_helpers.hpp"

using namespace diffevo;

namespace {
config small(int latent = 0) {
  config c;
  c.population = 37;
  c.dimension = 5;
  c.steps = 12;
  c.latent_dim = latent;
  c.seed = 99;
  c.backend = backend_kind::cpu;
  return c;
}
}  // namespace

// A run stopped at generation g and restarted from its own population there (diffuse = false, the
// default parameter map, so parameters are x exactly) continues with the same bits: the noise
// position and the projection are those of the uninterrupted run.
TEST(StartPoint, RestartFromOwnPopulationContinuesBitIdentically) {
  for (int latent : {0, 2}) {
    SCOPED_TRACE(latent);
    const config c = small(latent);
    optimizer whole(c);
    std::vector<float> at5;
    for (int g = 0; g < 5; ++g) whole.tell(cosine_fitness(whole.ask()));
    at5 = host_copy(whole.ask());
    optimizer resumed(c, start_point{at5, 5, false});
    EXPECT_EQ(resumed.generation(), 5);
    EXPECT_EQ(resumed.x0(), at5);
    EXPECT_EQ(host_copy(resumed.ask()), at5);
    while (!whole.done()) {
      whole.tell(cosine_fitness(whole.ask()));
      resumed.tell(cosine_fitness(resumed.ask()));
      ASSERT_EQ(host_copy(resumed.ask()), host_copy(whole.ask())) << "generation " << whole.generation();
    }
    EXPECT_TRUE(resumed.done());
  }
}

// diffuse = true: x = sqrt(alpha) x_given + sqrt(1 - alpha) eps, eps the run's first draw (the
// population a fresh run of the same seed starts with), computed here in double: the same float x,
// checked through a parameter map with a center and a scale.
TEST(StartPoint, DiffuseMixesTheGivenPopulationWithTheRunsFirstDraw) {
  config c = small();
  c.center = {0.5f};
  c.scale = {2.0f};
  config unit = c;
  unit.center.clear();
  unit.scale.clear();
  const std::vector<float> eps = host_copy(optimizer(unit).ask());
  std::vector<float> given(eps.size());
  for (std::size_t k = 0; k < given.size(); ++k) given[k] = static_cast<float>(std::sin(0.37 * k) * 3);
  for (int g : {0, 4, 11}) {
    SCOPED_TRACE(g);
    optimizer opt(c, start_point{given, g, true});
    const double a = opt.alphas()[static_cast<std::size_t>(c.steps - 1 - g)];
    const std::vector<float> got = host_copy(opt.ask());
    for (std::size_t k = 0; k < got.size(); ++k) {
      const float x = static_cast<float>(std::sqrt(a) * ((double(given[k]) - 0.5) / 2.0) + std::sqrt(1 - a) * eps[k]);
      // The parameter map center + scale * x is the library's (it may fuse the multiply-add).
      ASSERT_NEAR(got[k], 0.5f + 2.0f * x, 1e-6 * (1 + std::fabs(got[k]))) << k;
    }
    EXPECT_EQ(opt.generation(), g);
    EXPECT_EQ(opt.done(), g == c.steps - 1);
  }
}

TEST(StartPoint, ACheckpointOfAStartedRunResumesIt) {
  const config c = small(3);
  std::vector<float> given(static_cast<std::size_t>(c.population) * c.dimension, 0.25f);
  optimizer a(c, start_point{given, 6, true});
  a.tell(cosine_fitness(a.ask()));
  const std::string path = ::testing::TempDir() + "start_point.ckpt";
  a.save(path);
  optimizer b = optimizer::load(path);
  std::remove(path.c_str());
  while (!a.done()) {
    a.tell(cosine_fitness(a.ask()));
    b.tell(cosine_fitness(b.ask()));
  }
  EXPECT_EQ(host_copy(a.ask()), host_copy(b.ask()));
}

TEST(StartPoint, BadInputsAreNamed) {
  const config c = small();
  const std::vector<float> ok(static_cast<std::size_t>(c.population) * c.dimension, 1.0f);
  expect_message<invalid_argument>([&] { optimizer(c, start_point{ok, 12, true}); }, "start.generation = 12 must be in [0, 11]");
  expect_message<invalid_argument>([&] { optimizer(c, start_point{ok, -1, true}); }, "start.generation = -1");
  expect_message<invalid_argument>([&] { optimizer(c, start_point{std::vector<float>(7), 0, true}); },
                                   "start.population has 7 values but population x dimension is 185");
  std::vector<float> bad = ok;
  bad[2 * c.dimension + 3] = NAN;
  expect_message<invalid_argument>([&] { optimizer(c, start_point{bad, 0, true}); },
                                   "start.population row 2, column 3 = nan is not finite");
  bad[2 * c.dimension + 3] = 3e6f;
  expect_message<invalid_argument>([&] { optimizer(c, start_point{bad, 0, false}); }, "outside the parameter map's range");
}

TEST(ReplaceRows, ReplacesOnlyTheGivenRowsAndTheRunGoesOn) {
  const config c = small(2);
  optimizer opt(c);
  opt.tell(cosine_fitness(opt.ask()));
  const std::vector<float> before = host_copy(opt.ask());
  const std::vector<float> rows = {1, 2, 3, 4, 5, -1, -2, -3, -4, -5};
  opt.replace_rows(30, 2, rows.data());
  const std::vector<float> after = host_copy(opt.ask());
  for (std::size_t k = 0; k < after.size(); ++k) {
    const std::size_t row = k / c.dimension;
    if (row == 30 || row == 31)
      EXPECT_EQ(after[k], rows[k - 30 * c.dimension]);
    else
      EXPECT_EQ(after[k], before[k]);
  }
  EXPECT_EQ(opt.generation(), 1);
  opt.tell(cosine_fitness(opt.ask()));  // the replaced rows are told like the others
  EXPECT_EQ(opt.generation(), 2);
  // The same replacement in a twin gives the same bits: the noise position did not move.
  optimizer twin(c);
  twin.tell(cosine_fitness(twin.ask()));
  twin.replace_rows(30, 2, rows.data());
  twin.tell(cosine_fitness(twin.ask()));
  EXPECT_EQ(host_copy(twin.ask()), host_copy(opt.ask()));
}

TEST(ReplaceRows, BadInputsAreNamedAndChangeNothing) {
  const config c = small();
  optimizer opt(c);
  const std::vector<float> before = host_copy(opt.ask());
  std::vector<float> rows(10, 1.0f);
  expect_message<invalid_argument>([&] { opt.replace_rows(36, 2, rows.data()); },
                                   "rows [36, 38) are not within the population of 37");
  expect_message<invalid_argument>([&] { opt.replace_rows(-1, 1, rows.data()); }, "rows [-1, 0)");
  expect_message<invalid_argument>([&] { opt.replace_rows(0, 1, nullptr); }, "params is a null pointer");
  rows[7] = INFINITY;
  expect_message<invalid_argument>([&] { opt.replace_rows(3, 2, rows.data()); },
                                   "replace_rows(): params row 1, column 2 = inf is not finite");
  EXPECT_EQ(host_copy(opt.ask()), before);
  opt.replace_rows(5, 0, nullptr);  // nothing to replace: nothing checked but the range
  EXPECT_EQ(host_copy(opt.ask()), before);
}
