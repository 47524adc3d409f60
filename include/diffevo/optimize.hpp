#pragma once
/// \file
/// One-call optimization with a host fitness callback over the whole population.

#include <functional>
#include <vector>

#include "diffevo/config.hpp"
#include "diffevo/optimizer.hpp"

namespace diffevo {

/// Evaluates the whole population: writes `pop.rows` fitness values to `fitness`.
using batch_fitness = std::function<void(population_view pop, float* fitness)>;

/// What a finished run returns. The final population is evaluated once more (T evaluations in all).
struct optimize_result {
  std::vector<float> population;  ///< final population, parameters, N x D
  std::vector<float> fitness;     ///< its fitness
  std::vector<float> best;        ///< best individual over all T evaluations
  float best_fitness = 0.0f;
  bool has_best = false;          ///< false only if every fitness was non-finite
  int generations = 0;            ///< T - 1
  long long nonfinite = 0;        ///< non-finite fitness values over the run (final evaluation included)
  backend_kind backend = backend_kind::cpu;
};

/// Runs a whole optimization. Exceptions thrown by `fitness` propagate unchanged.
optimize_result optimize(const config& cfg, const batch_fitness& fitness);

}  // namespace diffevo
