// The cpu backend's vectorized inner loops (host/vector_ops) against float64 / long double references
// on fresh random inputs, and against scalar code that spells out the documented summation order.
// Every test runs once per instruction set this processor supports (baseline, AVX2, AVX-512), and the
// last tests run whole optimizer generations and cart-pole rollouts under each and compare the bits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "host/cpu/cpu_backend.hpp"
#include "host/cpu/vector_ops.hpp"
#include "tests/helpers/vector_isa.hpp"
#include "diffevo/detail/math.hpp"
#include "diffevo/diffevo.hpp"
#include "diffevo/env/cartpole.hpp"
#include "diffevo/env/mlp.hpp"

using namespace diffevo::detail;

namespace {

using diffevo::test::for_each_isa;

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

/// The documented order: element j into partial sum j mod k_lanes, then ((0+1)+(2+3))+((4+5)+(6+7)).
template <class F>
double lane_order_sum(int n, F term) {
  double p[k_lanes] = {};
  for (int j = 0; j < n; ++j) p[j % k_lanes] += term(j);
  return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

/// Distance in units in the last place of the exact value.
double ulps(double got, long double exact) {
  const double e = static_cast<double>(exact);
  const double ulp = std::nextafter(e, INFINITY) - e;
  return static_cast<double>(std::fabs(static_cast<long double>(got) - exact) / ulp);
}

}  // namespace

TEST(VectorOps, ExpIsWithinTwoUlpOfLongDoubleOnFreshInputs) {
  for_each_isa([] {
    std::mt19937_64 rng(20261124);
    std::uniform_real_distribution<double> wide(-708.0, 0.0), near0(-1e-3, 0.0), mid(-5.0, 0.0);
    double worst = 0;
    for (int t = 0; t < 200000; ++t) {
      const double x = t % 3 == 0 ? wide(rng) : t % 3 == 1 ? near0(rng) : mid(rng);
      worst = std::max(worst, ulps(exp_nonpositive(x), std::exp(static_cast<long double>(x))));
    }
    EXPECT_LE(worst, 2.0);
    for (double x : {-0.5 * std::log(2.0), -std::log(2.0), -1.0, -700.0, -707.9999})
      EXPECT_LE(ulps(exp_nonpositive(x), std::exp(static_cast<long double>(x))), 2.0) << "x = " << x;
  });
}

TEST(VectorOps, ExpEdgeValues) {
  for_each_isa([] {
    EXPECT_EQ(exp_nonpositive(0.0), 1.0);
    EXPECT_EQ(exp_nonpositive(-0.0), 1.0);
    EXPECT_EQ(exp_nonpositive(-INFINITY), 0.0);
    EXPECT_EQ(exp_nonpositive(-708.5), 0.0);  // below the flush threshold: exactly 0, never subnormal
    EXPECT_EQ(exp_nonpositive(-1e300), 0.0);
    const double at_min = exp_nonpositive(-708.0);
    EXPECT_GT(at_min, 0.0);
    EXPECT_TRUE(std::isnormal(at_min));
  });
}

TEST(VectorOps, ExpShiftedEqualsTheScalarExpBitForBit) {
  for_each_isa([] {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> u(-800.0, 3.0);
    for (int n : {1, 7, 8, 9, 63, 1003}) {
      std::vector<double> v(static_cast<std::size_t>(n));
      for (double& x : v) x = u(rng);
      v[0] = -INFINITY;
      const double shift = 3.0;
      std::vector<double> got = v;
      exp_shifted(got.data(), shift, n);
      for (int j = 0; j < n; ++j)
        ASSERT_TRUE(same_bits(got[j], exp_nonpositive(v[j] - shift))) << "n = " << n << ", j = " << j;
    }
  });
}

TEST(VectorOps, LogWeightsEqualTheSharedFormulasAndFindTheMax) {
  for_each_isa([] {
    std::mt19937_64 rng(11);
    std::normal_distribution<float> g(0.0f, 2.0f);
    std::uniform_real_distribution<double> d(0.0, 50.0);
    for (int n : {1, 5, 8, 13, 64, 301}) {
      std::vector<float> log_g(static_cast<std::size_t>(n)), d2f(static_cast<std::size_t>(n));
      std::vector<double> norm2(static_cast<std::size_t>(n)), dots(static_cast<std::size_t>(n)),
          v(static_cast<std::size_t>(n));
      for (int j = 0; j < n; ++j) {
        log_g[j] = j % 5 == 3 ? -INFINITY : g(rng);
        d2f[j] = static_cast<float>(d(rng));
        norm2[j] = d(rng);
        dots[j] = d(rng) - 25.0;
      }
      const double inv2 = 0.37, a = 0.81, s = 0.9;
      double m = log_weights(v.data(), log_g.data(), d2f.data(), inv2, n);
      double want = -INFINITY;
      for (int j = 0; j < n; ++j) {
        ASSERT_TRUE(same_bits(v[j], log_weight(log_g[j], d2f[j], inv2))) << "n = " << n << ", j = " << j;
        want = std::max(want, v[j]);
      }
      EXPECT_EQ(m, want) << "n = " << n;
      m = log_weights_gram(v.data(), log_g.data(), norm2.data(), dots.data(), a, 2.0 * s, inv2, n);
      want = -INFINITY;
      for (int j = 0; j < n; ++j) {
        ASSERT_TRUE(same_bits(v[j], log_weight_gram(log_g[j], norm2[j], dots[j], a, s, inv2)))
            << "n = " << n << ", j = " << j;
        want = std::max(want, v[j]);
      }
      EXPECT_EQ(m, want) << "n = " << n;
    }
  });
}

TEST(VectorOps, ReductionsFollowTheDocumentedOrderAndMatchLongDouble) {
  for_each_isa([] {
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::normal_distribution<float> g(0.0f, 1.0f);
    for (int n : {1, 3, 8, 15, 16, 17, 100, 4097}) {
      std::vector<double> w(static_cast<std::size_t>(n));
      std::vector<float> a(static_cast<std::size_t>(n)), b(static_cast<std::size_t>(n));
      for (int j = 0; j < n; ++j) {
        w[j] = u(rng);
        a[j] = g(rng);
        b[j] = g(rng);
      }
      double sum = 0, sum_sq = 0;
      sum_and_squares(w.data(), n, &sum, &sum_sq);
      EXPECT_TRUE(same_bits(sum, lane_order_sum(n, [&](int j) { return w[j]; }))) << "n = " << n;
      EXPECT_TRUE(same_bits(sum_sq, lane_order_sum(n, [&](int j) { return w[j] * w[j]; }))) << "n = " << n;
      const double wa = dot(w.data(), a.data(), n), ab = dot(a.data(), b.data(), n);
      EXPECT_TRUE(same_bits(wa, lane_order_sum(n, [&](int j) { return w[j] * static_cast<double>(a[j]); })));
      EXPECT_TRUE(same_bits(ab, lane_order_sum(n, [&](int j) { return static_cast<double>(a[j]) * b[j]; })));

      long double s = 0, q = 0, sa = 0, sb = 0, mag_a = 0, mag_b = 0;
      for (int j = 0; j < n; ++j) {
        s += w[j];
        q += static_cast<long double>(w[j]) * w[j];
        sa += static_cast<long double>(w[j]) * a[j];
        sb += static_cast<long double>(a[j]) * b[j];
        mag_a += std::fabs(static_cast<long double>(w[j]) * a[j]);
        mag_b += std::fabs(static_cast<long double>(a[j]) * b[j]);
      }
      const double eps = std::numeric_limits<double>::epsilon() * n;
      EXPECT_NEAR(sum, static_cast<double>(s), eps * static_cast<double>(s));
      EXPECT_NEAR(sum_sq, static_cast<double>(q), eps * static_cast<double>(q));
      EXPECT_NEAR(wa, static_cast<double>(sa), eps * static_cast<double>(mag_a));
      EXPECT_NEAR(ab, static_cast<double>(sb), eps * static_cast<double>(mag_b));
    }
  });
}

TEST(VectorOps, SquaredDifferencesMatchTheSharedDistance) {
  for_each_isa([] {
    std::mt19937_64 rng(5);
    std::normal_distribution<float> g(0.0f, 3.0f);
    const int n = 37, k = 3;
    std::vector<float> q(static_cast<std::size_t>(n) * k), qt(static_cast<std::size_t>(k) * n);
    for (int j = 0; j < n; ++j)
      for (int c = 0; c < k; ++c) qt[c * n + j] = q[j * k + c] = g(rng);
    const float s = 0.8f;
    for (int i : {0, 5, 36}) {
      std::vector<float> acc(n, 0.0f);
      for (int c = 0; c < k; ++c) add_squared_differences(acc.data(), qt.data() + c * n, q[i * k + c], s, n);
      for (int j = 0; j < n; ++j)
        EXPECT_EQ(acc[j], scaled_distance2(&q[i * k], &q[j * k], k, s)) << "i = " << i << ", j = " << j;
    }
  });
}

TEST(VectorOps, DotTileContinuesEachSumInAscendingOrderWithExactProducts) {
  for_each_isa([] {
    std::mt19937_64 rng(6);
    std::normal_distribution<float> g(0.0f, 2.0f);
    const int k = 45, stride = 24;  // a: rows of k coordinates; col: k rows of `stride` values
    std::vector<float> a(static_cast<std::size_t>(k_tile_rows) * k), col(static_cast<std::size_t>(k) * stride);
    for (float& v : a) v = g(rng);
    for (float& v : col) v = g(rng);
    for (int rows = 1; rows <= k_tile_rows; ++rows) {
      const long os = k_gram_cols + 3;  // output row stride
      std::vector<double> out(static_cast<std::size_t>(k_tile_rows) * os, -1.0), want = out;
      for (int r = 0; r < rows; ++r)
        for (int l = 0; l < k_gram_cols; ++l) out[r * os + l] = want[r * os + l] = 0.25 * (r + l);  // a running sum
      dot_tile(a.data(), k, rows, col.data() + 3, stride, k, out.data(), os);
      for (int r = 0; r < rows; ++r)
        for (int l = 0; l < k_gram_cols; ++l)
          for (int c = 0; c < k; ++c) {
            const double x = a[r * k + c], y = col[c * stride + 3 + l];
            want[r * os + l] += x * y;
          }
      for (std::size_t t = 0; t < out.size(); ++t)
        ASSERT_TRUE(same_bits(out[t], want[t])) << "rows = " << rows << ", element " << t;  // untouched rows stay -1
    }
  });
}

// The cpu backend's plain k > 32 weights come from the Gram form |q_i|^2 - 2 s q_i.q_j + a |q_j|^2,
// whose sums can cancel: the hard case is a population concentrated away from the origin, late in a
// run (1 - a_t = 1e-4 amplifies the rounding 1e4-fold). The float64 sums of N(0, 1)-sized rows are
// within about k * eps * |q|^2 = 7e-12 of exact here, so each log-weight is within about 7e-8 and
// each normalized weight within a relative 2e-7: the test allows 1e-6 against long double distances.
TEST(VectorOps, GramWeightsMatchLongDoubleDistancesForAConcentratedPopulationLateInARun) {
  for_each_isa([] {
    std::mt19937_64 rng(12);
    std::normal_distribution<float> g(0.0f, 1.0f);
    const int n = 37, k = 300;
    const double a = 0.9999, s = std::sqrt(a), inv2 = 1.0 / (2.0 * (1.0 - a));
    const int pad = (n + k_gram_cols - 1) / k_gram_cols * k_gram_cols;
    std::vector<float> m(k), q(static_cast<std::size_t>(n) * k), qt(static_cast<std::size_t>(k) * pad, 0.0f);
    for (float& v : m) v = g(rng);
    for (int j = 0; j < n; ++j)
      for (int c = 0; c < k; ++c) qt[c * pad + j] = q[j * k + c] = m[c] + 0.01f * g(rng);
    std::vector<float> log_g(n);
    for (float& v : log_g) v = 0.5f * g(rng);
    std::vector<double> norm2(n), gram(static_cast<std::size_t>(k_tile_rows) * pad), v(n);
    for (int j = 0; j < n; ++j) norm2[j] = dot(&q[j * k], &q[j * k], k);
    for (int i : {0, 17, 36}) {
      std::fill(gram.begin(), gram.end(), 0.0);
      for (int j0 = 0; j0 < pad; j0 += k_gram_cols)
        dot_tile(&q[i * k], k, 1, qt.data() + j0, pad, k, gram.data() + j0, pad);
      exp_shifted(v.data(), log_weights_gram(v.data(), log_g.data(), norm2.data(), gram.data(), a, 2 * s, inv2, n), n);
      double sum = 0;
      for (double w : v) sum += w;

      std::vector<long double> ref(n);
      long double top = -INFINITY, ref_sum = 0;
      for (int j = 0; j < n; ++j) {
        long double d2 = 0;
        for (int c = 0; c < k; ++c) {
          const long double e = static_cast<long double>(q[i * k + c]) - static_cast<long double>(s) * q[j * k + c];
          d2 += e * e;
        }
        ref[j] = log_g[j] - d2 * static_cast<long double>(inv2);
        top = std::max(top, ref[j]);
      }
      for (long double& r : ref) ref_sum += (r = std::exp(r - top));
      int shown = 0;  // weights below 1e-300 of the largest are not compared
      for (int j = 0; j < n; ++j) {
        const long double want = ref[j] / ref_sum;
        if (want < 1e-300L) continue;
        ++shown;
        EXPECT_NEAR(v[j] / sum, static_cast<double>(want), 1e-6 * static_cast<double>(want)) << "i = " << i << ", j = " << j;
      }
      EXPECT_GE(shown, 2) << "the case must not be one-hot";
    }
  });
}

TEST(VectorOps, NonzeroColumnsListsEveryColumnWithANonzeroWeight) {
  for_each_isa([] {
    std::mt19937_64 rng(14);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (int n : {1, 15, 16, 17, 100, 515})
      for (double density : {0.0, 0.02, 0.3, 1.0}) {  // all zero, sparse, mixed, dense
        const long ws = n + 2;
        std::vector<float> w(static_cast<std::size_t>(k_tile_rows) * ws);
        for (float& v : w) v = u(rng) < density ? u(rng) + 0.5f : (u(rng) < 0.5f ? 0.0f : -0.0f);
        std::vector<int> want, got(static_cast<std::size_t>(n), -1);
        for (int j = 0; j < n; ++j) {
          bool any = false;
          for (int r = 0; r < k_tile_rows; ++r) any = any || w[r * ws + j] != 0.0f;
          if (any) want.push_back(j);
        }
        const int count = nonzero_columns(w.data(), ws, n, got.data());
        got.resize(static_cast<std::size_t>(count));
        EXPECT_EQ(got, want) << "n = " << n << ", density " << density;
      }
  });
}

TEST(VectorOps, WeightedSumTileSumsInAscendingOrderOverAllOrListedColumns) {
  for_each_isa([] {
    std::mt19937_64 rng(9);
    std::normal_distribution<float> g(0.0f, 1.0f);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (int n : {1, 6, 33, 250})
      for (bool listed : {false, true}) {
        const long ws = n + 3, xs = k_tile_cols + 5;  // strides larger than the tile
        std::vector<float> w(static_cast<std::size_t>(k_tile_rows) * ws), x(static_cast<std::size_t>(n) * xs);
        for (float& v : w) v = u(rng);
        for (float& v : x) v = g(rng);
        std::vector<int> idx;  // listed: every j but the middle one, whose x is not finite
        for (int j = 0; j < n; ++j)
          if (!listed || j != n / 2) idx.push_back(j);
        if (listed) x[(n / 2) * xs + 1] = INFINITY;
        std::vector<float> out(static_cast<std::size_t>(k_tile_rows) * k_tile_cols);
        weighted_sum_tile(w.data(), ws, x.data(), xs, listed ? idx.data() : nullptr, static_cast<int>(idx.size()),
                          out.data());
        for (int r = 0; r < k_tile_rows; ++r)
          for (int c = 0; c < k_tile_cols; ++c) {
            float want = 0.0f;
            double want64 = 0, mag = 0;
            for (int j : idx) {
              const float prod = w[r * ws + j] * x[j * xs + c];
              want = want + prod;
              want64 += static_cast<double>(w[r * ws + j]) * x[j * xs + c];
              mag += std::fabs(static_cast<double>(w[r * ws + j]) * x[j * xs + c]);
            }
            ASSERT_EQ(out[r * k_tile_cols + c], want) << "n = " << n << ", listed " << listed << ", r = " << r;
            EXPECT_NEAR(out[r * k_tile_cols + c], want64, 1e-6 * n * mag + 1e-30);
          }
      }
  });
}

TEST(VectorOps, DenseLayerAddsTheBiasThenEachInputInOrder) {
  for_each_isa([] {
    std::mt19937_64 rng(10);
    std::normal_distribution<float> g(0.0f, 1.0f);
    for (int n_out : {2, 8, 32, 45, 128})
      for (int n_in : {1, 4, 33}) {
        std::vector<float> wt(static_cast<std::size_t>(n_in) * n_out), bias(n_out), x(n_in), o(n_out);
        for (float& v : wt) v = g(rng);
        for (float& v : bias) v = g(rng);
        for (float& v : x) v = g(rng);
        dense_layer(o.data(), wt.data(), bias.data(), x.data(), n_in, n_out);
        for (int j = 0; j < n_out; ++j) {
          float want = bias[j];
          double want64 = bias[j], mag = std::fabs(bias[j]);
          for (int k = 0; k < n_in; ++k) {
            const float prod = wt[k * n_out + j] * x[k];
            want = want + prod;
            want64 += static_cast<double>(wt[k * n_out + j]) * x[k];
            mag += std::fabs(static_cast<double>(wt[k * n_out + j]) * x[k]);
          }
          ASSERT_EQ(o[j], want) << "n_in " << n_in << ", n_out " << n_out << ", j " << j;
          EXPECT_NEAR(o[j], want64, 1e-6 * (n_in + 1) * mag);
        }
      }
  });
}

/// Equal bits, or both NaN (a NaN's payload may come from either operand of an add).
bool same_float(float a, float b) { return (a != a && b != b) || std::memcmp(&a, &b, sizeof a) == 0; }

TEST(VectorOps, LanesWeightPanelsHoldEveryWeightOnceAndEachPanelRowInOrder) {
  // Every (k, j) of a layer has its own slot in [0, n_in n_out) (times the lanes), and within a panel
  // row the outputs follow one another: what dense_lanes' blocks read at one stride.
  for (int n_in : {1, 3, 8, 33})
    for (int n_out = 1; n_out <= 27; ++n_out) {
      std::vector<int> seen(static_cast<std::size_t>(n_in) * n_out, 0);
      for (int k = 0; k < n_in; ++k)
        for (int j = 0; j < n_out; ++j) {
          const long at = lanes_weight_index(k, j, n_in, n_out);
          ASSERT_EQ(at % k_env_lanes, 0);
          ASSERT_GE(at, 0);
          ASSERT_LT(at / k_env_lanes, static_cast<long>(seen.size()));
          ++seen[static_cast<std::size_t>(at / k_env_lanes)];
          if (j % k_lanes_panel != 0) EXPECT_EQ(at - lanes_weight_index(k, j - 1, n_in, n_out), k_env_lanes);
        }
      for (int c : seen) ASSERT_EQ(c, 1) << "n_in " << n_in << ", n_out " << n_out;
    }
}

TEST(VectorOps, DenseLanesGiveEachLaneTheDenseUnitBitForBit) {
  // Lane l of output j is env::dense_unit of lane l's own weights, then env::relu when asked: every
  // output count (blocks of outputs and the ones left over), special values in weights and inputs.
  constexpr int L = k_env_lanes;
  for_each_isa([] {
    std::mt19937_64 rng(12);
    std::normal_distribution<float> g(0.0f, 1.0f);
    std::uniform_int_distribution<int> pick(0, 39);
    const float special[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-40f};
    for (int n_in : {1, 4, 9})
      for (int n_out = 1; n_out <= 19; ++n_out)
        for (bool relu : {false, true}) {
          std::vector<float> wt(static_cast<std::size_t>(n_in) * n_out * L), bias(static_cast<std::size_t>(n_out) * L),
              x(static_cast<std::size_t>(n_in) * L), o(static_cast<std::size_t>(n_out) * L);
          for (auto* v : {&wt, &bias, &x})
            for (float& e : *v) e = pick(rng) < 2 ? special[pick(rng) % 6] : g(rng);
          // lane 0's output 0 sums to -0 exactly (ReLU makes it +0), lane 1's to NaN (ReLU makes it +0)
          bias[0] = -0.0f, bias[1] = NAN;
          for (int k = 0; k < n_in; ++k) wt[lanes_weight_index(k, 0, n_in, n_out)] = -0.0f, x[static_cast<std::size_t>(k) * L] = 1.0f;
          dense_lanes(o.data(), wt.data(), bias.data(), x.data(), n_in, n_out, relu);
          for (int l = 0; l < L; ++l)
            for (int j = 0; j < n_out; ++j) {
              std::vector<float> row(static_cast<std::size_t>(n_in)), in(static_cast<std::size_t>(n_in));
              for (int k = 0; k < n_in; ++k) {
                row[k] = wt[lanes_weight_index(k, j, n_in, n_out) + l];
                in[k] = x[static_cast<std::size_t>(k) * L + l];
              }
              const float v = diffevo::env::dense_unit(row.data(), bias[static_cast<std::size_t>(j) * L + l], in.data(), n_in);
              ASSERT_TRUE(same_float(o[static_cast<std::size_t>(j) * L + l], relu ? diffevo::env::relu(v) : v))
                  << "n_in " << n_in << ", n_out " << n_out << ", relu " << relu << ", lane " << l << ", j " << j;
            }
        }
  });
}

TEST(VectorOps, CartpoleLanesGiveEachLaneTheScalarStepBitForBit) {
  // Every lane: env::cartpole::observe, and env::cartpole::advance with the argmax of its two logits
  // (ties and NaN logits included), from states inside and beyond the thresholds.
  using diffevo::env::cartpole;
  constexpr int L = k_env_lanes;
  for_each_isa([] {
    std::mt19937_64 rng(13);
    std::normal_distribution<double> g(0.0, 1.0);
    std::uniform_int_distribution<int> pick(0, 9);
    for (int round = 0; round < 200; ++round) {
      cartpole_lanes s{};
      cartpole::state st[L];
      double c[L], sn[L];
      float logits[2 * L];
      for (int l = 0; l < L; ++l) {
        const double spread = round % 2 ? 3.0 : 0.1;  // beyond the thresholds in odd rounds
        st[l] = cartpole::state{spread * g(rng), spread * g(rng), spread * g(rng), spread * g(rng)};
        s.x[l] = st[l].x, s.x_dot[l] = st[l].x_dot, s.theta[l] = st[l].theta, s.theta_dot[l] = st[l].theta_dot;
        c[l] = std::cos(st[l].theta), sn[l] = std::sin(st[l].theta);
        logits[l] = static_cast<float>(g(rng));
        const int k = pick(rng);
        logits[L + l] = k == 0 ? logits[l] : k == 1 ? NAN : static_cast<float>(g(rng));
        if (k == 2) logits[l] = NAN;
      }
      for (bool normalize : {false, true}) {
        float obs[cartpole::obs_dim * L];
        cartpole_observe_lanes(s, normalize, obs);
        for (int l = 0; l < L; ++l) {
          float want[cartpole::obs_dim];
          cartpole::observe(st[l], normalize, want);
          for (int k = 0; k < cartpole::obs_dim; ++k)
            ASSERT_TRUE(same_float(obs[k * L + l], want[k])) << "lane " << l << ", component " << k;
        }
      }
      int done[L];
      cartpole_advance_lanes(s, logits, c, sn, done);
      for (int l = 0; l < L; ++l) {
        const float v[2] = {logits[l], logits[L + l]};
        cartpole::state want = st[l];
        const bool end = cartpole::advance(want, diffevo::env::argmax(v, 2), c[l], sn[l]);
        ASSERT_EQ(done[l], end ? 1 : 0) << "lane " << l;
        ASSERT_TRUE(same_bits(s.x[l], want.x) && same_bits(s.x_dot[l], want.x_dot) &&
                    same_bits(s.theta[l], want.theta) && same_bits(s.theta_dot[l], want.theta_dot))
            << "lane " << l << ", round " << round;
      }
    }
  });
}

// Whole generations and rollouts under each instruction set: the same bits.
namespace {
std::vector<float> run_generations(int n, int d, int latent,
                                   diffevo::cpu_math_kind math = diffevo::cpu_math_kind::exact) {
  diffevo::config cfg;
  cfg.cpu_math = math;
  cfg.population = n;
  cfg.dimension = d;
  cfg.latent_dim = latent;
  cfg.steps = 4;
  cfg.seed = 3;
  cfg.backend = diffevo::backend_kind::cpu;
  diffevo::optimizer opt(cfg);
  std::vector<float> f(static_cast<std::size_t>(n));
  for (int gen = 0; gen < 3; ++gen) {
    const diffevo::population_view p = opt.ask();
    for (int i = 0; i < n; ++i) {
      double s = 0;
      for (int c = 0; c < d; ++c) s += std::cos(3.0 * p.row(i)[c]) - 0.1 * p.row(i)[c] * p.row(i)[c];
      f[static_cast<std::size_t>(i)] = static_cast<float>(s);
    }
    opt.tell(f);
  }
  const diffevo::population_view p = opt.ask();
  std::vector<float> out(p.data, p.data + p.size());
  const std::vector<float> x0 = opt.x0();
  out.insert(out.end(), x0.begin(), x0.end());
  return out;
}
bool identical(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}
}  // namespace

// cpu_math = fast's noise: log and sin/cos in float arithmetic, none off by more than one ulp; checked
// on fresh random inputs over the whole range Box-Muller gives them (u in (0, 1], v in (0, 2 pi)), and
// on every float of the windows where such functions lose accuracy: u just below 1 and around the
// reduction's switch at sqrt(1/2), v around each multiple of pi / 2 (where r is small and its rounding
// would dominate without the two-sum).
TEST(VectorOps, FastNoiseLogAndSinCosAreWithinOneUlp) {
  std::mt19937_64 rng(std::random_device{}());
  for_each_isa([&] {
    auto ulp_off = [](float got, long double exact) {  // in float ulps of the exact value
      const float e = static_cast<float>(exact);
      const float ulp = std::nextafter(std::fabs(e), INFINITY) - std::fabs(e);
      return static_cast<double>(std::fabs(static_cast<long double>(got) - exact) / ulp);
    };
    int not_nearest = 0, count = 0;
    double worst = 0;
    auto check = [&](float got, long double exact) {
      const double off = ulp_off(got, exact);
      worst = std::max(worst, off);
      not_nearest += got != static_cast<float>(exact);
      ++count;
    };
    std::vector<float> us = {1.0f, 0.5f, 0.70710677f, 0.70710683f, 1.1641532e-10f, 0.99999994f};
    std::vector<float> vs = {7.3e-10f, 0.7853982f, 1.5707964f, 3.1415927f, 4.712389f, 6.2831855f, 6.2831845f};
    for (int t = 0; t < 200000; ++t) {
      us.push_back(static_cast<float>(static_cast<std::uint32_t>(rng())) * 2.3283064e-10f + 1.1641532e-10f);
      vs.push_back(static_cast<float>(static_cast<std::uint32_t>(rng())) * 1.4629181e-09f + 7.3145904e-10f);
    }
    auto window = [](std::vector<float>& to, float center, int below, int above) {
      float x = center;
      for (int i = 0; i < below; ++i) to.push_back(x = std::nextafter(x, 0.0f));
      x = center;
      for (int i = 0; i <= above; ++i, x = std::nextafter(x, INFINITY)) to.push_back(x);
    };
    window(us, 1.0f, 1 << 16, 0);
    window(us, 0.70710677f, 1 << 12, 1 << 12);
    for (int n = 1; n <= 4; ++n) window(vs, static_cast<float>(n * 1.5707963267948966), 1 << 12, 1 << 12);
    for (float u : us)
      if (u != 1.0f) check(log_float(u), std::log(static_cast<long double>(u)));
    EXPECT_EQ(log_float(1.0f), 0.0f);
    for (float v : vs) {
      float s, c;
      sincos_float(v, &s, &c);
      check(s, std::sin(static_cast<long double>(v)));
      check(c, std::cos(static_cast<long double>(v)));
    }
    EXPECT_LE(worst, 1.0);
    // most are the nearest float (about 96 % measured): an error of a systematic kind would show here
    EXPECT_LE(not_nearest, count / 10) << "of " << count;
  });
}

// box_muller is Box-Muller with cuRAND's constants around log_float and sincos_float, bit for bit,
// on every instruction set; and within a few float ulps of the C library's version (the exact noise).
TEST(VectorOps, FastBoxMullerIsTheFormulaOnEveryInstructionSet) {
  std::mt19937 rng(std::random_device{}());
  const int pairs = 1001;
  std::vector<std::uint32_t> words(2 * pairs);
  for (auto& w : words) w = rng();
  words[0] = 0xFFFFFFFFu;  // u = 1: s = 0
  words[2] = 0u;           // the smallest u
  std::vector<float> first;
  for_each_isa([&] {
    std::vector<float> out(2 * pairs);
    box_muller(words.data(), pairs, out.data());
    constexpr float k_inv = 2.3283064e-10f, k_inv_2pi = 2.3283064e-10f * 6.2831855f;
    for (int p = 0; p < pairs; ++p) {
      const float u = static_cast<float>(words[2 * p]) * k_inv + k_inv / 2;
      const float v = static_cast<float>(words[2 * p + 1]) * k_inv_2pi + k_inv_2pi / 2;
      const float s = std::sqrt(-2.0f * log_float(u));
      float sv, cv;
      sincos_float(v, &sv, &cv);
      ASSERT_EQ(out[2 * p], sv * s) << p;
      ASSERT_EQ(out[2 * p + 1], cv * s) << p;
      const float libc_s = std::sqrt(-2.0f * std::log(u));
      EXPECT_NEAR(out[2 * p], std::sin(v) * libc_s, 4e-7f * (1 + std::fabs(out[2 * p]))) << p;
      EXPECT_NEAR(out[2 * p + 1], std::cos(v) * libc_s, 4e-7f * (1 + std::fabs(out[2 * p + 1]))) << p;
    }
    if (first.empty()) first = out;
    EXPECT_EQ(std::memcmp(out.data(), first.data(), out.size() * sizeof(float)), 0);
  });
}

namespace {

// Philox4x32-10 from its definition (Salmon et al. 2011; Random123's philox4x32 with 10 rounds), one
// block at a time: the counter (c0, c1, z0 + b, 0) and key (k0, k1) give block b's four words.
void philox_reference(std::uint32_t c0, std::uint32_t c1, std::uint32_t z0, std::uint32_t k0, std::uint32_t k1,
                      int count, std::uint32_t* out) {
  for (int b = 0; b < count; ++b) {
    std::uint32_t ctr[4] = {c0, c1, z0 + static_cast<std::uint32_t>(b), 0}, key[2] = {k0, k1};
    for (int r = 0; r < 10; ++r) {
      const std::uint64_t p0 = std::uint64_t{0xD2511F53u} * ctr[0], p1 = std::uint64_t{0xCD9E8D57u} * ctr[2];
      const std::uint32_t next[4] = {static_cast<std::uint32_t>(p1 >> 32) ^ ctr[1] ^ key[0], static_cast<std::uint32_t>(p1),
                                     static_cast<std::uint32_t>(p0 >> 32) ^ ctr[3] ^ key[1], static_cast<std::uint32_t>(p0)};
      std::memcpy(ctr, next, sizeof ctr);
      key[0] += 0x9E3779B9u;
      key[1] += 0xBB67AE85u;
    }
    std::memcpy(out + 4 * b, ctr, sizeof ctr);
  }
}

}  // namespace

// The Philox kernel of every instruction set gives the definition's words: Random123's known answer for
// a zero counter and key, then fresh counters and keys for every count up to three times the widest
// vector's blocks and a large one, with the third counter word wrapping past 2^32 inside a call.
TEST(VectorOps, PhiloxIsTheDefinitionOnEveryInstructionSet) {
  std::mt19937 rng(std::random_device{}());
  for_each_isa([&] {
    std::uint32_t zero[4];
    philox4x32_10(0, 0, 0, 0, 0, 1, zero);
    EXPECT_EQ(zero[0], 0x6627e8d5u);
    EXPECT_EQ(zero[1], 0xe169c58du);
    EXPECT_EQ(zero[2], 0xbc57ac4cu);
    EXPECT_EQ(zero[3], 0x9b00dbd8u);
    std::vector<std::uint32_t> got, want;
    for (int count = 0; count <= 1100; count = count < 48 ? count + 1 : count + 1052) {
      const std::uint32_t c0 = rng(), c1 = rng(), k0 = rng(), k1 = rng();
      const std::uint32_t z0 = count % 2 ? rng() : 0xFFFFFFFFu - static_cast<std::uint32_t>(count / 3);
      got.assign(4 * static_cast<std::size_t>(count) + 1, 0xA5A5A5A5u);  // + 1: nothing written past the end
      want = got;
      philox4x32_10(c0, c1, z0, k0, k1, count, got.data());
      philox_reference(c0, c1, z0, k0, k1, count, want.data());
      ASSERT_EQ(got, want) << "count " << count;
    }
  });
}

// The weights of the x0 product (docs/algorithm.md §4): float(w scale), and 0 where that is below
// 2^-100, so no weight is subnormal. Fresh weights from 1 down to 1e-60, every remainder of the vector
// loop, and the values on both sides of the cut.
TEST(VectorOps, ProductWeightsDropEverythingBelowTheCutOnEveryInstructionSet) {
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> log10w(-60.0, 0.0), scale(0.5, 4.0);
  const float cut = std::ldexp(1.0f, -100);
  for_each_isa([&] {
    for (int n = 1; n <= 200; n += n < 40 ? 1 : 37) {
      std::vector<double> w(static_cast<std::size_t>(n));
      for (double& v : w) v = std::pow(10.0, log10w(rng));
      if (n > 2) {  // the cut itself is kept, the float just below it is dropped
        w[0] = std::ldexp(1.0, -100);
        w[1] = std::nextafter(cut, 0.0f);
      }
      const double s = n > 2 ? 1.0 : scale(rng);
      std::vector<float> out(static_cast<std::size_t>(n) + 1, -1.0f);  // + 1: nothing written past the end
      scale_to_float(out.data(), w.data(), s, n);
      int kept = 0;
      for (int j = 0; j < n; ++j) {
        const float f = static_cast<float>(w[j] * s);
        if (f < cut) {
          EXPECT_EQ(out[j], 0.0f) << "n " << n << " j " << j << " w " << w[j];
        } else {
          EXPECT_EQ(out[j], f) << "n " << n << " j " << j;
          ++kept;
        }
        EXPECT_NE(std::fpclassify(out[j]), FP_SUBNORMAL);
      }
      EXPECT_EQ(out[n], -1.0f);
      if (n > 2) {
        EXPECT_EQ(out[0], cut);
        EXPECT_EQ(out[1], 0.0f);
      }
      if (n >= 40) EXPECT_GT(kept, 0);
    }
  });
}

TEST(VectorOps, OptimizerGenerationsAreBitIdenticalOnEveryInstructionSet) {
  struct shape {
    int n, d, latent;
  };
  // narrow x0 (D <= 8), float distances with tiled x0, float64 Gram distances, latent
  // exact: the promise; fast: its noise kernel too (the BLAS does not look at the library's choice)
  for (auto math : {diffevo::cpu_math_kind::exact, diffevo::cpu_math_kind::fast})
    for (shape sh : {shape{67, 3, 0}, shape{61, 20, 0}, shape{45, 77, 0}, shape{50, 40, 2}}) {
      std::vector<float> first;
      for_each_isa([&] {
        const std::vector<float> got = run_generations(sh.n, sh.d, sh.latent, math);
        if (first.empty()) first = got;
        EXPECT_TRUE(identical(got, first))
            << "N " << sh.n << ", D " << sh.d << ", latent " << sh.latent << ", " << diffevo::to_string(math);
      });
    }
}

// k > 32: the whole Gram matrix mirrored from its upper half, or each row block's rows computed in
// full (what updates above cpu_gram_budget() do), give the same bits; plain and latent d > 32.
TEST(VectorOps, BothGramPathsGiveTheSameBits) {
  struct restore {
    std::size_t bytes = cpu_gram_budget();
    ~restore() { set_cpu_gram_budget(bytes); }
  } guard;
  struct shape {
    int n, d, latent;
  };
  for (shape sh : {shape{150, 45, 0}, shape{67, 300, 0}, shape{70, 60, 40}}) {  // 150, 67: partial 64-row tiles
    set_cpu_gram_budget(std::size_t(256) << 20);
    const std::vector<float> full = run_generations(sh.n, sh.d, sh.latent);
    set_cpu_gram_budget(0);
    const std::vector<float> blocks = run_generations(sh.n, sh.d, sh.latent);
    EXPECT_TRUE(identical(full, blocks)) << "N " << sh.n << ", D " << sh.d << ", latent " << sh.latent;
  }
}

TEST(VectorOps, CartpoleReturnsAreBitIdenticalOnEveryInstructionSet) {
  for (const std::vector<int>& widths : {std::vector<int>{4, 8, 2}, {4, 40, 33, 2}}) {
    diffevo::rollout_config c;
    c.layers = widths;
    c.backend = diffevo::backend_kind::cpu;
    diffevo::cartpole_evaluator ev(c);
    const int p = ev.parameter_count(), n = 24;
    std::mt19937 rng(4);
    std::normal_distribution<float> nd(0.0f, 0.5f);
    std::vector<float> params(static_cast<std::size_t>(n) * p);
    for (float& v : params) v = nd(rng);
    std::vector<float> first;
    for_each_isa([&] {
      std::vector<float> ret(static_cast<std::size_t>(n));
      ev.evaluate(diffevo::population_view{params.data(), n, p}, ret.data(), 7);
      if (first.empty()) first = ret;
      EXPECT_TRUE(identical(ret, first)) << "net of " << widths.size() << " layers";
    });
  }
}
