// The CEC'2013 niching suite's tables, its generated composition data and the competition's measures
// (docs/niching.md).
#include "diffevo/cec2013.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <mutex>
#include <numeric>

#include "diffevo/error.hpp"
#include "host/util/message.hpp"

namespace diffevo::cec2013 {
namespace {

constexpr problem_info k_info[k_problems] = {
    {1, "Five-Uneven-Peak Trap", 1, 50000, 2, 0.01, 200.0},
    {2, "Equal Maxima", 1, 50000, 5, 0.01, 1.0},
    {3, "Uneven Decreasing Maxima", 1, 50000, 1, 0.01, 1.0},
    {4, "Himmelblau", 2, 50000, 4, 0.01, 200.0},
    {5, "Six-Hump Camel Back", 2, 50000, 2, 0.5, 1.031628453489877},
    {6, "Shubert", 2, 200000, 18, 0.5, 186.7309088310239},
    {7, "Vincent", 2, 200000, 36, 0.2, 1.0},
    {8, "Shubert", 3, 400000, 81, 0.5, 2709.093505572820},
    {9, "Vincent", 3, 400000, 216, 0.2, 1.0},
    {10, "Modified Rastrigin", 2, 200000, 12, 0.01, -2.0},
    {11, "CF1", 2, 200000, 6, 0.01, 0.0},
    {12, "CF2", 2, 200000, 8, 0.01, 0.0},
    {13, "CF3", 2, 200000, 6, 0.01, 0.0},
    {14, "CF3", 3, 400000, 6, 0.01, 0.0},
    {15, "CF4", 3, 400000, 8, 0.01, 0.0},
    {16, "CF3", 5, 400000, 6, 0.01, 0.0},
    {17, "CF4", 5, 400000, 8, 0.01, 0.0},
    {18, "CF3", 10, 400000, 6, 0.01, 0.0},
    {19, "CF4", 10, 400000, 8, 0.01, 0.0},
    {20, "CF4", 20, 400000, 8, 0.01, 0.0},
};

void check_id(int id) {
  DIFFEVO_EXPECTS(id >= 1 && id <= k_problems, invalid_argument, "cec2013 problem id = ", id, " must be in [1, ",
                  k_problems, "]");
}

/// The four composition functions of the report: components, basic functions, sigma and lambda.
struct cf_params {
  int n;
  int kind[k_max_components];
  double sigma[k_max_components];
  double lambda[k_max_components];
  bool rotated;
};
constexpr cf_params k_cf[4] = {
    {6, {3, 3, 2, 2, 0, 0}, {1, 1, 1, 1, 1, 1}, {1, 1, 8, 8, 1.0 / 5, 1.0 / 5}, false},
    {8, {1, 1, 2, 2, 3, 3, 0, 0}, {1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 10, 10, 1.0 / 10, 1.0 / 10, 1.0 / 7, 1.0 / 7}, false},
    {6, {4, 4, 2, 2, 3, 3}, {1, 1, 2, 2, 2, 2}, {1.0 / 4, 1.0 / 10, 2, 1, 2, 5}, true},
    {8, {1, 1, 4, 4, 2, 2, 3, 3}, {1, 1, 1, 1, 1, 2, 2, 2}, {4, 1, 4, 1, 1.0 / 10, 1.0 / 5, 1.0 / 10, 1.0 / 40}, true},
};
/// Which composition function each of problems 11 .. 20 is (0-based into k_cf).
constexpr int k_cf_of[10] = {0, 1, 2, 2, 3, 2, 3, 2, 3, 3};

/// The generator of the data: splitmix64 from a fixed seed, uniform doubles with 53 bits, normals by
/// Box-Muller. Fixed here so the instances never change (docs/niching.md, "Data").
struct data_rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double normal() {
    const double u = 1 - uniform(), v = uniform();
    return std::sqrt(-2 * std::log(u)) * std::cos(2 * detail::k_pi * v);
  }
};
constexpr std::uint64_t k_data_seed = 2013;

/// The shift table: k_max_components rows of k_max_dimension values, uniform in [-5, 5], rounded to
/// float. Every composition problem uses its first n rows and first D columns (as the organisers'
/// optima.dat is used).
std::array<std::array<double, k_max_dimension>, k_max_components> make_shifts() {
  data_rng r{k_data_seed};
  std::array<std::array<double, k_max_dimension>, k_max_components> o{};
  for (auto& row : o)
    for (double& v : row) v = static_cast<float>(-5 + 10 * r.uniform());
  return o;
}

/// A random orthogonal D x D matrix: modified Gram-Schmidt on the rows of a N(0, 1) matrix.
void random_orthogonal(data_rng& r, int d, double* m) {
  for (int i = 0; i < d * d; ++i) m[i] = r.normal();
  for (int i = 0; i < d; ++i) {
    for (int k = 0; k < i; ++k) {
      double dot = 0;
      for (int j = 0; j < d; ++j) dot += m[i * d + j] * m[k * d + j];
      for (int j = 0; j < d; ++j) m[i * d + j] -= dot * m[k * d + j];
    }
    double norm = 0;
    for (int j = 0; j < d; ++j) norm += m[i * d + j] * m[i * d + j];
    norm = std::sqrt(norm);
    for (int j = 0; j < d; ++j) m[i * d + j] /= norm;
  }
}

std::unique_ptr<composition> make_composition(int id) {
  const cf_params& p = k_cf[k_cf_of[id - 11]];
  const int d = k_info[id - 1].dimension;
  auto cf = std::make_unique<composition>();
  *cf = composition{};
  cf->components = p.n;
  cf->dimension = d;
  const auto shifts = make_shifts();
  data_rng r{k_data_seed + static_cast<std::uint64_t>(id)};  // each problem's rotations from its own stream
  for (int i = 0; i < p.n; ++i) {
    cf->kind[i] = p.kind[i];
    cf->sigma[i] = p.sigma[i];
    cf->lambda[i] = p.lambda[i];
    for (int j = 0; j < d; ++j) cf->shift[i][j] = shifts[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
    if (p.rotated)
      random_orthogonal(r, d, cf->rotation[i]);
    else
      for (int j = 0; j < d; ++j) cf->rotation[i][j * d + j] = 1;
    // fmax: the basic function at (5, ..., 5) / lambda, rotated, not shifted (the report's normalizer).
    double t[k_max_dimension], z[k_max_dimension];
    for (int j = 0; j < d; ++j) t[j] = 5 / p.lambda[i];
    for (int c = 0; c < d; ++c) {
      double s = 0;
      for (int k = 0; k < d; ++k) s += t[k] * cf->rotation[i][k * d + c];
      z[c] = s;
    }
    cf->fmax[i] = detail::basic(p.kind[i], z, d);
  }
  return cf;
}

/// Problem 6 and 8's coordinates: the extrema of sum_j j cos((j + 1) x + j) in [-10, 10] where the
/// global optima lie, from the organisers' published values refined by Newton's method.
std::vector<double> shubert_coordinates() {
  std::vector<double> c = {-7.708313734, -7.083506407, -1.425128427, -0.800321101, 4.858056878, 5.482864207};
  for (double& x : c)
    for (int it = 0; it < 50; ++it) {
      double g1 = 0, g2 = 0;  // first and second derivative
      for (int j = 1; j <= 5; ++j) {
        g1 -= j * (j + 1) * std::sin((j + 1) * x + j);
        g2 -= j * (j + 1) * (j + 1) * std::cos((j + 1) * x + j);
      }
      x -= g1 / g2;
    }
  return c;
}

/// Every combination of `values` in d coordinates whose value is within 1e-9 of the optimum.
std::vector<double> optimal_grid(int id, const std::vector<double>& values) {
  const problem p = make_problem(id);
  const int d = p.dimension, v = static_cast<int>(values.size());
  const double best = k_info[id - 1].optimum;
  std::vector<double> out, x(static_cast<std::size_t>(d));
  int combos = 1;
  for (int j = 0; j < d; ++j) combos *= v;
  for (int k = 0; k < combos; ++k) {
    for (int j = 0, r = k; j < d; ++j, r /= v) x[static_cast<std::size_t>(j)] = values[static_cast<std::size_t>(r % v)];
    if (std::fabs(evaluate(p, x.data()) - best) <= 1e-9) out.insert(out.end(), x.begin(), x.end());
  }
  return out;
}

}  // namespace

problem_info info(int id) {
  check_id(id);
  return k_info[id - 1];
}

void box(int id, std::vector<double>& lower, std::vector<double>& upper) {
  check_id(id);
  const int d = k_info[id - 1].dimension;
  double lo = -5, hi = 5;
  switch (id) {
    case 1: lo = 0, hi = 30; break;
    case 2:
    case 3: lo = 0, hi = 1; break;
    case 4: lo = -6, hi = 6; break;
    case 6:
    case 8: lo = -10, hi = 10; break;
    case 7:
    case 9: lo = 0.25, hi = 10; break;
    case 10: lo = 0, hi = 1; break;
    default: break;
  }
  lower.assign(static_cast<std::size_t>(d), lo);
  upper.assign(static_cast<std::size_t>(d), hi);
  if (id == 5) lower = {-1.9, -1.1}, upper = {1.9, 1.1};
}

problem make_problem(int id) {
  check_id(id);
  static std::once_flag once;
  static std::array<std::unique_ptr<composition>, 10> data;
  std::call_once(once, [] {
    for (int k = 11; k <= k_problems; ++k) data[static_cast<std::size_t>(k - 11)] = make_composition(k);
  });
  problem p;
  p.id = id;
  p.dimension = k_info[id - 1].dimension;
  p.cf = id >= 11 ? data[static_cast<std::size_t>(id - 11)].get() : nullptr;
  return p;
}

std::vector<double> known_optima(int id) {
  check_id(id);
  switch (id) {
    case 1: return {0, 30};
    case 2: return {0.1, 0.3, 0.5, 0.7, 0.9};
    case 3: return {0.079699779582100};
    case 4:
      return {3.0, 2.0, -2.805118094822989, 3.131312538494919, -3.779310265963066, -3.283185984612214,
              3.584428351760445, -1.848126540197251};
    case 5: return {0.089842008935272, -0.712656403019058, -0.089842008935272, 0.712656403019058};
    case 6:
    case 8: return optimal_grid(id, shubert_coordinates());
    case 7:
    case 9: {
      std::vector<double> v;
      for (int m = -2; m <= 3; ++m) v.push_back(std::exp(detail::k_pi / 20 + detail::k_pi * m / 5));
      return optimal_grid(id, v);
    }
    case 10: {
      std::vector<double> out;
      for (int a = 0; a < 3; ++a)
        for (int b = 0; b < 4; ++b) out.insert(out.end(), {(2 * a + 1) / 6.0, (2 * b + 1) / 8.0});
      return out;
    }
    default: {
      const composition& cf = *make_problem(id).cf;
      std::vector<double> out;
      for (int i = 0; i < cf.components; ++i) out.insert(out.end(), cf.shift[i], cf.shift[i] + cf.dimension);
      return out;
    }
  }
}

}  // namespace diffevo::cec2013

namespace diffevo {

int count_global_optima(const float* points, const double* fitness, int count, int dimension, double optimum,
                        int global_optima, double radius, double accuracy) {
  DIFFEVO_EXPECTS(count >= 0, invalid_argument, "count_global_optima: count = ", count, " must be >= 0");
  DIFFEVO_EXPECTS(dimension >= 1, invalid_argument, "count_global_optima: dimension = ", dimension, " must be >= 1");
  DIFFEVO_EXPECTS(global_optima >= 1, invalid_argument, "count_global_optima: global_optima = ", global_optima,
                  " must be >= 1");
  DIFFEVO_EXPECTS(std::isfinite(radius) && radius >= 0, invalid_argument, "count_global_optima: radius = ", radius,
                  " must be finite and >= 0");
  DIFFEVO_EXPECTS(std::isfinite(accuracy) && accuracy >= 0, invalid_argument, "count_global_optima: accuracy = ",
                  accuracy, " must be finite and >= 0");
  DIFFEVO_EXPECTS(std::isfinite(optimum), invalid_argument, "count_global_optima: optimum = ", optimum,
                  " must be finite");
  DIFFEVO_EXPECTS(count == 0 || (points && fitness), invalid_argument, "count_global_optima: null pointer for ", count,
                  " solutions");
  std::vector<int> order(static_cast<std::size_t>(count));
  std::iota(order.begin(), order.end(), 0);
  // Best first; NaN last (it is never within accuracy of the optimum); ties keep the given order.
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const double fa = fitness[a], fb = fitness[b];
    if (std::isnan(fb)) return !std::isnan(fa);
    return fa > fb;
  });
  const double r2 = radius * radius;
  std::vector<int> seeds;
  int found = 0;
  for (int i : order) {
    const float* x = points + static_cast<std::size_t>(i) * dimension;
    bool near = false;
    for (int s : seeds) {
      const float* y = points + static_cast<std::size_t>(s) * dimension;
      double d2 = 0;
      for (int j = 0; j < dimension; ++j) d2 += (double(x[j]) - y[j]) * (double(x[j]) - y[j]);
      if (d2 <= r2) {
        near = true;
        break;
      }
    }
    if (near) continue;
    seeds.push_back(i);
    if (std::fabs(fitness[i] - optimum) <= accuracy && ++found == global_optima) break;
  }
  return found;
}

int count_global_optima(int id, const float* points, int count, double accuracy) {
  const cec2013::problem_info in = cec2013::info(id);
  DIFFEVO_EXPECTS(count >= 0, invalid_argument, "count_global_optima: count = ", count, " must be >= 0");
  DIFFEVO_EXPECTS(count == 0 || points, invalid_argument, "count_global_optima: null pointer for ", count, " solutions");
  const cec2013::problem p = cec2013::make_problem(id);
  std::vector<double> f(static_cast<std::size_t>(count)), x(static_cast<std::size_t>(in.dimension));
  for (int i = 0; i < count; ++i) {
    for (int j = 0; j < in.dimension; ++j) x[static_cast<std::size_t>(j)] = points[static_cast<std::size_t>(i) * in.dimension + j];
    f[static_cast<std::size_t>(i)] = cec2013::evaluate(p, x.data());
  }
  return count_global_optima(points, f.data(), count, in.dimension, in.optimum, in.global_optima, in.radius, accuracy);
}

namespace {
void check_runs(const std::vector<int>& found, int global_optima, const char* who) {
  DIFFEVO_EXPECTS(!found.empty(), invalid_argument, who, ": no runs");
  DIFFEVO_EXPECTS(global_optima >= 1, invalid_argument, who, ": global_optima = ", global_optima, " must be >= 1");
  for (std::size_t r = 0; r < found.size(); ++r)
    DIFFEVO_EXPECTS(found[r] >= 0 && found[r] <= global_optima, invalid_argument, who, ": found[", r, "] = ", found[r],
                    " must be in [0, ", global_optima, "]");
}
}  // namespace

double peak_ratio(const std::vector<int>& found, int global_optima) {
  check_runs(found, global_optima, "peak_ratio");
  const long long total = std::accumulate(found.begin(), found.end(), 0LL);
  return static_cast<double>(total) / (static_cast<double>(global_optima) * static_cast<double>(found.size()));
}

double success_rate(const std::vector<int>& found, int global_optima) {
  check_runs(found, global_optima, "success_rate");
  const auto all = std::count(found.begin(), found.end(), global_optima);
  return static_cast<double>(all) / static_cast<double>(found.size());
}

}  // namespace diffevo
