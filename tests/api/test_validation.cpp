// Every bad input gets an exception whose message names the field and the value.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "diffevo/diffevo.hpp"
#include "tests/helpers/expect.hpp"

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
/// A call constructing an optimizer from base() changed by `edit`.
template <class Edit>
auto with(Edit edit) {
  config c = base();
  edit(c);
  return [c] { construct(c); };
}
}  // namespace

TEST(Validation, ConfigFields) {
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
  expect_message<invalid_argument>(with([](config& c) { c.cpu_threads = -2; }), "cpu_threads must be in [0, 4096] (got -2)");
  expect_message<invalid_argument>(with([](config& c) { c.cpu_threads = 40000000; }),
                                   "cpu_threads must be in [0, 4096] (got 40000000)");
  expect_message<invalid_argument>(with([](config& c) {
                                     c.density = density_kind::log_density;
                                     c.goal = objective::minimize;
                                   }),
                                   "density = log_density needs goal = maximize");
}

TEST(Validation, EnumFieldsOutsideTheirValuesAreNamed) {
  // A number cast to an enum compiles; it used to pass (goal = 42 optimized as maximize) or fail late
  // with another field's message (schedule = 42 gave "eta = 1 is too large ... -nan").
  expect_message<invalid_argument>(with([](config& c) { c.schedule = static_cast<schedule_kind>(42); }),
                                   "schedule must be cosine, linear, ddpm or user (0-3) (got 42)");
  expect_message<invalid_argument>(with([](config& c) { c.density = static_cast<density_kind>(42); }),
                                   "density must be identity, power, energy or log_density (0-3) (got 42)");
  expect_message<invalid_argument>(with([](config& c) { c.goal = static_cast<objective>(42); }),
                                   "goal must be maximize or minimize (0-1) (got 42)");
  expect_message<invalid_argument>(with([](config& c) { c.backend = static_cast<backend_kind>(-1); }),
                                   "backend must be automatic, cpu or cuda (0-2) (got -1)");
  expect_message<invalid_argument>(with([](config& c) { c.cpu_math = static_cast<cpu_math_kind>(3); }),
                                   "cpu_math must be automatic, exact or fast (0-2) (got 3)");
  EXPECT_STREQ(to_string(cpu_math_kind::fast), "fast");
  EXPECT_STREQ(to_string(static_cast<objective>(42)), "?");
  rollout_config rc;
  rc.backend = static_cast<backend_kind>(7);
  expect_message<invalid_argument>([rc] { cartpole_evaluator e(rc); }, "backend must be automatic, cpu or cuda (0-2) (got 7)");
  cma_es_config cc;
  cc.goal = static_cast<objective>(42);
  expect_message<invalid_argument>([cc] { cma_es e(cc); }, "cma-es: goal must be maximize or minimize (0-1) (got 42)");
  open_es_config oc;
  oc.shaping = static_cast<fitness_shaping>(3);
  expect_message<invalid_argument>([oc] { open_es e(oc); }, "open-es: shaping must be");
  oc = open_es_config{};
  oc.optimizer = static_cast<es_optimizer>(2);
  expect_message<invalid_argument>([oc] { open_es e(oc); }, "open-es: optimizer must be adam or momentum (0-1) (got 2)");
  pepg_config pc;
  pc.goal = static_cast<objective>(-3);
  expect_message<invalid_argument>([pc] { pepg e(pc); }, "pepg: goal must be maximize or minimize (0-1) (got -3)");
}

TEST(Validation, UserParametersMustStayFinite) {
  // center = 3e38 with scale = 1e38 made 75 of 192 initial parameters infinite, silently.
  config c = base();
  c.population = 64;
  c.center = {3e38f};
  c.scale = {1e38f};
  expect_message<invalid_argument>([c] { construct(c); }, "center + scale * x overflows float in dimension 0 (center = 3");
  c.center = {0.0f, 0.0f, -3.4e38f};
  c.scale = {1.0f, 1.0f, 1e33f};
  expect_message<invalid_argument>([c] { construct(c); }, "in dimension 2");
  // The largest accepted values give finite parameters.
  c.center = {3e38f};
  c.scale = {1e31f};
  optimizer o(c);
  const population_view p = o.ask();
  for (std::size_t i = 0; i < p.size(); ++i) ASSERT_TRUE(std::isfinite(p.data[i])) << i;
}

TEST(Validation, ExtremeTemperatureAndPowerKeepThePopulationFinite) {
  // temperature = 1e-308 (energy) overflowed f' / temperature to inf, and inf - inf made every entry
  // NaN after one tell; power = 1e39 did the same through a float +inf log-density.
  auto run = [](config c) {
    c.population = 64;
    c.dimension = 3;
    c.steps = 6;
    optimizer o(c);
    std::vector<float> f(64);
    while (!o.done()) {
      const population_view p = o.ask();
      for (int i = 0; i < p.rows; ++i) f[i] = 2.0f + std::tanh(p.row(i)[0]);  // positive, finite, distinct
      o.tell(f);
    }
    const population_view p = o.ask();
    for (std::size_t i = 0; i < p.size(); ++i) ASSERT_TRUE(std::isfinite(p.data[i])) << "entry " << i;
  };
  for (double t : {1e-308, 4.9e-324, 1e-30, 1e308}) {
    SCOPED_TRACE(t);
    config c = base();
    c.temperature = t;
    run(c);
  }
  for (double pw : {1e39, 1e300, 1e-300}) {
    for (double t : {1.0, 1e-300, 1e300}) {
      SCOPED_TRACE(std::to_string(pw) + " " + std::to_string(t));
      config c = base();
      c.density = density_kind::power;
      c.power = pw;
      c.temperature = t;
      run(c);
    }
  }
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
  // The message says why (a build with CUDA names the missing driver, device or plugin).
  const std::string why = cuda_unavailable_reason();
  EXPECT_FALSE(why.empty());
  expect_message<device_unavailable>([c] { construct(c); }, "(" + why + ")");
  if (!built_with_cuda())
    expect_message<device_unavailable>([c] { construct(c); }, "(this diffevo was built without CUDA");
  rollout_config rc;
  rc.backend = backend_kind::cuda;
  expect_message<device_unavailable>([rc] { cartpole_evaluator e(rc); },
                                     "backend = cuda was requested but no CUDA device is available");
  c.backend = backend_kind::automatic;
  EXPECT_EQ(optimizer(c).backend(), backend_kind::cpu);
}
