#pragma once
/// \file
/// One-call optimization with a fitness functor that runs where the population lives: inside a
/// kernel of the library on the cuda backend (one thread per individual), on the host threads on the
/// cpu backend. Include from CUDA sources (compiled by nvcc); plain C++ uses diffevo/optimize.hpp.
///
/// The functor is a trivially copyable type with a `__host__ __device__` call operator
///     float operator()(const float* params, int dimension) const;
/// returning the fitness of one individual (D parameters). It is copied by value into the kernel, so
/// it holds plain data (device pointers only if it never runs on the cpu backend), and it must be
/// safe to call from several host threads at once on the cpu backend.
///
///     struct sphere {
///       __host__ __device__ float operator()(const float* p, int dim) const {
///         float s = 0;
///         for (int i = 0; i < dim; ++i) s += p[i] * p[i];
///         return s;
///       }
///     };
///     diffevo::config cfg;  cfg.dimension = 10;  cfg.goal = diffevo::objective::minimize;
///     auto result = diffevo::optimize_functor(cfg, sphere{});

#if !defined(__CUDACC__) && !defined(DIFFEVO_CUDA_EMULATOR)  // the emulator: tests/emulator
#error "diffevo/optimize.cuh needs nvcc; plain C++ code uses diffevo/optimize.hpp"
#endif

#include <cuda_runtime.h>

#include <algorithm>
#include <string>
#include <type_traits>

#include "diffevo/detail/launch.cuh"
#include "diffevo/detail/parallel.hpp"
#include "diffevo/error.hpp"
#include "diffevo/optimize.hpp"

namespace diffevo {
namespace detail {

template <class Fitness>
__global__ void evaluate_rows_kernel(Fitness f, const float* x, int n, int dim, float* out) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    out[i] = f(x + static_cast<std::size_t>(i) * dim, dim);
}

template <class Fitness>
constexpr void check_fitness_functor() {
  static_assert(std::is_trivially_copyable_v<Fitness>,
                "the fitness functor is copied to the device by value: it must be trivially copyable");
  static_assert(std::is_convertible_v<std::invoke_result_t<const Fitness&, const float*, int>, float>,
                "the fitness functor must be callable as float(const float* params, int dimension) const");
}

}  // namespace detail

/// Enqueues d_out[i] = f(row i of the device matrix d_x (n x dim)) for i < n on `stream`.
/// Throws cuda_error if the launch fails (the message names the functor's kernel).
template <class Fitness>
void evaluate_device(const Fitness& f, const float* d_x, int n, int dim, float* d_out, cuda_stream stream) {
  detail::check_fitness_functor<Fitness>();
  if (n <= 0) return;
  constexpr int block = 128;
  const int grid = std::min((n + block - 1) / block, 65535);
  DIFFEVO_LAUNCH(grid, block, 0, stream, detail::evaluate_rows_kernel<Fitness>)(f, d_x, n, dim, d_out);
  const cudaError_t e = cudaPeekAtLastError();
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw cuda_error(std::string("evaluate_device: launching the fitness kernel for ") + std::to_string(n) +
                     " individuals failed: " + cudaGetErrorString(e));
  }
}

/// out[i] = f(pop.row(i)) on the host, rows spread over `threads` threads (<= 0: all hardware threads).
template <class Fitness>
void evaluate_host(const Fitness& f, population_view pop, float* out, int threads = 0) {
  detail::check_fitness_functor<Fitness>();
  detail::parallel_rows(pop.rows, threads, [&](int b, int e) {
    for (int i = b; i < e; ++i) out[i] = f(pop.row(i), pop.cols);
  });
}

/// Drives `opt` to the end with the functor: in a kernel on the cuda backend (the population never
/// leaves the device), on cfg().cpu_threads host threads on the cpu backend.
template <class Fitness>
optimize_result run_functor(optimizer& opt, const Fitness& f) {
  detail::check_fitness_functor<Fitness>();
  if (opt.backend() == backend_kind::cuda)
    return run_device(opt, [f](population_view pop, float* d_out, cuda_stream stream) {
      evaluate_device(f, pop.data, pop.rows, pop.cols, d_out, stream);
    });
  const int threads = opt.cfg().cpu_threads;
  return run(opt, [&f, threads](population_view pop, float* out) { evaluate_host(f, pop, out, threads); });
}

/// A whole optimization with a `__host__ __device__` fitness functor (see the file comment).
template <class Fitness>
optimize_result optimize_functor(const config& cfg, const Fitness& f) {
  optimizer opt(cfg);
  return run_functor(opt, f);
}

}  // namespace diffevo
