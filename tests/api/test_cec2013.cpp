// The CEC'2013 niching suite: each problem at its known optima, values against the report's formulas
// (a second float64 implementation written here), and the competition's count, peak ratio and success
// rate on hand-made solution sets.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "diffevo/cec2013.hpp"
#include "diffevo/error.hpp"
#include "tests/helpers/expect.hpp"

using namespace diffevo;
namespace cec = diffevo::cec2013;

namespace {
std::vector<float> as_float(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

double at(int id, std::vector<double> x) { return cec::evaluate(cec::make_problem(id), x.data()); }

// The report's composition function, written from its definition with column vectors:
// F(x) = -sum_i w_i * 2000 f_i(M_i^T (x - o_i) / lambda_i) / f_i(M_i^T 5 / lambda_i).
double basic_reference(int kind, const std::vector<double>& z) {
  const double pi = std::acos(-1.0);
  const std::size_t d = z.size();
  double s = 0, p = 1;
  switch (kind) {
    case 0:
      for (double v : z) s += v * v;
      return s;
    case 1:
      for (double v : z) s += v * v - 10 * std::cos(2 * pi * v) + 10;
      return s;
    case 2:
      for (double v : z)
        for (int k = 0; k <= 20; ++k)
          s += std::pow(0.5, k) * (std::cos(2 * pi * std::pow(3.0, k) * (v + 0.5)) - std::cos(pi * std::pow(3.0, k)));
      return s;
    case 3:
      for (std::size_t j = 0; j < d; ++j) s += z[j] * z[j] / 4000, p *= std::cos(z[j] / std::sqrt(double(j + 1)));
      return 1 + s - p;
    default:
      for (std::size_t j = 0; j < d; ++j) {
        const double a = z[j] + 1, b = z[(j + 1) % d] + 1, g = 100 * (a * a - b) * (a * a - b) + (1 - a) * (1 - a);
        s += 1 + g * g / 4000 - std::cos(g);
      }
      return s;
  }
}

double composition_reference(const cec::composition& cf, const std::vector<double>& x) {
  const int n = cf.components, d = cf.dimension;
  std::vector<double> w(n), f(n);
  for (int i = 0; i < n; ++i) {
    std::vector<double> t(d), five(d), z(d, 0.0), z5(d, 0.0);
    double dist2 = 0;
    for (int r = 0; r < d; ++r) {
      t[r] = (x[r] - cf.shift[i][r]) / cf.lambda[i];
      five[r] = 5 / cf.lambda[i];
      dist2 += (x[r] - cf.shift[i][r]) * (x[r] - cf.shift[i][r]);
    }
    for (int c = 0; c < d; ++c)
      for (int r = 0; r < d; ++r) z[c] += cf.rotation[i][r * d + c] * t[r], z5[c] += cf.rotation[i][r * d + c] * five[r];
    f[i] = 2000 * basic_reference(cf.kind[i], z) / basic_reference(cf.kind[i], z5);
    w[i] = std::exp(-dist2 / (2 * d * cf.sigma[i] * cf.sigma[i]));
  }
  int m = 0;
  for (int i = 1; i < n; ++i)
    if (w[i] > w[m]) m = i;
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += (w[i] = i == m ? w[i] : w[i] * (1 - std::pow(w[m], 10)));
  double out = 0;
  for (int i = 0; i < n; ++i) out += (sum == 0 ? 1.0 / n : w[i] / sum) * f[i];
  return -out;
}
}  // namespace

TEST(Cec2013, TablesMatchTheCompetition) {
  const int nopt[20] = {2, 5, 1, 4, 2, 18, 36, 81, 216, 12, 6, 8, 6, 6, 8, 6, 8, 6, 8, 8};
  const int dims[20] = {1, 1, 1, 2, 2, 2, 2, 3, 3, 2, 2, 2, 2, 3, 3, 5, 5, 10, 10, 20};
  for (int id = 1; id <= 20; ++id) {
    const cec::problem_info in = cec::info(id);
    EXPECT_EQ(in.id, id);
    EXPECT_EQ(in.global_optima, nopt[id - 1]) << id;
    EXPECT_EQ(in.dimension, dims[id - 1]) << id;
    std::vector<double> lo, hi;
    cec::box(id, lo, hi);
    ASSERT_EQ(lo.size(), static_cast<std::size_t>(in.dimension));
    for (std::size_t j = 0; j < lo.size(); ++j) EXPECT_LT(lo[j], hi[j]);
  }
  expect_message<invalid_argument>([] { cec::info(0); }, "cec2013 problem id = 0 must be in [1, 20]");
  expect_message<invalid_argument>([] { cec::make_problem(21); }, "cec2013 problem id = 21");
}

// Every problem's known optima, as float points: each lies in the box, attains the optimum value, and
// the count at the finest accuracy (1e-5) finds all of them, and no more when they are repeated.
TEST(Cec2013, EveryProblemAtItsKnownOptima) {
  for (int id = 1; id <= 20; ++id) {
    SCOPED_TRACE(id);
    const cec::problem_info in = cec::info(id);
    const std::vector<double> opt = cec::known_optima(id);
    ASSERT_EQ(opt.size(), static_cast<std::size_t>(in.global_optima) * in.dimension);
    std::vector<double> lo, hi;
    cec::box(id, lo, hi);
    for (std::size_t k = 0; k < opt.size(); ++k) {
      EXPECT_GE(opt[k], lo[k % in.dimension]);
      EXPECT_LE(opt[k], hi[k % in.dimension]);
    }
    std::vector<float> pts = as_float(opt);
    EXPECT_EQ(count_global_optima(id, pts.data(), in.global_optima, 1e-5), in.global_optima);
    pts.insert(pts.end(), pts.begin(), pts.end());  // each optimum twice: still counted once
    EXPECT_EQ(count_global_optima(id, pts.data(), 2 * in.global_optima, 1e-5), in.global_optima);
    EXPECT_EQ(count_global_optima(id, pts.data(), in.global_optima - 1, 1e-5), in.global_optima - 1);
  }
}

// Values at fixed points from the report's formulas (computed independently in float64 for these tests).
TEST(Cec2013, ValuesOfTheBasicProblems) {
  EXPECT_DOUBLE_EQ(at(1, {1}), 120);
  EXPECT_DOUBLE_EQ(at(1, {0}), 200);
  EXPECT_DOUBLE_EQ(at(1, {31}), -1);
  EXPECT_NEAR(at(2, {1}), 5.270904363473971e-92, 1e-100);
  EXPECT_NEAR(at(3, {1}), 0.02501471925928611, 1e-14);
  EXPECT_DOUBLE_EQ(at(4, {1, 1}), 94);
  EXPECT_NEAR(at(5, {1, 1}), -3.2333333333333334, 1e-14);
  EXPECT_NEAR(at(6, {1, 1}), -3.1803512048444107, 1e-12);
  EXPECT_NEAR(at(7, {1, 1}), 0, 1e-15);
  EXPECT_NEAR(at(8, {1, 1, 1}), 5.671691788907343, 1e-12);
  EXPECT_DOUBLE_EQ(at(10, {1, 1}), -38);
  EXPECT_EQ(at(9, {1, -1, 1}), -HUGE_VAL);  // Vincent is undefined at x <= 0
  EXPECT_NEAR(at(6, {-0.800321101666771, 4.858056879031077}), 186.73090883102392, 1e-9);
  EXPECT_NEAR(at(8, {-0.800321101666771, -0.800321101666771, -1.425128427160455}), 2709.093505572828, 1e-8);
}

TEST(Cec2013, CompositionsMatchTheReportsDefinitionOnRandomPoints) {
  std::mt19937_64 g(20131);
  std::uniform_real_distribution<double> u(-5, 5);
  for (int id = 11; id <= 20; ++id) {
    SCOPED_TRACE(id);
    const cec::problem p = cec::make_problem(id);
    const cec::composition& cf = *p.cf;
    EXPECT_EQ(cf.components, cec::info(id).global_optima);
    // Rotations are orthogonal (identity for CF1 and CF2).
    for (int i = 0; i < cf.components; ++i)
      for (int a = 0; a < p.dimension; ++a)
        for (int b = 0; b < p.dimension; ++b) {
          double dot = 0;
          for (int c = 0; c < p.dimension; ++c) dot += cf.rotation[i][a * p.dimension + c] * cf.rotation[i][b * p.dimension + c];
          ASSERT_NEAR(dot, a == b ? 1 : 0, 1e-12);
        }
    for (int t = 0; t < 200; ++t) {
      std::vector<double> x(static_cast<std::size_t>(p.dimension));
      for (double& v : x) v = u(g);
      const double got = cec::evaluate(p, x.data()), want = composition_reference(cf, x);
      ASSERT_NEAR(got, want, 1e-9 * (1 + std::fabs(want))) << "point " << t;
      EXPECT_LT(got, 0);  // the optimum value 0 is attained only at the shifts
    }
    for (int i = 0; i < cf.components; ++i) {
      std::vector<double> o(cf.shift[i], cf.shift[i] + p.dimension);
      EXPECT_EQ(cec::evaluate(p, o.data()), 0.0);
      EXPECT_EQ(static_cast<double>(static_cast<float>(o[0])), o[0]);  // shifts are float points
    }
  }
}

TEST(Cec2013, FitnessFunctorIsEvaluateRoundedToFloat) {
  std::mt19937_64 g(7);
  std::uniform_real_distribution<float> u(-5, 5);
  for (int id : {4, 8, 12, 20}) {
    const cec::fitness f{cec::make_problem(id)};
    std::vector<float> x(static_cast<std::size_t>(f.p.dimension));
    for (float& v : x) v = u(g);
    const std::vector<double> xd(x.begin(), x.end());
    EXPECT_EQ(f(x.data(), f.p.dimension), static_cast<float>(cec::evaluate(f.p, xd.data())));
  }
}

// The organisers' count: seeds best first, each claiming its radius; only seeds within the accuracy
// count, at most global_optima of them.
TEST(CountGlobalOptima, HandMadeSets) {
  // 1-D, optimum 1 at several points, radius 0.1.
  const std::vector<float> x = {0.0f, 0.05f, 0.5f, 0.58f, 0.9f};
  std::vector<double> f = {1.0, 0.9999999, 1.0, 1.0, 0.995};
  EXPECT_EQ(count_global_optima(x.data(), f.data(), 5, 1, 1.0, 10, 0.1, 1e-5), 2);  // 0.05 and 0.58 fall in seeds
  EXPECT_EQ(count_global_optima(x.data(), f.data(), 5, 1, 1.0, 10, 0.1, 0.01), 3);   // 0.9 counts at 1e-2
  EXPECT_EQ(count_global_optima(x.data(), f.data(), 5, 1, 1.0, 2, 0.1, 0.01), 2);    // capped
  EXPECT_EQ(count_global_optima(x.data(), f.data(), 5, 1, 1.0, 10, 0.0, 1e-5), 4);   // radius 0: each its own seed
  // A better point that is not an optimum still claims its neighbourhood (a seed that counts nothing).
  f = {1.0, 2.0, 1.0, 1.0, 0.995};
  EXPECT_EQ(count_global_optima(x.data(), f.data(), 5, 1, 1.0, 10, 0.1, 1e-5), 1);
  // Distance is Euclidean and the radius inclusive: (0, 0) and (0.3, 0.4) are 0.5 apart (in float).
  const std::vector<float> y = {0.0f, 0.0f, 0.3f, 0.4f};
  const std::vector<double> fy = {5.0, 5.0};
  EXPECT_EQ(count_global_optima(y.data(), fy.data(), 2, 2, 5.0, 4, 0.5000001, 0), 1);
  EXPECT_EQ(count_global_optima(y.data(), fy.data(), 2, 2, 5.0, 4, 0.49, 0), 2);
  EXPECT_EQ(count_global_optima(y.data(), fy.data(), 0, 2, 5.0, 4, 0.49, 0), 0);
  // A NaN fitness is never an optimum and never blocks one.
  const std::vector<double> fn = {NAN, 5.0};
  EXPECT_EQ(count_global_optima(y.data(), fn.data(), 2, 2, 5.0, 4, 10, 0), 1);
}

TEST(CountGlobalOptima, BadInputsAreNamed) {
  const float x[2] = {0, 0};
  const double f[2] = {0, 0};
  expect_message<invalid_argument>([&] { count_global_optima(x, f, -1, 1, 0, 1, 0.1, 0.1); }, "count = -1");
  expect_message<invalid_argument>([&] { count_global_optima(x, f, 2, 0, 0, 1, 0.1, 0.1); }, "dimension = 0");
  expect_message<invalid_argument>([&] { count_global_optima(x, f, 2, 1, 0, 0, 0.1, 0.1); }, "global_optima = 0");
  expect_message<invalid_argument>([&] { count_global_optima(x, f, 2, 1, 0, 1, -0.1, 0.1); }, "radius = -0.1");
  expect_message<invalid_argument>([&] { count_global_optima(x, f, 2, 1, 0, 1, 0.1, NAN); }, "accuracy = nan");
  expect_message<invalid_argument>([&] { count_global_optima(x, f, 2, 1, INFINITY, 1, 0.1, 0.1); }, "optimum = inf");
  expect_message<invalid_argument>([&] { count_global_optima(nullptr, f, 2, 1, 0, 1, 0.1, 0.1); }, "null pointer");
  expect_message<invalid_argument>([&] { count_global_optima(22, x, 1, 0.1); }, "cec2013 problem id = 22");
}

TEST(PeakRatio, AndSuccessRateOnHandMadeRuns) {
  EXPECT_DOUBLE_EQ(peak_ratio({4, 4, 2, 0}, 4), 10.0 / 16);
  EXPECT_DOUBLE_EQ(success_rate({4, 4, 2, 0}, 4), 0.5);
  EXPECT_DOUBLE_EQ(peak_ratio({1}, 1), 1.0);
  EXPECT_DOUBLE_EQ(success_rate({0, 0}, 3), 0.0);
  expect_message<invalid_argument>([] { peak_ratio({}, 4); }, "peak_ratio: no runs");
  expect_message<invalid_argument>([] { peak_ratio({1, 5}, 4); }, "found[1] = 5 must be in [0, 4]");
  expect_message<invalid_argument>([] { success_rate({1}, 0); }, "success_rate: global_optima = 0");
}
