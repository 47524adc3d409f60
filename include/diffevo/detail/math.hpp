#pragma once
/// \file
/// The per-element math of one generation (docs/algorithm.md §3-§4), shared verbatim by the CUDA kernels and the
/// CPU backend so both compute the same thing. Pure functions on plain data; no state, no allocation.

#include <cmath>
#include <cstdint>

#include "diffevo/detail/hd.hpp"

namespace diffevo::detail {

/// Plain-data copy of the density-related config fields, passed by value into kernels.
struct density_params {
  int kind;          ///< static_cast<int>(density_kind)
  bool minimize;     ///< objective::minimize
  double power;      ///< density_kind::power exponent
  double temperature;
};

/// NaN/inf tests that behave the same under nvcc and g++ (no fast-math is used anywhere).
DIFFEVO_HD inline bool is_nan(double x) { return x != x; }
DIFFEVO_HD inline bool is_inf(double x) { return x == INFINITY || x == -INFINITY; }
DIFFEVO_HD inline bool is_finite(double x) { return !is_nan(x) && !is_inf(x); }

enum : int { k_identity = 0, k_power = 1, k_energy = 2, k_log_density = 3 };

/// What one fitness value contributes. `log_g` is the log-density before the energy shift.
enum class fitness_class : std::uint8_t {
  ok,        ///< finite log_g (possibly -inf for a zero density, which is fine)
  dropped,   ///< NaN or infinite in the losing direction: weight 0, counted as non-finite
  negative,  ///< f' < 0 under identity/power: input error
  winning_infinity  ///< +inf in the winning direction: input error
};

/// f' = the fitness to maximize.
DIFFEVO_HD inline double fitness_to_maximize(float f, const density_params& p) {
  return p.minimize ? -static_cast<double>(f) : static_cast<double>(f);
}

/// Classifies one fitness value and computes its unshifted, unscaled log-density `u`:
/// identity: log f'; power: log f' - log temperature (log g = power * u); energy: f' (log g = u /
/// temperature); log_density: the value itself. The scale is applied after the max shift, in
/// `final_log_density`, so an extreme temperature or power cannot overflow to inf - inf = NaN.
DIFFEVO_HD inline fitness_class classify_fitness(float f, const density_params& p, double* log_g) {
  *log_g = -INFINITY;
  if (is_nan(f)) return fitness_class::dropped;
  if (p.kind == k_log_density) {
    if (is_inf(f)) return f > 0 ? fitness_class::winning_infinity : fitness_class::dropped;
    *log_g = static_cast<double>(f);
    return fitness_class::ok;
  }
  const double fp = fitness_to_maximize(f, p);
  if (is_inf(fp)) return fp > 0 ? fitness_class::winning_infinity : fitness_class::dropped;
  switch (p.kind) {
    case k_identity:
      if (fp < 0) return fitness_class::negative;
      *log_g = ::log(fp);  // log(0) = -inf: weight 0, legal
      return fitness_class::ok;
    case k_power:
      if (fp < 0) return fitness_class::negative;
      *log_g = ::log(fp) - ::log(p.temperature);
      return fitness_class::ok;
    default:  // energy
      *log_g = fp;
      return fitness_class::ok;
  }
}

/// Summary of a whole fitness vector, reduced deterministically (ties resolved to the lowest index).
struct fitness_summary {
  int nonfinite;     ///< count of fitness_class::dropped
  int first_error;   ///< lowest index with an input error, or -1
  int error_class;   ///< static_cast<int>(fitness_class) of that error
  float error_value; ///< the fitness value at first_error (for the message)
  int best;          ///< index of the best finite fitness (by objective), or -1 if none
  float best_value;  ///< its raw fitness
  double max_log_g;  ///< max of the unscaled log-densities `u` (the power and energy shift), -inf if none
  int positive;      ///< count of entries with g > 0
};

DIFFEVO_HD inline fitness_summary empty_summary() {
  return fitness_summary{0, -1, 0, 0.0f, -1, 0.0f, -INFINITY, 0};
}

/// True when fitness a is strictly better than b (minimize: smaller); ties are not better.
DIFFEVO_HD inline bool better_than(float a, float b, bool minimize) { return minimize ? a < b : a > b; }

/// Folds element j into a summary. Called in increasing j by each worker.
DIFFEVO_HD inline void summary_add(fitness_summary& s, int j, float f, const density_params& p) {
  double lg;
  const fitness_class c = classify_fitness(f, p, &lg);
  if (c == fitness_class::dropped) {
    ++s.nonfinite;
    return;
  }
  if (c != fitness_class::ok) {
    if (s.first_error < 0 || j < s.first_error) {
      s.first_error = j;
      s.error_class = static_cast<int>(c);
      s.error_value = f;
    }
    return;
  }
  if (lg > -INFINITY) ++s.positive;
  if (lg > s.max_log_g) s.max_log_g = lg;
  const bool better = s.best < 0 || better_than(f, s.best_value, p.minimize) || (f == s.best_value && j < s.best);
  if (is_finite(f) && better) {
    s.best = j;
    s.best_value = f;
  }
}

/// Merges two partial summaries; associative and commutative, so any reduction tree gives the
/// same result (the tie rule "lowest index" makes `best` order-independent).
DIFFEVO_HD inline fitness_summary summary_merge(const fitness_summary& a, const fitness_summary& b,
                                                bool minimize) {
  fitness_summary r = a;
  r.nonfinite = a.nonfinite + b.nonfinite;
  r.positive = a.positive + b.positive;
  if (b.first_error >= 0 && (a.first_error < 0 || b.first_error < a.first_error)) {
    r.first_error = b.first_error;
    r.error_class = b.error_class;
    r.error_value = b.error_value;
  }
  r.max_log_g = a.max_log_g > b.max_log_g ? a.max_log_g : b.max_log_g;
  if (b.best >= 0) {
    const bool better = a.best < 0 || better_than(b.best_value, a.best_value, minimize) ||
                        (b.best_value == a.best_value && b.best < a.best);
    if (better) {
      r.best = b.best;
      r.best_value = b.best_value;
    }
  }
  return r;
}

/// Final log-density of one element given the summary; a population with no positive density falls
/// back to equal weights (docs/algorithm.md §3). Energy and power are shifted so the best gets log g = 0 (the
/// softmax does not change) before they are scaled: the difference `u - max u` is finite or -inf and
/// <= 0, so whatever valid temperature and power are, the result is <= 0 or -inf, never NaN or +inf.
DIFFEVO_HD inline float final_log_density(float f, const density_params& p, const fitness_summary& s) {
  if (s.positive == 0) return 0.0f;
  double lg;
  if (classify_fitness(f, p, &lg) != fitness_class::ok) return -INFINITY;
  if (p.kind == k_energy) lg = (lg - s.max_log_g) / p.temperature;
  if (p.kind == k_power) lg = p.power * (lg - s.max_log_g);
  return static_cast<float>(lg);
}

/// Kernel coordinates up to this many dimensions use the direct float distance; above it, float64.
constexpr int k_direct_distance_max = 32;

/// || q_i - s q_j ||^2 over k coordinates (docs/algorithm.md §4: only q_j is scaled by s = sqrt(a_t)).
/// Every term is non-negative, so float accumulation has no cancellation.
DIFFEVO_HD inline float scaled_distance2(const float* qi, const float* qj, int k, float s) {
  float acc = 0.0f;
  for (int c = 0; c < k; ++c) {
    const float diff = qi[c] - s * qj[c];
    acc += diff * diff;
  }
  return acc;
}

/// Row-relative log-weight from a squared distance (docs/algorithm.md §4):
/// log w_ij = log g_j - ||q_i - s q_j||^2 / (2 (1 - a_t)).
DIFFEVO_HD inline double log_weight(float log_g_j, double dist2, double inv_two_one_minus_a) {
  return static_cast<double>(log_g_j) - dist2 * inv_two_one_minus_a;
}

/// Same, from a Gram product with the row constant ||q_i||^2 dropped (it cancels in the softmax):
/// log w_ij + const = log g_j - (a ||q_j||^2 - 2 s q_i.q_j) / (2 (1 - a_t)). Used in float64 only:
/// the dropped constant means the values are large and their differences small.
DIFFEVO_HD inline double log_weight_gram(float log_g_j, double norm2_j, double dot_ij, double a, double s,
                                         double inv_two_one_minus_a) {
  return static_cast<double>(log_g_j) - (a * norm2_j - 2.0 * s * dot_ij) * inv_two_one_minus_a;
}

/// The smallest weight the x0 product takes, 2^-100 (docs/algorithm.md §4, step 3).
constexpr float k_smallest_weight = 0x1p-100f;

/// A normalized weight as the x0 product takes it: 0 below 2^-100. A row's largest weight is at
/// least 1/N, so the weights dropped move x0_i by less than N 2^-100 max_j |x_j|. What it buys: W holds
/// no subnormal float, and a product w x_j stays a normal float while |x_j| >= 2^-26; x86 processors
/// compute with subnormal floats tens of times slower than with normal ones, and late in a run most
/// weights of a row can fall that low.
DIFFEVO_HD_INLINE float product_weight(float w) { return w < k_smallest_weight ? 0.0f : w; }

/// Float coefficients of the DDIM update (docs/algorithm.md §4), rounded once from the double ones.
struct update_coefficients {
  float sqrt_ap;       ///< sqrt(a_p)
  float sqrt_at;       ///< sqrt(a_t)
  float inv_sqrt_1mat; ///< 1 / sqrt(1 - a_t)
  float c_eps;         ///< sqrt(1 - a_p - sigma^2)
  float sigma;
};

/// x <- sqrt(a_p) x0 + sqrt(1 - a_p - sigma^2) eps + sigma z, eps = (x - sqrt(a_t) x0) / sqrt(1 - a_t).
DIFFEVO_HD inline float ddim_update(float x, float x0, float z, const update_coefficients& c) {
  const float eps = (x - c.sqrt_at * x0) * c.inv_sqrt_1mat;
  return c.sqrt_ap * x0 + c.c_eps * eps + c.sigma * z;
}

}  // namespace diffevo::detail
