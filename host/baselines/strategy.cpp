// The bookkeeping shared by the baselines: validation at the API boundary, fitness classification
// (NaN and losing-direction infinity rank last and are counted), best-so-far, the state machine.
#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <numeric>

#include "host/backend/backend.hpp"
#include "host/util/message.hpp"
#include "host/api/record.hpp"
#include "diffevo/error.hpp"
#include "state.hpp"

namespace diffevo {
namespace detail {

std::vector<double> centered_ranks(const std::vector<double>& u, const std::vector<char>& dropped) {
  const std::size_t n = u.size();
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
    if (dropped[a] != dropped[b]) return dropped[a] != 0;
    return u[a] < u[b];
  });
  std::vector<double> r(n, 0.0);
  if (n < 2) return r;
  for (std::size_t k = 0; k < n; ++k) r[idx[k]] = static_cast<double>(k) / static_cast<double>(n - 1) - 0.5;
  return r;
}

void adam::ascend(std::vector<double>& theta, const std::vector<double>& g, double stepsize) {
  ++t;
  const double a = stepsize * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t));
  for (std::size_t i = 0; i < theta.size(); ++i) {
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    theta[i] += a * m[i] / (std::sqrt(v[i]) + 1e-8);
  }
}

std::vector<double> shaped_fitness(const std::vector<double>& u, const std::vector<char>& dropped, bool ranks,
                                   double weight_decay, const std::vector<float>& pop, int d) {
  std::vector<double> r = ranks ? centered_ranks(u, dropped) : u;
  if (weight_decay > 0) {
    const std::size_t dd = static_cast<std::size_t>(d);
    double lowest = INFINITY;  // of the finite entries, after their penalty
    for (std::size_t k = 0; k < r.size(); ++k) {
      if (dropped[k]) continue;  // a non-finite entry's parameters are not penalized: it stays last below
      double s2 = 0;
      for (std::size_t j = 0; j < dd; ++j) s2 += double(pop[k * dd + j]) * pop[k * dd + j];
      r[k] -= weight_decay * s2 / static_cast<double>(d);
      lowest = std::min(lowest, r[k]);
    }
    // The penalty lowers finite entries only, which could take them below the non-finite ones (the
    // lowest rank, or the worst value told): those stay last.
    for (std::size_t k = 0; k < r.size(); ++k)
      if (dropped[k] && lowest < r[k]) r[k] = lowest;
  }
  return r;
}

void validate_gradient_es(const gradient_es_fields& c, const char* who) {
  DIFFEVO_EXPECTS(c.dimension >= 1, invalid_argument, who, ": dimension must be >= 1 (got ", c.dimension, ")");
  DIFFEVO_EXPECTS(c.generations >= 1, invalid_argument, who, ": generations must be >= 1 (got ", c.generations, ")");
  DIFFEVO_EXPECTS(std::isfinite(c.sigma_init) && c.sigma_init > 0, invalid_argument, who,
                  ": sigma_init must be finite and > 0 (got ", c.sigma_init, ")");
  DIFFEVO_EXPECTS(std::isfinite(c.learning_rate) && c.learning_rate > 0, invalid_argument, who,
                  ": learning_rate must be finite and > 0 (got ", c.learning_rate, ")");
  DIFFEVO_EXPECTS(c.sigma_decay > 0 && c.sigma_decay <= 1, invalid_argument, who, ": sigma_decay must be in (0, 1] (got ",
                  c.sigma_decay, ")");
  DIFFEVO_EXPECTS(c.learning_rate_decay > 0 && c.learning_rate_decay <= 1, invalid_argument, who,
                  ": learning_rate_decay must be in (0, 1] (got ", c.learning_rate_decay, ")");
  DIFFEVO_EXPECTS(std::isfinite(c.sigma_limit) && c.sigma_limit >= 0, invalid_argument, who,
                  ": sigma_limit must be finite and >= 0 (got ", c.sigma_limit, ")");
  DIFFEVO_EXPECTS(std::isfinite(c.learning_rate_limit) && c.learning_rate_limit >= 0, invalid_argument, who,
                  ": learning_rate_limit must be finite and >= 0 (got ", c.learning_rate_limit, ")");
  DIFFEVO_EXPECTS(std::isfinite(c.weight_decay) && c.weight_decay >= 0, invalid_argument, who,
                  ": weight_decay must be finite and >= 0 (got ", c.weight_decay, ")");
}

std::vector<float> population_buffer(const char* who, int n, int d, double need) {
  const std::size_t nd = static_cast<std::size_t>(n) * d;
  require_host_memory(who, n, d, need);
  try {
    return std::vector<float>(draw_count(nd));
  } catch (const std::bad_alloc&) {
    throw out_of_memory(msg(who, ": cannot allocate the population (population = ", n, ", dimension = ", d, ")"));
  }
}

void rethrow_as_out_of_memory(const char* who, int n, int d) {
  try {
    throw;
  } catch (const out_of_memory&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw out_of_memory(msg(who, ": cannot allocate its buffers (population = ", n, ", dimension = ", d, ")"));
  }
}

std::vector<double> initial_mean(const std::vector<float>& mean0, int d, double sigma, const char* sigma_name,
                                 const char* who) {
  DIFFEVO_EXPECTS(mean0.empty() || mean0.size() == static_cast<std::size_t>(d), invalid_argument, who,
                  ": mean0 must have 0 or dimension (", d, ") values (got ", mean0.size(), ")");
  for (std::size_t i = 0; i < mean0.size(); ++i)
    DIFFEVO_EXPECTS(std::isfinite(mean0[i]), invalid_argument, who, ": mean0[", i, "] must be finite (got ",
                    mean0[i], ")");
  // The samples are floats: as the optimizer's center and scale, |mean| + sigma x k_max_abs_x must fit.
  const std::size_t checked = std::max<std::size_t>(mean0.size(), 1);
  for (std::size_t i = 0; i < checked; ++i) {
    const double m = mean0.empty() ? 0.0 : mean0[i];
    DIFFEVO_EXPECTS(map_fits_float(m, sigma), invalid_argument, who,
                    ": ", sigma_name, " = ", sigma, " with mean0[", i, "] = ", m, " makes samples overflow float (|mean0| + ",
                    sigma_name, " x ", k_max_abs_x, " must be <= ", std::numeric_limits<float>::max(), ")");
  }
  if (mean0.empty()) return std::vector<double>(static_cast<std::size_t>(d), 0.0);
  return std::vector<double>(mean0.begin(), mean0.end());
}

}  // namespace detail

baseline_strategy::baseline_strategy(std::unique_ptr<detail::baseline_state> s) : s_(std::move(s)) {
  s_->sample();
  s_->last_tell = detail::seconds_now();
}
baseline_strategy::~baseline_strategy() = default;
baseline_strategy::baseline_strategy(baseline_strategy&&) noexcept = default;
baseline_strategy& baseline_strategy::operator=(baseline_strategy&&) noexcept = default;

population_view baseline_strategy::ask() {
  s_->asked = true;
  return population_view{s_->pop.data(), s_->n, s_->d};
}

void baseline_strategy::tell(const float* fitness, std::size_t n) {
  const double started = detail::seconds_now();
  detail::baseline_state& s = *s_;
  DIFFEVO_EXPECTS(!done(), logic_error, s.name, ": tell() after done(): the run has finished its ", s.generations,
                  " generations");
  DIFFEVO_EXPECTS(s.asked, logic_error, s.name, ": tell() before ask() at generation ", s.generation);
  DIFFEVO_EXPECTS(n == static_cast<std::size_t>(s.n), invalid_argument, s.name, ": fitness has ", n,
                  " values but population is ", s.n);
  DIFFEVO_EXPECTS(fitness != nullptr, invalid_argument, s.name, ": fitness is a null pointer");
  const bool minimize = s.goal == objective::minimize;
  std::vector<double> u(static_cast<std::size_t>(s.n));
  std::vector<char> dropped(static_cast<std::size_t>(s.n), 0);
  double worst = INFINITY;
  int best = -1, bad = 0;
  for (int i = 0; i < s.n; ++i) {
    const float f = fitness[i];
    const double up = minimize ? -static_cast<double>(f) : static_cast<double>(f);
    DIFFEVO_EXPECTS(!(std::isinf(up) && up > 0), invalid_argument, s.name, ": fitness[", i, "] = ", f,
                    " is infinite in the winning direction (objective ", to_string(s.goal), ")");
    if (!std::isfinite(up)) {
      dropped[i] = 1;
      ++bad;
      continue;
    }
    u[i] = up;
    worst = std::min(worst, up);
    if (best < 0 || up > u[best]) best = i;
  }
  for (int i = 0; i < s.n; ++i)
    if (dropped[i]) u[i] = std::isfinite(worst) ? worst : 0.0;
  // Everything that allocates comes first; best-so-far, the counters and the told history are
  // committed together after the update, so a save after a failed tell still matches its generation.
  const bool improved = best >= 0 && (!s.has_best || detail::improves(fitness[best], s.best_fitness, s.goal));
  std::vector<float> new_best;
  if (improved)
    new_best.assign(s.pop.begin() + static_cast<std::ptrdiff_t>(best) * s.d,
                    s.pop.begin() + static_cast<std::ptrdiff_t>(best + 1) * s.d);
  generation_record rec;
  if (s.observer) detail::fitness_stats(std::vector<float>(fitness, fitness + s.n), s.goal, rec);
  const std::size_t told_size = s.told.size() + static_cast<std::size_t>(s.n);
  if (s.told.capacity() < told_size) s.told.reserve(std::max(told_size, 2 * s.told.capacity()));
  if (best >= 0) s.update(u, dropped);  // no finite fitness at all: nothing to learn from, keep the distribution
  if (improved) {
    s.best.swap(new_best);
    s.best_fitness = fitness[best];
    s.has_best = true;
  }
  s.nonfinite += bad;
  ++s.generation;
  s.asked = false;
  s.told.insert(s.told.end(), fitness, fitness + s.n);  // reserved above: cannot throw
  s.sample();  // after the last tell: the final distribution's population
  const double now = detail::seconds_now();
  const double gen_seconds = now - s.last_tell;
  s.last_tell = now;
  if (s.observer) {
    rec.generation = s.generation;
    rec.generations = s.generations;
    rec.alpha = rec.alpha_next = rec.effective_neighbours = NAN;
    rec.nonfinite = bad;
    rec.spread = detail::spread_of(s.pop.data(), s.n, s.d);
    rec.update_seconds = now - started;
    rec.generation_seconds = gen_seconds;
    rec.best_so_far = s.has_best ? s.best_fitness : NAN;
    s.observer.call(rec);  // the callback may replace or clear itself
  }
}

bool baseline_strategy::done() const noexcept { return s_->generation >= s_->generations; }
int baseline_strategy::generation() const noexcept { return s_->generation; }
int baseline_strategy::generations() const noexcept { return s_->generations; }
int baseline_strategy::population_size() const noexcept { return s_->n; }
int baseline_strategy::dimension() const noexcept { return s_->d; }
objective baseline_strategy::goal() const noexcept { return s_->goal; }
std::vector<float> baseline_strategy::best() const {
  DIFFEVO_EXPECTS(s_->has_best, logic_error, s_->name, ": best() before any finite fitness was told");
  return s_->best;
}
float baseline_strategy::best_fitness() const {
  DIFFEVO_EXPECTS(s_->has_best, logic_error, s_->name, ": best_fitness() before any finite fitness was told");
  return s_->best_fitness;
}
bool baseline_strategy::has_best() const noexcept { return s_->has_best; }
long long baseline_strategy::total_nonfinite() const noexcept { return s_->nonfinite; }
const char* baseline_strategy::name() const noexcept { return s_->name; }
std::vector<float> baseline_strategy::mean() const { return s_->mean(); }
void baseline_strategy::on_generation(generation_callback cb) { s_->observer.set(std::move(cb)); }

}  // namespace diffevo
