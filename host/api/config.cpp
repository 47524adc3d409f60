// API-boundary validation of a config (docs/algorithm.md §1-§5).
#include <algorithm>
#include <cmath>
#include <limits>

#include "diffevo/config.hpp"
#include "diffevo/error.hpp"
#include "diffevo/schedule.hpp"
#include "host/backend/backend.hpp"
#include "host/util/message.hpp"

namespace diffevo {

namespace {
void validate_affine(const std::vector<float>& v, const char* name, int dim, bool positive) {
  DIFFEVO_EXPECTS(v.empty() || v.size() == 1 || v.size() == static_cast<std::size_t>(dim), invalid_argument,
                  name, " must have 0, 1 or dimension (", dim, ") values (got ", v.size(), ")");
  for (std::size_t i = 0; i < v.size(); ++i) {
    DIFFEVO_EXPECTS(std::isfinite(v[i]), invalid_argument, name, "[", i, "] must be finite (got ", v[i], ")");
    if (positive)
      DIFFEVO_EXPECTS(v[i] > 0, invalid_argument, name, "[", i, "] must be > 0 (got ", v[i], ")");
  }
}
/// p = center + scale * x must be finite for every x the run can reach; |x| <= k_max_abs_x is a
/// generous bound (the start is N(0, 1), and each update mixes rows of the population).
void validate_parameters_finite(const config& c) {
  const std::size_t n = std::max(c.center.size(), c.scale.size());
  for (std::size_t i = 0; i < n; ++i) {
    const double ce = c.center.empty() ? 0.0 : c.center[c.center.size() == 1 ? 0 : i];
    const double sc = c.scale.empty() ? 1.0 : c.scale[c.scale.size() == 1 ? 0 : i];
    DIFFEVO_EXPECTS(detail::map_fits_float(ce, sc), invalid_argument,
                    "center + scale * x overflows float in dimension ", i, " (center = ", ce, ", scale = ", sc,
                    "; |center| + scale * ", k_max_abs_x, " must be <= ", std::numeric_limits<float>::max(), ")");
  }
}
}  // namespace

void validate(const config& c) {
  detail::expect_enum<invalid_argument>(c.schedule, "schedule", 4, "cosine, linear, ddpm or user (0-3)");
  detail::expect_enum<invalid_argument>(c.density, "density", 4, "identity, power, energy or log_density (0-3)");
  detail::expect_enum<invalid_argument>(c.goal, "goal", 2, "maximize or minimize (0-1)");
  detail::expect_enum<invalid_argument>(c.backend, "backend", 3, "automatic, cpu or cuda (0-2)");
  detail::expect_enum<invalid_argument>(c.cpu_math, "cpu_math", 3, "automatic, exact or fast (0-2)");
  DIFFEVO_EXPECTS(c.population >= 2, invalid_argument, "population must be >= 2 (got ", c.population, ")");
  DIFFEVO_EXPECTS(c.dimension >= 1, invalid_argument, "dimension must be >= 1 (got ", c.dimension, ")");
  DIFFEVO_EXPECTS(c.steps >= 2, invalid_argument, "steps must be >= 2 (got ", c.steps, ")");
  DIFFEVO_EXPECTS(c.steps <= k_max_steps, invalid_argument, "steps must be <= ", k_max_steps, " (got ", c.steps, ")");
  // Element counts are indexed with size_t but handed to BLAS as int leading dimensions.
  const double elems = static_cast<double>(c.population) * c.dimension;
  DIFFEVO_EXPECTS(elems <= static_cast<double>(std::numeric_limits<std::int64_t>::max() / 8), invalid_argument,
                  "population x dimension is too large (", c.population, " x ", c.dimension, ")");
  DIFFEVO_EXPECTS(c.latent_dim >= 0 && c.latent_dim <= c.dimension, invalid_argument,
                  "latent_dim must be 0 (plain) or in [1, dimension = ", c.dimension, "] (got ", c.latent_dim, ")");
  DIFFEVO_EXPECTS(std::isfinite(c.eta) && c.eta >= 0, invalid_argument, "eta must be finite and >= 0 (got ", c.eta,
                  ")");
  DIFFEVO_EXPECTS(std::isfinite(c.temperature) && c.temperature > 0, invalid_argument,
                  "temperature must be finite and > 0 (got ", c.temperature, ")");
  DIFFEVO_EXPECTS(std::isfinite(c.power) && c.power > 0, invalid_argument, "power must be finite and > 0 (got ",
                  c.power, ")");
  // (the worker pool keeps every thread it starts; and thread counts are multiplied in int)
  DIFFEVO_EXPECTS(c.cpu_threads >= 0 && c.cpu_threads <= k_max_cpu_threads, invalid_argument,
                  "cpu_threads must be in [0, ", k_max_cpu_threads, "] (got ", c.cpu_threads, ")");
  // Told values are log g under log_density: higher is always better, so best-so-far under minimize
  // would keep the worst individual.
  DIFFEVO_EXPECTS(c.density != density_kind::log_density || c.goal == objective::maximize, invalid_argument,
                  "density = log_density needs goal = maximize (the told values are log-densities, higher is "
                  "better; got goal = minimize)");
  validate_affine(c.center, "center", c.dimension, false);
  validate_affine(c.scale, "scale", c.dimension, true);
  validate_parameters_finite(c);
  const std::vector<double> alphas = make_schedule(c);  // validates a user schedule
  for (int k = 0; k + 1 < c.steps; ++k) ddim_step(alphas, k, c.eta);  // validates eta
}

const char* to_string(schedule_kind k) noexcept {
  switch (k) {
    case schedule_kind::cosine: return "cosine";
    case schedule_kind::linear: return "linear";
    case schedule_kind::ddpm: return "ddpm";
    case schedule_kind::user: return "user";
  }
  return "?";
}
const char* to_string(density_kind k) noexcept {
  switch (k) {
    case density_kind::identity: return "identity";
    case density_kind::power: return "power";
    case density_kind::energy: return "energy";
    case density_kind::log_density: return "log_density";
  }
  return "?";
}
const char* to_string(objective k) noexcept {
  switch (k) {
    case objective::maximize: return "maximize";
    case objective::minimize: return "minimize";
  }
  return "?";
}
const char* to_string(backend_kind k) noexcept {
  switch (k) {
    case backend_kind::automatic: return "automatic";
    case backend_kind::cpu: return "cpu";
    case backend_kind::cuda: return "cuda";
  }
  return "?";
}
const char* to_string(cpu_math_kind k) noexcept {
  switch (k) {
    case cpu_math_kind::automatic: return "automatic";
    case cpu_math_kind::exact: return "exact";
    case cpu_math_kind::fast: return "fast";
  }
  return "?";
}

}  // namespace diffevo
