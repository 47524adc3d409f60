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

#if !defined(__CUDACC__)
#error "diffevo/optimize.cuh needs nvcc; plain C++ code uses diffevo/optimize.hpp"
#endif

#include <cuda_runtime.h>

#include <algorithm>
#include <string>
#include <type_traits>

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
///
/// One thread per individual, on the current device.
/// @tparam Fitness A fitness functor (see the file comment).
/// @param f The functor, copied into the kernel.
/// @param d_x n x dim parameters, row-major, device memory.
/// @param n The number of individuals; n <= 0 does nothing.
/// @param dim The parameters per individual.
/// @param d_out n floats of device memory.
/// @param stream The stream to enqueue the kernel on.
/// @throws cuda_error if the launch fails (the message gives the number of individuals and CUDA's
///         error string).
/// @note Only enqueues on `stream`; no synchronization.
template <class Fitness>
void evaluate_device(const Fitness& f, const float* d_x, int n, int dim, float* d_out, cuda_stream stream) {
  detail::check_fitness_functor<Fitness>();
  if (n <= 0) return;
  constexpr int block = 128;
  const int grid = std::min((n + block - 1) / block, 65535);
  detail::evaluate_rows_kernel<Fitness><<<grid, block, 0, stream>>>(f, d_x, n, dim, d_out);
  const cudaError_t e = cudaPeekAtLastError();
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw cuda_error(std::string("evaluate_device: launching the fitness kernel for ") + std::to_string(n) +
                     " individuals failed: " + cudaGetErrorString(e));
  }
}

/// out[i] = f(pop.row(i)) on the host, rows spread over `threads` threads.
/// @tparam Fitness A fitness functor (see the file comment).
/// @param f The functor, possibly called from several threads at once.
/// @param pop The population, host memory.
/// @param out pop.rows floats of host memory.
/// @param threads The number of threads; <= 0: all hardware threads.
/// @note Host only; no device work. An exception thrown by `f` on any thread is rethrown here (the
///       first one, after all threads have finished).
template <class Fitness>
void evaluate_host(const Fitness& f, population_view pop, float* out, int threads = 0) {
  detail::check_fitness_functor<Fitness>();
  detail::parallel_rows(pop.rows, threads, [&](int b, int e) {
    for (int i = b; i < e; ++i) out[i] = f(pop.row(i), pop.cols);
  });
}

/// Drives `opt` to the end with the functor.
///
/// On the cuda backend the functor runs in a kernel (the population never leaves the device):
/// run_device() with evaluate_device(). On the cpu backend it runs on cfg().cpu_threads host
/// threads: run() with evaluate_host().
/// @tparam Fitness A fitness functor (see the file comment).
/// @param opt The optimizer, at any generation.
/// @param f The functor.
/// @return As run_device() or run().
/// @throws invalid_argument as run_device() (cuda backend) or run() (cpu backend).
/// @throws out_of_memory likewise.
/// @throws cuda_error as run_device() (cuda backend).
/// @throws cublas_error likewise.
/// @throws curand_error likewise.
/// @note cuda backend: waits for the device as run_device() does (once per run for D <= 8 without
///       an observer). cpu backend: host only.
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

/// A whole optimization with a `__host__ __device__` fitness functor (see the file comment):
/// run_functor() on an optimizer(cfg).
/// @tparam Fitness A fitness functor.
/// @param cfg The run's configuration.
/// @param f The functor.
/// @return The final population, its fitness and the best individual over the run.
/// @throws invalid_argument as the optimizer's constructor and run_functor().
/// @throws device_unavailable as the optimizer's constructor.
/// @throws out_of_memory as the optimizer's constructor and run_functor().
/// @throws cuda_error likewise (cuda backend).
/// @throws cublas_error likewise.
/// @throws curand_error likewise.
/// @note As run_functor(); the optimizer's destruction at return also waits for its stream.
template <class Fitness>
optimize_result optimize_functor(const config& cfg, const Fitness& f) {
  optimizer opt(cfg);
  return run_functor(opt, f);
}

}  // namespace diffevo
