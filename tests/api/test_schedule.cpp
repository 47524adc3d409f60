#include <gtest/gtest.h>

#include <cmath>

#include "diffevo/schedule.hpp"

using namespace diffevo;

TEST(Schedule, CosineMatchesFormulaAndRange) {
  for (int T : {2, 10, 25, 100}) {
    const auto a = make_schedule(schedule_kind::cosine, T);
    ASSERT_EQ(a.size(), static_cast<std::size_t>(T));
    for (int k = 0; k < T; ++k) {
      const double c = (std::cos(M_PI * k / (T - 1)) + 1) / 2;
      EXPECT_NEAR(a[k], (c + 1e-3) * (1 - 1e-3) / (1 + 1e-3), 1e-15);
    }
    EXPECT_NEAR(a.front(), 0.999, 1e-12);
    EXPECT_NEAR(a.back(), 1e-3 * 0.999 / 1.001, 1e-12);
  }
}

TEST(Schedule, LinearEndpointsAndSpacing) {
  const auto a = make_schedule(schedule_kind::linear, 11);
  EXPECT_DOUBLE_EQ(a.front(), 1 - 1e-4);
  EXPECT_NEAR(a.back(), 1e-8, 1e-15);
  for (int k = 1; k < 11; ++k) EXPECT_NEAR(a[k - 1] - a[k], (1 - 1e-4 - 1e-8) / 10, 1e-14);
}

TEST(Schedule, DdpmIsPinnedAndDecreasing) {
  for (int T : {2, 10, 25}) {
    const auto a = make_schedule(schedule_kind::ddpm, T);
    EXPECT_NEAR(a.front(), 1 - 1e-4, 1e-12);
    EXPECT_NEAR(a.back(), 1e-4, 1e-12);
    for (int k = 1; k < T; ++k) EXPECT_LT(a[k], a[k - 1]);
  }
}

TEST(Schedule, GenerationsUseConsecutiveLevelsFromTheNoisyEnd) {
  const auto a = make_schedule(schedule_kind::cosine, 5);  // 5 levels -> 4 generations
  const auto first = ddim_step(a, 0, 1.0);
  EXPECT_EQ(first.a_t, a[4]);
  EXPECT_EQ(first.a_p, a[3]);
  const auto last = ddim_step(a, 3, 1.0);
  EXPECT_EQ(last.a_t, a[1]);
  EXPECT_EQ(last.a_p, a[0]);
  EXPECT_THROW(ddim_step(a, 4, 1.0), std::invalid_argument);
}

TEST(Schedule, SigmaFormulaAndDeterministicEta) {
  const auto a = make_schedule(schedule_kind::cosine, 10);
  for (int k = 0; k < 9; ++k) {
    const auto c = ddim_step(a, k, 0.7);
    const double expect = 0.7 * std::sqrt((1 - c.a_p) / (1 - c.a_t) * (1 - c.a_t / c.a_p));
    EXPECT_NEAR(c.sigma, expect, 1e-15);
    EXPECT_NEAR(c.c_eps * c.c_eps, 1 - c.a_p - c.sigma * c.sigma, 1e-14);
    EXPECT_EQ(ddim_step(a, k, 0.0).sigma, 0.0);
  }
}
