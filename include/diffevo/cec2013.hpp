#pragma once
/// \file
/// The CEC'2013 niching benchmark (Li, Engelbrecht, Epitropakis, "Benchmark Functions for CEC'2013 Special
/// Session and Competition on Niching Methods for Multimodal Function Optimization", 2013): its 20
/// maximisation problems, usable on host and device, and the competition's measures (peak ratio, success
/// rate). Definitions and data: docs/niching.md.
///
/// The composition problems (11-20) need shift vectors and rotation matrices. The organisers ship them as
/// data files; diffevo generates its own from the report's definition (shifts uniform in the box, rounded
/// to float so that every global optimum is a point a float population can hold; rotations random
/// orthogonal matrices), from a fixed seed, so the instances are diffevo's and differ from the organisers'.

#include <cmath>
#include <cstdint>
#include <vector>

#include "diffevo/detail/hd.hpp"

namespace diffevo::cec2013 {

constexpr int k_problems = 20;        ///< problems 1 .. 20
constexpr int k_max_dimension = 20;   ///< the largest dimension (problem 20)
constexpr int k_max_components = 8;   ///< the most components of a composition function
constexpr int k_accuracies = 5;       ///< the competition's accuracy levels
/// The competition's accuracy levels: a global optimum counts as found at level e when a solution's
/// fitness is within e of the optimum value.
constexpr double k_accuracy[k_accuracies] = {1e-1, 1e-2, 1e-3, 1e-4, 1e-5};
constexpr int k_runs = 50;            ///< runs per problem in the competition

/// What the competition fixes for one problem.
struct problem_info {
  int id;                     ///< 1 .. 20
  const char* name;           ///< for example "Himmelblau" or "CF3"
  int dimension;              ///< D
  long long max_evaluations;  ///< MaxFEs, the budget of function evaluations of one run
  int global_optima;          ///< the number of global optima (NKP)
  double radius;              ///< the niche radius (rho) of the count
  double optimum;             ///< the global optimum value
};

/// The data of a composition function (problems 11-20), plain data with no pointers, so it can be
/// copied to device memory as it is. Component i: the basic function kind[i], its shift o_i (the first
/// `dimension` values of shift[i]), scale lambda[i], spread sigma[i], normalizer fmax[i] and rotation
/// M_i (rotation[i], dimension x dimension, row-major; the identity for CF1 and CF2).
struct composition {
  int components;
  int dimension;
  int kind[k_max_components];  ///< 0 sphere, 1 rastrigin, 2 weierstrass, 3 griewank, 4 expanded griewank-rosenbrock
  double sigma[k_max_components];
  double lambda[k_max_components];
  double fmax[k_max_components];
  double shift[k_max_components][k_max_dimension];
  double rotation[k_max_components][k_max_dimension * k_max_dimension];
};

/// One problem, as a small trivially copyable view: on the host from make_problem(), on the device
/// from diffevo/cec2013.cuh's device_problem (whose `cf` points to device memory).
struct problem {
  int id = 0;                      ///< 1 .. 20
  int dimension = 0;               ///< D
  const composition* cf = nullptr;  ///< problems 11-20: their data (host or device memory, as where it is used)
};

/// The competition's settings of problem `id`.
/// @param id 1 .. 20.
/// @return Its dimension, budget, optima count, radius and optimum value.
/// @throws invalid_argument naming `id` when it is outside 1 .. 20.
/// @note Host only.
problem_info info(int id);

/// The box of problem `id`: lower[d] <= x[d] <= upper[d].
/// @param id 1 .. 20.
/// @param lower Receives D values.
/// @param upper Receives D values.
/// @throws invalid_argument naming `id` when it is outside 1 .. 20.
/// @note Host only.
void box(int id, std::vector<double>& lower, std::vector<double>& upper);

/// Problem `id` for evaluation on the host (its composition data, if any, is built once and lives as
/// long as the program).
/// @param id 1 .. 20.
/// @return The view evaluate() takes.
/// @throws invalid_argument naming `id` when it is outside 1 .. 20.
/// @note Host only; thread-safe.
problem make_problem(int id);

/// The global optima of a problem: in closed form, from the organisers' published coordinates refined
/// by Newton's method (3, 4, 5, 6, 8) or from the generated data (the composition shifts).
/// @param id 1 .. 20.
/// @return global_optima rows of D values, row-major.
/// @throws invalid_argument naming `id` when it is outside 1 .. 20.
/// @note Host only.
std::vector<double> known_optima(int id);

namespace detail {
constexpr double k_pi = 3.14159265358979323846;

DIFFEVO_HD inline double basic(int kind, const double* z, int d) {
  double s = 0;
  switch (kind) {
    case 0:
      for (int j = 0; j < d; ++j) s += z[j] * z[j];
      return s;
    case 1:
      for (int j = 0; j < d; ++j) s += z[j] * z[j] - 10 * ::cos(2 * k_pi * z[j]) + 10;
      return s;
    case 2: {
      double c = 0;  // sum_k a^k cos(pi b^k): the value at z = 0, per coordinate
      for (int k = 0; k <= 20; ++k) c += ::pow(0.5, k) * ::cos(k_pi * ::pow(3.0, k));
      for (int j = 0; j < d; ++j)
        for (int k = 0; k <= 20; ++k) s += ::pow(0.5, k) * ::cos(2 * k_pi * ::pow(3.0, k) * (z[j] + 0.5));
      return s - d * c;
    }
    case 3: {
      double p = 1;
      for (int j = 0; j < d; ++j) {
        s += z[j] * z[j] / 4000;
        p *= ::cos(z[j] / ::sqrt(j + 1.0));
      }
      return 1 + s - p;
    }
    default:
      for (int j = 0; j < d; ++j) {
        const double a = z[j] + 1, b = z[(j + 1) % d] + 1;
        const double g = 100 * (a * a - b) * (a * a - b) + (1 - a) * (1 - a);
        s += 1 + g * g / 4000 - ::cos(g);
      }
      return s;
  }
}

DIFFEVO_HD inline double composition_value(const composition& cf, const double* x) {
  const int n = cf.components, d = cf.dimension;
  double w[k_max_components] = {};
  int m = 0;
  for (int i = 0; i < n; ++i) {
    double s = 0;
    for (int j = 0; j < d; ++j) s += (x[j] - cf.shift[i][j]) * (x[j] - cf.shift[i][j]);
    w[i] = ::exp(-s / (2 * d * cf.sigma[i] * cf.sigma[i]));
    if (w[i] > w[m]) m = i;
  }
  const double damp = 1 - ::pow(w[m], 10);
  double total = 0;
  for (int i = 0; i < n; ++i) {
    if (i != m) w[i] *= damp;
    total += w[i];
  }
  double f = 0;
  for (int i = 0; i < n; ++i) {
    double t[k_max_dimension], z[k_max_dimension];
    for (int j = 0; j < d; ++j) t[j] = (x[j] - cf.shift[i][j]) / cf.lambda[i];
    for (int c = 0; c < d; ++c) {  // z = t M (t a row vector)
      double s = 0;
      for (int r = 0; r < d; ++r) s += t[r] * cf.rotation[i][r * d + c];
      z[c] = s;
    }
    const double wi = total == 0 ? 1.0 / n : w[i] / total;
    f += wi * (2000 * basic(cf.kind[i], z, d) / cf.fmax[i]);
  }
  return -f;
}
}  // namespace detail

/// The value of problem p at x (maximisation; D = p.dimension values), in double.
///
/// Outside the box the formulas are evaluated as they are, except where they are undefined: problem 1
/// gives -1 outside [0, 30] (as the organisers' code), Vincent (7, 9) gives -infinity where a
/// coordinate is <= 0.
/// @param p The problem (p.cf must be readable where this runs).
/// @param x D coordinates.
/// @return f(x).
/// @note Pure arithmetic, host or device; no synchronization, no throw.
DIFFEVO_HD inline double evaluate(const problem& p, const double* x) {
  const int d = p.dimension;
  switch (p.id) {
    case 1: {
      const double v = x[0];
      if (v < 0) return -1;
      if (v < 2.5) return 80 * (2.5 - v);
      if (v < 5) return 64 * (v - 2.5);
      if (v < 7.5) return 64 * (7.5 - v);
      if (v < 12.5) return 28 * (v - 7.5);
      if (v < 17.5) return 28 * (17.5 - v);
      if (v < 22.5) return 32 * (v - 17.5);
      if (v < 27.5) return 32 * (27.5 - v);
      if (v <= 30) return 80 * (v - 27.5);
      return -1;
    }
    case 2: return ::pow(::sin(5 * detail::k_pi * x[0]), 6);
    case 3: {
      const double v = x[0], e = (v - 0.08) / 0.854;
      return ::exp(-2 * ::log(2.0) * e * e) * ::pow(::sin(5 * detail::k_pi * (::pow(v, 0.75) - 0.05)), 6);
    }
    case 4: {
      const double a = x[0] * x[0] + x[1] - 11, b = x[0] + x[1] * x[1] - 7;
      return 200 - a * a - b * b;
    }
    case 5: {
      const double u = x[0] * x[0], v = x[1] * x[1];
      return -((4 - 2.1 * u + u * u / 3) * u + x[0] * x[1] + (4 * v - 4) * v);
    }
    case 6:
    case 8: {
      double r = 1;
      for (int i = 0; i < d; ++i) {
        double s = 0;
        for (int j = 1; j <= 5; ++j) s += j * ::cos((j + 1) * x[i] + j);
        r *= s;
      }
      return -r;
    }
    case 7:
    case 9: {
      double s = 0;
      for (int i = 0; i < d; ++i) {
        if (!(x[i] > 0)) return -HUGE_VAL;
        s += ::sin(10 * ::log(x[i]));
      }
      return s / d;
    }
    case 10: {
      const double k[2] = {3, 4};
      double s = 0;
      for (int i = 0; i < 2; ++i) s += 10 + 9 * ::cos(2 * detail::k_pi * k[i] * x[i]);
      return -s;
    }
    default: return detail::composition_value(*p.cf, x);
  }
}

/// evaluate() as a fitness functor (trivially copyable, host and device) for optimize_functor,
/// evaluate_device and evaluate_host: the parameters are widened to double, the value rounded to float.
/// For the competition's count, evaluate the returned solutions with evaluate() in double.
struct fitness {
  problem p;  ///< the problem evaluated
  /// @param x The individual's D parameters.
  /// @return f(x) as float.
  /// @note Pure arithmetic, host or device; no synchronization, no throw.
  DIFFEVO_HD float operator()(const float* x, int /*dimension*/) const { return static_cast<float>(value(x)); }
  /// @param x The individual's D parameters.
  /// @return f(x) in double, for open_ended::tell(const double*, std::size_t): problems 6 and 8 have
  ///         optimum values (186.7, 2709.1) where a float is 1.5e-5 and 2.4e-4 coarse.
  /// @note Pure arithmetic, host or device; no synchronization, no throw.
  DIFFEVO_HD double value(const float* x) const {
    double v[k_max_dimension];
    for (int j = 0; j < p.dimension; ++j) v[j] = x[j];
    return evaluate(p, v);
  }
};

}  // namespace diffevo::cec2013

namespace diffevo {

/// The competition's count of global optima in a solution set, for any maximisation problem whose
/// optimum value, optima count and niche radius are known (the organisers' how_many_goptima).
///
/// The solutions are visited from the best fitness to the worst (ties in their given order); each
/// one farther than `radius` (Euclidean) from every seed so far becomes a seed. Seeds whose fitness
/// is within `accuracy` of `optimum` are counted, at most `global_optima` of them.
/// @param points count x dimension coordinates, row-major.
/// @param fitness count values, in double (evaluate them in double: float rounding alone is 1.5e-5 at 200).
/// @param count Solutions in the set, >= 0.
/// @param dimension D >= 1.
/// @param optimum The global optimum value.
/// @param global_optima The number of global optima, >= 1.
/// @param radius The niche radius, >= 0.
/// @param accuracy The accuracy level, >= 0.
/// @return Global optima found, 0 .. global_optima.
/// @throws invalid_argument naming the argument: a negative count, dimension < 1, global_optima < 1,
///         a negative or non-finite radius or accuracy, a non-finite optimum, or null pointers with count > 0.
/// @note Host only.
int count_global_optima(const float* points, const double* fitness, int count, int dimension, double optimum,
                        int global_optima, double radius, double accuracy);

/// count_global_optima() on a CEC'2013 problem: evaluates the points in double and uses the
/// problem's optimum, optima count and radius.
/// @param id The problem, 1 .. 20.
/// @param points count x D coordinates.
/// @param count Solutions in the set.
/// @param accuracy The accuracy level.
/// @return Global optima found.
/// @throws invalid_argument as count_global_optima() and cec2013::info().
/// @note Host only.
int count_global_optima(int id, const float* points, int count, double accuracy);

/// The competition's peak ratio of a problem at one accuracy: optima found over all runs divided by
/// (global optima x runs).
/// @param found Optima found in each run (each 0 .. global_optima).
/// @param global_optima The problem's number of global optima, >= 1.
/// @return In [0, 1].
/// @throws invalid_argument for no runs, global_optima < 1, or a count outside 0 .. global_optima (naming the run).
/// @note Host only.
double peak_ratio(const std::vector<int>& found, int global_optima);

/// The competition's success rate: the share of runs that found every global optimum.
/// @param found Optima found in each run.
/// @param global_optima The problem's number of global optima, >= 1.
/// @return In [0, 1].
/// @throws invalid_argument as peak_ratio().
/// @note Host only.
double success_rate(const std::vector<int>& found, int global_optima);

}  // namespace diffevo
