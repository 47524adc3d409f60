// The quadratic model of open_ended_config::refine_polish (host/open_ended/polish.hpp) against float64
// references on fresh random inputs: the least-squares fit recovers a quadratic exactly, the Jacobi
// eigensolver diagonalizes, the model's peak solves H step = -g, and its metric makes the peak round.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "host/open_ended/polish.hpp"

using namespace diffevo::detail;

namespace {
/// A random symmetric d x d matrix.
std::vector<double> random_symmetric(std::mt19937_64& rng, int d) {
  std::normal_distribution<double> n;
  std::vector<double> a(static_cast<std::size_t>(d) * d);
  for (int i = 0; i < d; ++i)
    for (int j = i; j < d; ++j) a[static_cast<std::size_t>(i) * d + j] = a[static_cast<std::size_t>(j) * d + i] = n(rng);
  return a;
}
/// A random negative definite matrix with eigenvalues -exp(U(0, log condition)).
std::vector<double> random_peak(std::mt19937_64& rng, int d, double condition) {
  std::vector<double> lambda, v;
  symmetric_eigen(random_symmetric(rng, d), d, lambda, v);  // a random orthonormal basis
  std::uniform_real_distribution<double> u(0, std::log(condition));
  std::vector<double> h(static_cast<std::size_t>(d) * d, 0.0);
  for (int k = 0; k < d; ++k) {
    const double mu = -std::exp(u(rng));
    for (int i = 0; i < d; ++i)
      for (int j = 0; j < d; ++j)
        h[static_cast<std::size_t>(i) * d + j] += v[static_cast<std::size_t>(i) * d + k] * mu * v[static_cast<std::size_t>(j) * d + k];
  }
  return h;
}
double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}
}  // namespace

TEST(Polish, TheFitRecoversAQuadraticExactly) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> n;
  for (int d = 1; d <= 6; ++d)
    for (int trial = 0; trial < 5; ++trial) {
      quadratic_model q;
      q.a = n(rng);
      for (int i = 0; i < d; ++i) q.g.push_back(n(rng));
      q.h = random_symmetric(rng, d);
      const int rows = quadratic_terms(d) + 2;
      std::vector<double> s, f;
      for (int r = 0; r < rows; ++r) {
        for (int i = 0; i < d; ++i) s.push_back(n(rng));
        f.push_back(model_value(q, s.data() + static_cast<std::size_t>(r) * d, d));
      }
      quadratic_model fit;
      ASSERT_TRUE(fit_quadratic(s, f, d, fit)) << "d " << d;
      EXPECT_NEAR(fit.a, q.a, 1e-10);
      for (int i = 0; i < d; ++i) EXPECT_NEAR(fit.g[static_cast<std::size_t>(i)], q.g[static_cast<std::size_t>(i)], 1e-10);
      for (std::size_t k = 0; k < q.h.size(); ++k) EXPECT_NEAR(fit.h[k], q.h[k], 1e-10) << "d " << d << " entry " << k;
      EXPECT_LT(rms_residual(fit, s, f, d), 1e-10);
    }
}

// Least squares: with noise on the values, the fit's residual is the float64 normal equations' one.
TEST(Polish, TheFitIsTheLeastSquaresSolution) {
  std::mt19937_64 rng(12);
  std::normal_distribution<double> n;
  const int d = 2, rows = 20;
  std::vector<double> s, f;
  for (int r = 0; r < rows; ++r) {
    const double x = n(rng), y = n(rng);
    s.push_back(x), s.push_back(y);
    f.push_back(1 + x - 2 * y + x * x - 0.5 * x * y + 3 * y * y + 0.1 * n(rng));
  }
  quadratic_model fit;
  ASSERT_TRUE(fit_quadratic(s, f, d, fit));
  // the residual is orthogonal to every column of the design (1, x, y, x^2, xy, y^2)
  for (int c = 0; c < 6; ++c) {
    double dot = 0;
    for (int r = 0; r < rows; ++r) {
      const double x = s[2 * r], y = s[2 * r + 1];
      const double col[6] = {1, x, y, x * x, x * y, y * y};
      dot += col[c] * (model_value(fit, &s[2 * r], d) - f[static_cast<std::size_t>(r)]);
    }
    EXPECT_NEAR(dot, 0, 1e-10) << "column " << c;
  }
}

TEST(Polish, TooFewOrDependentPointsDoNotDetermineTheFit) {
  quadratic_model fit;
  EXPECT_FALSE(fit_quadratic({0, 1, 2, 3, 4}, {0, 1, 2, 3, 4}, 2, fit));  // 2.5 rows: fewer than 6
  std::vector<double> s, f;
  for (int r = 0; r < 10; ++r) s.push_back(r), s.push_back(2.0 * r), f.push_back(r);  // on a line
  EXPECT_FALSE(fit_quadratic(s, f, 2, fit));
}

TEST(Polish, JacobiDiagonalizesSymmetricMatrices) {
  std::mt19937_64 rng(13);
  for (int d = 1; d <= 8; ++d) {
    const std::vector<double> a = random_symmetric(rng, d);
    std::vector<double> lambda, v;
    symmetric_eigen(a, d, lambda, v);
    for (int k = 0; k + 1 < d; ++k) EXPECT_LE(lambda[static_cast<std::size_t>(k)], lambda[static_cast<std::size_t>(k) + 1]);
    for (int k = 0; k < d; ++k)
      for (int i = 0; i < d; ++i) {
        double av = 0;  // (A v_k)_i = lambda_k v_ik
        for (int j = 0; j < d; ++j) av += a[static_cast<std::size_t>(i) * d + j] * v[static_cast<std::size_t>(j) * d + k];
        EXPECT_NEAR(av, lambda[static_cast<std::size_t>(k)] * v[static_cast<std::size_t>(i) * d + k], 1e-12);
      }
    for (int k = 0; k < d; ++k)
      for (int l = 0; l < d; ++l) {
        double dot = 0;
        for (int i = 0; i < d; ++i) dot += v[static_cast<std::size_t>(i) * d + k] * v[static_cast<std::size_t>(i) * d + l];
        EXPECT_NEAR(dot, k == l ? 1.0 : 0.0, 1e-12);
      }
  }
}

TEST(Polish, ThePeakSolvesTheNewtonStepAndItsMetricMakesItRound) {
  std::mt19937_64 rng(14);
  std::normal_distribution<double> n;
  for (int d = 1; d <= 5; ++d) {
    quadratic_model q;
    q.h = random_peak(rng, d, 1e3);
    for (int i = 0; i < d; ++i) q.g.push_back(0.01 * n(rng));
    std::vector<double> step, root, inverse;
    ASSERT_TRUE(model_peak(q, d, 1e9, step, root, inverse));
    for (int i = 0; i < d; ++i) {  // H step = -g
      double hs = 0;
      for (int j = 0; j < d; ++j) hs += q.h[static_cast<std::size_t>(i) * d + j] * step[static_cast<std::size_t>(j)];
      EXPECT_NEAR(hs, -q.g[static_cast<std::size_t>(i)], 1e-12);
    }
    // root' (-H) root = c I, root inverse = I, det root = 1 (the product of its eigenvalues, as it is
    // symmetric positive definite)
    std::vector<double> m(static_cast<std::size_t>(d) * d, 0.0), p = m;
    for (int i = 0; i < d; ++i)
      for (int j = 0; j < d; ++j)
        for (int k = 0; k < d; ++k) {
          p[static_cast<std::size_t>(i) * d + j] += root[static_cast<std::size_t>(i) * d + k] * inverse[static_cast<std::size_t>(k) * d + j];
          for (int l = 0; l < d; ++l)
            m[static_cast<std::size_t>(i) * d + j] -= root[static_cast<std::size_t>(k) * d + i] * q.h[static_cast<std::size_t>(k) * d + l] *
                                                       root[static_cast<std::size_t>(l) * d + j];
        }
    for (int i = 0; i < d; ++i)
      for (int j = 0; j < d; ++j) {
        EXPECT_NEAR(m[static_cast<std::size_t>(i) * d + j], i == j ? m[0] : 0.0, 1e-9 * m[0]);
        EXPECT_NEAR(p[static_cast<std::size_t>(i) * d + j], i == j ? 1.0 : 0.0, 1e-12);
      }
    std::vector<double> lambda, v;
    symmetric_eigen(root, d, lambda, v);
    double log_det = 0;
    for (double l : lambda) log_det += std::log(l);
    EXPECT_NEAR(log_det, 0, 1e-12);
    // shortened to `clip`, in the same direction
    double len = 0;
    for (double x : step) len += x * x;
    len = std::sqrt(len);
    const std::vector<double> full = step;
    ASSERT_TRUE(model_peak(q, d, 0.5 * len, step, root, inverse));
    for (int i = 0; i < d; ++i) EXPECT_NEAR(step[static_cast<std::size_t>(i)], 0.5 * full[static_cast<std::size_t>(i)], 1e-12 * len);
  }
  quadratic_model saddle;  // no peak: an indefinite Hessian
  saddle.g = {0, 0};
  saddle.h = {-1, 0, 0, 2};
  std::vector<double> step, root, inverse;
  EXPECT_FALSE(model_peak(saddle, 2, 1, step, root, inverse));
}

TEST(Polish, TheMetricComposesUnlessTooThin) {
  const auto expect_diagonal = [](const std::vector<double>& m, double a, double b) {
    ASSERT_EQ(m.size(), 4u);
    EXPECT_NEAR(m[0], a, 1e-12 * a);
    EXPECT_EQ(m[1], 0.0);
    EXPECT_EQ(m[2], 0.0);
    EXPECT_NEAR(m[3], b, 1e-12 * b);
  };
  std::vector<double> metric, inverse;  // identity
  const std::vector<double> a = {10, 0, 0, 0.1}, ai = {0.1, 0, 0, 10};
  ASSERT_TRUE(compose_metric(metric, inverse, a, ai, 2, 2e4));  // axes 10 and 0.1: condition 100
  expect_diagonal(metric, 10, 0.1);
  expect_diagonal(inverse, 0.1, 10);
  ASSERT_TRUE(compose_metric(metric, inverse, a, ai, 2, 2e4));  // 100 and 0.01: 1e4
  expect_diagonal(metric, 100, 0.01);
  EXPECT_FALSE(compose_metric(metric, inverse, a, ai, 2, 2e4));  // 1e6: refused, unchanged
  expect_diagonal(metric, 100, 0.01);
  expect_diagonal(inverse, 0.01, 100);
}
