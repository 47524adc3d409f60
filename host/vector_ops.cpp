#include "vector_ops.hpp"

#include <cstdint>
#include <cstring>

// This file is compiled with -ffp-contract=off (CMakeLists.txt): no clone may fuse a multiply-add.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define DIFFEVO_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DIFFEVO_CLONES
#endif
// Every helper below is inlined into each clone, at any optimization level: an out-of-line copy would
// be compiled once, for baseline x86-64, and pass the 64-byte lane vectors in memory while the AVX-512
// clone passes them in registers (GCC's -Wpsabi warning; a crash in an -O0 build).
#if defined(__GNUC__)
#define DIFFEVO_INLINE inline __attribute__((always_inline))
#else
#define DIFFEVO_INLINE inline
#endif

namespace diffevo::detail {
namespace {

// The k_lanes partial sums of a reduction are one generic vector: the compiler maps it onto whatever
// registers the clone has (one zmm, two ymm or four xmm), element j always landing in lane j mod 8.
static_assert(k_lanes == 8, "the lane vectors hold eight doubles");
typedef double lanes __attribute__((vector_size(8 * sizeof(double))));
typedef float lanes_f __attribute__((vector_size(8 * sizeof(float))));

DIFFEVO_INLINE lanes load(const double* p) {
  lanes r;
  std::memcpy(&r, p, sizeof r);
  return r;
}
DIFFEVO_INLINE lanes load(const float* p) {
  lanes_f r;
  std::memcpy(&r, p, sizeof r);
  return __builtin_convertvector(r, lanes);
}
DIFFEVO_INLINE lanes splat(double x) { return lanes{x, x, x, x, x, x, x, x}; }

/// The partial sums added pairwise in a fixed order.
DIFFEVO_INLINE double combine(lanes p) { return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7])); }

/// exp(x) for x <= 0: x = n ln2 + r with |r| <= ln2 / 2, exp(r) by a degree-13 Taylor polynomial
/// (truncation below 5e-18 relative), times 2^n built from the exponent bits. Branch-free, so the
/// loops below vectorize; x < -708 (and -inf) gives 0.
DIFFEVO_INLINE double exp_core(double x) {
  constexpr double k_log2e = 1.4426950408889634;
  constexpr double k_ln2_hi = 6.93147180369123816490e-01;  // 32 significant bits: n ln2_hi is exact
  constexpr double k_ln2_lo = 1.90821492927058770002e-10;
  constexpr double k_shifter = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer
  constexpr double k_min = -708.0;
  const double xc = x < k_min ? k_min : x;
  const double t = xc * k_log2e + k_shifter;
  const double nd = t - k_shifter;
  const double r = (xc - nd * k_ln2_hi) - nd * k_ln2_lo;
  double p = 1.0 / 6227020800.0;  // 1 / 13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  std::int64_t tb, sb;
  std::memcpy(&tb, &t, sizeof tb);
  std::memcpy(&sb, &k_shifter, sizeof sb);
  // 2^n from its exponent bits (n >= -1022: a normal double); 0 below k_min, so the product is 0.
  const std::int64_t bits = x < k_min ? 0 : (tb - sb + 1023) << 52;
  double scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

template <class D>
DIFFEVO_INLINE double log_weights_impl(double* __restrict v, const float* __restrict log_g, const D* __restrict d2, double inv2,
                               int n) {
  lanes m = splat(-__builtin_inf());
  int j = 0;
  for (; j + k_lanes <= n; j += k_lanes) {
    const lanes x = load(log_g + j) - load(d2 + j) * inv2;
    std::memcpy(v + j, &x, sizeof x);
    m = x > m ? x : m;
  }
  double r = -__builtin_inf();
  for (; j < n; ++j) {
    v[j] = static_cast<double>(log_g[j]) - static_cast<double>(d2[j]) * inv2;
    r = v[j] > r ? v[j] : r;
  }
  for (int l = 0; l < k_lanes; ++l) r = m[l] > r ? m[l] : r;  // max is exact: order cannot matter
  return r;
}

}  // namespace

DIFFEVO_CLONES void add_squared_differences(float* __restrict dr, const float* __restrict col, float a, float s, int n) {
  for (int j = 0; j < n; ++j) {
    const float diff = a - s * col[j];
    dr[j] += diff * diff;
  }
}

DIFFEVO_CLONES void weighted_sum_tile(const float* __restrict w, long ws, const float* __restrict x, long xs, int n,
                                      float* __restrict out) {
  static_assert(k_tile_rows == 4, "four accumulators");
  typedef float row __attribute__((vector_size(k_tile_cols * sizeof(float))));
  row a0 = {}, a1 = {}, a2 = {}, a3 = {};
  const float *w0 = w, *w1 = w + ws, *w2 = w + 2 * ws, *w3 = w + 3 * ws;
  for (int j = 0; j < n; ++j) {
    const float b0 = w0[j], b1 = w1[j], b2 = w2[j], b3 = w3[j];
    if (b0 == 0.0f && b1 == 0.0f && b2 == 0.0f && b3 == 0.0f) continue;
    row xj;
    std::memcpy(&xj, x + static_cast<long>(j) * xs, sizeof xj);
    a0 = a0 + b0 * xj;
    a1 = a1 + b1 * xj;
    a2 = a2 + b2 * xj;
    a3 = a3 + b3 * xj;
  }
  std::memcpy(out, &a0, sizeof a0);
  std::memcpy(out + k_tile_cols, &a1, sizeof a1);
  std::memcpy(out + 2 * k_tile_cols, &a2, sizeof a2);
  std::memcpy(out + 3 * k_tile_cols, &a3, sizeof a3);
}

DIFFEVO_CLONES void squared_distance_tile(const float* __restrict a, long as, int rows, const float* __restrict col,
                                          long cs, int k, double s, double* __restrict out, long os) {
  static_assert(k_tile_rows == 4, "four accumulators");
  const float* a0 = a;
  const float* a1 = a + (rows > 1 ? as : 0);  // rows past `rows` repeat a valid one; not stored
  const float* a2 = a + (rows > 2 ? 2 * as : 0);
  const float* a3 = a + (rows > 3 ? 3 * as : 0);
  lanes d0 = load(out), d1 = rows > 1 ? load(out + os) : splat(0.0), d2 = rows > 2 ? load(out + 2 * os) : splat(0.0),
        d3 = rows > 3 ? load(out + 3 * os) : splat(0.0);
  for (int c = 0; c < k; ++c) {
    const lanes sc = load(col + static_cast<long>(c) * cs) * s;
    const lanes e0 = static_cast<double>(a0[c]) - sc, e1 = static_cast<double>(a1[c]) - sc,
                e2 = static_cast<double>(a2[c]) - sc, e3 = static_cast<double>(a3[c]) - sc;
    d0 = d0 + e0 * e0;
    d1 = d1 + e1 * e1;
    d2 = d2 + e2 * e2;
    d3 = d3 + e3 * e3;
  }
  std::memcpy(out, &d0, sizeof d0);
  if (rows > 1) std::memcpy(out + os, &d1, sizeof d1);
  if (rows > 2) std::memcpy(out + 2 * os, &d2, sizeof d2);
  if (rows > 3) std::memcpy(out + 3 * os, &d3, sizeof d3);
}

DIFFEVO_CLONES void dense_layer(float* __restrict o, const float* __restrict wt, const float* __restrict bias,
                                const float* __restrict x, int n_in, int n_out) {
  typedef float half __attribute__((vector_size(16 * sizeof(float))));
  int j = 0;
  for (; j + 32 <= n_out; j += 32) {  // 32 outputs in two lane vectors for the whole k loop
    half a0, a1;
    std::memcpy(&a0, bias + j, sizeof a0);
    std::memcpy(&a1, bias + j + 16, sizeof a1);
    for (int k = 0; k < n_in; ++k) {
      half w0, w1;
      std::memcpy(&w0, wt + static_cast<long>(k) * n_out + j, sizeof w0);
      std::memcpy(&w1, wt + static_cast<long>(k) * n_out + j + 16, sizeof w1);
      a0 = a0 + w0 * x[k];
      a1 = a1 + w1 * x[k];
    }
    std::memcpy(o + j, &a0, sizeof a0);
    std::memcpy(o + j + 16, &a1, sizeof a1);
  }
  if (j == n_out) return;
  for (int t = j; t < n_out; ++t) o[t] = bias[t];
  for (int k = 0; k < n_in; ++k) {  // the last n_out mod 32 outputs
    const float xk = x[k];
    const float* w = wt + static_cast<long>(k) * n_out;
    for (int t = j; t < n_out; ++t) {
      const float prod = w[t] * xk;
      o[t] = o[t] + prod;
    }
  }
}

DIFFEVO_CLONES double log_weights(double* __restrict v, const float* __restrict log_g, const float* __restrict d2,
                                  double inv2, int n) {
  return log_weights_impl(v, log_g, d2, inv2, n);
}

DIFFEVO_CLONES double log_weights(double* __restrict v, const float* __restrict log_g, const double* __restrict d2,
                                  double inv2, int n) {
  return log_weights_impl(v, log_g, d2, inv2, n);
}

DIFFEVO_CLONES void exp_shifted(double* __restrict v, double shift, int n) {
  for (int j = 0; j < n; ++j) v[j] = exp_core(v[j] - shift);
}

double exp_nonpositive(double x) { return exp_core(x); }

DIFFEVO_CLONES void sum_and_squares(const double* __restrict w, int n, double* sum, double* sum_sq) {
  lanes a = splat(0.0), b = splat(0.0);
  int j = 0;
  for (; j + k_lanes <= n; j += k_lanes) {
    const lanes x = load(w + j);
    a += x;
    b += x * x;
  }
  for (int l = 0; j < n; ++j, ++l) {
    a[l] += w[j];
    b[l] += w[j] * w[j];
  }
  *sum = combine(a);
  *sum_sq = combine(b);
}

DIFFEVO_CLONES double dot(const double* __restrict w, const float* __restrict x, int n) {
  lanes a = splat(0.0);
  int j = 0;
  for (; j + k_lanes <= n; j += k_lanes) a += load(w + j) * load(x + j);
  for (int l = 0; j < n; ++j, ++l) a[l] += w[j] * static_cast<double>(x[j]);
  return combine(a);
}

DIFFEVO_CLONES double dot(const float* __restrict a, const float* __restrict b, int n) {
  lanes s = splat(0.0);
  int j = 0;
  for (; j + k_lanes <= n; j += k_lanes) s += load(a + j) * load(b + j);
  for (int l = 0; j < n; ++j, ++l) s[l] += static_cast<double>(a[j]) * static_cast<double>(b[j]);
  return combine(s);
}

DIFFEVO_CLONES void philox4x32_10(std::uint32_t c0, std::uint32_t c1, std::uint32_t z0, std::uint32_t k0,
                                  std::uint32_t k1, int count, std::uint32_t* __restrict out) {
  for (int b = 0; b < count; ++b) {  // independent blocks: the loop vectorizes across b
    std::uint32_t x = c0, y = c1, z = z0 + static_cast<std::uint32_t>(b), w = 0, ka = k0, kb = k1;
    for (int r = 0; r < 10; ++r) {
      const std::uint64_t p0 = static_cast<std::uint64_t>(0xD2511F53u) * x;
      const std::uint64_t p1 = static_cast<std::uint64_t>(0xCD9E8D57u) * z;
      x = static_cast<std::uint32_t>(p1 >> 32) ^ y ^ ka;
      y = static_cast<std::uint32_t>(p1);
      z = static_cast<std::uint32_t>(p0 >> 32) ^ w ^ kb;
      w = static_cast<std::uint32_t>(p0);
      ka += 0x9E3779B9u;
      kb += 0xBB67AE85u;
    }
    out[4 * b] = x;
    out[4 * b + 1] = y;
    out[4 * b + 2] = z;
    out[4 * b + 3] = w;
  }
}

DIFFEVO_CLONES void scale_to_float(float* __restrict out, const double* __restrict w, double scale, int n) {
  for (int j = 0; j < n; ++j) out[j] = static_cast<float>(w[j] * scale);
}

}  // namespace diffevo::detail
