// OpenES (Salimans et al. 2017): x_k = mu + sigma eps_k. estool's form by default: the fitness is
// shaped to centered ranks, an L2 decay term -weight_decay * mean(x_k^2) is added and the result
// standardized; g = eps^T r / (N sigma) is ascended with Adam. The shaping and the optimizer
// (momentum SGD, as the paper's benchmark script) are options. sigma and the learning rate decay
// geometrically to their limits.
#include <cmath>

#include "host/util/message.hpp"
#include "diffevo/error.hpp"
#include "state.hpp"

namespace diffevo {
namespace detail {
namespace {

class open_es_state final : public baseline_state {
 public:
  explicit open_es_state(const open_es_config& c)
      : baseline_state("open-es", c.population, c.dimension, c.generations, c.goal, c.seed,
                       8.0 * c.population * c.dimension),  // population and eps
        cfg(c),
        opt(c.dimension) {
    mu = initial_mean(c.mean0, d, c.sigma_init, "sigma_init", name);
    sigma = c.sigma_init;
    lr = c.learning_rate;
    eps.resize(draw_count(static_cast<std::size_t>(n) * d));
    velocity.assign(static_cast<std::size_t>(d), 0.0);
  }

  void sample() override {
    const std::size_t dd = static_cast<std::size_t>(d);
    if (cfg.antithetic) {  // rows k and k + n/2 mirror each other
      const int half = n / 2;
      normals(eps.data(), static_cast<std::size_t>(half) * dd);
      for (std::size_t t = 0; t < static_cast<std::size_t>(half) * dd; ++t) eps[static_cast<std::size_t>(half) * dd + t] = -eps[t];
    } else {
      normals(eps.data(), static_cast<std::size_t>(n) * dd);
    }
    for (int k = 0; k < n; ++k)
      for (std::size_t j = 0; j < dd; ++j)
        pop[k * dd + j] = static_cast<float>(mu[j] + sigma * eps[k * dd + j]);
  }

  void update(const std::vector<double>& u, const std::vector<char>& dropped) override {
    const std::size_t dd = static_cast<std::size_t>(d);
    std::vector<double> r =
        shaped_fitness(u, dropped, cfg.shaping == fitness_shaping::centered_ranks, cfg.weight_decay, pop, d);
    if (cfg.shaping != fitness_shaping::raw) {
      double mean = 0, var = 0;
      for (double v : r) mean += v / n;
      for (double v : r) var += (v - mean) * (v - mean) / n;
      const double sd = std::sqrt(var);
      for (double& v : r) v = sd > 0 ? (v - mean) / sd : 0.0;
    }
    std::vector<double> g(dd, 0.0);
    for (int k = 0; k < n; ++k)
      for (std::size_t j = 0; j < dd; ++j) g[j] += r[k] * eps[k * dd + j];
    for (double& v : g) v /= n * sigma;
    if (cfg.optimizer == es_optimizer::adam) {
      opt.ascend(mu, g, lr);
    } else {
      for (std::size_t j = 0; j < dd; ++j) {
        velocity[j] = cfg.momentum * velocity[j] + (1 - cfg.momentum) * g[j];
        mu[j] += lr * velocity[j];
      }
    }
    if (sigma > cfg.sigma_limit) sigma *= cfg.sigma_decay;
    if (lr > cfg.learning_rate_limit) lr *= cfg.learning_rate_decay;
  }

  std::vector<float> mean() const override { return std::vector<float>(mu.begin(), mu.end()); }

  open_es_config cfg;
  adam opt;
  std::vector<double> mu, velocity;
  double sigma = 0, lr = 0;
  std::vector<float> eps;
};

}  // namespace
}  // namespace detail

namespace {
const open_es_config& validated(const open_es_config& c) {
  DIFFEVO_EXPECTS(c.population >= 2, invalid_argument, "open-es: population must be >= 2 (got ", c.population, ")");
  DIFFEVO_EXPECTS(!c.antithetic || c.population % 2 == 0, invalid_argument,
                  "open-es: population must be even with antithetic sampling (got ", c.population, ")");
  detail::validate_gradient_es({c.dimension, c.generations, c.sigma_init, c.sigma_decay, c.sigma_limit, c.learning_rate,
                                c.learning_rate_decay, c.learning_rate_limit, c.weight_decay},
                               "open-es");
  DIFFEVO_EXPECTS(c.momentum >= 0 && c.momentum < 1, invalid_argument, "open-es: momentum must be in [0, 1) (got ",
                  c.momentum, ")");
  detail::expect_enum<invalid_argument>(c.goal, "goal", 2, "maximize or minimize (0-1)", "open-es");
  detail::expect_enum<invalid_argument>(c.shaping, "shaping", 3, "centered_ranks, standardized or raw (0-2)", "open-es");
  detail::expect_enum<invalid_argument>(c.optimizer, "optimizer", 2, "adam or momentum (0-1)", "open-es");
  return c;
}
}  // namespace

open_es::open_es(const open_es_config& cfg) try
    : baseline_strategy(std::make_unique<detail::open_es_state>(validated(cfg))) {
  s_->config = detail::baseline_config_bytes(cfg);
} catch (const std::bad_alloc&) {
  detail::rethrow_as_out_of_memory("open-es", cfg.population, cfg.dimension);
}

}  // namespace diffevo
