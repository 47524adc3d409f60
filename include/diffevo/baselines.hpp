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
/// OpenES's update of the mean: `adam` (beta1 0.99, beta2 0.999) or `momentum` (SGD with
/// open_es_config::momentum).
enum class es_optimizer { adam, momentum };

/// The settings of OpenES (see fitness_shaping for the algorithm); defaults are estool's.
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
///
/// Every member runs on the host; none does device work.
class baseline_strategy : public strategy {
 public:
  using strategy::tell;
  /// Frees the strategy.
  /// @note Host only; no device work.
  ~baseline_strategy() override;
  /// Takes over another strategy's run, which may then only be destroyed or assigned to.
  /// @note Host only; no device work.
  baseline_strategy(baseline_strategy&&) noexcept;
  /// Takes over another strategy's run, which may then only be destroyed or assigned to.
  /// @return *this.
  /// @note Host only; no device work.
  baseline_strategy& operator=(baseline_strategy&&) noexcept;

  /// The population to evaluate.
  /// @return N x D parameters, host memory, valid until the next tell().
  /// @note Host only; no device work.
  population_view ask() override;
  /// Gives the fitness of the last ask()'s population and updates the search distribution.
  ///
  /// NaN and infinity in the losing direction rank last and are counted; when no value is finite
  /// the distribution is kept. On the throws below the state is unchanged; an exception from the
  /// on_generation() observer propagates after the generation has been applied.
  /// @param fitness n host values, in the order of ask()'s rows.
  /// @param n The number of values; must equal N.
  /// @throws logic_error before ask() or after done().
  /// @throws invalid_argument for a wrong length, a null pointer, or +infinity in the winning
  ///         direction (naming the index and value).
  /// @note Host only; no device work.
  void tell(const float* fitness, std::size_t n) override;
  /// @return True after generations() tells.
  /// @note Host only; no device work.
  bool done() const noexcept override;
  /// @return Tells given so far (0 .. generations()).
  /// @note Host only; no device work.
  int generation() const noexcept override;
  /// @return The config's generations.
  /// @note Host only; no device work.
  int generations() const noexcept override;
  /// @return N, the config's population.
  /// @note Host only; no device work.
  int population_size() const noexcept override;
  /// @return D, the config's dimension.
  /// @note Host only; no device work.
  int dimension() const noexcept override;
  /// @return The config's goal.
  /// @note Host only; no device work.
  objective goal() const noexcept override;
  /// The best individual told so far.
  /// @return Its D parameters.
  /// @throws logic_error before any finite fitness was told.
  /// @note Host only; no device work.
  std::vector<float> best() const override;
  /// The fitness of best().
  /// @return The best finite fitness told so far.
  /// @throws logic_error before any finite fitness was told.
  /// @note Host only; no device work.
  float best_fitness() const override;
  /// @return True once a finite fitness has been told.
  /// @note Host only; no device work.
  bool has_best() const noexcept override;
  /// @return Non-finite fitness values told over the run.
  /// @note Host only; no device work.
  long long total_nonfinite() const noexcept override;
  /// @return "cma-es", "open-es" or "pepg".
  /// @note Host only; no device work.
  const char* name() const noexcept override;
  /// Calls `cb` after every successful tell() with that generation's record.
  ///
  /// Records as the optimizer's, from the told fitness and the next population (its spread); alpha,
  /// alpha_next and effective_neighbours are NaN. Observing costs one pass over both per generation.
  /// @param cb The observer; an empty function detaches it.
  /// @note Host only; no device work.
  void on_generation(generation_callback cb) override;

  /// The current search distribution's mean.
  /// @return D values.
  /// @note Host only; no device work.
  std::vector<float> mean() const;

  /// Writes the run to a checkpoint file.
  ///
  /// The file holds its config, the generation and every fitness told so far, in the checkpoint
  /// container of host/checkpoint/checkpoint_format.cpp (versioned, CRC-32-checked), written
  /// atomically (a temporary file renamed over `path`). The load of each baseline replays those tells from the
  /// seed, so the resumed run continues bit for bit as the uninterrupted one would. For this every
  /// baseline keeps the fitness it was told (4 N bytes per generation, in memory and in the file),
  /// and loading costs the updates again (not the fitness evaluations; CMA-ES: an O(D^3)
  /// eigendecomposition per generation). A symbolic link at `path` is followed (its target is
  /// replaced).
  /// @param path The file to write.
  /// @throws checkpoint_error on I/O failure.
  /// @note Host only; no device work.
  void save(const std::string& path) const;

 protected:
  /// For the baselines' constructors: takes the strategy's state and draws its first population.
  /// @param s The state (an internal type).
  /// @note Host only; no device work.
  explicit baseline_strategy(std::unique_ptr<detail::baseline_state> s);
  std::unique_ptr<detail::baseline_state> s_;  ///< the strategy's state (internal)
};

/// CMA-ES (see cma_es_config).
class cma_es final : public baseline_strategy {
 public:
  /// Validates the config and draws the first population.
  /// @param cfg The settings (dimension at most 4096 for the full covariance).
  /// @throws invalid_argument naming the field and value.
  /// @throws out_of_memory when the population or the covariance does not fit.
  /// @note Host only; no device work.
  explicit cma_es(const cma_es_config& cfg);
  /// The run saved at `path` (baseline_strategy::save), at its generation.
  /// @param path The file to read.
  /// @param expect If given, the config the checkpoint must hold (checked before anything is
  ///        allocated), but for `generations`: the run goes on to expect->generations, which may
  ///        be larger than the saved count (extending a finished run) or smaller, down to the
  ///        generations already told.
  /// @return The resumed strategy; continuing with the same fitness continues the run bit for bit.
  /// @throws checkpoint_error for a file that is missing, truncated, corrupted, of another format
  ///         version, not a baseline checkpoint or another baseline's, whose config or told fitness
  ///         is invalid, or a path that is not a regular file.
  /// @throws invalid_argument naming the first field where its config differs from `*expect`, or an
  ///         expect->generations below the generations the file has told.
  /// @throws out_of_memory as the constructor, for the file's config.
  /// @note Host only; no device work. Loading replays the saved tells (the updates, not the fitness
  ///       evaluations).
  static cma_es load(const std::string& path, const cma_es_config* expect = nullptr);
  /// @return The current step size sigma.
  /// @note Host only; no device work.
  double sigma() const noexcept;
  /// The lambda recombination weights by rank (best first).
  /// @return lambda weights: the first mu sum to 1, the others are negative and sum to
  ///         -min(1 + c1 / cmu, 1 + 2 mueff- / (mueff + 2), (1 - c1 - cmu) / (D cmu)).
  /// @note Host only; no device work.
  const std::vector<double>& weights() const noexcept;
};

/// OpenES (see fitness_shaping and open_es_config).
class open_es final : public baseline_strategy {
 public:
  /// Validates the config and draws the first population.
  /// @param cfg The settings.
  /// @throws invalid_argument naming the field and value.
  /// @throws out_of_memory when the population does not fit.
  /// @note Host only; no device work.
  explicit open_es(const open_es_config& cfg);
  /// The run saved at `path`, as cma_es::load.
  /// @param path The file to read.
  /// @param expect If given, the config the checkpoint must hold.
  /// @return The resumed strategy.
  /// @throws checkpoint_error as cma_es::load.
  /// @throws invalid_argument as cma_es::load.
  /// @throws out_of_memory as cma_es::load.
  /// @note Host only; no device work. Loading replays the saved tells (the updates, not the fitness
  ///       evaluations).
  static open_es load(const std::string& path, const open_es_config* expect = nullptr);
};

/// PEPG (see pepg_config).
class pepg final : public baseline_strategy {
 public:
  /// Validates the config and draws the first population.
  /// @param cfg The settings.
  /// @throws invalid_argument naming the field and value.
  /// @throws out_of_memory when the population does not fit.
  /// @note Host only; no device work.
  explicit pepg(const pepg_config& cfg);
  /// The run saved at `path`, as cma_es::load.
  /// @param path The file to read.
  /// @param expect If given, the config the checkpoint must hold.
  /// @return The resumed strategy.
  /// @throws checkpoint_error as cma_es::load.
  /// @throws invalid_argument as cma_es::load.
  /// @throws out_of_memory as cma_es::load.
  /// @note Host only; no device work. Loading replays the saved tells (the updates, not the fitness
  ///       evaluations).
  static pepg load(const std::string& path, const pepg_config* expect = nullptr);
};

}  // namespace diffevo
