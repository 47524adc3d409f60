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

/// Evaluates the whole population on the host.
///
/// Called as `fitness_fn(pop, fitness)`: `pop` is the population (host memory, valid during the
/// call) and the callback writes `pop.rows` fitness values to `fitness` (host memory). An exception
/// it throws propagates out of the driver that called it.
using batch_fitness = std::function<void(population_view pop, float* fitness)>;

/// Evaluates a device population (cuda backend).
///
/// Called as `fitness_fn(pop, d_fitness, stream)`: it enqueues on `stream` the work that writes
/// `pop.rows` fitness values to `d_fitness` (device memory). `pop.data` is a device pointer, ready in
/// stream order. It need not wait for its work. An exception it throws propagates out of
/// run_device().
using device_batch_fitness = std::function<void(population_view pop, float* d_fitness, cuda_stream stream)>;

/// What a finished run returns. The final population is evaluated once more (T evaluations in all).
struct optimize_result {
  std::vector<float> population;  ///< final population, parameters, N x D
  std::vector<float> fitness;     ///< its fitness
  std::vector<float> best;        ///< best individual over all T evaluations
  float best_fitness = 0.0f;      ///< fitness of best (0 when has_best is false)
  bool has_best = false;          ///< false only if every fitness was non-finite
  int generations = 0;            ///< T - 1
  long long nonfinite = 0;        ///< non-finite fitness values over the run (final evaluation included)
  backend_kind backend = backend_kind::cpu;  ///< cpu for the baselines
};

/// Runs a whole optimization with a host fitness callback: run() on an optimizer(cfg).
///
/// @param cfg The run's configuration.
/// @param fitness Evaluates each population (T times in all).
/// @return The final population, its fitness and the best individual over the run.
/// @throws invalid_argument for an empty `fitness`, a bad field of `cfg`, or a fitness value a tell
///         refuses (the final evaluation included: +inf in the winning direction).
/// @throws device_unavailable as the optimizer's constructor.
/// @throws out_of_memory as the optimizer's constructor and tell().
/// @throws std::system_error as the optimizer's constructor and tell() (cpu worker threads).
/// @throws cuda_error as the optimizer's constructor, ask() and tell() (cuda backend).
/// @throws cublas_error likewise.
/// @throws curand_error likewise.
/// @note Exceptions thrown by `fitness` (or an observer) propagate unchanged. cuda backend: every
///       ask() waits for the device (the population is copied to the host each generation), and
///       the optimizer's destruction at return waits for stream(). cpu backend: host only.
optimize_result optimize(const config& cfg, const batch_fitness& fitness);

/// Drives a strategy from its current generation to the end and evaluates the final population.
///
/// If `fitness` throws, the exception propagates and `s` is left at the generation it was asked
/// for, valid for a retry.
/// @param s Any strategy: the optimizer or a baseline.
/// @param fitness Evaluates each population asked for.
/// @return The final population, its fitness and the best individual over the run (with the final
///         evaluation).
/// @throws invalid_argument for an empty `fitness`, a strategy without a fixed number of generations
///         (an open_ended: use run(open_ended&, ...) of diffevo/open_ended.hpp; nothing is asked), or
///         a fitness value a tell refuses (the final evaluation included: +inf in the winning direction).
/// @throws out_of_memory as `s`'s tell().
/// @throws std::system_error as an optimizer's tell() on the cpu backend (worker threads).
/// @throws cuda_error as an optimizer's ask() and tell() on the cuda backend.
/// @throws cublas_error likewise.
/// @throws curand_error likewise.
/// @note Exceptions thrown by `fitness` (or an observer) propagate unchanged. Waits for the device
///       as `s`'s ask() and tell() do (an optimizer on the cuda backend: every generation); the
///       baselines and the cpu backend are host only.
optimize_result run(strategy& s, const batch_fitness& fitness);

/// run() with the evaluation on the device (cuda backend only).
///
/// Each generation enqueues `fitness` on opt.stream() with the population from ask_device() and
/// opt.device_fitness() as the output, then calls tell_device_async(); synchronize() at the end.
/// Call it with the optimizer's device (the one current at its construction) current.
/// So for D <= 8 with no on_generation observer the host waits for the device once per run, not once
/// per generation, and a bad fitness value in generation g throws at the end (invalid_argument
/// "generation g: fitness[i] = v ...") with the optimizer rewound to generation g, as if that tell had
/// thrown. Two differences from a synchronous loop remain: `fitness` is still called for the
/// generations after g (on the population of generation g, which no longer changes), and inside
/// `fitness` opt.pending() is true (best() and x0() throw logic_error; call nothing that waits).
/// If `fitness` or a tell throws, pending tells are synchronized first, so a bad fitness value of an
/// earlier generation is the exception reported.
/// @param opt An optimizer on the cuda backend, at any generation.
/// @param fitness Enqueues the evaluation of each remaining generation's population and of the
///        final one.
/// @return The final population, its fitness and the best individual over the run.
/// @throws logic_error on the cpu backend.
/// @throws invalid_argument for an empty `fitness`, or a bad fitness value (see above; the final
///         evaluation included).
/// @throws out_of_memory as tell_device_async().
/// @throws cuda_error as tell_device_async(), synchronize(), download() and ask().
/// @throws cublas_error as tell_device_async().
/// @throws curand_error as tell_device_async() and synchronize().
/// @note Waits for the device once at the end of the generations (synchronize()), then for the
///       final evaluation (download() and ask()); with D > 8 or an observer, also once per
///       generation (tell_device()). Exceptions thrown by `fitness` propagate unchanged.
optimize_result run_device(optimizer& opt, const device_batch_fitness& fitness);

}  // namespace diffevo
