// The host noise generator (host/cpu/rng.cpp) against cuRAND's host Philox generator, which needs no GPU:
// the same floats bit for bit, for any sizes, thread counts and seeks. A build without CUDA has no
// cuRAND: it runs the statistical checks only (the oracle comparisons run in every CUDA build's CI).
#if DIFFEVO_TEST_CURAND_ORACLE
#include <curand.h>
#endif
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "host/cpu/rng.hpp"

using namespace diffevo::detail;

namespace {

#if DIFFEVO_TEST_CURAND_ORACLE
class curand_host {
 public:
  explicit curand_host(std::uint64_t seed) {
    EXPECT_EQ(curandCreateGeneratorHost(&g_, CURAND_RNG_PSEUDO_PHILOX4_32_10), CURAND_STATUS_SUCCESS);
    EXPECT_EQ(curandSetPseudoRandomGeneratorSeed(g_, run_seed(seed)), CURAND_STATUS_SUCCESS);
  }
  ~curand_host() { curandDestroyGenerator(g_); }
  std::vector<float> draw(std::size_t n) {
    std::vector<float> out(draw_count(n));
    EXPECT_EQ(curandGenerateNormal(g_, out.data(), out.size(), 0.0f, 1.0f), CURAND_STATUS_SUCCESS);
    return out;
  }
  void seek(std::uint64_t position) { EXPECT_EQ(curandSetGeneratorOffset(g_, position), CURAND_STATUS_SUCCESS); }

 private:
  curandGenerator_t g_ = nullptr;
};
#endif

std::vector<float> draw(host_normal_generator& g, std::size_t n) {
  std::vector<float> out(draw_count(n));
  g.fill(out.data(), n);
  return out;
}

::testing::AssertionResult same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << "size " << a.size() << " != " << b.size();
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0)
      return ::testing::AssertionFailure() << "first difference at " << i << ": " << a[i] << " != " << b[i];
  return ::testing::AssertionSuccess();
}

}  // namespace

#if DIFFEVO_TEST_CURAND_ORACLE
TEST(HostNoise, EqualsCurandHostGeneratorBitForBit) {
  std::mt19937_64 pick(20261124);
  for (std::uint64_t seed : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{42}, pick(), pick()})
    for (int threads : {1, 2, 3}) {
      host_normal_generator ours(seed, threads);
      curand_host ref(seed);
      std::uint64_t position = 0;
      // Sizes that cross the 65,536-block boundaries of cuRAND's virtual threads and the
      // multi-thread split, and odd counts that are rounded up to a multiple of 4.
      for (std::size_t n : {std::size_t{1}, std::size_t{1024}, std::size_t{3}, std::size_t{300001},
                            std::size_t{8195}, std::size_t{1} << 20, std::size_t{8}}) {  // 8195: 3 tasks, the last of 1 block
        ASSERT_TRUE(same_bits(draw(ours, n), ref.draw(n))) << "seed " << seed << ", threads " << threads << ", n " << n;
        position += draw_count(n);
        EXPECT_EQ(ours.position(), position);
      }
    }
}

TEST(HostNoise, SeekContinuesTheSequenceAsCurandsOffset) {
  for (std::uint64_t position : {std::uint64_t{0}, std::uint64_t{4}, std::uint64_t{262140}, std::uint64_t{262144},
                                 std::uint64_t{123456789012}, std::uint64_t{6}, std::uint64_t{262145}}) {
    host_normal_generator ours(9, 2);
    curand_host ref(9);
    ours.seek(position);
    ref.seek(position);
    ASSERT_TRUE(same_bits(draw(ours, 200000), ref.draw(200000))) << "position " << position;
    EXPECT_EQ(ours.position(), position + 200000);
    ASSERT_TRUE(same_bits(draw(ours, 16), ref.draw(16))) << "position " << position << ", second draw";
  }
}

#endif  // DIFFEVO_TEST_CURAND_ORACLE

// fill_range draws any slice of the sequence, at any alignment, as fill() draws it; for both choices of
// Box-Muller's math. The fast one's numbers are within a few float ulps of cuRAND's.
TEST(HostNoise, AnyRangeIsThatSliceOfTheSequenceAndFastIsCloseToExact) {
  std::mt19937_64 pick(std::random_device{}());
  for (bool fast : {false, true}) {
    host_normal_generator g(77, 2);
    g.seek(4 * 1000);
    std::vector<float> whole(draw_count(70001));
    g.fill(whole.data(), 70001, fast);
    for (int t = 0; t < 200; ++t) {
      const std::size_t first = pick() % 70000, n = pick() % std::min<std::size_t>(5000, 70001 - first);
      std::vector<float> part(n + 1, -1.0f);
      g.fill_range(4 * 1000 + first, n, part.data(), fast);
      ASSERT_EQ(std::memcmp(part.data(), whole.data() + first, n * sizeof(float)), 0) << first << " + " << n;
      EXPECT_EQ(part[n], -1.0f);  // nothing written past the range
    }
    EXPECT_EQ(g.position(), 4 * 1000 + draw_count(70001));  // fill_range does not move it
  }
  host_normal_generator e(5, 2), f(5, 2);
  const std::vector<float> a = draw(e, 1 << 18);
  std::vector<float> b(a.size());
  f.fill(b.data(), b.size(), true);
  int differ = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_NEAR(b[i], a[i], 1e-6f * (1 + std::fabs(a[i]))) << i;
    differ += a[i] != b[i];
  }
  EXPECT_LT(differ, static_cast<int>(a.size() / 2));
}

TEST(HostNoise, LooksStandardNormal) {
  host_normal_generator g(5, 2);
  const std::vector<float> v = draw(g, 1 << 20);
  double m = 0, m2 = 0;
  for (float x : v) {
    m += x;
    m2 += double(x) * x;
  }
  m /= v.size();
  m2 /= v.size();
  EXPECT_NEAR(m, 0.0, 5.0 / 1024);         // 5 standard errors
  EXPECT_NEAR(m2, 1.0, 5.0 * 1.414 / 1024);
}
