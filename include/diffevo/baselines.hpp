#pragma once
/// \file
/// The baselines a user would otherwise reach for, behind the same ask/tell `strategy` interface as
/// Diffusion Evolution: CMA-ES (Hansen's standard algorithm), OpenES (Salimans et al., with Adam) and
/// PEPG (Sehnke et al., symmetric sampling and per-parameter sigma), the latter two with estool's
/// defaults. They run on the host (they are cheap next to a fitness evaluation); populations are
/// drawn from the same seeded cuRAND Philox sequence type as the optimizer's.
///
/// Fitness: NaN (and infinity in the losing direction) ranks last and is counted; +infinity in the
/// winning direction is rejected like the optimizer does.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "diffevo/strategy.hpp"

namespace diffevo {

/// CMA-ES with the default parameters of Hansen's tutorial (arXiv 1604.00772), active update included
/// (as in pycma and evosax): lambda = population, log weights, positive for the best mu = lambda / 2
/// (the mean and the rank-mu update), negative for the rest (they shrink the covariance along bad
/// directions); cumulative step-size adaptation, rank-one update, full covariance (O(D^2) memory,
/// an O(D^3) eigendecomposition per generation: for D up to a few hundred).
struct cma_es_config {
  int population = 512;           ///< lambda >= 2
  int dimension = 2;              ///< D >= 1
  int generations = 25;           ///< tells in a run, >= 1
  double sigma0 = 1.0;            ///< initial step size, > 0
  std::vector<float> mean0;       ///< initial mean: empty (0) or D values
  objective goal = objective::maximize;
  std::uint64_t seed = 0;
};

/// OpenES: x = mu + sigma eps; the shaped fitness r gives the gradient estimate
/// g = sum_k r_k eps_k / (N sigma), followed by Adam (beta1 0.99, beta2 0.999, estool) or momentum
/// SGD (v = beta v + (1 - beta) g; mu += lr v). sigma and the learning rate decay geometrically to
/// their limits. Defaults are estool's (ranks, L2 decay, standardized, Adam).
enum class fitness_shaping {
  centered_ranks,  ///< ranks in [-0.5, 0.5], then the L2 decay term, then standardized (estool)
  standardized,    ///< raw fitness (plus the L2 term), standardized to mean 0, sd 1
  raw              ///< the fitness as told (plus the L2 term)
};
enum class es_optimizer { adam, momentum };

struct open_es_config {
  int population = 256;        ///< >= 2 (even when antithetic)
  int dimension = 2;
  int generations = 1000;
  double sigma_init = 0.1, sigma_decay = 0.999, sigma_limit = 0.01;
  double learning_rate = 0.01, learning_rate_decay = 0.9999, learning_rate_limit = 0.001;
  double weight_decay = 0.01;  ///< L2 penalty coefficient on the ranked fitness
  bool antithetic = false;     ///< mirrored pairs eps, -eps
  fitness_shaping shaping = fitness_shaping::centered_ranks;
  es_optimizer optimizer = es_optimizer::adam;
  double momentum = 0.9;       ///< es_optimizer::momentum only, in [0, 1)
  std::vector<float> mean0;
  objective goal = objective::maximize;
  std::uint64_t seed = 0;
};

/// PEPG: symmetric pairs mu +- eps, eps ~ N(0, diag(sigma^2)); mu moves by Adam on the pair
/// differences (or to the mean of the elite's perturbations when elite_ratio > 0); each sigma_i
/// adapts from the pairs' average fitness against the baseline. Defaults are estool's.
struct pepg_config {
  int population = 256;  ///< even with the average baseline, odd otherwise (one centre sample)
  int dimension = 2;
  int generations = 25;
  double sigma_init = 0.1, sigma_alpha = 0.2, sigma_decay = 0.999, sigma_limit = 0.01, sigma_max_change = 0.2;
  double learning_rate = 0.01, learning_rate_decay = 0.9999, learning_rate_limit = 0.01;
  double elite_ratio = 0.0;      ///< in [0, 1]
  bool average_baseline = true;  ///< baseline = mean fitness (else the centre sample's)
  double weight_decay = 0.01;
  bool rank_fitness = true;
  std::vector<float> mean0;
  objective goal = objective::maximize;
  std::uint64_t seed = 0;
};

namespace detail {
struct baseline_state;
}

/// Shared implementation of the bookkeeping (ask/tell state machine, best-so-far, non-finite counts).
class baseline_strategy : public strategy {
 public:
  using strategy::tell;
  ~baseline_strategy() override;
  baseline_strategy(baseline_strategy&&) noexcept;
  baseline_strategy& operator=(baseline_strategy&&) noexcept;

  population_view ask() override;
  void tell(const float* fitness, std::size_t n) override;
  bool done() const noexcept override;
  int generation() const noexcept override;
  int generations() const noexcept override;
  int population_size() const noexcept override;
  int dimension() const noexcept override;
  objective goal() const noexcept override;
  std::vector<float> best() const override;
  float best_fitness() const override;
  bool has_best() const noexcept override;
  long long total_nonfinite() const noexcept override;
  const char* name() const noexcept override;
  /// Records as the optimizer's, from the told fitness and the next population (its spread); alpha,
  /// alpha_next and effective_neighbours are NaN. Observing costs one pass over both per generation.
  void on_generation(generation_callback cb) override;

  /// The current search distribution's mean (D values).
  std::vector<float> mean() const;

  /// Writes the run to `path`: its config, the generation and every fitness told so far, in the
  /// checkpoint container of host/checkpoint/checkpoint_format.cpp (versioned, CRC-32-checked), atomically (a
  /// temporary file renamed over `path`). The load of each baseline replays those tells from the
  /// seed, so the resumed run continues bit for bit as the uninterrupted one would. For this every
  /// baseline keeps the fitness it was told (4 N bytes per generation, in memory and in the file),
  /// and loading costs the updates again (not the fitness evaluations; CMA-ES: an O(D^3)
  /// eigendecomposition per generation). A symbolic link at `path` is followed (its target is
  /// replaced). Throws checkpoint_error on I/O failure.
  void save(const std::string& path) const;

 protected:
  explicit baseline_strategy(std::unique_ptr<detail::baseline_state> s);
  std::unique_ptr<detail::baseline_state> s_;
};

class cma_es final : public baseline_strategy {
 public:
  /// Validates (invalid_argument naming the field and value) and draws the first population.
  explicit cma_es(const cma_es_config& cfg);
  /// The run saved at `path` (baseline_strategy::save), at its generation. Throws checkpoint_error for
  /// a file that is missing, corrupted, not a baseline checkpoint or another baseline's, a path that
  /// is not a regular file, and
  /// invalid_argument naming the first field where its config differs from `*expect` (if given;
  /// checked before anything is allocated). Without `expect` the file's config is built as the
  /// constructor would build it, out_of_memory included.
  static cma_es load(const std::string& path, const cma_es_config* expect = nullptr);
  /// The current step size sigma.
  double sigma() const noexcept;
  /// The lambda recombination weights by rank (best first): the first mu sum to 1, the others are
  /// negative and sum to -min(1 + c1 / cmu, 1 + 2 mueff- / (mueff + 2), (1 - c1 - cmu) / (D cmu)).
  const std::vector<double>& weights() const noexcept;
};

class open_es final : public baseline_strategy {
 public:
  explicit open_es(const open_es_config& cfg);
  /// As cma_es::load.
  static open_es load(const std::string& path, const open_es_config* expect = nullptr);
};

class pepg final : public baseline_strategy {
 public:
  explicit pepg(const pepg_config& cfg);
  /// As cma_es::load.
  static pepg load(const std::string& path, const pepg_config* expect = nullptr);
};

}  // namespace diffevo
