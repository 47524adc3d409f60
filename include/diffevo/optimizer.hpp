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

/// A CUDA stream handle (the same type as `cudaStream_t`); nullptr where there is none.
using cuda_stream = CUstream_st*;

namespace detail {
class backend;
struct fitness_summary;
struct optimizer_access;
}

/// Where a run starts when it does not start from noise: a warm start from a known population, or
/// the continuation of a finished run at a chosen noise level (docs/algorithm.md §8).
struct start_point {
  /// N x D parameters, row-major (host memory): the population to start from. Each value finite, and
  /// within `center +- scale * k_max_abs_x` of the config's parameter map.
  std::vector<float> population;
  /// The generation to start at, 0 .. T - 1: the run continues with that generation's noise level
  /// alpha[T - 1 - generation] and has T - 1 - generation generations left.
  int generation = 0;
  /// true: `population` is taken as clean points and diffused to the level, x = sqrt(alpha) x_given +
  /// sqrt(1 - alpha) eps, with eps the run's first N x D draw (so the seed decides it); false: the
  /// population is the state as it is.
  bool diffuse = true;
};

/// Diffusion Evolution with an ask/tell interface.
///
/// A run has T - 1 generations. Each generation: `ask()` returns the population in parameter space
/// `p = center + scale * x`; the caller evaluates it and passes the N fitness values to `tell()`,
/// which maps fitness to density (docs/algorithm.md §3), estimates x0 and applies the DDIM update (docs/algorithm.md §4).
/// After T - 1 tells `done()` is true and `ask()` returns the final (clean) population.
///
/// Not thread-safe: one optimizer is driven by one thread at a time. Move-only.
///
/// Device work (cuda backend): every operation runs on stream() on the device that was current at
/// construction. Each member's note says whether it waits for the device or only enqueues work on
/// stream(). On the cpu backend every member is host only.
class optimizer final : public strategy {
 public:
  using strategy::tell;
  /// Starts a run: validates `cfg`, picks the backend and draws the initial population
  /// x ~ N(0, I) from the seed.
  ///
  /// The backend is cuda for backend = cuda, or for automatic when cuda_device_available(); else
  /// cpu. On cuda the device current now owns the run.
  /// @param cfg The run's configuration (copied; cfg() returns it).
  /// @throws invalid_argument naming the first bad field and its value (validate()).
  /// @throws device_unavailable if backend = cuda and no CUDA device can be used (with the reason).
  /// @throws out_of_memory when the population does not fit in host memory (cpu) or in the free
  ///         device memory (cuda), or when allocating its buffers fails.
  /// @throws cuda_error if a CUDA call fails while setting up the cuda backend.
  /// @throws cublas_error if creating the cuBLAS handle fails (cuda backend).
  /// @throws curand_error if creating the generator or drawing the population fails (cuda backend).
  /// @throws std::system_error if the cpu backend's worker threads cannot start (the initial draw
  ///         runs on them from 8,192 floats up).
  /// @note cuda backend: waits for the device (the initial population is ready when it returns).
  ///       cpu backend: host only.
  explicit optimizer(const config& cfg);
  /// Starts a run from a given population at a given generation (warm start, continuation).
  ///
  /// The run then is the run of `cfg` from `start.generation` on: the same noise draws as a run that
  /// had reached that generation, x0() returns the given population until the next tell() (for
  /// start.generation > 0; at generation 0, as in a fresh run, x0() throws until the first tell()),
  /// and a checkpoint of it resumes like any other.
  /// @param cfg The run's configuration (as the other constructor).
  /// @param start The population and the generation (see start_point).
  /// @throws invalid_argument naming the field: a bad `cfg` field; start.generation outside
  ///         [0, T - 1]; start.population of the wrong size (naming both sizes), or a value that is not
  ///         finite or lies outside the parameter map's range (naming its row, column and value).
  /// @throws device_unavailable, out_of_memory, cuda_error, cublas_error, curand_error as the other
  ///         constructor.
  /// @note cuda backend: waits for the device (construction and the upload of the population).
  optimizer(const config& cfg, const start_point& start);
  /// Ends the run and frees its memory.
  /// @note cuda backend: waits for the work queued on stream() first (a failure there is ignored);
  ///       never throws.
  ~optimizer();
  /// Takes over the run of another optimizer, which may then only be destroyed or assigned to.
  /// @note Host only; no device work.
  optimizer(optimizer&&) noexcept;
  /// Takes over the run of another optimizer, which may then only be destroyed or assigned to; this
  /// optimizer's previous run ends as in the destructor.
  /// @return *this.
  /// @note cuda backend: waits for the previous run's stream, as the destructor does.
  optimizer& operator=(optimizer&&) noexcept;
  optimizer(const optimizer&) = delete;
  optimizer& operator=(const optimizer&) = delete;

  /// The current population in parameter space, on the host.
  ///
  /// Calls synchronize() first, so it throws a pending tell_device_async() error.
  /// @return N x D parameters, row-major, valid until the next tell().
  /// @throws invalid_argument for a bad fitness value of a pending tell_device_async() generation
  ///         (see synchronize()).
  /// @throws cuda_error if copying the population to the host fails (cuda backend), or as
  ///         synchronize().
  /// @throws curand_error as synchronize().
  /// @note cuda backend: waits for stream() (the copy to the host follows all work queued there).
  ///       cpu backend: host only.
  population_view ask() override;

  /// Gives the fitness of the population returned by the last ask() and applies one generation.
  ///
  /// Maps fitness to density (docs/algorithm.md §3), estimates x0 and applies the DDIM update
  /// (docs/algorithm.md §4). On the throws below the optimizer state is unchanged (a pending
  /// tell_device_async() error rewinds it, see synchronize()) and the call can be retried; telling
  /// the same fitness again then gives the uninterrupted run's bits. After an error that loses the
  /// CUDA context (a kernel fault), every later call throws. An exception from the on_generation()
  /// observer propagates after the generation has been applied.
  /// @param fitness n host values, in the order of ask()'s rows.
  /// @param n The number of values; must equal N.
  /// @throws logic_error before ask() or after done().
  /// @throws invalid_argument for a wrong length, a null pointer, a negative fitness under
  ///         identity/power, or +inf in the winning direction (naming the index and value); or a
  ///         pending tell_device_async() error (synchronize(), called first).
  /// @throws out_of_memory if the update cannot allocate device memory (cuda backend); the cpu
  ///         backend's update buffers throw a plain std::bad_alloc (out_of_memory's base).
  /// @throws cuda_error if a CUDA call of the update fails (cuda backend).
  /// @throws cublas_error if a cuBLAS call of the update fails (cuda backend).
  /// @throws curand_error if drawing the noise fails (cuda backend).
  /// @throws std::system_error if the cpu backend's worker threads cannot start; the state is
  ///         unchanged, as for the throws above, and a retry gives the same bits.
  /// @note cuda backend: waits for stream() while the fitness is copied and summarized; the update
  ///       is then enqueued on stream() without waiting for it (the next call that waits does). With
  ///       an on_generation() observer it also waits for the update. cpu backend: host only.
  void tell(const float* fitness, std::size_t n) override;

  /// Replaces `count` rows of the population, from row `first`, with given parameters (injecting
  /// outside candidates, repairing points that left a box).
  ///
  /// The rows take part in the next tell() like any other: call ask() (or ask_device()) again for the
  /// population to evaluate. Everything else (noise position, x0, best-so-far) is unchanged. Not for
  /// an optimizer whose update is sharded across processes (diffevo::mpi).
  /// @param first The first row replaced, 0 <= first <= N.
  /// @param count The rows replaced, 0 <= count <= N - first; 0 does nothing.
  /// @param params count x D parameters, row-major (host memory).
  /// @throws invalid_argument naming the argument: a range outside the population, a null pointer,
  ///         or a value that is not finite or outside the parameter map's range (row, column, value).
  ///         The population is unchanged then.
  /// @throws logic_error while tell_device_async() tells are pending.
  /// @throws cuda_error if copying the population fails (cuda backend).
  /// @note cuda backend: waits for stream() (the population is copied to the host and back).
  void replace_rows(int first, int count, const float* params);

  /// The current population as a device pointer (cuda backend only).
  ///
  /// No copy: the values are ready in stream order on stream(), so enqueue the evaluation on
  /// stream() (or synchronize it before using another stream). The optimizer's device is the one
  /// current when it was constructed; make it current before launching work on stream().
  /// @return N x D parameters, row-major, in device memory, valid until the next tell.
  /// @throws logic_error on the cpu backend.
  /// @note No device work and no synchronization (pending tell_device_async() tells stay pending).
  population_view ask_device();

  /// tell() with the N fitness values in device memory (cuda backend only).
  ///
  /// The values are read in stream order on stream() (synchronize any other stream that wrote them
  /// first). Validates and throws exactly like tell().
  /// @param d_fitness n floats of device memory, for example device_fitness() (read in place).
  /// @param n The number of values; must equal N.
  /// @throws logic_error on the cpu backend, before ask() or ask_device(), or after done().
  /// @throws invalid_argument as tell(), including a pending tell_device_async() error.
  /// @throws out_of_memory as tell().
  /// @throws cuda_error as tell().
  /// @throws cublas_error as tell().
  /// @throws curand_error as tell().
  /// @note Finishes pending tell_device_async() tells first (synchronize()), then waits for stream()
  ///       while the fitness is summarized (the summary decides what happens next); the update is
  ///       enqueued on stream() without waiting for it, as in tell().
  void tell_device(const float* d_fitness, std::size_t n);

  /// tell_device() without waiting for the device, for loops that stay on it (cuda backend only).
  ///
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
  /// @param d_fitness n floats of device memory, read in stream order on stream().
  /// @param n The number of values; must equal N.
  /// @throws logic_error on the cpu backend, before ask() or ask_device(), or after done().
  /// @throws invalid_argument for a wrong length or a null pointer (bad fitness values: at
  ///         synchronize()); where it is tell_device(), as tell_device().
  /// @throws out_of_memory as tell_device(), or if enqueueing the work fails (the generation is
  ///         then not told).
  /// @throws cuda_error as out_of_memory, for a failing CUDA call.
  /// @throws cublas_error as out_of_memory, for a failing cuBLAS call.
  /// @throws curand_error as out_of_memory, for a failing cuRAND call.
  /// @note Only enqueues on stream() where the update is fused (D <= 8) and no observer is
  ///       attached; elsewhere it waits as tell_device().
  void tell_device_async(const float* d_fitness, std::size_t n);

  /// Waits for the tells of tell_device_async() and brings the host state up to date (see there).
  ///
  /// Does nothing when none are pending (and on the cpu backend); in particular it does not wait for
  /// other work on stream() then.
  /// @throws invalid_argument for a bad fitness value of a pending generation g ("generation g:
  ///         fitness[i] = v ..."), the optimizer rewound to generation g.
  /// @throws cuda_error if reading the results back fails; the tells then stay pending and a later
  ///         synchronize() retries.
  /// @throws curand_error if rewinding the noise position to generation g fails (the tells stay
  ///         pending).
  /// @note Waits for stream() when tells are pending; otherwise no device work.
  void synchronize();

  /// @return True while tell_device_async() calls await synchronize().
  /// @note Host only; no device work.
  bool pending() const noexcept;

  /// A device buffer of N floats owned by the optimizer (cuda backend only).
  ///
  /// A convenient target for a fitness kernel; tell_device(device_fitness(), N) reads it in place.
  /// @return The buffer's device pointer, the same for the optimizer's lifetime.
  /// @throws logic_error on the cpu backend.
  /// @note No device work and no synchronization.
  float* device_fitness();

  /// Copies `n` floats of device memory to host memory (cuda backend only).
  /// @param d_src n floats of device memory (for example device_fitness()).
  /// @param h_dst n floats of host memory.
  /// @param n The number of floats; 0 does nothing.
  /// @throws logic_error on the cpu backend.
  /// @throws invalid_argument for a null pointer (n > 0).
  /// @throws cuda_error if the copy fails.
  /// @note Waits for stream(): the copy runs on it after the work already queued there, and has
  ///       landed in `h_dst` when the call returns.
  void download(const float* d_src, float* h_dst, std::size_t n);

  /// The stream every device operation of this optimizer runs on.
  /// @return A non-blocking stream (it does not synchronize with the legacy default stream) of the
  ///         optimizer's device, owned by the optimizer; nullptr on the cpu backend.
  /// @note Host only; no device work.
  cuda_stream stream() const noexcept;

  /// Calls `cb` after every successful tell() with that generation's record.
  ///
  /// Attach a record_writer, a progress_printer or your own. Observing costs one pass over the
  /// fitness and the population per generation (on cuda, copies of both to the host).
  /// @param cb The observer; an empty function detaches it.
  /// @note Attaching is host only. While an observer is attached, each cuda tell waits for the
  ///       device (including its update), and tell_device_async() is tell_device().
  void on_generation(generation_callback cb) override;

  /// Writes the complete state to a checkpoint file.
  ///
  /// The state is the config, generation, population, x0, projection, noise position, best-so-far
  /// and counters, in the versioned format of host/checkpoint/checkpoint_format.cpp. The write is
  /// atomic: a temporary file in the same directory is flushed to disk and renamed over `path`, so a
  /// crash leaves either the previous file or the new one. When `path` is a symbolic link the link is
  /// followed: the file it names is replaced and the link stays. Call it between a tell() and the
  /// next ask() (or before the first ask()).
  /// @param path The file to write.
  /// @throws logic_error while tell_device_async() tells are pending.
  /// @throws checkpoint_error on I/O failure.
  /// @throws cuda_error if copying the state to the host fails (cuda backend).
  /// @note cuda backend: waits for stream() (the state is copied after all work queued there).
  ///       cpu backend: host only.
  void save(const std::string& path) const;

  /// Resumes from a checkpoint written by save().
  ///
  /// Continuing with the same fitness gives a run bit-identical to the uninterrupted one on the same
  /// backend. The loaded optimizer is at the saved generation, waiting for an ask().
  /// @param path The file to read.
  /// @param expect If given, the config the checkpoint must hold (population, dimension, steps, ...);
  ///        it also supplies backend, cpu_threads and cpu_math (default: automatic, all threads,
  ///        automatic); checkpoints do not record these.
  /// @return The resumed optimizer.
  /// @throws checkpoint_error for a missing, truncated, corrupted or other-version file, a file whose
  ///         contents do not form a valid run, or a path that is not a regular file (a directory, a
  ///         device, a FIFO: refused before reading).
  /// @throws invalid_argument naming the field when `expect` is given and the checkpoint's config
  ///         differs from it.
  /// @throws device_unavailable as the constructor.
  /// @throws out_of_memory as the constructor.
  /// @throws cuda_error as the constructor, or if uploading the state fails (cuda backend).
  /// @throws cublas_error as the constructor.
  /// @throws curand_error as the constructor, or if setting the noise position fails (cuda backend).
  /// @note cuda backend: waits for the device (the construction and the upload of the state).
  ///       cpu backend: host only.
  static optimizer load(const std::string& path, const config* expect = nullptr);

  /// @return True after T - 1 generations (counting tell_device_async() tells not yet
  ///         synchronized).
  /// @note Host only; no device work.
  bool done() const noexcept override;
  /// @return Generations completed so far (0 .. T - 1), tell_device_async() tells included.
  /// @note Host only; no device work.
  int generation() const noexcept override;
  /// @return T - 1.
  /// @note Host only; no device work.
  int generations() const noexcept override;
  /// @return N.
  /// @note Host only; no device work.
  int population_size() const noexcept override;
  /// @return D.
  /// @note Host only; no device work.
  int dimension() const noexcept override;
  /// @return cfg().goal.
  /// @note Host only; no device work.
  objective goal() const noexcept override;
  /// @return "diffusion-evolution".
  /// @note Host only; no device work.
  const char* name() const noexcept override;

  /// The x0 estimate of the last tell(), in parameter space.
  /// @return N x D values, row-major.
  /// @throws logic_error before the first tell(), or while tell_device_async() tells are pending.
  /// @throws cuda_error if copying it to the host fails (cuda backend).
  /// @note cuda backend: waits for stream() (the copy follows all work queued there). cpu backend:
  ///       host only.
  std::vector<float> x0() const;

  /// The best individual told so far.
  /// @return Its D parameters.
  /// @throws logic_error if no finite fitness has been told yet, or while tell_device_async() tells
  ///         are pending.
  /// @note Host only; no device work (a host copy kept by tell()).
  std::vector<float> best() const override;
  /// The fitness of best().
  /// @return The best finite fitness told so far.
  /// @throws logic_error as best().
  /// @note Host only; no device work.
  float best_fitness() const override;
  /// @return True once a finite fitness has been told (tell_device_async() tells count once
  ///         synchronized).
  /// @note Host only; no device work.
  bool has_best() const noexcept override;

  /// @return Non-finite fitness values (weight 0) in the last tell() (tell_device_async() tells
  ///         count once synchronized).
  /// @note Host only; no device work.
  int last_nonfinite() const noexcept;
  /// @return Non-finite fitness values (weight 0) over the run (tell_device_async() tells count
  ///         once synchronized).
  /// @note Host only; no device work.
  long long total_nonfinite() const noexcept override;

  /// @return The backend actually in use (never automatic).
  /// @note Host only; no device work.
  backend_kind backend() const noexcept override;
  /// @return The configuration the optimizer was constructed (or loaded) with.
  /// @note Host only; no device work.
  const config& cfg() const noexcept;
  /// @return The noise schedule alpha[0 .. T-1].
  /// @note Host only; no device work.
  const std::vector<double>& alphas() const noexcept;

 private:
  friend struct detail::optimizer_access;  // host/api/optimizer.cpp: the sharded update's seam (mpi/)
  struct state;
  explicit optimizer(std::unique_ptr<state> s);
  void check_tell(const void* fitness, std::size_t n, bool device) const;
  void apply(const detail::fitness_summary& sum, double started);
  void require_cuda(const char* call) const;
  void require_settled(const char* call) const;
  std::unique_ptr<state> s_;
};

/// Whether a CUDA device can be used.
///
/// Any CUDA error (no driver, say) counts as "no device". The first call with a CUDA driver that
/// reports a device loads the cuda backend (libdiffevo_cuda.so, with the CUDA runtime, cuBLAS and
/// cuRAND); without a driver nothing is loaded.
/// @return True when the cuda backend is loaded and the CUDA runtime reports a device.
/// @note Initializes the CUDA driver (and runtime, once the backend is loaded) and asks for the
///       device count; enqueues nothing and waits for no device work.
bool cuda_device_available() noexcept;

/// @return True when this library was built with its cuda backend (CMake option
///         DIFFEVO_ENABLE_CUDA).
/// @note Host only; no device work.
bool built_with_cuda() noexcept;

/// Why cuda_device_available() is false, in words.
///
/// Built without CUDA, no CUDA driver, the driver's or runtime's error, or why the cuda backend's
/// plugin could not be loaded (for example a CUDA library it needs that the loader cannot find). A
/// backend = cuda request throws device_unavailable with the same reason.
/// @return The reason; "" when a device can be used.
/// @note As cuda_device_available(): may initialize CUDA, waits for no device work. Throws no
///       diffevo exception.
std::string cuda_unavailable_reason();

}  // namespace diffevo
