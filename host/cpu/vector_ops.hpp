#pragma once
// The innermost loops of the cpu backend, its noise and the cpu cart-pole evaluator. Their bodies
// (host/cpu/vector_kernels.inc) are compiled once per instruction set, each for its native vector width:
// baseline x86-64 (SSE2), AVX2 and AVX-512 (host/vector_ops_<isa>.cpp); host/cpu/vector_ops.cpp picks the
// best one the processor has at first use. None fuses a multiply-add, and every reduction runs in a
// fixed order that does not depend on the vector width (k_lanes interleaved partial sums, then
// combined in a fixed order), so every version gives bit-identical results (tests/cpu/test_vector_ops.cpp
// runs them all).
#include <cstdint>

#include "diffevo/detail/hd.hpp"

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

/// Controllers the cpu cart-pole evaluator steps together, one per vector lane (host/rollout/rollout_cpu.cpp):
/// a whole AVX-512 vector of floats.
constexpr int k_env_lanes = 16;

/// The outputs of a layer in lanes are stored in panels of this many (the last panel holds the rest),
/// each panel's weights for k = 0, 1, ... one after another: a block of outputs reads its weights in
/// order, not at a stride of the layer's width.
constexpr int k_lanes_panel = 8;

/// Where lane 0's weight from input k to output j of an n_in x n_out layer is, in floats from the
/// layer's first weight (lanes l follow at + l): panel j0 = j - j mod k_lanes_panel, of width
/// w = min(k_lanes_panel, n_out - j0), starts at j0 n_in L, and its row k holds outputs j0 .. j0 + w - 1.
/// Always inlined: the per-instruction-set kernels call it (vector_kernels.inc's rule).
DIFFEVO_HD_INLINE std::int64_t lanes_weight_index(int k, int j, int n_in, int n_out) {
  const int j0 = j - j % k_lanes_panel;
  const int w = n_out - j0 < k_lanes_panel ? n_out - j0 : k_lanes_panel;
  // 64 bits also where long has 32 (LLP64): a layer of 2^27 weights overflows 32 bits here
  return (static_cast<std::int64_t>(j0) * n_in + static_cast<std::int64_t>(k) * w + (j - j0)) * k_env_lanes;
}

/// o[j L + l] = bias[j L + l] + sum_k wt[lanes_weight_index(k, j, n_in, n_out) + l] x[k L + l] for j < n_out
/// and each of the L = k_env_lanes lanes l, then ReLU when `relu`: one dense layer of L different
/// controllers, with each lane's sum in env::dense_unit's order (bias, then k ascending, each product rounded).
void dense_lanes(float* __restrict o, const float* __restrict wt, const float* __restrict bias,
                 const float* __restrict x, int n_in, int n_out, bool relu);

/// The states of k_env_lanes cart-poles, one per lane (env::cartpole::state, structure of arrays).
struct cartpole_lanes {
  double x[k_env_lanes], x_dot[k_env_lanes], theta[k_env_lanes], theta_dot[k_env_lanes];
};

/// obs[k L + l] = lane l's env::cartpole::observe component k.
void cartpole_observe_lanes(const cartpole_lanes& s, bool normalize, float* __restrict obs);

/// env::cartpole::advance in every lane, with the action the argmax (env::argmax) of its logits
/// logits[l] and logits[L + l], and cos_theta[l], sin_theta[l] of its angle; done[l] = 1 when lane l's
/// episode terminates on this step, else 0.
void cartpole_advance_lanes(cartpole_lanes& s, const float* __restrict logits, const double* __restrict cos_theta,
                            const double* __restrict sin_theta, int* __restrict done);

/// Rows and columns of one call of weighted_sum_tile.
constexpr int k_tile_rows = 4, k_tile_cols = 16;

/// out[r * k_tile_cols + c] = sum_j w[r * ws + j] x[j * xs + c] for r < k_tile_rows, c < k_tile_cols:
/// a tile of the x0 product, accumulated in float (each product rounded before the sum) over
/// j = 0 .. n-1, or over j = idx[0], ..., idx[n-1] (ascending) when idx is given: the caller lists
/// the j whose weights are not all zero.
void weighted_sum_tile(const float* __restrict w, long ws, const float* __restrict x, long xs, const int* idx, int n,
                       float* __restrict out);

/// Writes to list, ascending, the j < n at which any of the k_tile_rows rows w[r * ws + j] is not
/// zero (list needs room for n); returns how many.
int nonzero_columns(const float* __restrict w, long ws, int n, int* __restrict list);

/// Columns of one call of dot_tile.
constexpr int k_gram_cols = 16;

/// out[r * os + l] += sum_{c < k} a[r * as + c] col[c * cs + l] in float64 for r < rows (at most
/// k_tile_rows), l < k_gram_cols: a tile of the Gram matrix Q Q^T of a few rows with k_gram_cols
/// columns, each sum continuing in ascending c from the value already in out. Every product of two
/// floats is exact in float64, so only the sums round, and a fused multiply-add could not change them.
void dot_tile(const float* __restrict a, long as, int rows, const float* __restrict col, long cs, int k,
              double* __restrict out, long os);

/// v[j] = log_g[j] - d2[j] * inv2 (detail::log_weight) for j < n; returns the largest v[j]
/// (-inf for n = 0).
double log_weights(double* __restrict v, const float* __restrict log_g, const float* __restrict d2, double inv2, int n);

/// v[j] = log_g[j] - (a norm2[j] - two_s g[j]) inv2 (detail::log_weight_gram with two_s = 2 s) for
/// j < n: the log-weights from row i's Gram row g and the squared norms; returns the largest v[j].
double log_weights_gram(double* __restrict v, const float* __restrict log_g, const double* __restrict norm2,
                        const double* __restrict g, double a, double two_s, double inv2, int n);

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

/// Box-Muller on `pairs` pairs of Philox words with cuRAND's float constants (as host/cpu/rng.cpp),
/// but its log, sin and cos are the library's own (log_float, sincos_float: float arithmetic, within
/// one ulp), so the loop vectorizes and the bits depend on nothing outside the library: pair p gives
/// out[2p] = sin(v) s and out[2p + 1] = cos(v) s with s = sqrt(-2 log u). config::cpu_math = fast.
void box_muller(const std::uint32_t* __restrict words, int pairs, float* __restrict out);

/// log(u) for a float u > 0 in float arithmetic, within one ulp (the tests compare it with long double).
float log_float(float u);

/// sin(v) and cos(v) for 0 <= v <= 8 in float arithmetic, each within one ulp.
void sincos_float(float v, float* s, float* c);

/// out[j] = product_weight(float(w[j] * scale)) for j < n: the weights of the x0 product, 0 below
/// 2^-100 (docs/algorithm.md §4).
void scale_to_float(float* __restrict out, const double* __restrict w, double scale, int n);

/// The instruction sets the kernels are compiled for.
enum class vector_isa { baseline, avx2, avx512 };

/// "baseline", "avx2" or "avx512" (the values DIFFEVO_CPU_ISA takes).
const char* to_string(vector_isa isa) noexcept;

/// The one in use: the best this processor supports, unless the environment variable DIFFEVO_CPU_ISA
/// (baseline, avx2 or avx512) or use_vector_isa chose another it supports.
vector_isa active_vector_isa() noexcept;

/// Makes every later kernel call use `isa`; false (and no change) when the processor or this build
/// lacks it. For tests and benchmarks: not to be called while kernels run on other threads.
bool use_vector_isa(vector_isa isa) noexcept;

/// The kernels of one instruction set (host/cpu/vector_kernels.inc fills it).
struct vector_kernels {
  void (*add_squared_differences)(float*, const float*, float, float, int);
  void (*dense_layer)(float*, const float*, const float*, const float*, int, int);
  void (*dense_lanes)(float*, const float*, const float*, const float*, int, int, bool);
  void (*cartpole_observe_lanes)(const cartpole_lanes&, bool, float*);
  void (*cartpole_advance_lanes)(cartpole_lanes&, const float*, const double*, const double*, int*);
  void (*weighted_sum_tile)(const float*, long, const float*, long, const int*, int, float*);
  void (*dot_tile)(const float*, long, int, const float*, long, int, double*, long);
  int (*nonzero_columns)(const float*, long, int, int*);
  double (*log_weights)(double*, const float*, const float*, double, int);
  double (*log_weights_gram)(double*, const float*, const double*, const double*, double, double, double, int);
  void (*exp_shifted)(double*, double, int);
  double (*exp_nonpositive)(double);
  void (*sum_and_squares)(const double*, int, double*, double*);
  double (*dot_df)(const double*, const float*, int);
  double (*dot_ff)(const float*, const float*, int);
  void (*philox4x32_10)(std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t, int,
                        std::uint32_t*);
  void (*scale_to_float)(float*, const double*, double, int);
  void (*box_muller)(const std::uint32_t*, int, float*);
  float (*log_float)(float);
  void (*sincos_float)(float, float*, float*);
};

}  // namespace diffevo::detail
