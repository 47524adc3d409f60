// Every bad input gets an exception whose message names the field and the value.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "diffevo/diffevo.hpp"
#include "expect.hpp"

using namespace diffevo;

namespace {
config base() {
  config c;
  c.population = 8;
  c.dimension = 3;
  c.steps = 5;
  c.backend = backend_kind::cpu;
  return c;
}
void construct(const config& c) { optimizer o(c); }
}  // namespace

TEST(Validation, ConfigFields) {
  auto with = [](auto edit) {
    config c = base();
    edit(c);
    return [c] { construct(c); };
  };
  expect_message<invalid_argument>(with([](config& c) { c.population = 1; }), "population must be >= 2 (got 1)");
  expect_message<invalid_argument>(with([](config& c) { c.dimension = 0; }), "dimension must be >= 1 (got 0)");
  expect_message<invalid_argument>(with([](config& c) { c.steps = 1; }), "steps must be >= 2 (got 1)");
  expect_message<invalid_argument>(with([](config& c) { c.steps = 2000000; }), "steps must be <= 1000000 (got 2000000)");
  expect_message<invalid_argument>(with([](config& c) { c.latent_dim = 4; }), "latent_dim");
  expect_message<invalid_argument>(with([](config& c) { c.latent_dim = 4; }), "(got 4)");
  expect_message<invalid_argument>(with([](config& c) { c.latent_dim = -1; }), "(got -1)");
  expect_message<invalid_argument>(with([](config& c) { c.eta = -0.5; }), "eta must be finite and >= 0 (got -0.5)");
  expect_message<invalid_argument>(with([](config& c) { c.eta = 5; }), "eta = 5 is too large");
  expect_message<invalid_argument>(with([](config& c) { c.temperature = 0; }), "temperature must be finite and > 0 (got 0)");
  expect_message<invalid_argument>(with([](config& c) { c.power = -1; }), "power must be finite and > 0 (got -1)");
  expect_message<invalid_argument>(with([](config& c) { c.scale = {1, 2}; }), "scale must have 0, 1 or dimension (3) values (got 2)");
  expect_message<invalid_argument>(with([](config& c) { c.scale = {0}; }), "scale[0] must be > 0 (got 0)");
  expect_message<invalid_argument>(with([](config& c) { c.center = {1, NAN, 2}; }), "center[1] must be finite");
  expect_message<invalid_argument>(with([](config& c) { c.cpu_threads = -2; }), "cpu_threads must be >= 0 (got -2)");
  expect_message<invalid_argument>(with([](config& c) {
                                     c.density = density_kind::log_density;
                                     c.goal = objective::minimize;
                                   }),
                                   "density = log_density needs goal = maximize");
}

TEST(Validation, UserSchedule) {
  auto user = [](std::vector<double> a) {
    config c = base();
    c.schedule = schedule_kind::user;
    c.steps = static_cast<int>(a.size());
    c.user_alphas = a;
    return [c] { construct(c); };
  };
  expect_message<invalid_argument>(user({0.9, 0.95, 0.1}), "strictly decreasing (user_alphas[1] = 0.95");
  expect_message<invalid_argument>(user({1.0, 0.5, 0.1}), "user_alphas[0] must be in (0, 1) (got 1)");
  expect_message<invalid_argument>(user({0.9, 0.5, 0.0}), "user_alphas[2] must be in (0, 1) (got 0)");
  config c = base();
  c.schedule = schedule_kind::user;
  c.user_alphas = {0.9, 0.1};
  expect_message<invalid_argument>([c] { construct(c); }, "user_alphas must have steps = 5 values (got 2)");
}

TEST(Validation, TellStateAndFitness) {
  config c = base();
  optimizer opt(c);
  std::vector<float> f(8, 1.0f);
  expect_message<logic_error>([&] { opt.tell(f); }, "tell() before ask()");
  opt.ask();
  expect_message<invalid_argument>([&] { opt.tell(f.data(), 7); }, "fitness has 7 values but population is 8");
  f[5] = INFINITY;
  expect_message<invalid_argument>([&] { opt.tell(f); }, "fitness[5] = inf is infinite in the winning direction");
  EXPECT_EQ(opt.generation(), 0);  // rejected calls change nothing
  f[5] = 1.0f;
  opt.tell(f);  // the same generation can be retried
  EXPECT_EQ(opt.generation(), 1);
  while (!opt.done()) {
    opt.ask();
    opt.tell(f);
  }
  opt.ask();
  expect_message<logic_error>([&] { opt.tell(f); }, "tell() after done()");
}

TEST(Validation, NegativeFitnessUnderIdentity) {
  config c = base();
  c.density = density_kind::identity;
  optimizer opt(c);
  const auto before = opt.ask();
  std::vector<float> p0(before.data, before.data + before.size());
  std::vector<float> f(8, 1.0f);
  f[2] = -0.25f;
  expect_message<invalid_argument>([&] { opt.tell(f); }, "fitness[2] = -0.25 gives a negative density under the identity");
  const auto after = opt.ask();
  EXPECT_EQ(p0, std::vector<float>(after.data, after.data + after.size()));
}

TEST(Validation, AccessorsBeforeData) {
  optimizer opt(base());
  expect_message<logic_error>([&] { opt.x0(); }, "x0() before the first tell()");
  expect_message<logic_error>([&] { opt.best(); }, "best() before any finite fitness");
}

TEST(Validation, CudaBackendWithoutDevice) {
  if (cuda_device_available()) GTEST_SKIP() << "a CUDA device is present";
  config c = base();
  c.backend = backend_kind::cuda;
  expect_message<device_unavailable>([c] { construct(c); }, "backend = cuda was requested but no CUDA device is available");
  c.backend = backend_kind::automatic;
  EXPECT_EQ(optimizer(c).backend(), backend_kind::cpu);
}
