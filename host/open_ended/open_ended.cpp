// Open-ended Diffusion Evolution (docs/algorithm.md §8): cycles of the ask/tell optimizer, chained by
// continuation (re-diffusion of a finished population) and restarts, with a box, rank shaping, an
// archive and stopping criteria. The numerical work stays in the optimizer; this file only decides
// which population is asked next and what is told.
#include "diffevo/open_ended.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <optional>

#include "diffevo/error.hpp"
#include "host/backend/backend.hpp"
#include "host/util/message.hpp"

namespace diffevo {
namespace {

std::vector<double> expand_box(const std::vector<double>& v, int d) {
  if (v.size() == 1) return std::vector<double>(static_cast<std::size_t>(d), v[0]);
  return v;
}

/// Rank-shaped log-densities: the best finite value gets 0, the worst -1 / temperature, ties share
/// their mean rank; a non-finite fitness gets NaN (weight 0 in the update).
std::vector<float> rank_shape(const std::vector<float>& f, objective goal, double temperature) {
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

void validate(const open_ended_config& c) {
  validate(c.run);
  const int d = c.run.dimension;
  DIFFEVO_EXPECTS(c.lower.empty() == c.upper.empty(), invalid_argument, "lower has ", c.lower.size(),
                  " values and upper ", c.upper.size(), ": give both or neither");
  for (const auto* v : {&c.lower, &c.upper})
    DIFFEVO_EXPECTS(v->empty() || v->size() == 1 || v->size() == static_cast<std::size_t>(d), invalid_argument,
                    v == &c.lower ? "lower" : "upper", " has ", v->size(), " values; give 0, 1 or dimension = ", d);
  if (!c.lower.empty()) {
    const std::vector<double> lo = expand_box(c.lower, d), hi = expand_box(c.upper, d);
    for (int j = 0; j < d; ++j)
      DIFFEVO_EXPECTS(std::isfinite(lo[j]) && std::isfinite(hi[j]) && lo[j] < hi[j], invalid_argument, "the box is empty in dimension ",
                      j, ": lower = ", lo[j], ", upper = ", hi[j], " (need finite lower < upper)");
  }
  detail::expect_enum<invalid_argument>(c.bounds, "bounds", 3, "reflect, clip or penalize (0-2)");
  detail::expect_enum<invalid_argument>(c.shaping, "shaping", 2, "none or rank (0-1)");
  DIFFEVO_EXPECTS(std::isfinite(c.penalty) && c.penalty >= 0, invalid_argument, "penalty = ", c.penalty,
                  " must be finite and >= 0");
  DIFFEVO_EXPECTS(std::isfinite(c.rank_temperature) && c.rank_temperature > 0, invalid_argument,
                  "rank_temperature = ", c.rank_temperature, " must be finite and > 0");
  DIFFEVO_EXPECTS(c.continuations >= 0, invalid_argument, "continuations = ", c.continuations, " must be >= 0");
  DIFFEVO_EXPECTS(c.continue_at == -1 || (c.continue_at >= 0 && c.continue_at <= c.run.steps - 2), invalid_argument,
                  "continue_at = ", c.continue_at, " must be -1 or in [0, ", c.run.steps - 2, "]");
  DIFFEVO_EXPECTS(c.restarts >= -1, invalid_argument, "restarts = ", c.restarts, " must be >= -1 (-1: unlimited)");
  DIFFEVO_EXPECTS(std::isfinite(c.population_growth) && c.population_growth >= 1, invalid_argument,
                  "population_growth = ", c.population_growth, " must be finite and >= 1");
  DIFFEVO_EXPECTS(c.max_population >= c.run.population, invalid_argument, "max_population = ", c.max_population,
                  " must be >= population = ", c.run.population);
  DIFFEVO_EXPECTS(std::isfinite(c.archive_radius) && c.archive_radius >= 0, invalid_argument, "archive_radius = ",
                  c.archive_radius, " must be finite and >= 0");
  DIFFEVO_EXPECTS(!std::isnan(c.archive_tolerance) && c.archive_tolerance >= 0, invalid_argument,
                  "archive_tolerance = ", c.archive_tolerance, " must be >= 0");
  DIFFEVO_EXPECTS(c.max_evaluations == 0 || c.max_evaluations >= c.run.population, invalid_argument,
                  "max_evaluations = ", c.max_evaluations, " is less than one population (", c.run.population,
                  "); use 0 for no budget");
  DIFFEVO_EXPECTS(c.max_evaluations >= 0, invalid_argument, "max_evaluations = ", c.max_evaluations, " must be >= 0");
  DIFFEVO_EXPECTS(!std::isnan(c.max_seconds) && c.max_seconds >= 0, invalid_argument, "max_seconds = ",
                  c.max_seconds, " must be >= 0");
  DIFFEVO_EXPECTS(c.flat_generations >= 0, invalid_argument, "flat_generations = ", c.flat_generations, " must be >= 0");
  DIFFEVO_EXPECTS(std::isfinite(c.flat_tolerance) && c.flat_tolerance >= 0, invalid_argument, "flat_tolerance = ",
                  c.flat_tolerance, " must be finite and >= 0");
  DIFFEVO_EXPECTS(!std::isinf(c.target), invalid_argument, "target = ", c.target, " must be finite (NaN: none)");
}

struct open_ended::state {
  open_ended_config cfg;
  std::vector<double> lo, hi;  // the box, D values each, or empty
  std::optional<optimizer> opt;
  int restart = 0, continuation = 0, cycles = 0, generation = 0, flat = 0;
  long long evaluations = 0, nonfinite = 0;
  bool asked = false, finished = false;
  std::string reason;
  std::vector<float> points;   // the population last asked (as evaluated)
  std::vector<double> excess;  // penalize: squared distance of each asked row outside the box
  std::vector<int> worst;      // rows of the last tell, worst first (where injections go)
  std::vector<float> injected;
  std::vector<float> best;
  float best_fitness = 0;
  bool has_best = false;
  std::vector<archived_point> archive;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  int dim() const { return cfg.run.dimension; }
  int n() const { return opt->population_size(); }

  config cycle_config(int k, std::uint64_t salt) const {
    config c = opt ? opt->cfg() : cfg.run;
    c.seed = cfg.run.seed + static_cast<std::uint64_t>(k) + salt * 0x9E3779B97F4A7C15ull;
    const double grown = std::round(cfg.run.population * std::pow(cfg.population_growth, k));
    c.population = static_cast<int>(std::min<double>(grown, cfg.max_population));
    if (cfg.shaping == density_shaping::rank) c.density = density_kind::log_density, c.goal = objective::maximize;
    return c;
  }
  void start_restart() {
    const config c = cycle_config(restart, 0);
    if (restart == 0 && !cfg.start.population.empty())
      opt.emplace(c, cfg.start);
    else
      opt.emplace(c);
    worst.clear();
  }
  void start_continuation() {
    const int at = cfg.continue_at >= 0 ? cfg.continue_at : (cfg.run.steps - 1) / 2;
    const config c = cycle_config(restart, static_cast<std::uint64_t>(continuation));
    opt.emplace(c, start_point{points, at, true});
  }

  /// Adds evaluated points to the archive (archive_radius > 0): members and candidates within the
  /// tolerance of the best, best first, each kept when it is farther than the radius from every point
  /// kept before it (the seeds of the competition's count), so the members stay pairwise apart.
  void archive_add(const std::vector<float>& x, const std::vector<float>& f) {
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
      bool near = false;
      for (const archived_point& a : archive) {
        double d2 = 0;
        for (int j = 0; j < d; ++j) {
          const double t = double(c.x[static_cast<std::size_t>(j)]) - a.x[static_cast<std::size_t>(j)];
          d2 += t * t;
        }
        if (d2 <= r2) {
          near = true;
          break;
        }
      }
      if (!near) archive.push_back(std::move(c));
    }
  }

  /// Applies the box to the optimizer's population (reflect, clip) or to the asked copy (penalize).
  void apply_box(population_view pop) {
    points.assign(pop.data, pop.data + pop.size());
    excess.assign(static_cast<std::size_t>(pop.rows), 0.0);
    if (lo.empty()) return;
    const int d = dim();
    bool moved = false;
    for (int i = 0; i < pop.rows; ++i)
      for (int j = 0; j < d; ++j) {
        float& v = points[static_cast<std::size_t>(i) * d + j];
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
        v = static_cast<float>(std::min(std::max(w, a), b));  // rounding to float must stay inside too
        moved = true;
      }
    if (moved && cfg.bounds != bound_rule::penalize) opt->replace_rows(0, pop.rows, points.data());
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
    s_->lo = expand_box(cfg.lower, cfg.run.dimension);
    s_->hi = expand_box(cfg.upper, cfg.run.dimension);
  }
  s_->start_restart();
}

open_ended::~open_ended() = default;
open_ended::open_ended(open_ended&&) noexcept = default;
open_ended& open_ended::operator=(open_ended&&) noexcept = default;

void open_ended::inject(const float* points, int count) {
  DIFFEVO_EXPECTS(!s_->finished, logic_error, "inject() after done()");
  const int n = s_->n(), d = s_->dim();
  DIFFEVO_EXPECTS(count >= 0 && count <= n, invalid_argument, "inject(): count = ", count, " must be in [0, ", n, "]");
  DIFFEVO_EXPECTS(count == 0 || points, invalid_argument, "inject(): points is a null pointer");
  for (int i = 0; i < count; ++i)
    for (int j = 0; j < d; ++j)
      DIFFEVO_EXPECTS(std::isfinite(points[static_cast<std::size_t>(i) * d + j]), invalid_argument, "inject(): points row ", i,
                      ", column ", j, " = ", points[static_cast<std::size_t>(i) * d + j], " is not finite");
  s_->injected.assign(points, points + static_cast<std::size_t>(count) * d);
}

population_view open_ended::ask() {
  DIFFEVO_EXPECTS(!s_->finished, logic_error, "ask() after done(): the run stopped (", s_->reason, ")");
  state& s = *s_;
  const int d = s.dim();
  if (!s.injected.empty()) {  // into the worst rows of the last tell (the last rows before any)
    const int count = static_cast<int>(s.injected.size()) / d, n = s.n();
    population_view cur = s.opt->ask();
    std::vector<float> all(cur.data, cur.data + cur.size());
    for (int k = 0; k < count; ++k) {
      const int row = k < static_cast<int>(s.worst.size()) ? s.worst[static_cast<std::size_t>(k)] : n - 1 - k;
      std::copy_n(s.injected.begin() + static_cast<std::ptrdiff_t>(k) * d, d, all.begin() + static_cast<std::ptrdiff_t>(row) * d);
    }
    s.opt->replace_rows(0, n, all.data());
    s.injected.clear();
  }
  s.apply_box(s.opt->ask());
  s.asked = true;
  return population_view{s.points.data(), s.n(), d};
}

void open_ended::tell(const float* fitness, std::size_t n) {
  state& s = *s_;
  DIFFEVO_EXPECTS(!s.finished, logic_error, "tell() after done(): the run stopped (", s.reason, ")");
  DIFFEVO_EXPECTS(s.asked, logic_error, "tell() before ask()");
  DIFFEVO_EXPECTS(n == static_cast<std::size_t>(s.n()), invalid_argument, "fitness has ", n,
                  " values but the population is ", s.n());
  DIFFEVO_EXPECTS(fitness != nullptr, invalid_argument, "fitness is a null pointer");
  const objective goal = s.cfg.run.goal;
  const int d = s.dim();
  std::vector<float> raw(fitness, fitness + n), f = raw;
  for (std::size_t i = 0; i < n; ++i)
    if (s.excess[i] > 0) f[i] += static_cast<float>((goal == objective::maximize ? -1 : 1) * s.cfg.penalty * s.excess[i]);
  const bool final_eval = s.opt->done();
  if (!final_eval) {  // the optimizer's checks first: a refused fitness changes nothing here
    if (s.cfg.shaping == density_shaping::rank)
      s.opt->tell(rank_shape(f, goal, s.cfg.rank_temperature));
    else
      s.opt->tell(f);
  }
  s.asked = false;
  s.evaluations += static_cast<long long>(n);
  ++s.generation;
  float lo = INFINITY, hi = -INFINITY;
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
  }
  s.worst.resize(n);
  std::iota(s.worst.begin(), s.worst.end(), 0);
  std::stable_sort(s.worst.begin(), s.worst.end(), [&](int a, int b) {
    if (!std::isfinite(f[static_cast<std::size_t>(b)])) return false;
    return !std::isfinite(f[static_cast<std::size_t>(a)]) || detail::improves(f[static_cast<std::size_t>(b)], f[static_cast<std::size_t>(a)], goal);
  });
  s.flat = (hi >= lo && static_cast<double>(hi) - lo < s.cfg.flat_tolerance) ? s.flat + 1 : 0;
  const bool flat = s.cfg.flat_generations > 0 && s.flat >= s.cfg.flat_generations;
  if (final_eval || flat) {  // the cycle ends: archive its population, then continue, restart or stop
    s.archive_add(s.points, raw);
    ++s.cycles;
    s.flat = 0;
    if (s.continuation < s.cfg.continuations) {
      ++s.continuation;
      s.start_continuation();
    } else if (s.cfg.restarts == -1 || s.restart < s.cfg.restarts) {
      ++s.restart;
      s.continuation = 0;
      s.start_restart();
    } else {
      s.finish("restarts");
    }
  }
  const bool reached = !std::isnan(s.cfg.target) && s.has_best &&
                       (goal == objective::maximize ? s.best_fitness >= s.cfg.target : s.best_fitness <= s.cfg.target);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - s.started).count();
  if (!s.finished && reached)
    s.finish("target");
  else if (!s.finished && s.cfg.max_evaluations > 0 && s.evaluations + s.n() > s.cfg.max_evaluations)
    s.finish("max_evaluations");
  else if (!s.finished && s.cfg.max_seconds > 0 && seconds >= s.cfg.max_seconds)
    s.finish("max_seconds");
  if (s.finished && !final_eval && !flat) s.archive_add(s.points, raw);  // stopped mid-cycle: keep its last population
}

bool open_ended::done() const noexcept { return s_->finished; }
int open_ended::generation() const noexcept { return s_->generation; }
int open_ended::generations() const noexcept { return -1; }
int open_ended::population_size() const noexcept { return s_->opt->population_size(); }
int open_ended::dimension() const noexcept { return s_->cfg.run.dimension; }
objective open_ended::goal() const noexcept { return s_->cfg.run.goal; }
std::vector<float> open_ended::best() const {
  DIFFEVO_EXPECTS(s_->has_best, logic_error, "best() before any finite fitness was told");
  return s_->best;
}
float open_ended::best_fitness() const {
  DIFFEVO_EXPECTS(s_->has_best, logic_error, "best_fitness() before any finite fitness was told");
  return s_->best_fitness;
}
bool open_ended::has_best() const noexcept { return s_->has_best; }
long long open_ended::total_nonfinite() const noexcept { return s_->nonfinite; }
const char* open_ended::name() const noexcept { return "open-ended-diffusion-evolution"; }
backend_kind open_ended::backend() const noexcept { return s_->opt->backend(); }
long long open_ended::evaluations() const noexcept { return s_->evaluations; }
int open_ended::cycles() const noexcept { return s_->cycles; }
int open_ended::restarts() const noexcept { return s_->restart; }
const std::string& open_ended::stop_reason() const noexcept { return s_->reason; }
std::vector<archived_point> open_ended::archive() const { return s_->archive; }
const open_ended_config& open_ended::cfg() const noexcept { return s_->cfg; }

open_ended_result optimize(const open_ended_config& cfg, const batch_fitness& fitness) {
  DIFFEVO_EXPECTS(static_cast<bool>(fitness), invalid_argument, "optimize(): the fitness callback is empty");
  open_ended run(cfg);
  open_ended_result r;
  while (!run.done()) {
    const population_view pop = run.ask();
    r.population.assign(pop.data, pop.data + pop.size());
    r.fitness.assign(static_cast<std::size_t>(pop.rows), 0.0f);
    fitness(pop, r.fitness.data());
    run.tell(r.fitness);
  }
  r.has_best = run.has_best();
  if (r.has_best) r.best = run.best(), r.best_fitness = run.best_fitness();
  r.archive = run.archive();
  r.evaluations = run.evaluations();
  r.cycles = run.cycles();
  r.restarts = run.restarts();
  r.stop_reason = run.stop_reason();
  return r;
}

}  // namespace diffevo
