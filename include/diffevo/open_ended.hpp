#pragma once
/// \file
/// Open-ended Diffusion Evolution (docs/algorithm.md §8): runs that go on past one schedule. A run is a
/// sequence of cycles, each one Diffusion Evolution schedule (an `optimizer`). After a cycle the run
/// continues by re-diffusing its final population to a chosen noise level and denoising again
/// (continuation), or restarts from noise with a fresh seed and optionally a larger population
/// (IPOP-style restarts). Good, distinct points found along the way are kept in an archive. Box
/// constraints, rank-based fitness shaping and stopping criteria (target, flat fitness, evaluation
/// budget, wall time) complete it. Every part is off by default.

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "diffevo/config.hpp"
#include "diffevo/optimize.hpp"
#include "diffevo/optimizer.hpp"
#include "diffevo/strategy.hpp"

namespace diffevo {

/// What happens to a point outside the box.
enum class bound_rule {
  reflect,   ///< mirrored back into the box at the violated face (repeatedly; the population keeps the result)
  clip,      ///< moved to the nearest point of the box (the population keeps the result)
  penalize,  ///< evaluated at the nearest point of the box, its fitness worsened by penalty x squared distance
};

/// How fitness becomes the density of the update.
enum class density_shaping {
  none,  ///< the run config's density mapping
  rank,  ///< log g = -rank / ((N - 1) rank_temperature): only the order of the fitness matters (ties share a rank)
};

/// Everything that defines an open-ended run. validate() checks every field.
struct open_ended_config {
  /// The first cycle's Diffusion Evolution config (population, dimension, steps, seed, density,
  /// backend, ...). Later cycles change only the seed (and the population, see population_growth).
  config run;

  /// A warm start: when start.population is not empty, the first cycle starts from it (see
  /// start_point; a mean and spread is run.center and run.scale instead).
  start_point start;

  /// The box: each empty (no bound), one value (every dimension) or D values; lower < upper.
  std::vector<double> lower, upper;
  bound_rule bounds = bound_rule::reflect;  ///< used when a box is given
  double penalty = 1e6;                     ///< bound_rule::penalize: fitness worsened by penalty x distance^2

  density_shaping shaping = density_shaping::none;
  double rank_temperature = 0.1;  ///< density_shaping::rank: > 0; smaller is greedier

  /// Continuations per restart: after each cycle, the final population is diffused to the noise level
  /// of generation `continue_at` and denoised again, this many times, before the next restart.
  int continuations = 0;
  int continue_at = -1;  ///< 0 .. T - 2; -1: (T - 1) / 2

  /// Restarts after the first cycle and its continuations (-1: until a stopping criterion ends the
  /// run; one of max_evaluations, max_seconds and target must then be set). Restart k uses population round(N growth^k) and a seed derived from run.seed and k (restart
  /// 0, continuation 0: run.seed itself; the others: run.seed plus a hash of k and the continuation), so
  /// runs seeded s and s + 1 draw unrelated restarts. Until format 9 of the checkpoints, restart k was
  /// seeded run.seed + k, so run s's restart k was run s + k's first; such checkpoints resume so.
  int restarts = 0;
  double population_growth = 1.0;  ///< >= 1; 2 is IPOP's doubling
  int max_population = 1 << 20;    ///< restarts never grow the population beyond this
  /// Local restarts (> 0; needs a box): restart k >= 1 is centred at a uniform random point of the
  /// box (drawn from run.seed and k) with scale restart_scale x run.scale, so each restart settles in
  /// the basins near its centre, as multi-start local search does. 0: every restart uses run.center
  /// and run.scale.
  double restart_scale = 0;

  /// The archive keeps evaluated points whose fitness is within archive_tolerance of the best found
  /// and that lie farther than archive_radius (Euclidean, parameter space) from every other member;
  /// within the radius, the better point stays. archive_radius = 0: no archive.
  double archive_radius = 0;
  double archive_tolerance = std::numeric_limits<double>::infinity();

  /// Refinement (refine_levels > 0: on). After each global cycle (a restart or a continuation), its
  /// final population is split into niches by nearest-better clustering (in units of run.scale: the
  /// best point, and each point whose nearest better point is more than twice the mean such distance
  /// away, heads a niche). Each head whose fitness is within refine_tolerance of the best so far, and
  /// that is farther than refine_distance from every seed refined or waiting, becomes a seed. A seed
  /// is refined by refine_levels local cycles: Diffusion Evolution runs with refine_population
  /// individuals and refine_steps noise levels, centred on the seed's best point so far with scale
  /// run.scale x refine_scale x refine_shrink^level. The refined point enters the archive, and waiting
  /// seeds within refine_distance of it are dropped. The next global cycle follows when no seed waits.
  int refine_levels = 0;
  /// > 0: the nearest-better clustering's cut, in units of the mean distance to the nearest better point
  /// (Preuss's 2; smaller makes more heads, hence more seeds: small niches among many).
  double refine_seed_cut = 2.0;
  double refine_scale = 0.05;   ///< > 0: the first local scale, as a fraction of run.scale
  double refine_shrink = 0.25;  ///< in (0, 1]: the scale's factor from one local cycle to the next
  int refine_population = 32;   ///< >= 2
  int refine_steps = 10;        ///< 2 .. k_max_steps
  /// >= 0: the most local cycles a seed gets (0: 3 x refine_levels). A cycle that finds a better point
  /// farther than half its scale keeps the scale, so a seed far down a long slope (in high dimension,
  /// where a global cycle's seeds are far from their peaks) spends cycles before its levels; with
  /// short cycles (few refine_steps) it can afford more of them.
  int refine_cycles = 0;
  double refine_tolerance = std::numeric_limits<double>::infinity();  ///< >= 0
  double refine_distance = 0;   ///< >= 0, Euclidean in parameter units; 0: archive_radius
  /// A seed also ends early, as converged, when the final population of its last local cycle spans no
  /// more than refine_precision in fitness (>= 0; at 0, when all its values are equal), or when its
  /// scale is below float resolution at its point in every coordinate.
  double refine_precision = 0;
  /// A seed is abandoned once it has shrunk its scale refine_abandon_level times (it no longer climbs)
  /// while its fitness is still worse than the best so far by more than refine_abandon: it sits on a local optimum. It
  /// counts as refined (tested against, derated around), and its further levels are saved.
  double refine_abandon = std::numeric_limits<double>::infinity();
  /// >= 1: the levels a seed must have shrunk before refine_abandon can end it (2: two shrinks). A seed
  /// near a narrow peak that its first, wide local cycles miss (a needle: a peak that is not smooth at
  /// its top) gains nothing until its scale comes down to its distance from the peak; one more level
  /// lets it reach that scale.
  int refine_abandon_level = 2;
  /// With refine_abandon: a seed whose last local cycle gained at least this fraction of what it still
  /// lacks (its distance to the best so far) is climbing, not on a local optimum, and is not abandoned
  /// (>= 0; 0: the gain is not asked). A peak that is not smooth at its top (a cusp) is climbed slowly:
  /// its seeds stay far below the best for several levels while gaining a steady share each cycle.
  double refine_abandon_gain = 0;
  /// Seeds also from each restart's first generation (its widest sample, drawn from noise), clustered
  /// together with the final population of the restart's cycle and of each of its continuations: finds
  /// small basins the cycles' selection left early. Pays in low dimension; in high dimension a first
  /// generation is too sparse to cluster and its seeds cost budget.
  bool refine_first_generation = false;
  /// Exploration samples (> 0: on; needs refinement and a box). Before each restart's first cycle,
  /// this many points drawn uniformly from the box are asked as one population; they join the seed
  /// clustering of that restart's cycle (with its final population and, with refine_first_generation,
  /// its first generation). The cycles' selection leaves regions that are poor on average early, and so
  /// never samples a narrow peak inside one (a Weierstrass component's needle, a small basin among
  /// large ones); a uniform sample reaches them at a rate set by their volume alone, as HillVallEA's
  /// samples do. They cost explore_samples evaluations per restart, so they pay in low dimension, where
  /// a sample of a few thousand points is dense enough for a narrow peak's neighbourhood.
  int explore_samples = 0;
  /// Sequential niching (derate_radius > 0: on; needs refinement). In the global cycles, a point
  /// within derate_radius (Euclidean, parameter units) of a refined point gets the generation's worst
  /// fitness in the update, so the global cycles leave the niches already refined and search the
  /// rest of the space. The archive, the best point and the user see the true fitness.
  double derate_radius = 0;
  /// Local cycles avoid the niches already refined (true; needs refinement and a niche radius). In a
  /// local cycle, a point within the merge distance (refine_distance, or archive_radius when that is 0)
  /// of a refined point gets the generation's worst fitness in the update and cannot become the seed's
  /// best point, so a seed in a small niche beside a refined one climbs its own peak rather than the
  /// neighbour's. A seed whose best point ends within 1.3 x the merge distance of a refined point has
  /// stopped at that niche's edge: it ends there, and its point is not archived (also when the run
  /// stops during its cycle; that cycle's last population is archived as any stopped cycle's is). So an
  /// optimum closer than 1.3 x the merge distance to a refined one is not refined: keep the distance
  /// below 1 / 1.3 of the closest optima's spacing.
  bool refine_taboo = false;
  /// A probe before dropping a seed (> 0: on, at most 1; needs refinement). When a seed's turn comes, it
  /// is tested against its nearest refined point by three points between them (Ursem's hill-valley
  /// test); when none of them is worse than the worse of the two, no valley separates them and the
  /// seed is dropped as in that point's niche. But a seed far down a slope lies below the ridge between
  /// its own hill and the refined one, and the way to the refined point then climbs all the way (in
  /// high dimension, where a global cycle's seeds stay far from their peaks, nearly every seed after
  /// the first refined point). With refine_probe, such a seed gets one local cycle (the probe), and is
  /// dropped only when its move points towards the refined point: when the cosine between the move and
  /// the way to that point (in units of run.scale) is at least refine_probe, or it did not move;
  /// otherwise it is refined as any seed. Each probe costs one local cycle (docs/algorithm.md §8).
  double refine_probe = 0;
  /// Quadratic-model steps (> 0: from this level on; 0: never). From level refine_polish, a seed's local
  /// cycles are polish steps instead of Diffusion Evolution runs: 1 + D + D (D + 1) / 2 + 2 points drawn
  /// around its best point at its scale (5 in 1-D, 8 in 2-D, 12 in 3-D), in a metric learnt from its
  /// steps before; a least-squares quadratic through them and the best point; and, when that quadratic
  /// has a peak, one more point at the peak (at most 3 scales away). The next scale is twice the
  /// distance the best point moved (within 0.05 .. 1 of the scale), or 0.3 of it when it did not move.
  /// Near a smooth peak this converges in a few steps where a local cycle cuts the distance about 3x;
  /// an ill-conditioned peak included, as the metric makes the model's peak round. A step whose
  /// quadratic misses its values by more than a tenth of their spread (a rough peak) makes the seed's
  /// further cycles local Diffusion Evolution cycles; a step whose quadratic has no peak, its next one.
  /// Meant for low dimension (the points per step grow as D^2 / 2) and smooth peaks
  /// (docs/algorithm.md §8).
  int refine_polish = 0;
  /// Translation candidates among local optima (> 0: on, this many neighbours; needs refinement). When
  /// a seed ends on a point p that is not within archive_tolerance of the best so far (a local optimum),
  /// p and its refine_translate nearest refined points q, r give the points p + q - r, q + r - p and
  /// 2 q - p: where the local optima lie on a lattice (a periodic function, such as the CEC'2013
  /// compositions' Weierstrass and Rastrigin components), these are lattice points too, and the optimum
  /// at the lattice's centre is among them once enough of its neighbours are refined, although its own
  /// basin is a needle no sample reaches. Candidates outside the box or within the merge distance of a
  /// refined point, a waiting seed or another candidate are not asked; the others are asked as one
  /// population (at most k + 3 k (k - 1) / 2 points for k = refine_translate: 51 for 6), and the best of those better than all
  /// three points they came from becomes a seed, refined next. None are made where a refined point
  /// within archive_tolerance of the best lies within twice the distance of p's farthest neighbour: p
  /// is then one of the local optima around an optimum already found (a Griewank component's ripples),
  /// and candidates would lead back to it (docs/algorithm.md §8).
  int refine_translate = 0;
  /// Translation candidates among found optima too (needs refine_translate > 0). When a seed ends on a
  /// new point p within archive_tolerance of the best so far (a found optimum), p and its
  /// refine_translate nearest refined points that are found optima give the same candidates as above:
  /// where the optima lie on a lattice or a product grid (a separable function: Vincent's, Shubert's),
  /// these are optima too, and those whose basins are too small for any sample (Vincent's, at small
  /// coordinates) are among them once their neighbours are found. Every candidate within
  /// archive_tolerance of the best becomes a seed, refined next (docs/algorithm.md §8).
  bool refine_translate_optima = false;
  /// Float-lattice steps at a seed's end (> 0: at most this many steps; needs refinement). A seed that
  /// ends at the level cap or with its scale below float resolution, while the values of its last
  /// local population still spread more than refine_precision, sits on a peak that is rough down to
  /// float resolution (a Weierstrass component's cusp: one float step from its optimum costs 0.03 to
  /// 0.4 of fitness on the CEC'2013 compositions), where the local cycles' samples, rounded to floats,
  /// seldom land on the one float point that is the top. It then takes steps on the float lattice: the
  /// 2 D points with one coordinate of its best point moved to the next float down or up, and it moves
  /// to the best of them while that is better, at most refine_nudge steps of 2 D evaluations each.
  /// Seeds abandoned (refine_abandon) or ending in or at the edge of a niche already refined take no
  /// steps (docs/algorithm.md §8).
  int refine_nudge = 0;

  /// Stopping criteria (0 or NaN: not used). The run ends when the best fitness reaches `target`,
  /// when the next generation would exceed max_evaluations (the budget is never exceeded), or after
  /// max_seconds of wall time. A cycle ends early (and the run goes on to the next cycle) when the
  /// spread max - min of the fitness stays below flat_tolerance for flat_generations generations.
  double target = std::numeric_limits<double>::quiet_NaN();
  long long max_evaluations = 0;
  double max_seconds = 0;
  int flat_generations = 0;
  double flat_tolerance = 1e-12;
};

/// Checks every field of an open-ended config (the constructor calls it).
/// @throws invalid_argument naming the first bad field and its value (an empty box or lower > upper
///         naming the dimension, a budget below one population, a negative radius, ...).
void validate(const open_ended_config& c);

/// An archived point: its parameters and fitness (as told: a value told in double keeps its precision).
struct archived_point {
  std::vector<float> x;
  double fitness;
};

/// Like batch_fitness, with the values in double: writes pop.rows values to the second argument.
/// open_ended keeps them in double (see open_ended::tell(const double*, std::size_t)).
using precise_batch_fitness = std::function<void(population_view pop, double* fitness)>;

/// Open-ended Diffusion Evolution with an ask/tell interface (a `strategy`).
///
/// Each ask() returns a population to evaluate: a cycle's current generation, or, after a cycle's
/// last generation, its final population (evaluated once for the archive and the cycle's result).
/// The population size changes between restarts when population_growth > 1. Not thread-safe; move-only.
///
/// Memory: the run keeps a log of everything told (4 bytes per value told in float, 8 in double) for
/// save() and load(), so it grows with the evaluations: 100 million evaluations hold 400 MB. Bound a
/// long run with max_evaluations. on_generation() observers are not supported (it throws logic_error,
/// as strategy's default); the run's progress is in generation(), evaluations(), cycles(),
/// restarts(), best_fitness() and archive().
class open_ended final : public strategy {
 public:
  using strategy::tell;
  /// @throws invalid_argument as validate(), and as the optimizer's constructor.
  explicit open_ended(const open_ended_config& cfg);
  ~open_ended() override;
  open_ended(open_ended&&) noexcept;
  open_ended& operator=(open_ended&&) noexcept;

  /// @throws logic_error after done(), or after a failed tell() (see tell()).
  population_view ask() override;
  /// A refused value (invalid_argument) changes nothing: tell again. Any other exception (memory,
  /// threads, while the run moves on to its next cycle) leaves the run part-way, and ask(), tell() and
  /// inject() then throw logic_error; save() still writes everything told, that one tell included,
  /// and load() replays it (validate() refuses up front every config a later cycle would be built
  /// with and could not be).
  /// @throws logic_error before ask() or after done(); invalid_argument for a wrong count (naming both).
  void tell(const float* fitness, std::size_t n) override;
  /// tell() with the values in double, kept in double by the run: the rank shaping, the archive, the
  /// best point, the seeds' refinement, the sequential niching and the stopping criteria compare them
  /// as told. A float holds about 7 significant digits, so values that differ by less than that at
  /// their magnitude (1e-4 at 2709, a fitness near a large constant) tie in float and are told apart
  /// here. The update itself sees the rank-shaped values (shaping = density_shaping::rank); with
  /// shaping = density_shaping::none it sees the (penalized, derated) values rounded to float. A run
  /// may mix both overloads. They differ in one more place: the bound_rule::penalize penalty is added
  /// in float to a value told in float (as before this overload existed) and in double here, so the
  /// same float values told through this overload may give another run when a point is penalized.
  /// @throws as tell(const float*, std::size_t); invalid_argument naming the row when, with
  ///         shaping = density_shaping::none, a finite value (after the penalty) is beyond float range.
  void tell(const double* fitness, std::size_t n);
  /// tell(const double*, std::size_t) from a vector.
  void tell(const std::vector<double>& fitness) { tell(fitness.data(), fitness.size()); }

  bool done() const noexcept override;
  /// @return Generations told so far, over all cycles (final evaluations included).
  int generation() const noexcept override;
  /// @return -1: an open-ended run has no fixed number of generations.
  int generations() const noexcept override;
  int population_size() const noexcept override;
  int dimension() const noexcept override;
  objective goal() const noexcept override;
  std::vector<float> best() const override;
  float best_fitness() const override;
  bool has_best() const noexcept override;
  long long total_nonfinite() const noexcept override;
  const char* name() const noexcept override;
  backend_kind backend() const noexcept override;

  /// Puts outside candidates into the population: they replace the rows with the worst fitness of
  /// the last tell (the last rows before any tell) in the next generation of a Diffusion Evolution
  /// cycle that is asked, and are evaluated with it. That is the next ask(), or the first generation
  /// of the next cycle when a batch of exploration samples, hill-valley tests, translation candidates,
  /// nudges or polish points comes first. That cycle takes at most its population size of them, in
  /// order, and only those its parameter map holds (|p - centre| <= k_max_abs_x x scale in every
  /// coordinate: a local cycle's map is narrow, about its seed); the others are not used.
  /// @param points count x D parameters.
  /// @param count 0 .. the population size.
  /// @throws invalid_argument for a count outside that range, a null pointer, or a value that is not
  ///         finite (naming its row and column); logic_error after done(), between ask() and tell()
  ///         (call it after the tell), or after a failed tell().
  void inject(const float* points, int count);

  /// @return best_fitness() as told: in double when it was told in double (best_fitness() rounds it
  ///         to float).
  /// @throws logic_error before any finite fitness was told.
  double precise_best_fitness() const;
  /// @return Fitness evaluations so far (every told value).
  long long evaluations() const noexcept;
  /// @return Cycles finished so far.
  int cycles() const noexcept;
  /// @return Restarts begun so far.
  int restarts() const noexcept;
  /// @return Seeds refined so far (see open_ended_config::refine_levels).
  int refinements() const noexcept;
  /// @return Why the run ended ("target", "max_evaluations", "max_seconds", "restarts"), "" while it runs.
  const std::string& stop_reason() const noexcept;
  /// @return The archive (empty when archive_radius = 0), best first.
  std::vector<archived_point> archive() const;
  /// @return The config the run was constructed with.
  const open_ended_config& cfg() const noexcept;

  /// Writes the run to a checkpoint file, atomically: its config, the backend it runs on, its wall
  /// time, and everything told and injected so far (the log costs 4 bytes per evaluation told in
  /// float, 8 in double, kept in memory from the start). Valid at any point, also between ask() and tell() (the resumed run asks
  /// that population again) and after done().
  /// @throws checkpoint_error on I/O failure.
  void save(const std::string& path) const;

  /// Resumes a run written by save(): replays its log on the saved backend (the updates run again,
  /// the fitness is not evaluated again), so the run goes on bit for bit as if never interrupted:
  /// cycles, restarts, archive, refinement and stopping. max_seconds goes on from the saved wall time.
  /// @param path The file.
  /// @param expect If given, the config the file must hold (every field but run.backend, always the
  ///        saved one, and run.cpu_threads and run.cpu_math, taken from `expect`). The replay is bit for
  ///        bit when run.cpu_math is the one the run used (without `expect`: automatic).
  /// @throws checkpoint_error for a missing, truncated, corrupted or other-kind file, or a log that
  ///         does not replay; invalid_argument naming the first field that differs from `expect`;
  ///         device_unavailable when the run used the cuda backend and no device is usable.
  static open_ended load(const std::string& path, const open_ended_config* expect = nullptr);

 private:
  struct state;
  void check_tell(std::size_t n, const void* fitness) const;
  void told(std::vector<double> raw, std::vector<double> penalized, bool precise);
  std::unique_ptr<state> s_;
};

/// What an open-ended run returns.
struct open_ended_result {
  std::vector<float> best;         ///< the best point evaluated
  double best_fitness = 0;         ///< its fitness as told (0 when has_best is false)
  bool has_best = false;
  std::vector<float> population;   ///< the last population evaluated
  std::vector<double> fitness;     ///< its fitness as told
  std::vector<archived_point> archive;  ///< the archive, best first
  long long evaluations = 0;
  int cycles = 0, restarts = 0, refinements = 0;
  std::string stop_reason;
};

/// Runs an open-ended optimization to its end with a host fitness callback.
/// @param cfg The run.
/// @param fitness Evaluates each population asked for.
/// @return The best point, the last population and the archive.
/// @throws invalid_argument for an empty `fitness` or a bad config field, and as open_ended::tell().
/// @note Exceptions thrown by `fitness` propagate unchanged.
open_ended_result optimize(const open_ended_config& cfg, const batch_fitness& fitness);

/// optimize() with a fitness computed in double and kept in double by the run
/// (open_ended::tell(const double*, std::size_t)): for a fitness whose values near the optimum differ by
/// less than float resolution at their magnitude.
/// @throws as optimize(const open_ended_config&, const batch_fitness&).
open_ended_result optimize(const open_ended_config& cfg, const precise_batch_fitness& fitness);

/// Drives `s` to its end with a host fitness callback: a fresh run, one loaded from a checkpoint, or
/// one part-way through (what it asked before is not asked again). Each population is sized as its
/// ask() returns it (it changes between restarts and for the refinement steps). The generic
/// run(strategy&, ...) refuses an open_ended, whose last population is evaluated inside the run.
/// @param s The run; done() when this returns.
/// @param fitness Evaluates each population asked for.
/// @return As optimize(): the best point, the last population evaluated and the archive (a run that
///         was done() already asks nothing: no population, the rest as it stands).
/// @throws invalid_argument for an empty `fitness`, and as open_ended::tell().
/// @note Exceptions thrown by `fitness` propagate unchanged; `s` is then left at the population it
///       asked for, valid for a retry.
open_ended_result run(open_ended& s, const batch_fitness& fitness);

/// run(open_ended&, const batch_fitness&) with the fitness in double (open_ended::tell(const double*,
/// std::size_t)).
/// @throws as run(open_ended&, const batch_fitness&).
open_ended_result run(open_ended& s, const precise_batch_fitness& fitness);

}  // namespace diffevo
