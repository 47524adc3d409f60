#pragma once
/// \file
/// Noise schedules (docs/algorithm.md §2) and the per-generation DDIM coefficients (docs/algorithm.md §4).

#include <vector>

#include "diffevo/config.hpp"

namespace diffevo {

/// The T noise levels alpha[0] (clean, near 1) > ... > alpha[T-1] (noise, near 0) of `kind`.
///
/// @param kind The schedule; for schedule_kind::user the result is `user` after validating it.
/// @param steps T, the number of levels (>= 2).
/// @param user The levels of a user schedule: T values, strictly decreasing, each in (0, 1).
///             Ignored for the other kinds.
/// @return The T levels, computed in double.
/// @throws invalid_argument when T < 2, or for a bad user array (naming the index and the value).
/// @note Host only; no device work.
std::vector<double> make_schedule(schedule_kind kind, int steps, const std::vector<double>& user = {});

/// The schedule of a configuration: make_schedule(cfg.schedule, cfg.steps, cfg.user_alphas).
/// @param cfg The configuration (only schedule, steps and user_alphas are read).
/// @return The T levels alpha[0 .. T-1].
/// @throws invalid_argument as make_schedule(schedule_kind, int, const std::vector<double>&).
/// @note Host only; no device work.
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

/// The DDIM coefficients of one generation.
///
/// @param alphas The schedule alpha[0 .. T-1] (make_schedule()).
/// @param generation k in [0, T-2]; a_t = alpha[T-1-k], a_p = alpha[T-2-k].
/// @param eta DDIM stochasticity (config::eta).
/// @return The coefficients, in double.
/// @throws invalid_argument when `generation` is outside [0, T-2], or when eta makes
///         1 - a_p - sigma^2 negative (beyond rounding).
/// @note Host only; no device work.
ddim_coefficients ddim_step(const std::vector<double>& alphas, int generation, double eta);

}  // namespace diffevo
