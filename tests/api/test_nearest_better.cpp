// The nearest-better distances of the seed clustering (host/open_ended/nearest_better.hpp) against the
// quadratic scan over all pairs, on fresh random inputs: the k-d tree's values are the scan's, bit for
// bit, in every dimension, with ties, coincident points and rows left out of the ranking.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "host/open_ended/nearest_better.hpp"

using diffevo::detail::nearest_better_distances;

namespace {
/// The reference: for each ranked point, every better-ranked point's distance in float64, the smallest.
std::vector<double> quadratic_scan(const std::vector<float>& x, const std::vector<int>& order,
                                   const std::vector<float>& unit) {
  const std::size_t d = unit.size();
  std::vector<double> out(order.size(), std::numeric_limits<double>::infinity());
  for (std::size_t a = 1; a < order.size(); ++a) {
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t b = 0; b < a; ++b) {
      double d2 = 0;
      for (std::size_t k = 0; k < d; ++k) {
        const double t = (double(x[order[a] * d + k]) - x[order[b] * d + k]) / unit[k];
        d2 += t * t;
      }
      best = std::min(best, d2);
    }
    out[a] = std::sqrt(best);
  }
  return out;
}

struct sample {
  std::vector<float> x, unit;
  std::vector<int> order;
};

/// rows points in d coordinates, each coordinate in [-scale_k, scale_k] (rounded to `grid` when it is
/// > 0, so points coincide and distances tie); a random ranking of most rows (some are left out, as
/// non-finite fitness values are).
sample random_sample(std::mt19937_64& rng, int rows, int d, double grid) {
  sample s;
  std::uniform_real_distribution<double> u(-1, 1), scale(0.1, 10);
  for (int k = 0; k < d; ++k) s.unit.push_back(static_cast<float>(scale(rng)));
  for (int i = 0; i < rows; ++i)
    for (int k = 0; k < d; ++k) {
      double v = u(rng) * s.unit[static_cast<std::size_t>(k)];
      if (grid > 0) v = std::round(v / grid) * grid;
      s.x.push_back(static_cast<float>(v));
    }
  s.order.resize(static_cast<std::size_t>(rows));
  std::iota(s.order.begin(), s.order.end(), 0);
  std::shuffle(s.order.begin(), s.order.end(), rng);
  s.order.resize(static_cast<std::size_t>(rows) - static_cast<std::size_t>(rows) / 20);
  return s;
}

/// A fresh generator; its seed is printed and recorded as the test's property, to replay a failure.
std::mt19937_64 fresh_rng() {
  const std::uint64_t seed = (std::uint64_t{std::random_device{}()} << 32) | std::random_device{}();
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  std::printf("nearest-better test seed %llu\n", static_cast<unsigned long long>(seed));
  return std::mt19937_64(seed);
}

void expect_same_bits(const std::vector<double>& got, const std::vector<double>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t a = 0; a < got.size(); ++a)
    ASSERT_EQ(got[a], want[a]) << what << ": rank " << a << " of " << got.size();
}
}  // namespace

TEST(NearestBetter, TheTreeGivesTheQuadraticScansDistancesBitForBit) {
  std::mt19937_64 rng = fresh_rng();
  for (const int d : {1, 2, 3, 5, 10})
    for (const int rows : {1100, 2500}) {
      const sample s = random_sample(rng, rows, d, 0);
      expect_same_bits(nearest_better_distances(s.x, s.order, s.unit), quadratic_scan(s.x, s.order, s.unit),
                       "uniform");
    }
}

TEST(NearestBetter, CoincidentPointsAndTiesGiveTheScansDistances) {
  std::mt19937_64 rng = fresh_rng();
  for (const int d : {1, 2, 3})
    for (const double grid : {0.5, 2.0}) {  // at 2.0, most points share a handful of grid cells
      const sample s = random_sample(rng, 2000, d, grid);
      const std::vector<double> got = nearest_better_distances(s.x, s.order, s.unit);
      expect_same_bits(got, quadratic_scan(s.x, s.order, s.unit), "on a grid");
      EXPECT_GT(std::count(got.begin(), got.end(), 0.0), 0);  // coincident points were ranked
    }
}

TEST(NearestBetter, SmallSetsAndTheBestPoint) {
  std::mt19937_64 rng = fresh_rng();
  for (const int rows : {0, 1, 2, 40, 1023}) {
    const sample s = random_sample(rng, rows, 3, 0);
    const std::vector<double> got = nearest_better_distances(s.x, s.order, s.unit);
    expect_same_bits(got, quadratic_scan(s.x, s.order, s.unit), "small");
    if (!got.empty()) EXPECT_TRUE(std::isinf(got[0]));  // nothing is better than the best
  }
}
