// PEPG (Sehnke et al. 2010) as estool implements it: symmetric pairs mu +- eps_k with
// eps_k ~ N(0, diag(sigma^2)) (plus the centre mu itself first when the baseline is the centre's
// fitness). Fitness -> centered ranks (+ L2 decay). mu: Adam ascent on sum_k (r_k+ - r_k-) eps_k, or,
// with elite_ratio > 0, mu += the mean perturbation of the elite. sigma_i += sigma_alpha *
// sum_k ((r_k+ + r_k-)/2 - b) (eps_ki^2 - sigma_i^2) / sigma_i / (2 K stdev), clipped to
// +-sigma_max_change * sigma_i; then geometric decays to the limits.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "host/util/message.hpp"
#include "diffevo/error.hpp"
#include "state.hpp"

namespace diffevo {
namespace detail {
namespace {

class pepg_state final : public baseline_state {
 public:
  explicit pepg_state(const pepg_config& c)
      : baseline_state("pepg", c.population, c.dimension, c.generations, c.goal, c.seed,
                       6.0 * c.population * c.dimension),  // population and the half of it drawn
        cfg(c),
        opt(c.dimension) {
    mu = initial_mean(c.mean0, d, c.sigma_init, "sigma_init", name);
    sigma.assign(static_cast<std::size_t>(d), c.sigma_init);
    lr = c.learning_rate;
    pairs = c.average_baseline ? n / 2 : (n - 1) / 2;
    offset = c.average_baseline ? 0 : 1;
    elite = static_cast<int>(c.elite_ratio * n);
    half.resize(draw_count(static_cast<std::size_t>(pairs) * d));
  }

  void sample() override {
    const std::size_t dd = static_cast<std::size_t>(d);
    normals(half.data(), static_cast<std::size_t>(pairs) * dd);
    for (int k = 0; k < pairs; ++k)
      for (std::size_t j = 0; j < dd; ++j) half[k * dd + j] = static_cast<float>(half[k * dd + j] * sigma[j]);
    for (std::size_t j = 0; j < dd; ++j)
      if (offset) pop[j] = static_cast<float>(mu[j]);
    for (int k = 0; k < pairs; ++k)
      for (std::size_t j = 0; j < dd; ++j) {
        pop[(offset + k) * dd + j] = static_cast<float>(mu[j] + half[k * dd + j]);
        pop[(offset + pairs + k) * dd + j] = static_cast<float>(mu[j] - half[k * dd + j]);
      }
  }

  /// Row k of the full perturbation table (pairs +eps then -eps).
  double eps(int k, std::size_t j) const {
    const std::size_t dd = static_cast<std::size_t>(d);
    return k < pairs ? half[static_cast<std::size_t>(k) * dd + j] : -half[static_cast<std::size_t>(k - pairs) * dd + j];
  }

  void update(const std::vector<double>& u, const std::vector<char>& dropped) override {
    const std::size_t dd = static_cast<std::size_t>(d);
    const std::vector<double> r = shaped_fitness(u, dropped, cfg.rank_fitness, cfg.weight_decay, pop, d);
    double b = r[0];
    if (cfg.average_baseline) b = std::accumulate(r.begin(), r.end(), 0.0) / n;
    const std::vector<double> rr(r.begin() + offset, r.end());  // the 2K perturbed samples
    if (elite > 0) {
      std::vector<int> idx(rr.size());
      std::iota(idx.begin(), idx.end(), 0);
      std::stable_sort(idx.begin(), idx.end(), [&](int a, int c) { return rr[a] > rr[c]; });
      const int e = std::min<int>(elite, static_cast<int>(idx.size()));
      for (std::size_t j = 0; j < dd; ++j) {
        double acc = 0;
        for (int q = 0; q < e; ++q) acc += eps(idx[q], j);
        mu[j] += acc / e;
      }
    } else {
      std::vector<double> g(dd, 0.0);
      for (int k = 0; k < pairs; ++k) {
        const double diff = rr[k] - rr[pairs + k];
        for (std::size_t j = 0; j < dd; ++j) g[j] += diff * half[k * dd + j];
      }
      opt.ascend(mu, g, lr);
    }
    if (cfg.sigma_alpha > 0) {
      double stdev = 1.0;
      if (!cfg.rank_fitness) {  // estool: the std of the perturbed samples' rewards
        const double cnt = static_cast<double>(rr.size());
        double m = 0, v = 0;
        for (double x : rr) m += x / cnt;
        for (double x : rr) v += (x - m) * (x - m) / cnt;
        stdev = v > 0 ? std::sqrt(v) : 1.0;
      }
      for (std::size_t j = 0; j < dd; ++j) {
        double acc = 0;
        for (int k = 0; k < pairs; ++k) {
          const double e = half[k * dd + j];
          const double s = (e * e - sigma[j] * sigma[j]) / sigma[j];
          acc += ((rr[k] + rr[pairs + k]) / 2 - b) * s;
        }
        double change = cfg.sigma_alpha * acc / (2.0 * pairs * stdev);
        change = std::clamp(change, -cfg.sigma_max_change * sigma[j], cfg.sigma_max_change * sigma[j]);
        sigma[j] += change;
      }
    }
    if (cfg.sigma_decay < 1)
      for (double& s : sigma)
        if (s > cfg.sigma_limit) s *= cfg.sigma_decay;
    if (lr > cfg.learning_rate_limit) lr *= cfg.learning_rate_decay;
  }

  std::vector<float> mean() const override { return std::vector<float>(mu.begin(), mu.end()); }

  pepg_config cfg;
  adam opt;
  std::vector<double> mu, sigma;
  double lr = 0;
  int pairs = 1, offset = 0, elite = 0;
  std::vector<float> half;
};

}  // namespace
}  // namespace detail

namespace {
const pepg_config& validated(const pepg_config& c) {
  detail::validate_gradient_es({c.dimension, c.generations, c.sigma_init, c.sigma_decay, c.sigma_limit, c.learning_rate,
                                c.learning_rate_decay, c.learning_rate_limit, c.weight_decay},
                               "pepg");
  if (c.average_baseline)
    DIFFEVO_EXPECTS(c.population >= 2 && c.population % 2 == 0, invalid_argument,
                    "pepg: population must be even and >= 2 with the average baseline (got ", c.population, ")");
  else
    DIFFEVO_EXPECTS(c.population >= 3 && c.population % 2 == 1, invalid_argument,
                    "pepg: population must be odd and >= 3 without the average baseline (got ", c.population, ")");
  DIFFEVO_EXPECTS(c.elite_ratio >= 0 && c.elite_ratio <= 1, invalid_argument, "pepg: elite_ratio must be in [0, 1] (got ",
                  c.elite_ratio, ")");
  DIFFEVO_EXPECTS(std::isfinite(c.sigma_alpha) && c.sigma_alpha >= 0 && std::isfinite(c.sigma_max_change) &&
                      c.sigma_max_change >= 0,
                  invalid_argument, "pepg: sigma_alpha and sigma_max_change must be finite and >= 0 (got ",
                  c.sigma_alpha, ", ", c.sigma_max_change, ")");
  detail::expect_enum<invalid_argument>(c.goal, "goal", 2, "maximize or minimize (0-1)", "pepg");
  return c;
}
}  // namespace

pepg::pepg(const pepg_config& cfg) try : baseline_strategy(std::make_unique<detail::pepg_state>(validated(cfg))) {
  s_->config = detail::baseline_config_bytes(cfg);
} catch (const std::bad_alloc&) {
  detail::rethrow_as_out_of_memory("pepg", cfg.population, cfg.dimension);
}

}  // namespace diffevo
