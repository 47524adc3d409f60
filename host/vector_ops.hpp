#pragma once
// The innermost loops of the cpu backend and the cpu cart-pole evaluator. They are compiled three
// times, for AVX-512, AVX2 and baseline x86-64, and the version is picked at load time
// (host/vector_ops.cpp). None contracts to FMA, and every reduction runs in a fixed order that does not
// depend on the vector width (k_lanes interleaved partial sums, then combined in a fixed order), so
// every version gives bit-identical results.
#include <cstdint>

namespace diffevo::detail {

/// Interleaved partial sums of the reductions below: element j goes to partial sum j mod k_lanes.
constexpr int k_lanes = 8;

/// dr[j] += (a - s col[j])^2 for j < n in float, exactly as detail::scaled_distance2 sums one coordinate.
void add_squared_differences(float* __restrict dr, const float* __restrict col, float a, float s, int n);

/// o[j] = bias[j] + sum_k wt[k * n_out + j] x[k] for j < n_out (a dense layer with transposed weights,
/// n_in x n_out): float, the bias first and then k ascending, each product rounded before the sum.
/// Outputs are kept in registers across k, 32 at a time.
void dense_layer(float* __restrict o, const float* __restrict wt, const float* __restrict bias,
                 const float* __restrict x, int n_in, int n_out);

/// Rows and columns of one call of weighted_sum_tile.
constexpr int k_tile_rows = 4, k_tile_cols = 16;

/// out[r * k_tile_cols + c] = sum_j w[r * ws + j] x[j * xs + c] for r < k_tile_rows, c < k_tile_cols:
/// a tile of the x0 product, accumulated in float in ascending j (each product rounded before the
/// sum). A j whose k_tile_rows weights are all zero is skipped.
void weighted_sum_tile(const float* __restrict w, long ws, const float* __restrict x, long xs, int n,
                       float* __restrict out);

/// out[r * os + l] += sum_{c < k} (a[r * as + c] - s col[c * cs + l])^2 for r < rows (at most
/// k_tile_rows), l < k_lanes: float64 squared distances of a few rows to k_lanes columns, each summed
/// in ascending c and continuing from the value already in out (col must hold k_lanes readable values
/// per c).
void squared_distance_tile(const float* __restrict a, long as, int rows, const float* __restrict col, long cs, int k,
                           double s, double* __restrict out, long os);

/// v[j] = log_g[j] - d2[j] * inv2 (detail::log_weight) for j < n; returns the largest v[j]
/// (-inf for n = 0).
double log_weights(double* __restrict v, const float* __restrict log_g, const float* __restrict d2, double inv2, int n);
double log_weights(double* __restrict v, const float* __restrict log_g, const double* __restrict d2, double inv2,
                   int n);

/// v[j] = exp(v[j] - shift) for j < n, for arguments v[j] - shift <= 0 (a softmax numerator).
/// Our own exp (range reduction by ln 2 and a degree-13 polynomial), so the bits do not depend on the
/// C library; within 2 ulp of the exact value; arguments below -708 (results under 3.3e-308,
/// where doubles turn subnormal) give exactly 0.
void exp_shifted(double* __restrict v, double shift, int n);

/// The exp of exp_shifted for one value (the tests compare it with a float64 reference).
double exp_nonpositive(double x);

/// Sum and sum of squares of w[0, n) (fixed-order partial sums).
void sum_and_squares(const double* __restrict w, int n, double* sum, double* sum_sq);

/// sum_j w[j] x[j] in float64 (fixed-order partial sums).
double dot(const double* __restrict w, const float* __restrict x, int n);

/// sum_j a[j] b[j] in float64 (fixed-order partial sums).
double dot(const float* __restrict a, const float* __restrict b, int n);

/// Philox4x32-10 (Salmon et al., SC'11) of `count` counters (c0, c1, z0 + b, 0), b < count, under the
/// key (k0, k1): block b's four words go to out[4b .. 4b + 3].
void philox4x32_10(std::uint32_t c0, std::uint32_t c1, std::uint32_t z0, std::uint32_t k0, std::uint32_t k1,
                   int count, std::uint32_t* __restrict out);

/// out[j] = float(w[j] * scale) for j < n.
void scale_to_float(float* __restrict out, const double* __restrict w, double scale, int n);

}  // namespace diffevo::detail
