#pragma once
/// \file
/// One-call optimization: a host fitness callback over the whole population (`optimize`, `run`), or
/// a device evaluation on the cuda backend (`run_device`). For a `__host__ __device__` fitness functor
/// evaluated inside the library's kernel, include diffevo/optimize.cuh (nvcc).

#include <functional>
#include <vector>

#include "diffevo/config.hpp"
#include "diffevo/optimizer.hpp"

namespace diffevo {

/// Evaluates the whole population: writes `pop.rows` fitness values to `fitness` (host memory).
using batch_fitness = std::function<void(population_view pop, float* fitness)>;

/// Evaluates a device population: enqueues on `stream` the work that writes `pop.rows` fitness
/// values to `d_fitness` (device memory). `pop.data` is a device pointer, ready in stream order.
using device_batch_fitness = std::function<void(population_view pop, float* d_fitness, cuda_stream stream)>;

/// What a finished run returns. The final population is evaluated once more (T evaluations in all).
struct optimize_result {
  std::vector<float> population;  ///< final population, parameters, N x D
  std::vector<float> fitness;     ///< its fitness
  std::vector<float> best;        ///< best individual over all T evaluations
  float best_fitness = 0.0f;
  bool has_best = false;          ///< false only if every fitness was non-finite
  int generations = 0;            ///< T - 1
  long long nonfinite = 0;        ///< non-finite fitness values over the run (final evaluation included)
  backend_kind backend = backend_kind::cpu;  ///< cpu for the baselines
};

/// Runs a whole optimization. Exceptions thrown by `fitness` propagate unchanged.
optimize_result optimize(const config& cfg, const batch_fitness& fitness);

/// Drives `s` (any strategy: the optimizer or a baseline) from its current generation to the end
/// and evaluates the final population. If `fitness` throws, the exception propagates and `s` is left
/// at the generation it was asked for, valid for a retry.
optimize_result run(strategy& s, const batch_fitness& fitness);

/// run() with the evaluation on the device: cuda backend only (logic_error otherwise). Each
/// generation enqueues `fitness` on opt.stream() with the population from ask_device() and
/// opt.device_fitness() as the output, then calls tell_device_async(); synchronize() at the end.
/// Call it with the optimizer's device (the one current at its construction) current.
/// So for D <= 8 with no on_generation observer the host waits for the device once per run, not once
/// per generation, and a bad fitness value in generation g throws at the end (invalid_argument
/// "generation g: fitness[i] = v ...") with the optimizer rewound to generation g, as if that tell had
/// thrown. Two differences from a synchronous loop remain: `fitness` is still called for the
/// generations after g (on the population of generation g, which no longer changes), and inside
/// `fitness` opt.pending() is true (best() and x0() throw logic_error; call nothing that waits).
optimize_result run_device(optimizer& opt, const device_batch_fitness& fitness);

}  // namespace diffevo
