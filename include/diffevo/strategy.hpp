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
  const float* data = nullptr;
  int rows = 0;
  int cols = 0;
  /// Row i (an individual's D parameters).
  const float* row(int i) const { return data + static_cast<std::size_t>(i) * cols; }
  std::size_t size() const { return static_cast<std::size_t>(rows) * cols; }
};

/// Ask/tell. A run has generations() tells; ask() after done() returns the final population.
/// Non-finite fitness never enters the search (each strategy documents how it is treated) and is
/// counted. Not thread-safe.
class strategy {
 public:
  virtual ~strategy() = default;

  /// The population to evaluate, on the host (valid until the next tell()).
  virtual population_view ask() = 0;
  /// The fitness of the last ask()'s population (n values). Throws logic_error before ask() or after
  /// done(), invalid_argument for a wrong length; on a throw the state is unchanged.
  virtual void tell(const float* fitness, std::size_t n) = 0;
  void tell(const std::vector<float>& fitness) { tell(fitness.data(), fitness.size()); }

  virtual bool done() const noexcept = 0;
  virtual int generation() const noexcept = 0;
  virtual int generations() const noexcept = 0;
  virtual int population_size() const noexcept = 0;
  virtual int dimension() const noexcept = 0;
  virtual objective goal() const noexcept = 0;

  /// The best individual told so far and its fitness (logic_error before any finite fitness).
  virtual std::vector<float> best() const = 0;
  virtual float best_fitness() const = 0;
  virtual bool has_best() const noexcept = 0;
  /// Non-finite fitness values told over the run.
  virtual long long total_nonfinite() const noexcept = 0;
  /// "diffusion-evolution", "cma-es", "open-es", "pepg".
  virtual const char* name() const noexcept = 0;
  /// Where the strategy computes (the baselines: cpu).
  virtual backend_kind backend() const noexcept { return backend_kind::cpu; }

  /// Calls `cb` after every successful tell() with that generation's record (an empty function
  /// detaches it): a record_writer, a progress_printer or your own. The baselines leave the
  /// diffusion-only fields (alpha, alpha_next, effective_neighbours) NaN. A strategy of your own that
  /// does not override it throws logic_error here (for a callback; detaching does nothing).
  virtual void on_generation(generation_callback cb);
};

}  // namespace diffevo
