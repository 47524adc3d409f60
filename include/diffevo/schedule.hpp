#pragma once
/// \file
/// Noise schedules (docs/algorithm.md §2) and the per-generation DDIM coefficients (docs/algorithm.md §4).

#include <vector>

#include "diffevo/config.hpp"

namespace diffevo {

/// The T levels alpha[0] (clean, near 1) > ... > alpha[T-1] (noise, near 0) of `kind`.
/// For schedule_kind::user returns `user` after validating it. Throws invalid_argument on T < 2 or
/// a bad user array (names the index and the value).
std::vector<double> make_schedule(schedule_kind kind, int steps, const std::vector<double>& user = {});

/// The schedule of a configuration.
inline std::vector<double> make_schedule(const config& cfg) {
  return make_schedule(cfg.schedule, cfg.steps, cfg.user_alphas);
}

/// The coefficients of one generation's update, computed in double on the host.
struct ddim_coefficients {
  double a_t;    ///< alpha of the current (noisier) level
  double a_p;    ///< alpha of the next (cleaner) level
  double sigma;  ///< eta * sqrt((1 - a_p)/(1 - a_t) * (1 - a_t/a_p))
  double c_eps;  ///< sqrt(1 - a_p - sigma^2)
};

/// Coefficients of generation k = 0 .. T-2 (a_t = alpha[T-1-k], a_p = alpha[T-2-k]).
/// Throws invalid_argument when eta makes 1 - a_p - sigma^2 negative.
ddim_coefficients ddim_step(const std::vector<double>& alphas, int generation, double eta);

}  // namespace diffevo
