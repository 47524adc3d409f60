// Picks the vector kernels for this processor and forwards every call to them.
#include "vector_ops.hpp"

#include <atomic>
#include <cstdlib>
#include <string>

namespace diffevo::detail {

const vector_kernels& vector_kernels_baseline();
#if DIFFEVO_X86_ISAS
const vector_kernels& vector_kernels_avx2();
const vector_kernels& vector_kernels_avx512();
#endif

namespace {

bool supported(vector_isa isa) noexcept {
  switch (isa) {
    case vector_isa::baseline:
      return true;
#if DIFFEVO_X86_ISAS
    case vector_isa::avx2:
      return __builtin_cpu_supports("avx2");
    case vector_isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
#endif
    default:
      return false;
  }
}

/// The table of a supported set. The ISA files' functions run no code of their set (the tables are
/// constants), and only a supported set's is ever asked for: a processor without AVX-512 must never
/// execute a line compiled for it.
const vector_kernels& table(vector_isa isa) noexcept {
#if DIFFEVO_X86_ISAS
  if (isa == vector_isa::avx2) return vector_kernels_avx2();
  if (isa == vector_isa::avx512) return vector_kernels_avx512();
#endif
  (void)isa;
  return vector_kernels_baseline();
}

/// DIFFEVO_CPU_ISA=baseline|avx2|avx512 in the environment picks a set (ignored when unsupported);
/// otherwise the best this processor has.
vector_isa best() noexcept {
  if (const char* e = std::getenv("DIFFEVO_CPU_ISA")) {
    const std::string want(e);
    for (vector_isa i : {vector_isa::baseline, vector_isa::avx2, vector_isa::avx512})
      if (want == to_string(i) && supported(i))
        return i;
  }
  if (supported(vector_isa::avx512)) return vector_isa::avx512;
  if (supported(vector_isa::avx2)) return vector_isa::avx2;
  return vector_isa::baseline;
}

std::atomic<vector_isa>& chosen() noexcept {
  static std::atomic<vector_isa> isa{best()};
  return isa;
}

const vector_kernels& k() noexcept { return table(chosen().load(std::memory_order_relaxed)); }

}  // namespace

const char* to_string(vector_isa isa) noexcept {
  return isa == vector_isa::baseline ? "baseline" : isa == vector_isa::avx2 ? "avx2" : "avx512";
}

vector_isa active_vector_isa() noexcept { return chosen().load(); }

bool use_vector_isa(vector_isa isa) noexcept {
  if (!supported(isa)) return false;
  chosen().store(isa);
  return true;
}

void add_squared_differences(float* __restrict dr, const float* __restrict col, float a, float s, int n) {
  k().add_squared_differences(dr, col, a, s, n);
}

void dense_layer(float* __restrict o, const float* __restrict wt, const float* __restrict bias,
                 const float* __restrict x, int n_in, int n_out) {
  k().dense_layer(o, wt, bias, x, n_in, n_out);
}

void dense_lanes(float* __restrict o, const float* __restrict wt, const float* __restrict bias,
                 const float* __restrict x, int n_in, int n_out, bool relu) {
  k().dense_lanes(o, wt, bias, x, n_in, n_out, relu);
}

void cartpole_observe_lanes(const cartpole_lanes& s, bool normalize, float* __restrict obs) {
  k().cartpole_observe_lanes(s, normalize, obs);
}

void cartpole_advance_lanes(cartpole_lanes& s, const float* __restrict logits, const double* __restrict cos_theta,
                            const double* __restrict sin_theta, int* __restrict done) {
  k().cartpole_advance_lanes(s, logits, cos_theta, sin_theta, done);
}

void weighted_sum_tile(const float* __restrict w, long ws, const float* __restrict x, long xs, const int* idx, int n,
                       float* __restrict out) {
  k().weighted_sum_tile(w, ws, x, xs, idx, n, out);
}

int nonzero_columns(const float* __restrict w, long ws, int n, int* __restrict list) {
  return k().nonzero_columns(w, ws, n, list);
}

void dot_tile(const float* __restrict a, long as, int rows, const float* __restrict col, long cs, int k_,
              double* __restrict out, long os) {
  k().dot_tile(a, as, rows, col, cs, k_, out, os);
}

double log_weights(double* __restrict v, const float* __restrict log_g, const float* __restrict d2, double inv2,
                   int n) {
  return k().log_weights(v, log_g, d2, inv2, n);
}

double log_weights_gram(double* __restrict v, const float* __restrict log_g, const double* __restrict norm2,
                        const double* __restrict g, double a, double two_s, double inv2, int n) {
  return k().log_weights_gram(v, log_g, norm2, g, a, two_s, inv2, n);
}

void exp_shifted(double* __restrict v, double shift, int n) { k().exp_shifted(v, shift, n); }

double exp_nonpositive(double x) { return k().exp_nonpositive(x); }

void sum_and_squares(const double* __restrict w, int n, double* sum, double* sum_sq) {
  k().sum_and_squares(w, n, sum, sum_sq);
}

double dot(const double* __restrict w, const float* __restrict x, int n) { return k().dot_df(w, x, n); }

double dot(const float* __restrict a, const float* __restrict b, int n) { return k().dot_ff(a, b, n); }

void philox4x32_10(std::uint32_t c0, std::uint32_t c1, std::uint32_t z0, std::uint32_t k0, std::uint32_t k1,
                   int count, std::uint32_t* __restrict out) {
  k().philox4x32_10(c0, c1, z0, k0, k1, count, out);
}

void box_muller(const std::uint32_t* __restrict words, int pairs, float* __restrict out) {
  k().box_muller(words, pairs, out);
}

float log_float(float u) { return k().log_float(u); }

void sincos_float(float v, float* s, float* c) { k().sincos_float(v, s, c); }

void scale_to_float(float* __restrict out, const double* __restrict w, double scale, int n) {
  k().scale_to_float(out, w, scale, n);
}

}  // namespace diffevo::detail
