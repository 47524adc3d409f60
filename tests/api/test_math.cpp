#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <limits>
#include <random>
#include <vector>

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

// The cuda backend's plain large-D path: distances from a float64 Gram product with the row constant
// dropped (log_weight_gram). In a converged population (all points within ~sqrt(1 - a_t) of a centre
// of norm^2 ~ D) the Gram terms are ~D while the distances that decide the weights are ~1 - a_t: the
// float64 form must match a direct float64 reference, and the same formula in float32 must not
// (which is why the kernel uses DGEMM and shows this test's regime is the hard one).
TEST(Distance, GramFormMatchesDirectDistancesInAConvergedPopulation) {
  const int n = 48, dim = 2000;
  const double a = 1 - 1e-4, s = std::sqrt(a), inv2 = 1 / (2 * (1 - a));
  std::mt19937 rng(2024);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> centre(dim), x(static_cast<std::size_t>(n) * dim);
  for (float& c : centre) c = 1.0f + 0.1f * nd(rng);
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < dim; ++c) x[i * dim + c] = centre[c] + 2e-4f * nd(rng);
  std::vector<float> log_g(n);
  for (float& g : log_g) g = 0.5f * nd(rng);

  auto softmax = [](std::vector<double> v) {
    const double m = *std::max_element(v.begin(), v.end());
    double sum = 0;
    for (double& e : v) sum += (e = std::exp(e - m));
    for (double& e : v) e /= sum;
    return v;
  };
  double worst_f64 = 0, worst_f32 = 0, spread = 0;
  for (int i = 0; i < n; ++i) {
    std::vector<double> direct(n), gram64(n), gram32(n);
    for (int j = 0; j < n; ++j) {
      double d2 = 0, dot = 0, nj = 0;
      float dot32 = 0, nj32 = 0;
      for (int c = 0; c < dim; ++c) {
        const double xi = x[i * dim + c], xj = x[j * dim + c];
        d2 += (xi - s * xj) * (xi - s * xj);
        dot += xi * xj;
        nj += xj * xj;
        dot32 += x[i * dim + c] * x[j * dim + c];
        nj32 += x[j * dim + c] * x[j * dim + c];
      }
      direct[j] = log_weight(log_g[j], d2, inv2);
      gram64[j] = log_weight_gram(log_g[j], nj, dot, a, s, inv2);
      gram32[j] = static_cast<double>(log_g[j]) -
                  static_cast<float>((static_cast<float>(a) * nj32 - 2.0f * static_cast<float>(s) * dot32) *
                                     static_cast<float>(inv2));
    }
    const auto w = softmax(direct), w64 = softmax(gram64), w32 = softmax(gram32);
    for (int j = 0; j < n; ++j) {
      worst_f64 = std::max(worst_f64, std::fabs(w64[j] - w[j]));
      worst_f32 = std::max(worst_f32, std::fabs(w32[j] - w[j]));
    }
    spread = std::max(spread, 1 - *std::max_element(w.begin(), w.end()));
  }
  EXPECT_GT(spread, 0.1) << "the weights must not be one-hot, or the test proves nothing";
  EXPECT_LT(worst_f64, 1e-6);  // measured 4e-9 (float32: 0.99)
  EXPECT_GT(worst_f32, 0.1) << "float32 should fail in this regime";
}
