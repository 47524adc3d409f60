#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "diffevo/detail/math.hpp"

using namespace diffevo::detail;

namespace {
density_params params(int kind, bool minimize, double power = 1, double temp = 1) {
  return density_params{kind, minimize, power, temp};
}
fitness_summary summarize(const std::vector<float>& f, const density_params& p) {
  fitness_summary s = empty_summary();
  for (int j = 0; j < static_cast<int>(f.size()); ++j) summary_add(s, j, f[j], p);
  return s;
}
}  // namespace

TEST(Density, EnergyShiftsBestToZeroAndHonoursTemperature) {
  const auto p = params(k_energy, false, 1, 2.0);
  const std::vector<float> f{1.0f, 5.0f, -3.0f};
  const auto s = summarize(f, p);
  EXPECT_EQ(s.best, 1);
  EXPECT_FLOAT_EQ(final_log_density(f[1], p, s), 0.0f);
  EXPECT_NEAR(final_log_density(f[0], p, s), (1.0 - 5.0) / 2.0, 1e-6);
  EXPECT_NEAR(final_log_density(f[2], p, s), (-3.0 - 5.0) / 2.0, 1e-6);
}

TEST(Density, MinimizeFlipsSignAndBest) {
  const auto p = params(k_energy, true);
  const std::vector<float> f{1.0f, 5.0f, -3.0f};
  const auto s = summarize(f, p);
  EXPECT_EQ(s.best, 2);
  EXPECT_FLOAT_EQ(final_log_density(f[2], p, s), 0.0f);
  EXPECT_NEAR(final_log_density(f[1], p, s), -8.0, 1e-6);
}

TEST(Density, IdentityAndPower) {
  const std::vector<float> f{0.5f, 2.0f, 0.0f};
  const auto pi = params(k_identity, false);
  const auto si = summarize(f, pi);
  EXPECT_NEAR(final_log_density(f[0], pi, si), std::log(0.5), 1e-6);
  EXPECT_EQ(final_log_density(f[2], pi, si), -INFINITY);
  const auto pp = params(k_power, false, 3.0, 2.0);
  const auto sp = summarize(f, pp);
  EXPECT_NEAR(final_log_density(f[1], pp, sp), 3.0 * std::log(2.0 / 2.0), 1e-6);
  EXPECT_NEAR(final_log_density(f[0], pp, sp), 3.0 * std::log(0.25), 1e-6);
}

TEST(Density, NonFiniteValuesAreDroppedAndCounted) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = INFINITY;
  const auto p = params(k_energy, false);
  const std::vector<float> f{nan, 1.0f, -inf, 2.0f};
  const auto s = summarize(f, p);
  EXPECT_EQ(s.nonfinite, 2);
  EXPECT_EQ(s.first_error, -1);
  EXPECT_EQ(final_log_density(f[0], p, s), -INFINITY);
  EXPECT_EQ(final_log_density(f[2], p, s), -INFINITY);
  // +inf when maximizing is an input error; -inf when minimizing too.
  EXPECT_EQ(summarize({1.0f, inf}, p).first_error, 1);
  EXPECT_EQ(summarize({-inf, 1.0f}, params(k_energy, true)).first_error, 0);
  // Negative fitness under identity is an error at its index.
  const auto s2 = summarize({1.0f, 2.0f, -0.5f, -1.0f}, params(k_identity, false));
  EXPECT_EQ(s2.first_error, 2);
  EXPECT_EQ(s2.error_class, static_cast<int>(fitness_class::negative));
}

TEST(Density, AllZeroDensityFallsBackToEqualWeights) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const auto p = params(k_identity, false);
  const std::vector<float> f{nan, 0.0f, nan};
  const auto s = summarize(f, p);
  EXPECT_EQ(s.positive, 0);
  for (float v : f) EXPECT_EQ(final_log_density(v, p, s), 0.0f);
}

TEST(Density, MergeIsOrderIndependent) {
  const auto p = params(k_energy, false);
  const std::vector<float> f{3.0f, 7.0f, 7.0f, NAN, 1.0f, 7.0f};
  const auto whole = summarize(f, p);
  fitness_summary a = empty_summary(), b = empty_summary();
  for (int j = 0; j < 3; ++j) summary_add(a, j, f[j], p);
  for (int j = 3; j < 6; ++j) summary_add(b, j, f[j], p);
  for (const auto& m : {summary_merge(a, b, false), summary_merge(b, a, false)}) {
    EXPECT_EQ(m.best, whole.best);
    EXPECT_EQ(m.best, 1);  // ties -> lowest index
    EXPECT_EQ(m.nonfinite, whole.nonfinite);
    EXPECT_EQ(m.max_log_g, whole.max_log_g);
  }
}

TEST(Update, DdimMatchesFloat64Reference) {
  const double at = 0.3, ap = 0.6, sigma = 0.2;
  const double ceps = std::sqrt(1 - ap - sigma * sigma);
  const update_coefficients c{float(std::sqrt(ap)), float(std::sqrt(at)), float(1 / std::sqrt(1 - at)), float(ceps),
                              float(sigma)};
  for (double x : {-2.0, 0.1, 3.0})
    for (double x0 : {-1.0, 0.5})
      for (double z : {-0.3, 1.7}) {
        const double eps = (x - std::sqrt(at) * x0) / std::sqrt(1 - at);
        const double ref = std::sqrt(ap) * x0 + ceps * eps + sigma * z;
        EXPECT_NEAR(ddim_update(float(x), float(x0), float(z), c), ref, 1e-6 * (1 + std::fabs(ref)));
      }
}

TEST(Distance, OnlyTheOtherPointIsScaled) {
  const float qi[2] = {1.0f, 2.0f}, qj[2] = {3.0f, -1.0f};
  const double s = 0.5;
  const double ref = (1 - s * 3) * (1 - s * 3) + (2 - s * -1) * (2 - s * -1);
  EXPECT_NEAR(scaled_distance2(qi, qj, 2, float(s)), ref, 1e-6);
}
