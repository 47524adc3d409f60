// Noise schedules (docs/algorithm.md §2) and DDIM coefficients (docs/algorithm.md §4), in double.
#include "diffevo/schedule.hpp"

#include <cmath>

#include "diffevo/error.hpp"
#include "host/util/message.hpp"

namespace diffevo {

std::vector<double> make_schedule(schedule_kind kind, int T, const std::vector<double>& user) {
  DIFFEVO_EXPECTS(T >= 2, invalid_argument, "steps must be >= 2 (got ", T, ")");
  std::vector<double> a(static_cast<std::size_t>(T));
  const double pi = 3.14159265358979323846;
  switch (kind) {
    case schedule_kind::cosine:
      for (int k = 0; k < T; ++k) {
        const double c = (std::cos(pi * k / (T - 1)) + 1) / 2;
        a[k] = (c + 1e-3) * (1 - 1e-3) / (1 + 1e-3);
      }
      break;
    case schedule_kind::linear:
      for (int k = 0; k < T; ++k) a[k] = (1 - 1e-4) + ((1e-8) - (1 - 1e-4)) * k / (T - 1);
      break;
    case schedule_kind::ddpm: {
      const double e = 1e-4, L = std::log(1 / (1 - e)), le = std::log(e);
      const double b = (double(T) * T * L + le) / (T - 1);
      const double g = -double(T) * (T * L + le) / (T - 1);
      for (int k = 0; k < T; ++k) {
        const double s = double(k + 1) / T;
        a[k] = std::exp(-b * s - g * s * s);
        // beyond 184,197 steps the quadratic turns: alpha falls below 1e-4 and rises again
        DIFFEVO_EXPECTS(k == 0 || a[k] < a[k - 1], invalid_argument, "schedule = ddpm is not decreasing at steps = ", T,
                        " (alpha[", k, "] = ", a[k], " >= alpha[", k - 1, "] = ", a[k - 1],
                        "); its formula holds up to about 184,000 steps: use cosine or linear");
      }
      break;
    }
    case schedule_kind::user:
      DIFFEVO_EXPECTS(user.size() == static_cast<std::size_t>(T), invalid_argument, "user_alphas must have steps = ",
                      T, " values (got ", user.size(), ")");
      for (int k = 0; k < T; ++k) {
        DIFFEVO_EXPECTS(user[k] > 0 && user[k] < 1, invalid_argument, "user_alphas[", k, "] must be in (0, 1) (got ",
                        user[k], ")");
        if (k > 0)
          DIFFEVO_EXPECTS(user[k] < user[k - 1], invalid_argument, "user_alphas must be strictly decreasing (user_alphas[",
                          k, "] = ", user[k], " >= user_alphas[", k - 1, "] = ", user[k - 1], ")");
      }
      a = user;
      break;
    default:
      throw invalid_argument(detail::msg("schedule must be cosine, linear, ddpm or user (0-3) (got ",
                                         static_cast<int>(kind), ")"));
  }
  return a;
}

ddim_coefficients ddim_step(const std::vector<double>& alphas, int k, double eta) {
  const int T = static_cast<int>(alphas.size());
  DIFFEVO_EXPECTS(k >= 0 && k + 1 < T, invalid_argument, "generation must be in [0, ", T - 2, "] (got ", k, ")");
  ddim_coefficients c{};
  c.a_t = alphas[T - 1 - k];
  c.a_p = alphas[T - 2 - k];
  c.sigma = eta * std::sqrt((1 - c.a_p) / (1 - c.a_t) * (1 - c.a_t / c.a_p));
  double rest = 1 - c.a_p - c.sigma * c.sigma;
  // eta <= 1 keeps rest >= 0 mathematically; forgive rounding only.
  DIFFEVO_EXPECTS(rest > -1e-12, invalid_argument, "eta = ", eta, " is too large: 1 - a_p - sigma^2 = ", rest,
                  " < 0 at generation ", k);
  c.c_eps = std::sqrt(rest > 0 ? rest : 0);
  return c;
}

}  // namespace diffevo
