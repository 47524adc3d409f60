#pragma once
/// \file
/// The 2-D benchmark functions of the paper and their density mapping (docs/algorithm.md §6), usable on host and
/// device.

#include <cmath>

#include "diffevo/detail/hd.hpp"

namespace diffevo::functions {

/// The five functions of the paper's table.
enum class benchmark { rosenbrock, beale, himmelblau, ackley, rastrigin };

/// pi, in double.
constexpr double k_pi = 3.14159265358979323846;

/// Rosenbrock (a = 1, b = 100): minimum 0 at (1, 1).
/// @param x First coordinate.
/// @param y Second coordinate.
/// @return f(x, y).
/// @note Pure arithmetic, host or device; no synchronization, no throw.
DIFFEVO_HD inline double rosenbrock(double x, double y) { return (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x); }
/// Beale: minimum 0 at (3, 0.5).
/// @param x First coordinate.
/// @param y Second coordinate.
/// @return f(x, y).
/// @note Pure arithmetic, host or device; no synchronization, no throw.
DIFFEVO_HD inline double beale(double x, double y) {
  const double a = 1.5 - x + x * y, b = 2.25 - x + x * y * y, c = 2.625 - x + x * y * y * y;
  return a * a + b * b + c * c;
}
/// Himmelblau: four minima of 0, e.g. (3, 2).
/// @param x First coordinate.
/// @param y Second coordinate.
/// @return f(x, y).
/// @note Pure arithmetic, host or device; no synchronization, no throw.
DIFFEVO_HD inline double himmelblau(double x, double y) {
  return (x * x + y - 11) * (x * x + y - 11) + (x + y * y - 7) * (x + y * y - 7);
}
/// Ackley: minimum 0 at the origin.
///
/// Its maximum on [-4, 4]^2 (12.5401, in the four corner regions) is the paper's target.
/// @param x First coordinate.
/// @param y Second coordinate.
/// @return f(x, y).
/// @note Pure arithmetic, host or device; no synchronization, no throw.
DIFFEVO_HD inline double ackley(double x, double y) {
  return -20 * ::exp(-0.2 * ::sqrt(0.5 * (x * x + y * y))) - ::exp(0.5 * (::cos(2 * k_pi * x) + ::cos(2 * k_pi * y))) +
         ::exp(1.0) + 20;
}
/// Rastrigin (A = 10): minimum 0 at the origin.
///
/// Its maximum on [-4, 4]^2 (64.6249, in the four corner regions) is the paper's target.
/// @param x First coordinate.
/// @param y Second coordinate.
/// @return f(x, y).
/// @note Pure arithmetic, host or device; no synchronization, no throw.
DIFFEVO_HD inline double rastrigin(double x, double y) {
  return 20 + x * x - 10 * ::cos(2 * k_pi * x) + y * y - 10 * ::cos(2 * k_pi * y);
}

/// Per-function constants of docs/algorithm.md §6.
///
/// `target`: the value of f_signed sought; `s`: the scale of the density's exponential fall-off;
/// `dmax`: the distance |f_signed - target| at which the density reaches 0; `outside`: f_signed
/// outside the box [-4, 4]^2.
struct benchmark_spec {
  double target, s, dmax, outside;
  bool maximize_on_box;  ///< ackley and rastrigin: f_signed = -f
};

/// The constants of one function.
/// @param b The function.
/// @return Its row of the table in docs/algorithm.md §6.
/// @note Pure arithmetic, host or device; no synchronization, no throw.
DIFFEVO_HD inline benchmark_spec spec_of(benchmark b) {
  switch (b) {
    case benchmark::rosenbrock: return {0, 287.51, 40009, 100, false};
    case benchmark::beale: return {0, 20, 72769.2, 100, false};
    case benchmark::himmelblau: return {0, 17.01, 308.803, 100, false};
    case benchmark::ackley: return {-12.5401, 2, 12.5401, 1e-9, true};
    default: return {-64.6249, 30, 64.6249, 1e-9, true};
  }
}

/// f_signed(p): the raw function (negated for ackley/rastrigin), out-of-box value outside [-4, 4]^2.
/// @param b The function.
/// @param x First coordinate.
/// @param y Second coordinate.
/// @return f_signed(x, y).
/// @note Pure arithmetic, host or device; no synchronization, no throw.
DIFFEVO_HD inline double signed_value(benchmark b, double x, double y) {
  const benchmark_spec sp = spec_of(b);
  if (::fabs(x) > 4 || ::fabs(y) > 4) return sp.outside;
  double f;
  switch (b) {
    case benchmark::rosenbrock: f = rosenbrock(x, y); break;
    case benchmark::beale: f = beale(x, y); break;
    case benchmark::himmelblau: f = himmelblau(x, y); break;
    case benchmark::ackley: f = ackley(x, y); break;
    default: f = rastrigin(x, y); break;
  }
  return sp.maximize_on_box ? -f : f;
}

/// The paper's density g in [0, 1] (identity mapping, tau = 1): 1 at the optimum, 0 at distance Dmax.
/// @param b The function.
/// @param x First coordinate.
/// @param y Second coordinate.
/// @return g(x, y), clamped at 0.
/// @note Pure arithmetic, host or device; no synchronization, no throw.
DIFFEVO_HD inline double paper_density(benchmark b, double x, double y) {
  const benchmark_spec sp = spec_of(b);
  const double d = ::fabs(signed_value(b, x, y) - sp.target);
  const double floor = ::exp(-sp.dmax / sp.s);
  const double g = (::exp(-d / sp.s) - floor) / (1 - floor);
  return g > 0 ? g : 0;  // rounding at d = Dmax must not give a negative density
}

/// paper_density as a fitness functor (trivially copyable, host and device) for optimize_functor,
/// evaluate_device and evaluate_host: reads the first two parameters of an individual.
struct paper_fitness {
  benchmark fn;  ///< the function evaluated
  /// The density of an individual; its second argument (the dimension) is ignored.
  /// @param p The individual's parameters (at least two).
  /// @return paper_density(fn, p[0], p[1]) as float.
  /// @note Pure arithmetic, host or device; no synchronization, no throw.
  DIFFEVO_HD float operator()(const float* p, int /*dimension*/) const {
    return static_cast<float>(paper_density(fn, p[0], p[1]));
  }
};

}  // namespace diffevo::functions
