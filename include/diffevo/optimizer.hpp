#pragma once
/// \file
/// The ask/tell Diffusion Evolution optimizer (docs/algorithm.md §4-§5).

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "diffevo/config.hpp"
#include "diffevo/observe.hpp"
#include "diffevo/strategy.hpp"

/// CUDA's stream handle, declared here so this header needs no CUDA headers (`cuda_stream` is the
/// same type as `cudaStream_t`).
struct CUstream_st;

namespace diffevo {

using cuda_stream = CUstream_st*;

namespace detail {
class backend;
struct fitness_summary;
}

/// Diffusion Evolution with an ask/tell interface.
///
/// A run has T - 1 generations. Each generation: `ask()` returns the population in parameter space
/// `p = center + scale * x`; the caller evaluates it and passes the N fitness values to `tell()`,
/// which maps fitness to density (docs/algorithm.md §3), estimates x0 and applies the DDIM update (docs/algorithm.md §4).
/// After T - 1 tells `done()` is true and `ask()` returns the final (clean) population.
///
/// Not thread-safe: one optimizer is driven by one thread at a time. Move-only.
class optimizer final : public strategy {
 public:
  using strategy::tell;
  /// Validates `cfg` (throws invalid_argument naming the field and value), picks the backend
  /// (throws device_unavailable if cuda was requested without a device) and draws the initial
  /// population x ~ N(0, I) from the seed.
  explicit optimizer(const config& cfg);
  ~optimizer();
  optimizer(optimizer&&) noexcept;
  optimizer& operator=(optimizer&&) noexcept;
  optimizer(const optimizer&) = delete;
  optimizer& operator=(const optimizer&) = delete;

  /// The current population in parameter space, on the host. Valid until the next tell().
  /// Calls synchronize() first (so it throws a pending tell_device_async() error).
  population_view ask() override;

  /// Gives the fitness of the population returned by the last ask(): `n` must equal N.
  /// Throws logic_error before ask() or after done(); invalid_argument for a wrong length, a
  /// negative fitness under identity/power, or +inf in the winning direction (naming the index and
  /// value). On any of these throws the optimizer state is unchanged and the call can be retried.
  /// The same holds when the update itself fails: out of memory, or on the cuda backend a failing
  /// CUDA, cuBLAS or cuRAND call (cuda_error, cublas_error, curand_error); telling the same fitness
  /// again then gives the uninterrupted run's bits (tested by failing each call in turn on the CUDA
  /// emulator). After an error that loses the CUDA context (a kernel fault), every later call throws.
  void tell(const float* fitness, std::size_t n) override;

  /// cuda backend only (logic_error otherwise): the current population as a device pointer
  /// (N x D, row-major, parameter space), valid until the next tell. No copy and no synchronization:
  /// the values are ready in stream order on stream(), so enqueue the evaluation on stream() (or
  /// synchronize it before using another stream). The optimizer's device is the one current when it
  /// was constructed; make it current before launching work on stream().
  population_view ask_device();

  /// cuda backend only: tell() with the N fitness values in device memory. They are read in stream
  /// order on stream() (synchronize any other stream that wrote them first). Validates and throws
  /// exactly like tell(). Synchronizes stream() (the fitness summary decides what happens next),
  /// after finishing pending tell_device_async() tells (whose error it then throws, see there).
  void tell_device(const float* d_fitness, std::size_t n);

  /// cuda backend only: tell_device() without waiting for the device, for loops that stay on it.
  /// Where the update is one fused kernel (D <= 8) and no on_generation observer is attached, the
  /// fitness checks and the best-so-far run on the device too, so the call only enqueues work on
  /// stream() and advances generation(); elsewhere it is exactly tell_device(). The host catches up
  /// at synchronize(), which any call that waits for the device makes first (ask, tell,
  /// tell_device), and which throws a bad fitness value of any generation told this way:
  /// invalid_argument "generation g: fitness[i] = v ...", the optimizer rewound to generation g
  /// (its population, x0, best-so-far, counters and noise position), as if that tell had thrown.
  /// Until then best(), best_fitness(), x0() and save() throw logic_error, and has_best(),
  /// last_nonfinite() and total_nonfinite() hold their values from the last synchronization.
  /// Validation of the call itself (length, null, state) is immediate, as in tell_device().
  void tell_device_async(const float* d_fitness, std::size_t n);

  /// Waits for the tells of tell_device_async() and brings the host state up to date (see there).
  /// Does nothing when none are pending (and on the cpu backend).
  void synchronize();

  /// True while tell_device_async() calls await synchronize().
  bool pending() const noexcept;

  /// cuda backend only: a device buffer of N floats owned by the optimizer, a convenient target for
  /// a fitness kernel; tell_device(device_fitness(), N) reads it in place.
  float* device_fitness();

  /// cuda backend only (logic_error otherwise): copies `n` floats of device memory `d_src` (for
  /// example device_fitness()) to host memory `h_dst` on stream(), after the work already queued
  /// there, and waits for the copy. Throws invalid_argument for a null pointer, cuda_error if the
  /// copy fails.
  void download(const float* d_src, float* h_dst, std::size_t n);

  /// The stream every device operation of this optimizer runs on (nullptr on the cpu backend).
  cuda_stream stream() const noexcept;

  /// Calls `cb` after every successful tell() with that generation's record (an empty function
  /// detaches it). Attach a record_writer, a progress_printer or your own. Observing costs one pass
  /// over the fitness and the population per generation (on cuda, copies of both to the host).
  void on_generation(generation_callback cb) override;

  /// Writes the complete state (config, generation, population, x0, projection, noise position,
  /// best-so-far, counters) to `path` in the versioned format of host/checkpoint/checkpoint_format.cpp. The write is
  /// atomic: a temporary file in the same directory is flushed to disk and renamed over `path`, so a
  /// crash leaves either the previous file or the new one. When `path` is a symbolic link the link is
  /// followed: the file it names is replaced and the link stays. Throws checkpoint_error on I/O failure.
  /// Call it between a tell() and the next ask() (or before the first ask()).
  void save(const std::string& path) const;

  /// Resumes from a checkpoint: continuing with the same fitness gives a run bit-identical to the
  /// uninterrupted one on the same backend. Throws checkpoint_error for a missing, truncated,
  /// corrupted or other-version file, or a path that is not a regular file (a directory, a device, a
  /// FIFO: refused before reading), and invalid_argument naming the field when `expect` is given
  /// and the checkpoint's config differs from it (population, dimension, steps, ...). `expect`
  /// also supplies backend and cpu_threads (default: automatic, all threads).
  static optimizer load(const std::string& path, const config* expect = nullptr);

  /// True after T - 1 generations.
  bool done() const noexcept override;
  /// Generations completed so far (0 .. T - 1).
  int generation() const noexcept override;
  /// T - 1.
  int generations() const noexcept override;
  int population_size() const noexcept override;
  int dimension() const noexcept override;
  objective goal() const noexcept override;
  const char* name() const noexcept override;

  /// The x0 estimate of the last tell(), in parameter space (N x D, row-major).
  /// Throws logic_error before the first tell().
  std::vector<float> x0() const;

  /// The best individual told so far (parameters) and its fitness. Throws logic_error if no finite
  /// fitness has been told yet.
  std::vector<float> best() const override;
  float best_fitness() const override;
  bool has_best() const noexcept override;

  /// Non-finite fitness values (weight 0) in the last tell() and over the run.
  int last_nonfinite() const noexcept;
  long long total_nonfinite() const noexcept override;

  /// The backend actually in use (never automatic).
  backend_kind backend() const noexcept override;
  const config& cfg() const noexcept;
  /// The noise schedule alpha[0 .. T-1].
  const std::vector<double>& alphas() const noexcept;

 private:
  struct state;
  explicit optimizer(std::unique_ptr<state> s);
  void check_tell(const void* fitness, std::size_t n, bool device) const;
  void apply(const detail::fitness_summary& sum, double started);
  void require_cuda(const char* call) const;
  void require_settled(const char* call) const;
  std::unique_ptr<state> s_;
};

/// True when a CUDA device can be used (any CUDA error, e.g. no driver, counts as "no device"). The
/// first call with a CUDA driver that reports a device loads the cuda backend (libdiffevo_cuda.so,
/// with the CUDA runtime, cuBLAS and cuRAND); without a driver nothing is loaded.
bool cuda_device_available() noexcept;

/// True when this library was built with its cuda backend (CMake option DIFFEVO_ENABLE_CUDA).
bool built_with_cuda() noexcept;

/// Why cuda_device_available() is false, in words ("" when it is true): built without CUDA, no CUDA
/// driver, the driver's or runtime's error, or why the cuda backend's plugin could not be loaded (for
/// example a CUDA library it needs that the loader cannot find). A backend = cuda request throws
/// device_unavailable with the same reason.
std::string cuda_unavailable_reason();

}  // namespace diffevo
