#pragma once
// Small helpers of the cuda-backend tests (test_gpu and the emulator's fault tests).
#include <cmath>
#include <vector>

#include "diffevo/strategy.hpp"

/// The population's values, copied to a vector.
inline std::vector<float> host_copy(const diffevo::population_view& p) {
  return std::vector<float>(p.data, p.data + p.size());
}

/// A multimodal test fitness of one row: sum over d of cos(2 x_d) - 0.1 x_d^2.
inline float cosine_fitness(const float* p, int dim) {
  double s = 0;
  for (int d = 0; d < dim; ++d) s += std::cos(2.0 * p[d]) - 0.1 * p[d] * p[d];
  return float(s);
}

/// cosine_fitness of every row.
inline std::vector<float> cosine_fitness(const diffevo::population_view& p) {
  std::vector<float> f(static_cast<std::size_t>(p.rows));
  for (int i = 0; i < p.rows; ++i) f[i] = cosine_fitness(p.row(i), p.cols);
  return f;
}
