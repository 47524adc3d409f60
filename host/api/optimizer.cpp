// The optimizer facade: API-boundary validation, the ask/tell state machine, backend choice and
// best-so-far bookkeeping. The numerical work lives in the backends.
#include "diffevo/optimizer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include "host/backend/backend.hpp"
#include "host/backend/noise_position.hpp"
#include "host/cpu/cpu_backend.hpp"
#include "host/backend/cuda_backend.hpp"
#include "diffevo/error.hpp"
#include "host/util/message.hpp"
#include "optimizer_state.hpp"
#include "record.hpp"

namespace diffevo {

optimizer::optimizer(const config& cfg) : s_(std::make_unique<state>()) {
  validate(cfg);
  s_->cfg = cfg;
  s_->alphas = make_schedule(cfg);
  const bool gpu = cfg.backend == backend_kind::cuda ||
                   (cfg.backend == backend_kind::automatic && cuda_device_available());
  if (gpu) {  // throws device_unavailable with the reason when there is no device
    s_->kind = backend_kind::cuda;
    s_->impl = detail::make_cuda_backend(cfg);
  } else {
    s_->kind = backend_kind::cpu;
    s_->impl = detail::make_cpu_backend(cfg);
  }
}

namespace {
/// Internal coordinates x = (p - center) / scale of `rows` rows of parameters, checked (finite,
/// |x| <= k_max_abs_x); `what` names the argument in the message of a bad value.
void to_internal(const config& cfg, const float* p, int rows, float* x, const char* what) {
  const int d = cfg.dimension;
  const std::vector<float> center = detail::expand_affine(cfg.center, d, 0.0f);
  const std::vector<float> scale = detail::expand_affine(cfg.scale, d, 1.0f);
  for (int i = 0; i < rows; ++i)
    for (int c = 0; c < d; ++c) {
      const std::size_t k = static_cast<std::size_t>(i) * d + c;
      DIFFEVO_EXPECTS(detail::within_parameter_map(p[k], center[c], scale[c]), invalid_argument, what, " row ", i,
                      ", column ", c, " = ", p[k], " is ",
                      std::isfinite(p[k]) ? "outside the parameter map's range (|p - center| / scale > k_max_abs_x)"
                                          : "not finite");
      x[k] = static_cast<float>((static_cast<double>(p[k]) - center[c]) / scale[c]);
    }
}
}  // namespace

optimizer::optimizer(const config& cfg, const start_point& start) : optimizer(cfg) {
  const int t = cfg.steps, g = start.generation;
  DIFFEVO_EXPECTS(g >= 0 && g <= t - 1, invalid_argument, "start.generation = ", g, " must be in [0, ", t - 1,
                  "] (steps = ", t, ")");
  const std::size_t nd = static_cast<std::size_t>(cfg.population) * cfg.dimension;
  DIFFEVO_EXPECTS(start.population.size() == nd, invalid_argument, "start.population has ", start.population.size(),
                  " values but population x dimension is ", nd);
  detail::backend::state st = s_->impl->export_state();  // x: the run's first draw, eps below
  std::vector<float> given(nd);
  to_internal(cfg, start.population.data(), cfg.population, given.data(), "start.population");
  if (start.diffuse) {
    const double a = s_->alphas[static_cast<std::size_t>(t - 1 - g)], sa = std::sqrt(a), sn = std::sqrt(1 - a);
    for (std::size_t k = 0; k < nd; ++k) st.x[k] = static_cast<float>(sa * given[k] + sn * st.x[k]);
  } else {
    st.x = given;
  }
  st.x0 = std::move(given);
  st.rng_position = detail::noise_position(cfg, s_->alphas, g);
  s_->impl->import_state(st);
  s_->generation = g;
}

void optimizer::replace_rows(int first, int count, const float* params) {
  require_settled("replace_rows()");
  const int n = s_->cfg.population, d = s_->cfg.dimension;
  DIFFEVO_EXPECTS(first >= 0 && first <= n && count >= 0 && count <= n - first, invalid_argument,
                  "replace_rows(): rows [", first, ", ", static_cast<long long>(first) + count,
                  ") are not within the population of ", n);
  if (count == 0) return;
  DIFFEVO_EXPECTS(params != nullptr, invalid_argument, "replace_rows(): params is a null pointer");
  std::vector<float> rows(static_cast<std::size_t>(count) * d);
  to_internal(s_->cfg, params, count, rows.data(), "replace_rows(): params");
  detail::backend::state st = s_->impl->export_state();
  std::copy(rows.begin(), rows.end(), st.x.begin() + static_cast<std::ptrdiff_t>(first) * d);
  s_->impl->import_state(st);
}

optimizer::~optimizer() = default;
optimizer::optimizer(optimizer&&) noexcept = default;
optimizer& optimizer::operator=(optimizer&&) noexcept = default;

population_view optimizer::ask() {
  synchronize();
  s_->asked = true;
  return population_view{s_->impl->host_params(), s_->cfg.population, s_->cfg.dimension};
}

namespace {
const char* where(bool device) { return device ? "tell_device()" : "tell()"; }
}  // namespace

void optimizer::check_tell(const void* fitness, std::size_t n, bool device) const {
  DIFFEVO_EXPECTS(!done(), logic_error, where(device), " after done(): the run has finished its ", generations(),
                  " generations");
  DIFFEVO_EXPECTS(s_->asked, logic_error, where(device), " before ask() at generation ", s_->generation);
  DIFFEVO_EXPECTS(n == static_cast<std::size_t>(s_->cfg.population), invalid_argument, "fitness has ", n,
                  " values but population is ", s_->cfg.population);
  DIFFEVO_EXPECTS(fitness != nullptr, invalid_argument, "fitness is a null pointer");
}

void optimizer::tell(const float* fitness, std::size_t n) {
  const double started = detail::seconds_now();
  synchronize();
  check_tell(fitness, n, false);
  apply(s_->impl->summarize(fitness), started);
}

void optimizer::tell_device(const float* d_fitness, std::size_t n) {
  const double started = detail::seconds_now();
  require_cuda("tell_device()");
  synchronize();
  check_tell(d_fitness, n, true);
  apply(s_->impl->summarize_device(d_fitness), started);
}

void optimizer::on_generation(generation_callback cb) { s_->observer.set(std::move(cb)); }

namespace {
/// The message of a summary's input error (sum.first_error >= 0).
std::string fitness_error(const detail::fitness_summary& sum, const config& cfg) {
  const float v = sum.error_value;
  if (sum.error_class == static_cast<int>(detail::fitness_class::negative))
    return detail::msg("fitness[", sum.first_error, "] = ", v, " gives a negative density under the ",
                       to_string(cfg.density), " mapping (objective ", to_string(cfg.goal),
                       "); use density_kind::energy for fitness of any sign");
  return detail::msg("fitness[", sum.first_error, "] = ", v, " is infinite in the winning direction (objective ",
                     to_string(cfg.goal), ")");
}
}  // namespace

void optimizer::apply(const detail::fitness_summary& sum, double started) {
  if (sum.first_error >= 0) throw invalid_argument(fitness_error(sum, s_->cfg));
  // Best-so-far comes from the population just evaluated: copied before the update replaces it,
  // committed only after the update succeeded (a throwing update leaves the state as it was).
  std::vector<float> new_best;
  const bool improved =
      sum.best >= 0 && (!s_->has_best || detail::improves(sum.best_value, s_->best_fitness, s_->cfg.goal));
  generation_record rec;
  const auto prepare = [&] {
    if (improved) {
      new_best.resize(static_cast<std::size_t>(s_->cfg.dimension));
      s_->impl->copy_params_row(sum.best, new_best.data());
    }
    if (s_->observer) detail::fitness_stats(s_->impl->last_fitness(), s_->cfg.goal, rec);
  };
  if (s_->exchange)  // sharded: a failure here on one process must not leave the others in the update's exchange
    s_->exchange->agree_on(prepare);
  else
    prepare();
  const ddim_coefficients c = ddim_step(s_->alphas, s_->generation, s_->cfg.eta);
  if (s_->exchange)
    s_->impl->update_rows(c, *s_->exchange);
  else
    s_->impl->update(c);
  if (improved) {
    s_->best.swap(new_best);
    s_->best_fitness = sum.best_value;
    s_->has_best = true;
  }
  s_->last_nonfinite = sum.nonfinite;
  s_->total_nonfinite += sum.nonfinite;
  ++s_->generation;
  s_->asked = false;
  const auto now = std::chrono::steady_clock::now();
  const double gen_seconds = std::chrono::duration<double>(now - s_->last_tell).count();
  s_->last_tell = now;
  if (s_->observer) {
    rec.generation = s_->generation;
    rec.generations = generations();
    rec.alpha = c.a_t;
    rec.alpha_next = c.a_p;
    rec.nonfinite = sum.nonfinite;
    rec.effective_neighbours = s_->impl->effective_neighbours();
    rec.spread = detail::spread_of(s_->impl->host_params(), s_->cfg.population, s_->cfg.dimension);
    rec.update_seconds = detail::seconds_now() - started;
    rec.generation_seconds = gen_seconds;
    rec.best_so_far = s_->has_best ? s_->best_fitness : NAN;
    s_->observer.call(rec);  // the callback may replace or clear itself
  }
}

void optimizer::tell_device_async(const float* d_fitness, std::size_t n) {
  require_cuda("tell_device_async()");
  if (s_->observer || !s_->impl->can_defer()) {  // the observer needs each generation on the host
    tell_device(d_fitness, n);
    return;
  }
  check_tell(d_fitness, n, true);
  if (!s_->pending) {
    s_->impl->begin_deferred(s_->has_best ? s_->best.data() : nullptr, s_->best_fitness);
    s_->pending = true;
  }
  s_->impl->tell_deferred(d_fitness, ddim_step(s_->alphas, s_->generation, s_->cfg.eta), s_->generation);
  ++s_->generation;
  s_->asked = false;
}

void optimizer::synchronize() {
  if (!s_->pending) return;
  // A throw here leaves the run pending: synchronize() again (ask() does) retries the read-back.
  const detail::backend::deferred_outcome r = s_->impl->end_deferred();
  s_->pending = false;
  if (r.has_best) {
    s_->best = r.best;
    s_->best_fitness = r.best_fitness;
    s_->has_best = true;
  }
  if (r.completed > 0) s_->last_nonfinite = r.last_nonfinite;
  s_->total_nonfinite += r.nonfinite;
  s_->last_tell = std::chrono::steady_clock::now();
  if (r.halted) {
    s_->generation = r.error_generation;
    s_->asked = true;  // its population is the current one again: tell it again to retry
    throw invalid_argument(detail::msg("generation ", r.error_generation, ": ", fitness_error(r.error, s_->cfg)));
  }
}

bool optimizer::pending() const noexcept { return s_->pending; }

void optimizer::require_settled(const char* call) const {
  DIFFEVO_EXPECTS(!s_->pending, logic_error, call, " while tell_device_async() results are pending: call synchronize() first");
}

void optimizer::require_cuda(const char* call) const {
  DIFFEVO_EXPECTS(s_->kind == backend_kind::cuda, logic_error, call, " needs backend = cuda; this optimizer runs on ",
                  to_string(s_->kind));
}

population_view optimizer::ask_device() {
  require_cuda("ask_device()");
  s_->asked = true;
  return population_view{s_->impl->device_params(), s_->cfg.population, s_->cfg.dimension};
}

float* optimizer::device_fitness() {
  require_cuda("device_fitness()");
  return s_->impl->device_fitness();
}

void optimizer::download(const float* d_src, float* h_dst, std::size_t n) {
  require_cuda("download()");
  DIFFEVO_EXPECTS(n == 0 || (d_src && h_dst), invalid_argument, "download(): null pointer for ", n, " floats");
  if (n) s_->impl->download(d_src, h_dst, n);
}

cuda_stream optimizer::stream() const noexcept { return s_->impl->stream(); }

bool optimizer::done() const noexcept { return s_->generation >= generations(); }
int optimizer::generation() const noexcept { return s_->generation; }
int optimizer::generations() const noexcept { return s_->cfg.steps - 1; }
int optimizer::population_size() const noexcept { return s_->cfg.population; }
int optimizer::dimension() const noexcept { return s_->cfg.dimension; }
objective optimizer::goal() const noexcept { return s_->cfg.goal; }
const char* optimizer::name() const noexcept { return "diffusion-evolution"; }

std::vector<float> optimizer::x0() const {
  require_settled("x0()");
  DIFFEVO_EXPECTS(s_->generation > 0, logic_error, "x0() before the first tell(): no estimate exists yet");
  return s_->impl->x0_params();
}

std::vector<float> optimizer::best() const {
  require_settled("best()");
  DIFFEVO_EXPECTS(s_->has_best, logic_error, "best() before any finite fitness was told");
  return s_->best;
}
float optimizer::best_fitness() const {
  require_settled("best_fitness()");
  DIFFEVO_EXPECTS(s_->has_best, logic_error, "best_fitness() before any finite fitness was told");
  return s_->best_fitness;
}
bool optimizer::has_best() const noexcept { return s_->has_best; }
int optimizer::last_nonfinite() const noexcept { return s_->last_nonfinite; }
long long optimizer::total_nonfinite() const noexcept { return s_->total_nonfinite; }
backend_kind optimizer::backend() const noexcept { return s_->kind; }
const config& optimizer::cfg() const noexcept { return s_->cfg; }
const std::vector<double>& optimizer::alphas() const noexcept { return s_->alphas; }

namespace detail {
struct optimizer_access {
  static void set_row_exchange(optimizer& opt, std::shared_ptr<row_exchange> ex) {
    if (opt.s_->exchange && ex != opt.s_->exchange) opt.s_->impl->complete_rows(*opt.s_->exchange);
    opt.s_->exchange = std::move(ex);
  }
  static void complete_rows(optimizer& opt) {
    if (opt.s_->exchange) opt.s_->impl->complete_rows(*opt.s_->exchange);
  }
  static bool device_exchange_available(const optimizer& opt) { return opt.s_->impl->device_exchange_available(); }
  static std::string device_identity(optimizer& opt) { return opt.s_->impl->device_identity(); }
  static void use_exact_cpu_math(optimizer& opt) {
    opt.s_->impl->use_exact_math();
    opt.s_->cfg.cpu_math = cpu_math_kind::exact;
  }
  static std::uint64_t params_hash(optimizer& opt) {
    opt.synchronize();
    return opt.s_->impl->params_hash();
  }
};
void set_row_exchange(optimizer& opt, std::shared_ptr<row_exchange> ex) {
  optimizer_access::set_row_exchange(opt, std::move(ex));
}
void complete_rows(optimizer& opt) { optimizer_access::complete_rows(opt); }
bool device_exchange_available(const optimizer& opt) { return optimizer_access::device_exchange_available(opt); }
std::string device_identity(optimizer& opt) { return optimizer_access::device_identity(opt); }
void use_exact_cpu_math(optimizer& opt) { optimizer_access::use_exact_cpu_math(opt); }
std::uint64_t params_hash(optimizer& opt) { return optimizer_access::params_hash(opt); }
}  // namespace detail

}  // namespace diffevo
