// Open-ended Diffusion Evolution (docs/algorithm.md §8): cycles of the ask/tell optimizer, chained by
// continuation (re-diffusion of a finished population) and restarts, with a box, rank shaping, an
// archive and stopping criteria. The numerical work stays in the optimizer; this file only decides
// which population is asked next and what is told.
#include "diffevo/open_ended.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>

#include "diffevo/detail/random.hpp"
#include "diffevo/error.hpp"
#include "host/backend/backend.hpp"
#include "host/checkpoint/checkpoint_file.hpp"
#include "host/open_ended/checkpoint.hpp"
#include "host/open_ended/expand.hpp"
#include "host/open_ended/nearest_better.hpp"
#include "host/open_ended/polish.hpp"
#include "host/util/message.hpp"

namespace diffevo {
namespace {

using detail::expand;

/// A seed being refined: its best point so far and the local cycles run around it. Made as
/// seed_job{x, fitness, scale}: the other fields start at their defaults.
struct seed_job {
  std::vector<float> x;       // the best point so far
  double fitness;             // its fitness
  double scale;               // the next local cycle's scale, in units of run.scale
  int level = 0, cycles = 0;  // scale reductions and local cycles so far
  std::vector<float> center{};  // the current local cycle's centre
  double spread = INFINITY;   // the fitness spread (max - min) of the last local cycle's final population
  double last_fitness = NAN;  // the fitness after the local cycle before the last (NaN: none yet)
  std::vector<double> root{}, root_inverse{};  // refine_polish: the metric of its designs (D x D; empty: identity)
  bool rough = false;         // refine_polish: a quadratic did not fit a step's design: local cycles from here on
  bool no_peak = false;       // refine_polish: the last step's model had no peak: a local cycle next
  // refine_probe: the seed's point before its probe (empty: not probing; the refined point it was tested
  // against is refined[against] until the seed ends)
  std::vector<float> probe_from{};
  int nudged = 0;             // refine_nudge: float-lattice steps taken
};

/// Rank-shaped log-densities: the best finite value gets 0, the worst -1 / temperature, ties share
/// their mean rank; a non-finite fitness gets NaN (weight 0 in the update).
std::vector<float> rank_shape(const std::vector<double>& f, objective goal, double temperature) {
  const int n = static_cast<int>(f.size());
  std::vector<int> idx;
  for (int i = 0; i < n; ++i)
    if (std::isfinite(f[static_cast<std::size_t>(i)])) idx.push_back(i);
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return detail::improves(f[a], f[b], goal); });
  std::vector<float> out(f.size(), NAN);
  const int m = static_cast<int>(idx.size());
  const double span = m > 1 ? (m - 1) * temperature : 1.0;
  for (int k = 0; k < m;) {
    int e = k + 1;
    while (e < m && f[static_cast<std::size_t>(idx[e])] == f[static_cast<std::size_t>(idx[k])]) ++e;
    const double rank = 0.5 * (k + e - 1);
    for (int j = k; j < e; ++j) out[static_cast<std::size_t>(idx[j])] = static_cast<float>(-rank / span);
    k = e;
  }
  return out;
}

}  // namespace

/// open_ended_config::refine_taboo: a seed whose best point ends within this multiple of the merge
/// distance of a refined point stopped at that niche's edge (the taboo keeps it out of the ball itself).
constexpr double k_taboo_edge = 1.3;
/// open_ended_config::refine_translate: no candidates from a local optimum with a found optimum (within
/// archive_tolerance of the best) closer than this multiple of its farthest neighbour's distance.
constexpr double k_translate_clear = 2.0;
/// open_ended_config::refine_polish: a model's peak is asked at most this many scales from the centre,
/// and a metric more elongated than k_polish_condition (ratio of its axes) is reset to round.
constexpr double k_polish_clip = 3.0;
constexpr double k_polish_condition = 1e4;
/// open_ended_config::refine_polish: a step whose quadratic misses its values by more than this share
/// of their spread (root-mean-square) shows a peak that is not smooth at the step's scale: the seed's
/// further cycles are local Diffusion Evolution cycles.
constexpr double k_polish_fit = 0.1;

struct open_ended::state {
  open_ended_config cfg;
  std::vector<double> lo, hi;  // the box, D values each, or empty
  std::vector<float> unit;     // run.scale, D values: the unit of the refinement's distances
  std::optional<optimizer> opt;
  int restart = 0, continuation = 0, cycles = 0, generation = 0, flat = 0, refinements = 0;
  bool refining = false;                  // the current cycle is a local cycle around jobs.front()
  std::vector<seed_job> jobs;             // seeds waiting for refinement, the current one first
  std::vector<archived_point> refined;    // the points seeds were refined to
  std::vector<float> tests;               // hill-valley test points of the first seed (3), asked when not empty,
  int against = -1;                       //   between it and this refined point
  std::vector<float> translations;        // refine_translate: candidates, asked when not empty,
  std::vector<double> translation_bar;    //   the best fitness of the three points each came from,
  std::vector<double> translation_scale;  //   and its first local scale (units of run.scale);
  bool translation_optima = false;        //   they came from a found optimum (refine_translate_optima)
  std::vector<float> nudges;              // refine_nudge: the step's points, asked when not empty
  std::vector<float> polish;              // refine_polish: the step's points, asked when not empty:
  bool polish_peak = false;               //   its design (false) or the model's peak (true)
  double polish_reach = 0;                //   the peak's distance from the centre (in scales)
  double polish_moved = 0;                //   how far the best point moved in this step (in scales)
  double polish_center = 0;               //   the fitness of the design's centre (the seed's best)
  std::vector<float> global_points;       // the last global cycle's final population (continued from)
  std::vector<float> first_points;        // the restart's first generation (refine_first_generation)
  std::vector<double> first_fitness;      //   and its fitness
  std::vector<float> samples;             // explore_samples: the restart's uniform sample, asked when not empty,
  std::vector<float> sampled;             //   its points once evaluated, clustered with the restart's first
  std::vector<double> sampled_fitness;    //   cycle, and their fitness
  long long evaluations = 0, nonfinite = 0;
  bool asked = false, finished = false;
  std::string reason;
  std::string failed;  // why a tell() failed after the optimizer took it (the run cannot go on: see told())
  backend_kind backend = backend_kind::cpu;  // the optimizers' backend (the first cycle's)
  std::vector<float> points;   // the population last asked (as evaluated)
  std::vector<double> excess;  // penalize: squared distance of each asked row outside the box
  std::vector<int> worst;      // rows of the last tell, worst first (where injections go)
  std::vector<float> injected;
  std::vector<float> best;
  double best_fitness = 0;
  bool has_best = false;
  std::vector<archived_point> archive;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  detail::open_ended_log log;  // what save() writes and load() replays
  bool legacy_seeds = false;   // restarts seeded run.seed + k, as before format 9 (see cycle_seed)
  bool replaying = false;      // load(): the wall time does not stop the replay, except
  bool replay_time_stop = false;  //   at the last tell of a run saved after it stopped on max_seconds

  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); }

  int dim() const { return cfg.run.dimension; }
  int n() const {
    if (!samples.empty()) return static_cast<int>(samples.size()) / dim();
    if (!tests.empty()) return static_cast<int>(tests.size()) / dim();
    if (!translations.empty()) return static_cast<int>(translations.size()) / dim();
    if (!nudges.empty()) return static_cast<int>(nudges.size()) / dim();
    if (!polish.empty()) return static_cast<int>(polish.size()) / dim();
    return opt ? opt->population_size() : 0;  // (none: a tell() failed while making the next cycle's)
  }
  /// Refuses to go on after a failed tell() (`call` names the call).
  void require_usable(const char* call) const {
    DIFFEVO_EXPECTS(failed.empty(), logic_error, call, ": the run cannot go on, a tell() failed after its values were taken (",
                    failed, "); save() still writes everything told, and load() replays it");
  }

  config shaped(config c) const {
    if (cfg.shaping == density_shaping::rank) c.density = density_kind::log_density, c.goal = objective::maximize;
    return c;
  }
  /// The seed of restart k's cycle number `salt` (0: the restart's, c >= 1: its c-th continuation).
  /// The first cycle keeps run.seed. The others get run.seed plus a hash of (k, salt), so runs with
  /// nearby seeds draw unrelated restarts: with run.seed + k, run s's restart k was run s + k's first
  /// (the same centre, exploration sample and noise). Checkpoints of format 8 and older hold runs
  /// made that way and replay with it (legacy_seeds).
  std::uint64_t cycle_seed(int k, std::uint64_t salt) const {
    const std::uint64_t kk = static_cast<std::uint64_t>(k);
    if (legacy_seeds) return cfg.run.seed + kk + salt * 0x9E3779B97F4A7C15ull;
    if (k == 0 && salt == 0) return cfg.run.seed;
    return cfg.run.seed + detail::mix64(detail::mix64(kk ^ 0xA0761D6478BD642Full) ^ salt);
  }
  config cycle_config(int k, std::uint64_t salt) const {
    config c = cfg.run;
    c.seed = cycle_seed(k, salt);
    const double grown = std::round(cfg.run.population * std::pow(cfg.population_growth, k));
    c.population = static_cast<int>(std::min<double>(grown, cfg.max_population));
    return shaped(c);
  }
  /// Coordinate k of a point drawn uniformly from the box: draw i of `key`.
  float box_uniform(std::uint64_t key, std::uint64_t i, std::size_t k) const {
    const double u = 0.5 + detail::uniform_pm(key, i, 0.5);
    return static_cast<float>(lo[k] + u * (hi[k] - lo[k]));
  }
  void start_restart() {
    config c = cycle_config(restart, 0);
    if (restart > 0 && cfg.restart_scale > 0) {  // a local restart: a random centre of the box
      const std::uint64_t key = detail::mix64(c.seed ^ 0x6A09E667F3BCC909ull);
      c.center.resize(unit.size()), c.scale.resize(unit.size());
      for (std::size_t k = 0; k < unit.size(); ++k) {
        c.center[k] = box_uniform(key, k, k);
        c.scale[k] = static_cast<float>(unit[k] * cfg.restart_scale);
      }
    }
    if (restart == 0 && !cfg.start.population.empty())
      opt.emplace(c, cfg.start);
    else
      opt.emplace(c);
    worst.clear();
    if (cfg.explore_samples > 0) {  // uniform in the box, from the restart's seed; asked before its cycle
      const std::size_t d = unit.size();
      const std::uint64_t key = detail::mix64(c.seed ^ 0x3C6EF372FE94F82Bull);
      samples.resize(static_cast<std::size_t>(cfg.explore_samples) * d);
      for (std::size_t i = 0; i < samples.size(); ++i) samples[i] = box_uniform(key, i, i % d);
    }
  }
  void start_continuation() {
    const int at = cfg.continue_at >= 0 ? cfg.continue_at : (cfg.run.steps - 1) / 2;
    const config c = cycle_config(restart, static_cast<std::uint64_t>(continuation));
    opt.emplace(c, start_point{global_points, at, true});
    worst.clear();
  }
  /// The current seed's next local cycle: a polish step from level refine_polish on, else a local
  /// Diffusion Evolution cycle.
  void start_cycle() {
    seed_job& j = jobs.front();
    const bool pol = cfg.refine_polish > 0 && j.level >= cfg.refine_polish && !j.rough && !j.no_peak;
    j.no_peak = false;
    return pol ? start_polish() : start_local();
  }
  /// A local cycle around the current seed's best point, at the scale of its level.
  void start_local() {
    seed_job& j = jobs.front();
    j.center = j.x;
    config c = cfg.run;
    c.population = cfg.refine_population;
    c.steps = cfg.refine_steps;
    c.seed = cfg.run.seed + 0xD1B54A32D192ED03ull * static_cast<std::uint64_t>(cycles + 1);
    c.center = j.x;
    c.scale.resize(unit.size());
    for (std::size_t k = 0; k < unit.size(); ++k)  // (a scale that underflowed a float would be refused)
      c.scale[k] = std::max(static_cast<float>(unit[k] * j.scale), std::numeric_limits<float>::min());
    opt.emplace(shaped(c));
    worst.clear();
  }
  /// After the cycles of one restart: the next continuation, the next restart, or the end.
  void next_global() {
    if (continuation < cfg.continuations) {
      ++continuation;
      start_continuation();
    } else if (cfg.restarts == -1 || restart < cfg.restarts) {
      ++restart;
      continuation = 0;
      start_restart();
    } else {
      finish("restarts");
    }
  }

  /// Squared distance in units of run.scale.
  double unit_distance2(const float* a, const float* b) const { return detail::scaled_distance2(a, b, unit); }
  /// Squared Euclidean distance in parameter units.
  double distance2(const float* a, const float* b) const {
    double d2 = 0;
    for (std::size_t k = 0; k < unit.size(); ++k) {
      const double t = double(a[k]) - b[k];
      d2 += t * t;
    }
    return d2;
  }
  /// True when p lies within squared distance r2 (parameter units) of one of the points.
  bool near_any(const float* p, const std::vector<archived_point>& points_near, double r2) const {
    return std::any_of(points_near.begin(), points_near.end(),
                       [&](const archived_point& q) { return distance2(p, q.x.data()) <= r2; });
  }
  /// Seeds closer than this (squared) to a refined or waiting seed are in its niche.
  double merge2() const {
    const double r = cfg.refine_distance > 0 ? cfg.refine_distance : cfg.archive_radius;
    return r * r;
  }
  /// True when p lies within the merge distance of a seed refined or waiting (in its niche).
  bool in_known_niche(const float* p) const {
    const double r2 = merge2();
    return near_any(p, refined, r2) ||
           std::any_of(jobs.begin(), jobs.end(), [&](const seed_job& j) { return distance2(p, j.x.data()) <= r2; });
  }
  /// Queues the seeds of a global cycle's final population (see open_ended_config::refine_levels):
  /// nearest-better clustering (Preuss 2010) in units of run.scale. Each point's nearest better point
  /// is found; the best point and every point whose nearest better point is more than twice the mean
  /// such distance away head a cluster of their own. Heads within the merge distance of a seed refined
  /// or waiting are not queued again.
  void collect_seeds(std::vector<float> x, std::vector<double> f) {
    const objective goal = cfg.run.goal;
    const int d = dim();
    const std::size_t members = f.size();  // then the archive's members, each a seed of its own
    for (const archived_point& a : archive) x.insert(x.end(), a.x.begin(), a.x.end()), f.push_back(a.fitness);
    std::vector<int> order;
    for (int i = 0; i < static_cast<int>(f.size()); ++i)
      if (std::isfinite(f[static_cast<std::size_t>(i)])) order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return detail::improves(f[a], f[b], goal); });
    const auto row = [&](int i) { return x.data() + static_cast<std::size_t>(i) * d; };
    const std::vector<double> nearest = detail::nearest_better_distances(x, order, unit);
    double sum = 0;
    for (std::size_t a = 1; a < order.size(); ++a) sum += nearest[a];
    const double cut = order.size() > 1 ? cfg.refine_seed_cut * sum / static_cast<double>(order.size() - 1) : 0;
    for (std::size_t a = 0; a < order.size(); ++a) {
      const int i = order[a];
      if (nearest[a] == 0 || (nearest[a] <= cut && static_cast<std::size_t>(i) < members) || std::fabs(double(f[static_cast<std::size_t>(i)]) - best_fitness) > cfg.refine_tolerance)
        continue;
      const float* p = row(i);
      if (!in_known_niche(p))  // a local scale that stays within the seed's niche: half the way to its nearest better point
        jobs.push_back(seed_job{std::vector<float>(p, p + d), f[static_cast<std::size_t>(i)], std::min(cfg.refine_scale, 0.5 * nearest[a])});
    }
  }
  /// Hill-valley tests (Ursem's rule, as in HillVallEA): before its first local cycle, a seed is tested
  /// against its nearest refined point by three points evenly spaced between them. When none of them
  /// is worse than the worse of the two ends, no valley separates them: the seed is in that point's
  /// niche and is dropped without a local cycle (with refine_probe, after one: end_tests). A seed is
  /// tested when its turn comes, so it is tested against the points refined from the same global cycle
  /// before it, too.
  void next_job() {
    tests.clear();
    if (jobs.empty()) {
      refining = false;
      return next_global();
    }
    refining = true;
    if (refined.empty()) return start_cycle();
    const int d = dim();
    const seed_job& j = jobs.front();
    std::size_t q = 0;
    for (std::size_t k = 1; k < refined.size(); ++k)
      if (distance2(j.x.data(), refined[k].x.data()) < distance2(j.x.data(), refined[q].x.data())) q = k;
    against = static_cast<int>(q);
    for (int t = 1; t <= 3; ++t)
      for (int k = 0; k < d; ++k) {
        const double a = j.x[static_cast<std::size_t>(k)], b = refined[q].x[static_cast<std::size_t>(k)];
        tests.push_back(static_cast<float>(a + (b - a) * t / 4.0));
      }
  }
  /// The tests were evaluated: refine the seed when a valley lies between it and its refined point;
  /// else drop it, or with refine_probe give it one local cycle first (see probe_points_away).
  void end_tests(const std::vector<double>& f) {
    const objective goal = cfg.run.goal;
    const double a = jobs.front().fitness, b = refined[static_cast<std::size_t>(against)].fitness;
    const double worse = detail::improves(a, b, goal) ? b : a;
    bool valley = false;
    for (const double v : f) valley = valley || !std::isfinite(v) || detail::improves(worse, v, goal);
    tests.clear();
    if (valley) return start_cycle();
    if (cfg.refine_probe > 0) {
      jobs.front().probe_from = jobs.front().x;
      return start_cycle();
    }
    jobs.erase(jobs.begin());
    next_job();
  }
  /// refine_probe: after the probe (the first local cycle of a seed the hill-valley test found in a
  /// refined point's niche), true when the seed's move did not point towards that refined point (the
  /// cosine between the move and the way to it, in units of run.scale, is below refine_probe): the
  /// seed climbs a hill of its own, and the segment showed no valley only because the seed lay below
  /// the ridge between the hills. A seed that did not move points nowhere else.
  bool probe_points_away(const seed_job& j) const {
    const std::vector<float>& to = refined[static_cast<std::size_t>(against)].x;
    double dot = 0, moved2 = 0, way2 = 0;
    for (std::size_t k = 0; k < unit.size(); ++k) {
      const double u = (double(j.x[k]) - j.probe_from[k]) / unit[k], v = (double(to[k]) - j.probe_from[k]) / unit[k];
      dot += u * v, moved2 += u * u, way2 += v * v;
    }
    return moved2 > 0 && way2 > 0 && dot < cfg.refine_probe * std::sqrt(moved2 * way2);
  }

  /// True when a and b differ by at most one float step (ulp) in every coordinate.
  static bool within_resolution(const std::vector<float>& a, const std::vector<float>& b) {
    for (std::size_t k = 0; k < a.size(); ++k)
      if (a[k] != b[k] && std::nextafter(a[k], b[k]) != b[k]) return false;
    return true;
  }
  /// True when the seed's local scale is below float resolution at its point in every coordinate:
  /// its samples would round to the point itself or its float neighbours, so a smaller scale can add
  /// nothing.
  bool below_resolution(const seed_job& j) const {
    for (std::size_t k = 0; k < unit.size(); ++k)
      if (unit[k] * j.scale > ulp(j.x[k])) return false;
    return true;
  }
  /// The gap from |x| to the next float up.
  static double ulp(float x) { return double(std::nextafter(std::fabs(x), INFINITY)) - std::fabs(x); }

  /// refine_taboo: the seed's best point lies within k_taboo_edge x the merge distance of a refined
  /// point (the taboo keeps it out of the niche itself): it stopped at that niche's edge.
  bool at_edge(const seed_job& j) const {
    return cfg.refine_taboo && near_any(j.x.data(), refined, k_taboo_edge * k_taboo_edge * merge2());
  }

  /// A local cycle ended: its scale for the next one, then end_cycle().
  void next_local() {
    seed_job& j = jobs.front();
    // a seed on a slope moved far: keep the scale while it climbs; near its top (or when it moved by
    // no more than float resolution), shrink it
    ++j.cycles;
    if (unit_distance2(j.x.data(), j.center.data()) <= 0.25 * j.scale * j.scale || within_resolution(j.x, j.center))
      ++j.level, j.scale *= cfg.refine_shrink;
    end_cycle();
  }
  /// A local cycle or polish step ended: the seed's next one, or the seed ends (archived, refined)
  /// and the next seed or the global cycles follow.
  void end_cycle() {
    seed_job& j = jobs.front();
    const double r2 = merge2();
    if (!j.probe_from.empty()) {  // refine_probe: the probe ended; a seed that climbed towards its refined point is dropped
      const bool away = probe_points_away(j);
      j.probe_from.clear();
      if (!away) {
        jobs.erase(jobs.begin());
        return next_job();
      }
    }
    // the seed climbed into a niche already refined (with refine_taboo: to its edge): its other levels
    // would repeat it
    const bool edge = at_edge(j), known = edge || near_any(j.x.data(), refined, r2);
    const bool converged = j.spread <= cfg.refine_precision || below_resolution(j);
    // a seed that stopped climbing (two levels, and under refine_abandon_gain of its lack in the last
    // cycle) far below the best so far sits on a local optimum
    const double lack = std::fabs(double(j.fitness) - best_fitness);
    const bool climbing = cfg.refine_abandon_gain > 0 && std::isfinite(j.last_fitness) &&
                          std::fabs(double(j.fitness) - j.last_fitness) >= cfg.refine_abandon_gain * lack;
    j.last_fitness = j.fitness;
    const bool hopeless = j.level >= cfg.refine_abandon_level && lack > cfg.refine_abandon && !climbing;
    const int most = cfg.refine_cycles > 0 ? cfg.refine_cycles : 3 * cfg.refine_levels;
    if (!known && !converged && !hopeless && j.level < cfg.refine_levels && j.cycles < most)
      return start_cycle();
    // refine_nudge: a seed that ended at float resolution or the level cap while its last population's
    // values still spread (a peak rough down to float resolution)
    if (!known && !hopeless && cfg.refine_nudge > 0 && j.spread > cfg.refine_precision &&
        (below_resolution(j) || j.level >= cfg.refine_levels) && start_nudge())
      return;
    end_seed(edge, known);
  }
  /// The current seed ends: archived (unless at a niche's edge) and, unless in a niche already refined,
  /// a refined point; then translation candidates, the next seed or the global cycles.
  void end_seed(bool edge, bool known) {
    seed_job& j = jobs.front();
    const double r2 = merge2();
    if (!edge) archive_add(j.x, {j.fitness});  // not a point at a niche's edge
    if (!known) {  // waiting seeds near the refined point are in its niche
      refined.push_back(archived_point{j.x, j.fitness});
      ++refinements;
      jobs.erase(std::remove_if(jobs.begin() + 1, jobs.end(),
                                [&](const seed_job& w) { return distance2(w.x.data(), refined.back().x.data()) <= r2; }),
                 jobs.end());
    }
    jobs.erase(jobs.begin());
    if (!known && start_translations()) return;
    next_job();
  }

  /// refine_nudge: the current seed's best point with one coordinate moved to the next float, down or
  /// up (2 D points), those in the box. @return Whether there are any to ask.
  bool start_nudge() {
    const seed_job& j = jobs.front();
    const int d = dim();
    nudges.clear();
    for (int k = 0; k < d; ++k) {
      const std::size_t u = static_cast<std::size_t>(k);
      for (const float toward : {-INFINITY, INFINITY}) {
        const float v = std::nextafter(j.x[u], toward);
        if (!std::isfinite(v) || (!lo.empty() && !(v >= lo[u] && v <= hi[u]))) continue;
        nudges.insert(nudges.end(), j.x.begin(), j.x.end());
        nudges[nudges.size() - static_cast<std::size_t>(d) + u] = v;
      }
    }
    return !nudges.empty();
  }
  /// refine_nudge: a step's points were evaluated: the seed moves to the best of them when it is
  /// better, and steps again (at most refine_nudge steps); otherwise, or then, it ends.
  void end_nudge(const std::vector<double>& f) {
    seed_job& j = jobs.front();
    const std::size_t d = static_cast<std::size_t>(dim());
    std::size_t top = f.size();
    for (std::size_t i = 0; i < f.size(); ++i)
      if (std::isfinite(f[i]) && detail::improves(f[i], top == f.size() ? j.fitness : f[top], cfg.run.goal)) top = i;
    ++j.nudged;
    if (top < f.size()) {
      j.x.assign(nudges.begin() + static_cast<std::ptrdiff_t>(top * d), nudges.begin() + static_cast<std::ptrdiff_t>((top + 1) * d));
      j.fitness = f[top];
    }
    nudges.clear();
    if (top < f.size() && j.nudged < cfg.refine_nudge && start_nudge()) return;
    const bool edge = at_edge(j);
    end_seed(edge, edge || near_any(j.x.data(), refined, merge2()));
  }

  /// Whether a point's fitness lies within archive_tolerance of the best so far (a found optimum).
  bool at_best(double f) const { return std::fabs(f - best_fitness) <= cfg.archive_tolerance; }
  /// refine_translate: after a seed ended on a new refined point p below the best (a local optimum),
  /// the candidates p + q - r, q + r - p and 2 q - p for q, r among the refine_translate refined points
  /// nearest p (see open_ended_config::refine_translate); with refine_translate_optima, also after one
  /// ended on a found optimum p, for q, r among the found optima nearest it. @return Whether there are
  /// any to ask.
  bool start_translations() {
    const archived_point& p = refined.back();
    if (cfg.refine_translate <= 0) return false;
    const bool optimum = at_best(p.fitness);
    if (optimum && !cfg.refine_translate_optima) return false;
    const int d = dim();
    const std::size_t last = refined.size() - 1;
    std::vector<std::size_t> near;
    for (std::size_t k = 0; k < last; ++k)
      if (!optimum || at_best(refined[k].fitness)) near.push_back(k);
    const std::size_t keep = std::min(near.size(), static_cast<std::size_t>(cfg.refine_translate));
    std::partial_sort(near.begin(), near.begin() + static_cast<std::ptrdiff_t>(keep), near.end(), [&](std::size_t a, std::size_t b) {
      const double da = distance2(p.x.data(), refined[a].x.data()), db = distance2(p.x.data(), refined[b].x.data());
      return da < db || (da == db && a < b);
    });
    near.resize(keep);
    if (near.empty()) return false;
    // a found optimum within k_translate_clear times the farthest neighbour's distance: p is one of the
    // local optima around it (a Griewank component's ripples), where candidates lead back to it
    const double reach2 = k_translate_clear * k_translate_clear * distance2(p.x.data(), refined[near.back()].x.data());
    if (!optimum)
      for (const archived_point& a : refined)
        if (at_best(a.fitness) && distance2(p.x.data(), a.x.data()) <= reach2) return false;
    const double r2 = merge2();
    translations.clear(), translation_bar.clear(), translation_scale.clear();
    translation_optima = optimum;
    std::vector<float> c(static_cast<std::size_t>(d));
    // c = a + b - e, from three refined points (a, b or e may be p)
    const auto add = [&](const archived_point& a, const archived_point& b, const archived_point& e) {
      for (int k = 0; k < d; ++k) {
        const std::size_t u = static_cast<std::size_t>(k);
        const double v = double(a.x[u]) + double(b.x[u]) - double(e.x[u]);
        if (!lo.empty() && !(v >= lo[u] && v <= hi[u])) return;
        c[u] = static_cast<float>(v);
      }
      if (in_known_niche(c.data())) return;
      for (std::size_t t = 0; t < translation_bar.size(); ++t)
        if (distance2(c.data(), translations.data() + t * static_cast<std::size_t>(d)) <= r2) return;
      const objective goal = cfg.run.goal;
      double bar = a.fitness;
      if (detail::improves(b.fitness, bar, goal)) bar = b.fitness;
      if (detail::improves(e.fitness, bar, goal)) bar = e.fitness;
      double closest = INFINITY;
      for (const archived_point* q : {&a, &b, &e}) closest = std::min(closest, unit_distance2(c.data(), q->x.data()));
      translations.insert(translations.end(), c.begin(), c.end());
      translation_bar.push_back(bar);
      translation_scale.push_back(std::min(cfg.refine_scale, 0.5 * std::sqrt(closest)));
    };
    for (const std::size_t qi : near) {
      const archived_point& q = refined[qi];
      add(q, q, p);  // 2 q - p
      for (const std::size_t ri : near)
        if (ri != qi) add(p, q, refined[ri]);  // p + q - r
      for (const std::size_t ri : near)
        if (ri > qi) add(q, refined[ri], p);  // q + r - p
    }
    if (translations.empty()) return false;
    refining = false;  // no seed is current while they are asked
    return true;
  }
  /// refine_translate: the candidates were evaluated; the best of those better than the three points
  /// they came from becomes a seed, refined next. Candidates from a found optimum
  /// (refine_translate_optima): each within archive_tolerance of the best becomes a seed, refined next
  /// in the batch's order.
  void end_translations(const std::vector<double>& f) {
    const objective goal = cfg.run.goal;
    const int d = dim();
    const auto seed = [&](std::size_t i) {
      const float* x = translations.data() + i * static_cast<std::size_t>(d);
      return seed_job{std::vector<float>(x, x + d), f[i], translation_scale[i]};
    };
    std::vector<seed_job> found;
    if (translation_optima) {
      for (std::size_t i = 0; i < f.size(); ++i)
        if (std::isfinite(f[i]) && at_best(f[i])) found.push_back(seed(i));
    } else {
      std::size_t top = f.size();
      for (std::size_t i = 0; i < f.size(); ++i)
        if (std::isfinite(f[i]) && detail::improves(f[i], translation_bar[i], goal) && (top == f.size() || detail::improves(f[i], f[top], goal)))
          top = i;
      if (top < f.size()) found.push_back(seed(top));
    }
    jobs.insert(jobs.begin(), found.begin(), found.end());
    translations.clear(), translation_bar.clear(), translation_scale.clear();
    next_job();
  }

  /// refine_polish: the point at design coordinates s around the seed's centre, as asked (a float).
  void design_point(const seed_job& j, const std::vector<double>& s, float* out) const {
    const std::vector<double> t = detail::apply_metric(j.root, s);
    for (std::size_t k = 0; k < unit.size(); ++k)
      out[k] = static_cast<float>(double(j.center[k]) + double(unit[k]) * j.scale * t[k]);
  }
  /// refine_polish: the design coordinates of point p around the seed's centre.
  std::vector<double> design_of(const seed_job& j, const float* p) const {
    std::vector<double> t(unit.size());
    for (std::size_t k = 0; k < unit.size(); ++k) t[k] = (double(p[k]) - j.center[k]) / (double(unit[k]) * j.scale);
    return detail::apply_metric(j.root_inverse, t);
  }
  /// refine_polish: a step's design, quadratic_terms + 2 points around the seed's best point at its
  /// scale, in its metric: directions uniform on the sphere, radii uniform in [0.3, 1].
  void start_polish() {
    seed_job& j = jobs.front();
    const int d = dim(), m = detail::quadratic_terms(d) + 2;
    j.center = j.x;
    polish_center = j.fitness;
    polish_peak = false;
    polish_moved = 0;
    const std::uint64_t key = detail::mix64(cfg.run.seed ^ 0x5851F42D4C957F2Dull ^ detail::mix64(static_cast<std::uint64_t>(cycles)));
    polish.resize(static_cast<std::size_t>(m) * d);
    std::uint64_t draw = 0;
    const auto uniform = [&] { return 0.5 + detail::uniform_pm(key, draw++, 0.5); };
    std::vector<double> u(static_cast<std::size_t>(d));
    for (int r = 0; r < m; ++r) {
      double n2 = 0;
      do {
        for (int k = 0; k < d; k += 2) {  // Box-Muller
          const double a = std::sqrt(-2 * std::log(1 - uniform())), b = 6.283185307179586 * uniform();
          u[static_cast<std::size_t>(k)] = a * std::cos(b);
          if (k + 1 < d) u[static_cast<std::size_t>(k) + 1] = a * std::sin(b);
        }
        n2 = 0;
        for (const double x : u) n2 += x * x;
      } while (!(n2 > 0));
      const double radius = (0.3 + 0.7 * uniform()) / std::sqrt(n2);
      for (double& x : u) x *= radius;
      design_point(j, u, polish.data() + static_cast<std::size_t>(r) * d);
    }
    fold(polish);
  }
  /// refine_polish: a step's points were evaluated (f penalized, taboo flagged). After the design: fit
  /// the quadratic, and ask its peak when it has one; then the step ends.
  void end_polish(const std::vector<double>& f, const std::vector<char>& flagged) {
    seed_job& j = jobs.front();
    const int d = dim();
    if (!polish_peak) {
      if (j.x != j.center) polish_moved = detail::length(design_of(j, j.x.data()));
      const double sign = cfg.run.goal == objective::maximize ? 1 : -1;
      std::vector<double> s(static_cast<std::size_t>(d), 0.0), v{0.0};  // the centre, then the design
      double least = 0, most = 0;
      for (std::size_t i = 0; i < f.size(); ++i) {
        if (flagged[i] || !std::isfinite(f[i])) continue;
        const std::vector<double> si = design_of(j, polish.data() + i * static_cast<std::size_t>(d));
        s.insert(s.end(), si.begin(), si.end());
        v.push_back(sign * (f[i] - polish_center));
        least = std::min(least, v.back()), most = std::max(most, v.back());
      }
      j.spread = most - least;
      detail::quadratic_model model;
      std::vector<double> step, root, root_inverse;
      const bool fits = detail::fit_quadratic(s, v, d, model);
      // a quadratic that misses the values (root-mean-square) by more than k_polish_fit of their spread
      if (!fits || (most > least && !(detail::rms_residual(model, s, v, d) <= k_polish_fit * (most - least)))) j.rough = true;
      const bool peak = fits && !j.rough && detail::model_peak(model, d, k_polish_clip, step, root, root_inverse);
      j.no_peak = !peak;
      if (peak) {
        polish.resize(static_cast<std::size_t>(d));
        design_point(j, step, polish.data());
        fold(polish);
        polish_reach = detail::length(step);
        // the next designs' metric: the model's peak made round (unless that would make it too thin)
        if (!detail::compose_metric(j.root, j.root_inverse, root, root_inverse, d, k_polish_condition))
          j.root.clear(), j.root_inverse.clear();
        polish_peak = true;
        return;  // ask the peak
      }
    } else if (j.x == polish) {  // the peak was better
      polish_moved = std::max(polish_moved, polish_reach);
    }
    polish.clear();
    polish_peak = false;
    ++j.cycles;
    j.scale *= polish_moved > 0 ? std::min(1.0, std::max(0.05, 2 * polish_moved)) : 0.3;
    end_cycle();
  }

  /// Adds evaluated points to the archive (archive_radius > 0): members and candidates within the
  /// tolerance of the best, best first, each kept when it is farther than the radius from every point
  /// kept before it (the seeds of the competition's count), so the members stay pairwise apart.
  void archive_add(const std::vector<float>& x, const std::vector<double>& f) {
    if (cfg.archive_radius <= 0 || !has_best) return;
    const objective goal = cfg.run.goal;
    const double tol = cfg.archive_tolerance, r2 = cfg.archive_radius * cfg.archive_radius;
    const int d = dim();
    std::vector<archived_point> pool;
    for (archived_point& a : archive)
      if (std::fabs(static_cast<double>(a.fitness) - best_fitness) <= tol) pool.push_back(std::move(a));
    for (std::size_t i = 0; i < f.size(); ++i)
      if (std::isfinite(f[i]) && std::fabs(static_cast<double>(f[i]) - best_fitness) <= tol) {
        const float* p = x.data() + i * static_cast<std::size_t>(d);
        pool.push_back(archived_point{std::vector<float>(p, p + d), f[i]});
      }
    std::stable_sort(pool.begin(), pool.end(),
                     [&](const archived_point& a, const archived_point& b) { return detail::improves(a.fitness, b.fitness, goal); });
    archive.clear();
    for (archived_point& c : pool) {
      if (!near_any(c.x.data(), archive, r2)) archive.push_back(std::move(c));
    }
  }

  /// Which of the first `rows` last asked points lie within squared distance r2 of a refined point.
  std::vector<char> near_refined(std::size_t rows, double r2) const {
    std::vector<char> in(rows, 0);
    for (std::size_t i = 0; i < rows; ++i) in[i] = near_any(points.data() + i * static_cast<std::size_t>(dim()), refined, r2);
    return in;
  }
  /// open_ended_config::refine_taboo: which of the last asked points lie within the merge distance of
  /// a refined point (all false when the option is off).
  std::vector<char> taboo(std::size_t rows) const {
    return cfg.refine_taboo ? near_refined(rows, merge2()) : std::vector<char>(rows, 0);
  }
  /// The fitness of the points flagged set to the worst finite value told.
  std::vector<double> worst_where(std::vector<double> f, const std::vector<char>& flagged) const {
    const objective goal = cfg.run.goal;
    bool any = false;
    double floor = 0;
    for (const double v : f)
      if (std::isfinite(v) && (!any || detail::improves(floor, v, goal))) floor = v, any = true;
    for (std::size_t i = 0; i < f.size(); ++i)
      if (flagged[i] && std::isfinite(f[i])) f[i] = floor;
    return f;
  }

  /// Sequential niching (open_ended_config::derate_radius): the fitness of the last asked points with
  /// the points within derate_radius of a refined point set to the worst finite value told.
  std::vector<double> derated(std::vector<double> f) const {
    if (cfg.derate_radius <= 0 || refined.empty()) return f;
    const std::vector<char> near = near_refined(f.size(), cfg.derate_radius * cfg.derate_radius);
    return worst_where(std::move(f), near);
  }

  /// Applies the box to the optimizer's population (reflect, clip) or to the asked copy (penalize).
  void apply_box(population_view pop) {
    points.assign(pop.data, pop.data + pop.size());
    if (fold(points) && cfg.bounds != bound_rule::penalize) opt->replace_rows(0, pop.rows, points.data());
  }
  /// w (in [a, b]) as a float in [a, b]: rounded to nearest, then one step inward where that rounding
  /// left the box (validate() makes sure the box holds a float).
  static float inside_float(double w, double a, double b) {
    float v = static_cast<float>(w);
    if (v < a) v = std::nextafter(v, std::numeric_limits<float>::infinity());
    if (v > b) v = std::nextafter(v, -std::numeric_limits<float>::infinity());
    return v;
  }
  /// Applies the box to the rows of `x` (reflect, clip; penalize: clip, and excess gets each row's
  /// squared distance outside).
  /// @return Whether a coordinate was moved.
  bool fold(std::vector<float>& x) {
    const int d = dim(), rows = static_cast<int>(x.size()) / d;
    excess.assign(static_cast<std::size_t>(rows), 0.0);
    if (lo.empty()) return false;
    bool moved = false;
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < d; ++j) {
        float& v = x[static_cast<std::size_t>(i) * d + j];
        const double a = lo[static_cast<std::size_t>(j)], b = hi[static_cast<std::size_t>(j)];
        if (v >= a && v <= b) continue;
        double w = v;
        if (cfg.bounds == bound_rule::reflect) {
          const double width = b - a;  // fold into [a, b]: period 2 width
          double t = std::fmod(w - a, 2 * width);
          if (t < 0) t += 2 * width;
          w = a + (t <= width ? t : 2 * width - t);
        } else {
          const double c = std::min(std::max(w, a), b);
          if (cfg.bounds == bound_rule::penalize) excess[static_cast<std::size_t>(i)] += (w - c) * (w - c);
          w = c;
        }
        v = inside_float(std::min(std::max(w, a), b), a, b);
        moved = true;
      }
    return moved;
  }

  void finish(const char* why) {
    finished = true;
    reason = why;
  }
};

open_ended::open_ended(const open_ended_config& cfg) : s_(std::make_unique<state>()) {
  validate(cfg);
  s_->cfg = cfg;
  if (!cfg.lower.empty()) {
    s_->lo = expand(cfg.lower, cfg.run.dimension, 0.0);
    s_->hi = expand(cfg.upper, cfg.run.dimension, 0.0);
  }
  s_->unit = expand(cfg.run.scale, cfg.run.dimension, 1.0f);
  s_->start_restart();
  s_->backend = s_->opt->backend();
}

open_ended::~open_ended() = default;
open_ended::open_ended(open_ended&&) noexcept = default;
open_ended& open_ended::operator=(open_ended&&) noexcept = default;

void open_ended::inject(const float* points, int count) {
  DIFFEVO_EXPECTS(!s_->finished, logic_error, "inject() after done()");
  s_->require_usable("inject()");
  // (between them the log would replay it into the population already asked)
  DIFFEVO_EXPECTS(!s_->asked, logic_error, "inject() between ask() and tell(): call it after tell(), before the next ask()");
  const int n = s_->opt->population_size(), d = s_->dim();
  DIFFEVO_EXPECTS(count >= 0 && count <= n, invalid_argument, "inject(): count = ", count, " must be in [0, ", n, "]");
  DIFFEVO_EXPECTS(count == 0 || points, invalid_argument, "inject(): points is a null pointer");
  for (int i = 0; i < count; ++i)
    for (int j = 0; j < d; ++j)
      DIFFEVO_EXPECTS(std::isfinite(points[static_cast<std::size_t>(i) * d + j]), invalid_argument, "inject(): points row ", i,
                      ", column ", j, " = ", points[static_cast<std::size_t>(i) * d + j], " is not finite");
  s_->injected.assign(points, points + static_cast<std::size_t>(count) * d);
  s_->log.events.push_back(-count);
  s_->log.injected.insert(s_->log.injected.end(), s_->injected.begin(), s_->injected.end());
}

population_view open_ended::ask() {
  DIFFEVO_EXPECTS(!s_->finished, logic_error, "ask() after done(): the run stopped (", s_->reason, ")");
  s_->require_usable("ask()");
  state& s = *s_;
  const int d = s.dim();
  // Asked again before a tell (a retry after the evaluation threw): the same points. (Folding them
  // again would go through the parameter map once more and could move a value by an ulp.)
  if (s.asked) return population_view{s.points.data(), s.n(), d};
  if (!s.samples.empty()) {  // explore_samples: the restart's uniform sample (folded: float rounding)
    s.points = s.samples;
    s.fold(s.points);
    s.asked = true;
    return population_view{s.points.data(), s.n(), d};
  }
  // hill-valley tests (between two points of the box), refine_translate's candidates or refine_nudge's
  // steps (in the box already): the points as they are
  const std::vector<float>* batch = !s.tests.empty()          ? &s.tests
                                   : !s.translations.empty() ? &s.translations
                                   : !s.nudges.empty()       ? &s.nudges
                                                             : nullptr;
  if (batch) {
    s.points = *batch;
    s.excess.assign(batch->size() / static_cast<std::size_t>(d), 0.0);
    s.asked = true;
    return population_view{s.points.data(), s.n(), d};
  }
  if (!s.polish.empty()) {  // refine_polish: the step's points (in the box already)
    s.points = s.polish;
    s.asked = true;
    return population_view{s.points.data(), s.n(), d};
  }
  if (!s.injected.empty()) {  // into the worst rows of the last tell (the last rows before any)
    // At most n points, and only those this cycle's parameter map holds (a local cycle's is narrow):
    // see inject().
    const int n = s.n(), count = static_cast<int>(s.injected.size()) / d;
    const config& oc = s.opt->cfg();
    const std::vector<float> center = expand(oc.center, d, 0.0f), scale = expand(oc.scale, d, 1.0f);
    population_view cur = s.opt->ask();
    std::vector<float> all(cur.data, cur.data + cur.size());
    int placed = 0;
    for (int k = 0; k < count && placed < n; ++k) {
      const float* q = s.injected.data() + static_cast<std::size_t>(k) * d;
      bool held = true;
      for (int j = 0; j < d && held; ++j)
        held = detail::within_parameter_map(q[j], center[static_cast<std::size_t>(j)], scale[static_cast<std::size_t>(j)]);
      if (!held) continue;
      const int row = placed < static_cast<int>(s.worst.size()) ? s.worst[static_cast<std::size_t>(placed)] : n - 1 - placed;
      std::copy_n(q, d, all.begin() + static_cast<std::ptrdiff_t>(row) * d);
      ++placed;
    }
    if (placed > 0) s.opt->replace_rows(0, n, all.data());
    s.injected.clear();
  }
  s.apply_box(s.opt->ask());
  s.asked = true;
  return population_view{s.points.data(), s.n(), d};
}

void open_ended::tell(const float* fitness, std::size_t n) {
  check_tell(n, fitness);
  state& s = *s_;
  const objective goal = s.cfg.run.goal;
  // the penalty added in float, as the values are: a run told in float is what it always was
  std::vector<double> raw(fitness, fitness + n), f(n);
  for (std::size_t i = 0; i < n; ++i)
    f[i] = s.excess[i] > 0 ? fitness[i] + static_cast<float>((goal == objective::maximize ? -1 : 1) * s.cfg.penalty * s.excess[i])
                           : fitness[i];
  told(std::move(raw), std::move(f), false);
}

void open_ended::tell(const double* fitness, std::size_t n) {
  check_tell(n, fitness);
  state& s = *s_;
  const objective goal = s.cfg.run.goal;
  std::vector<double> raw(fitness, fitness + n), f = raw;
  for (std::size_t i = 0; i < n; ++i)
    if (s.excess[i] > 0) f[i] += (goal == objective::maximize ? -1 : 1) * s.cfg.penalty * s.excess[i];
  told(std::move(raw), std::move(f), true);
}

void open_ended::check_tell(std::size_t n, const void* fitness) const {
  const state& s = *s_;
  DIFFEVO_EXPECTS(!s.finished, logic_error, "tell() after done(): the run stopped (", s.reason, ")");
  s.require_usable("tell()");
  DIFFEVO_EXPECTS(s.asked, logic_error, "tell() before ask()");
  DIFFEVO_EXPECTS(n == static_cast<std::size_t>(s.n()), invalid_argument, "fitness has ", n,
                  " values but the population is ", s.n());
  DIFFEVO_EXPECTS(fitness != nullptr, invalid_argument, "fitness is a null pointer");
}

void open_ended::told(std::vector<double> raw, std::vector<double> f, bool precise) {
  state& s = *s_;
  const std::size_t n = raw.size();
  const objective goal = s.cfg.run.goal;
  const int d = s.dim();
  // what was asked: a restart's exploration sample, hill-valley tests, translation candidates, a nudge,
  // a polish step, or a cycle's generation (the final population when the optimizer is done)
  const bool sample = !s.samples.empty(), test = !sample && !s.tests.empty();
  const bool translate = !sample && !test && !s.translations.empty();
  const bool nudge = !sample && !test && !translate && !s.nudges.empty();
  const bool polish = !sample && !test && !translate && !nudge && !s.polish.empty();
  const bool cycle = !sample && !test && !translate && !nudge && !polish;
  const bool final_eval = cycle && s.opt->done(), local = (cycle || polish) && s.refining;
  const std::vector<char> taboo = local ? s.taboo(n) : std::vector<char>(n, 0);
  if (cycle && !final_eval) {  // the optimizer's checks first: a refused fitness changes nothing here
    const std::vector<double> g = local ? s.worst_where(f, taboo) : s.derated(f);
    if (s.cfg.shaping == density_shaping::rank) {
      s.opt->tell(rank_shape(g, goal, s.cfg.rank_temperature));
    } else {  // the update takes floats: a finite value beyond their range is refused, not made infinite
      for (std::size_t i = 0; i < n; ++i)
        DIFFEVO_EXPECTS(!std::isfinite(g[i]) || std::fabs(g[i]) <= std::numeric_limits<float>::max(), invalid_argument,
                        "fitness[", i, "] = ", raw[i], (g[i] != raw[i] ? " (penalized or derated: " : ""),
                        (g[i] != raw[i] ? detail::msg(g[i], ")") : std::string()),
                        " is beyond float range, and with shaping = density_shaping::none the update takes floats "
                        "(use density_shaping::rank, or rescale the fitness)");
      s.opt->tell(std::vector<float>(g.begin(), g.end()));
    }
  }
  // The optimizer took the values (or none was told); from here the run's state moves on in many
  // places. A throw on the way (memory, threads: validate() refuses every config a later cycle could
  // not be built with) leaves it part-way, so the run refuses to go on; the log already holds the
  // values, so save() and load() replay the tell.
  const auto advance = [&] {
    s.asked = false;
    s.log.events.push_back(static_cast<std::int32_t>(n));
    s.log.precise.push_back(precise ? 1 : 0);
    if (precise)
      s.log.told_precise.insert(s.log.told_precise.end(), raw.begin(), raw.end());
    else
      for (const double v : raw) s.log.told.push_back(static_cast<float>(v));  // exact: told in float
    s.evaluations += static_cast<long long>(n);
    ++s.generation;
    double lo = INFINITY, hi = -INFINITY;
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isfinite(raw[i])) {
        ++s.nonfinite;
        continue;
      }
      lo = std::min(lo, f[i]), hi = std::max(hi, f[i]);
      if (!s.has_best || detail::improves(raw[i], s.best_fitness, goal)) {
        s.best.assign(s.points.begin() + static_cast<std::ptrdiff_t>(i) * d, s.points.begin() + static_cast<std::ptrdiff_t>(i + 1) * d);
        s.best_fitness = raw[i];
        s.has_best = true;
      }
      if (local && !taboo[i] && detail::improves(raw[i], s.jobs.front().fitness, goal)) {
        seed_job& j = s.jobs.front();
        j.x.assign(s.points.begin() + static_cast<std::ptrdiff_t>(i) * d, s.points.begin() + static_cast<std::ptrdiff_t>(i + 1) * d);
        j.fitness = raw[i];
      }
    }
    s.worst.resize(n);
    std::iota(s.worst.begin(), s.worst.end(), 0);
    std::stable_sort(s.worst.begin(), s.worst.end(), [&](int a, int b) {
      if (!std::isfinite(f[static_cast<std::size_t>(b)])) return false;
      return !std::isfinite(f[static_cast<std::size_t>(a)]) || detail::improves(f[static_cast<std::size_t>(b)], f[static_cast<std::size_t>(a)], goal);
    });
    if (cycle) s.flat = (hi >= lo && hi - lo < s.cfg.flat_tolerance) ? s.flat + 1 : 0;
    const bool flat = cycle && s.cfg.flat_generations > 0 && s.flat >= s.cfg.flat_generations;
    if (cycle && !local && s.cfg.refine_first_generation && s.continuation == 0 && s.opt->generation() == 1)
      s.first_points = s.points, s.first_fitness = raw;  // a restart's first generation (from noise)
    if (sample) {  // kept for the seed clustering at the end of the restart's first cycle
      s.sampled = s.points, s.sampled_fitness = raw;
      s.samples.clear();
      s.worst.clear();  // its rows are not the optimizer's (injections go to the optimizer's last rows)
    } else if (test) {
      s.end_tests(raw);
    } else if (translate) {
      s.worst.clear();  // its rows are not the optimizer's (injections go to the optimizer's last rows)
      s.end_translations(raw);
    } else if (nudge) {
      s.worst.clear();  // its rows are not the optimizer's
      s.end_nudge(raw);
    } else if (polish) {
      s.end_polish(f, taboo);
    } else if (final_eval || flat) {  // the cycle ends: archive or refine, then continue, restart or stop
      ++s.cycles;
      s.flat = 0;
      if (local) {
        s.jobs.front().spread = hi >= lo ? hi - lo : INFINITY;
        s.next_local();
      } else {
        s.archive_add(s.points, raw);
        s.global_points = s.points;
        if (s.cfg.refine_levels > 0) {
          std::vector<float> xs = s.points;
          std::vector<double> fs = raw;
          if (s.cfg.refine_first_generation) {
            xs.insert(xs.end(), s.first_points.begin(), s.first_points.end());
            fs.insert(fs.end(), s.first_fitness.begin(), s.first_fitness.end());
          }
          xs.insert(xs.end(), s.sampled.begin(), s.sampled.end());
          fs.insert(fs.end(), s.sampled_fitness.begin(), s.sampled_fitness.end());
          s.sampled.clear(), s.sampled_fitness.clear();
          s.collect_seeds(std::move(xs), std::move(fs));
        }
        s.next_job();
      }
    }
    const bool reached = !std::isnan(s.cfg.target) && s.has_best &&
                         (goal == objective::maximize ? s.best_fitness >= s.cfg.target : s.best_fitness <= s.cfg.target);
    const bool out_of_time = s.cfg.max_seconds > 0 && (s.replaying ? s.replay_time_stop : s.seconds() >= s.cfg.max_seconds);
    if (!s.finished && reached)
      s.finish("target");
    else if (!s.finished && s.cfg.max_evaluations > 0 && s.evaluations + s.n() > s.cfg.max_evaluations)
      s.finish("max_evaluations");
    else if (!s.finished && out_of_time)
      s.finish("max_seconds");
    if (s.finished && cycle && !final_eval && !flat) s.archive_add(s.points, raw);  // stopped mid-cycle: keep its last population
    if (s.finished && s.refining && !s.at_edge(s.jobs.front()))  // and the seed's best (unless at a niche's edge)
      s.archive_add(s.jobs.front().x, {s.jobs.front().fitness});
  };
  try {
    advance();
  } catch (const std::exception& x) {
    s.failed = x.what();
    throw;
  } catch (...) {
    s.failed = "an exception that is not a std::exception";
    throw;
  }
}

bool open_ended::done() const noexcept { return s_->finished; }
int open_ended::generation() const noexcept { return s_->generation; }
int open_ended::generations() const noexcept { return -1; }
int open_ended::population_size() const noexcept { return s_->n(); }
int open_ended::dimension() const noexcept { return s_->cfg.run.dimension; }
objective open_ended::goal() const noexcept { return s_->cfg.run.goal; }
std::vector<float> open_ended::best() const {
  DIFFEVO_EXPECTS(s_->has_best, logic_error, "best() before any finite fitness was told");
  return s_->best;
}
float open_ended::best_fitness() const {
  DIFFEVO_EXPECTS(s_->has_best, logic_error, "best_fitness() before any finite fitness was told");
  return static_cast<float>(s_->best_fitness);
}
double open_ended::precise_best_fitness() const {
  DIFFEVO_EXPECTS(s_->has_best, logic_error, "precise_best_fitness() before any finite fitness was told");
  return s_->best_fitness;
}
bool open_ended::has_best() const noexcept { return s_->has_best; }
long long open_ended::total_nonfinite() const noexcept { return s_->nonfinite; }
const char* open_ended::name() const noexcept { return "open-ended-diffusion-evolution"; }
backend_kind open_ended::backend() const noexcept { return s_->backend; }
long long open_ended::evaluations() const noexcept { return s_->evaluations; }
int open_ended::cycles() const noexcept { return s_->cycles; }
int open_ended::restarts() const noexcept { return s_->restart; }
int open_ended::refinements() const noexcept { return s_->refinements; }
const std::string& open_ended::stop_reason() const noexcept { return s_->reason; }
std::vector<archived_point> open_ended::archive() const { return s_->archive; }
const open_ended_config& open_ended::cfg() const noexcept { return s_->cfg; }

void open_ended::save(const std::string& path) const {
  detail::open_ended_checkpoint c;
  c.cfg = s_->cfg;
  c.backend = s_->backend;
  c.seconds = s_->seconds();
  c.stopped = s_->reason;
  c.log = s_->log;
  if (s_->legacy_seeds) c.version = detail::k_hashed_seeds_version - 1;  // resumed from such a file: stays one
  detail::write_file_atomically(path, detail::encode_open_ended(c));
}

open_ended open_ended::load(const std::string& path, const open_ended_config* expect) {
  const std::vector<unsigned char> bytes = detail::read_file(path);
  detail::open_ended_checkpoint c = detail::decode_open_ended(bytes.data(), bytes.size(), path);
  if (expect) {
    const std::string diff = detail::first_difference(c.cfg, *expect);
    if (!diff.empty()) throw invalid_argument(detail::msg("checkpoint ", path, ": ", diff));
    c.cfg.run.cpu_threads = expect->run.cpu_threads;
    c.cfg.run.cpu_math = expect->run.cpu_math;
  }
  open_ended run(c.cfg);
  state& s = *run.s_;
  // before format 9, restart k was seeded run.seed + k: such a run goes on so (the first cycle, already
  // started, is seeded run.seed either way)
  s.legacy_seeds = c.version < detail::k_hashed_seeds_version;
  s.replaying = true;
  std::size_t in_float = 0, in_double = 0, tells = 0, injected = 0;  // read so far
  const std::size_t d = static_cast<std::size_t>(c.cfg.run.dimension);
  for (std::size_t e = 0; e < c.log.events.size(); ++e) {
    const std::int32_t k = c.log.events[e];
    if (s.finished)
      throw checkpoint_error(detail::msg("checkpoint ", path, ": the run ends at event ", e, " of ",
                                         c.log.events.size(), " of its log (corrupted)"));
    s.replay_time_stop = e + 1 == c.log.events.size() && c.stopped == "max_seconds";
    try {
      if (k > 0) {
        run.ask();
        if (c.log.precise[tells++]) {
          run.tell(c.log.told_precise.data() + in_double, static_cast<std::size_t>(k));
          in_double += static_cast<std::size_t>(k);
        } else {
          run.tell(c.log.told.data() + in_float, static_cast<std::size_t>(k));
          in_float += static_cast<std::size_t>(k);
        }
      } else {
        run.inject(c.log.injected.data() + injected * d, -k);
        injected += static_cast<std::size_t>(-k);
      }
    } catch (const invalid_argument& x) {
      throw checkpoint_error(detail::msg("checkpoint ", path, ": event ", e, " of its log does not replay: ", x.what()));
    }
  }
  s.replaying = false;
  s.started = std::chrono::steady_clock::now() - std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                      std::chrono::duration<double>(c.seconds));
  if (s.reason != c.stopped)
    throw checkpoint_error(detail::msg("checkpoint ", path, ": the replayed run stopped with '", s.reason,
                                       "' but the file says '", c.stopped, "' (corrupted)"));
  return run;
}

namespace {

/// Drives `run` to its end; `evaluate(pop, fitness)` fills r.fitness (as told) and tells it.
template <class Evaluate>
open_ended_result run_to_end(open_ended& run, Evaluate&& evaluate) {
  open_ended_result r;
  while (!run.done()) {
    const population_view pop = run.ask();
    r.population.assign(pop.data, pop.data + pop.size());
    r.fitness.assign(static_cast<std::size_t>(pop.rows), 0.0);
    evaluate(pop, r.fitness);
  }
  r.has_best = run.has_best();
  if (r.has_best) r.best = run.best(), r.best_fitness = run.precise_best_fitness();
  r.archive = run.archive();
  r.evaluations = run.evaluations();
  r.cycles = run.cycles();
  r.restarts = run.restarts();
  r.refinements = run.refinements();
  r.stop_reason = run.stop_reason();
  return r;
}

}  // namespace

open_ended_result run(open_ended& s, const batch_fitness& fitness) {
  DIFFEVO_EXPECTS(static_cast<bool>(fitness), invalid_argument, "run(): the fitness callback is empty");
  std::vector<float> f;
  return run_to_end(s, [&](population_view pop, std::vector<double>& out) {
    f.assign(static_cast<std::size_t>(pop.rows), 0.0f);
    fitness(pop, f.data());
    s.tell(f);
    out.assign(f.begin(), f.end());
  });
}

open_ended_result run(open_ended& s, const precise_batch_fitness& fitness) {
  DIFFEVO_EXPECTS(static_cast<bool>(fitness), invalid_argument, "run(): the fitness callback is empty");
  return run_to_end(s, [&](population_view pop, std::vector<double>& out) {
    fitness(pop, out.data());
    s.tell(out);
  });
}

open_ended_result optimize(const open_ended_config& cfg, const batch_fitness& fitness) {
  DIFFEVO_EXPECTS(static_cast<bool>(fitness), invalid_argument, "optimize(): the fitness callback is empty");
  open_ended s(cfg);
  return run(s, fitness);
}

open_ended_result optimize(const open_ended_config& cfg, const precise_batch_fitness& fitness) {
  DIFFEVO_EXPECTS(static_cast<bool>(fitness), invalid_argument, "optimize(): the fitness callback is empty");
  open_ended s(cfg);
  return run(s, fitness);
}

}  // namespace diffevo
