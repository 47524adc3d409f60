#pragma once
/// \file
/// The ask/tell interface every evolution strategy of the library implements: Diffusion Evolution
/// (`optimizer`) and the baselines (`cma_es`, `open_es`, `pepg`), so one loop or one `run()` call
/// drives any of them.

#include <cstddef>
#include <vector>

#include "diffevo/config.hpp"
#include "diffevo/observe.hpp"

namespace diffevo {

/// A read-only N x D row-major matrix (one individual per contiguous row): host memory from ask(),
/// device memory from optimizer::ask_device().
struct population_view {
  const float* data = nullptr;  ///< the first row (host or device memory; not owned)
  int rows = 0;                 ///< N, individuals
  int cols = 0;                 ///< D, parameters per individual
  /// Row i (an individual's D parameters).
  /// @param i The row, in [0, rows) (not checked).
  /// @return data + i * cols.
  /// @note Pointer arithmetic only: it never reads the memory, so it works on device pointers too.
  const float* row(int i) const { return data + static_cast<std::size_t>(i) * cols; }
  /// @return rows * cols, the number of floats in the matrix.
  /// @note Host only; no device work.
  std::size_t size() const { return static_cast<std::size_t>(rows) * cols; }
};

/// The ask/tell interface.
///
/// A run has generations() tells; ask() after done() returns the final population. (open_ended, whose
/// generations() is -1, evaluates its last population inside the run: its ask() after done() throws
/// logic_error.) Non-finite
/// fitness never enters the search (each strategy documents how it is treated) and is counted. Not
/// thread-safe. Whether a call waits for a device is the implementation's: the baselines are host
/// only; see optimizer for the cuda backend.
class strategy {
 public:
  /// Destroys the strategy.
  virtual ~strategy() = default;

  /// The population to evaluate, on the host.
  /// @return N x D parameters, valid until the next tell().
  /// @note The baselines: host only. optimizer::ask() waits for the device on the cuda backend.
  virtual population_view ask() = 0;
  /// Gives the fitness of the last ask()'s population.
  ///
  /// On the throws below the state is unchanged.
  /// @param fitness n host values, one per individual, in the order of ask()'s rows.
  /// @param n The number of values: population_size().
  /// @throws logic_error before ask() or after done().
  /// @throws invalid_argument for a wrong length, a null pointer or +infinity in the winning
  ///         direction (the optimizer also refuses values its density mapping cannot take).
  /// @note The baselines: host only. optimizer::tell() waits for the device on the cuda backend.
  virtual void tell(const float* fitness, std::size_t n) = 0;
  /// tell(fitness.data(), fitness.size()).
  /// @param fitness One host value per individual.
  /// @throws logic_error as tell(const float*, std::size_t).
  /// @throws invalid_argument as tell(const float*, std::size_t).
  /// @note As tell(const float*, std::size_t).
  void tell(const std::vector<float>& fitness) { tell(fitness.data(), fitness.size()); }

  /// @return True once generations() tells have been given.
  /// @note Host only; no device work.
  virtual bool done() const noexcept = 0;
  /// @return Tells given so far (0 .. generations()).
  /// @note Host only; no device work.
  virtual int generation() const noexcept = 0;
  /// @return The tells in a run.
  /// @note Host only; no device work.
  virtual int generations() const noexcept = 0;
  /// @return N, the individuals per population.
  /// @note Host only; no device work.
  virtual int population_size() const noexcept = 0;
  /// @return D, the parameters per individual.
  /// @note Host only; no device work.
  virtual int dimension() const noexcept = 0;
  /// @return Whether larger or smaller fitness is better.
  /// @note Host only; no device work.
  virtual objective goal() const noexcept = 0;

  /// The best individual told so far.
  /// @return Its D parameters.
  /// @throws logic_error before any finite fitness was told (the optimizer: also while
  ///         tell_device_async() tells are pending).
  /// @note Host only; no device work.
  virtual std::vector<float> best() const = 0;
  /// The fitness of best().
  /// @return The best finite fitness told so far.
  /// @throws logic_error as best().
  /// @note Host only; no device work.
  virtual float best_fitness() const = 0;
  /// @return True once a finite fitness has been told (best() then has a value).
  /// @note Host only; no device work.
  virtual bool has_best() const noexcept = 0;
  /// @return Non-finite fitness values told over the run.
  /// @note Host only; no device work.
  virtual long long total_nonfinite() const noexcept = 0;
  /// @return "diffusion-evolution", "cma-es", "open-es", "pepg" (or a strategy's own name).
  /// @note Host only; no device work.
  virtual const char* name() const noexcept = 0;
  /// Where the strategy computes.
  /// @return cpu unless overridden (the baselines: cpu; the optimizer: its backend).
  /// @note Host only; no device work.
  virtual backend_kind backend() const noexcept { return backend_kind::cpu; }

  /// Calls `cb` after every successful tell() with that generation's record.
  ///
  /// Attach a record_writer, a progress_printer or your own. The baselines leave the diffusion-only
  /// fields (alpha, alpha_next, effective_neighbours) NaN. The observer may call on_generation() from
  /// inside its own call, to replace or detach itself (stop observing after some generations): the
  /// running call finishes with its own state, and the change holds from the next generation.
  /// @param cb The observer; an empty function detaches it.
  /// @throws logic_error for a non-empty `cb` in a strategy of your own that does not override this
  ///         (detaching does nothing).
  /// @note Host only; no device work (attaching; observing on the cuda backend makes each tell wait
  ///       for the device, see optimizer::on_generation()).
  virtual void on_generation(generation_callback cb);
};

}  // namespace diffevo
