// CMA-ES, following Hansen's tutorial (arXiv 1604.00772, Table 1 defaults, with the active update as
// pycma and evosax run it): x_k = m + sigma B D z_k; m moves to the weighted mean of the best mu;
// cumulative step-size adaptation on p_sigma; rank-one (p_c) and rank-lambda covariance updates,
// where the worst lambda - mu individuals get negative weights (scaled by D / ||C^-1/2 y||^2 so C
// stays positive definite); C = B D^2 B^T by a cyclic Jacobi eigendecomposition every generation
// (float64).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "host/util/jacobi.hpp"
#include "host/util/message.hpp"
#include "diffevo/error.hpp"
#include "state.hpp"

namespace diffevo {
namespace detail {
namespace {

/// The smallest eigenvalue of C kept, as a share of the largest (a condition number of at most 1e14).
constexpr double k_max_condition_inverse = 1e-14;

class cma_state final : public baseline_state {
 public:
  explicit cma_state(const cma_es_config& c)
      // population, z (float) and y (double): 16 bytes per entry; C, B and the eigensolver's two
      // copies: 4 D x D doubles
      : baseline_state("cma-es", c.population, c.dimension, c.generations, c.goal, c.seed,
                       16.0 * c.population * c.dimension + 32.0 * c.dimension * c.dimension),
        sigma(c.sigma0) {
    m = initial_mean(c.mean0, d, c.sigma0, "sigma0", name);
    const std::size_t dd = static_cast<std::size_t>(d);
    // Tutorial eq. (49)-(53): w'_i = ln((lambda + 1) / 2) - ln i for all lambda; the best mu = lambda / 2
    // positive ones sum to 1, the rest are negative and sum to -min(alpha_mu-, alpha_mueff-, alpha_posdef-).
    mu = n / 2;
    weights.resize(static_cast<std::size_t>(n));
    double pos = 0, pos2 = 0, neg = 0, neg2 = 0;
    for (int i = 0; i < n; ++i) {
      const double w = std::log((n + 1) / 2.0) - std::log(i + 1.0);
      weights[static_cast<std::size_t>(i)] = w;
      (i < mu ? pos : neg) += w;
      (i < mu ? pos2 : neg2) += w * w;
    }
    mueff = pos * pos / pos2;
    const double mueff_neg = neg2 > 0 ? neg * neg / neg2 : 0.0;
    const double nd = d;
    cc = (4 + mueff / nd) / (nd + 4 + 2 * mueff / nd);
    cs = (mueff + 2) / (nd + mueff + 5);
    c1 = 2 / ((nd + 1.3) * (nd + 1.3) + mueff);
    cmu = std::min(1 - c1, 2 * (mueff - 2 + 1 / mueff) / ((nd + 2) * (nd + 2) + mueff));
    const double alpha_mu = 1 + c1 / cmu, alpha_mueff = 1 + 2 * mueff_neg / (mueff + 2),
                 alpha_posdef = (1 - c1 - cmu) / (nd * cmu);
    const double neg_scale = std::min({alpha_mu, alpha_mueff, alpha_posdef});
    weight_sum = 0;
    for (int i = 0; i < n; ++i) {
      double& w = weights[static_cast<std::size_t>(i)];
      w = i < mu ? w / pos : (neg < 0 ? neg_scale * w / -neg : 0.0);
      weight_sum += w;
    }
    damps = 1 + 2 * std::max(0.0, std::sqrt((mueff - 1) / (nd + 1)) - 1) + cs;
    chi_n = std::sqrt(nd) * (1 - 1 / (4 * nd) + 1 / (21 * nd * nd));
    pc.assign(dd, 0.0);
    ps.assign(dd, 0.0);
    C.assign(dd * dd, 0.0);
    B.assign(dd * dd, 0.0);
    D.assign(dd, 1.0);
    for (std::size_t i = 0; i < dd; ++i) C[i * dd + i] = B[i * dd + i] = 1.0;
    z.resize(draw_count(static_cast<std::size_t>(n) * dd));
    y.resize(static_cast<std::size_t>(n) * dd);
  }

  void sample() override {
    const std::size_t dd = static_cast<std::size_t>(d);
    normals(z.data(), static_cast<std::size_t>(n) * dd);
    for (int k = 0; k < n; ++k) {
      const float* zk = z.data() + static_cast<std::size_t>(k) * dd;
      double* yk = y.data() + static_cast<std::size_t>(k) * dd;
      for (std::size_t i = 0; i < dd; ++i) {  // y = B (D z)
        double acc = 0;
        for (std::size_t j = 0; j < dd; ++j) acc += B[i * dd + j] * D[j] * zk[j];
        yk[i] = acc;
        pop[static_cast<std::size_t>(k) * dd + i] = static_cast<float>(m[i] + sigma * acc);
      }
    }
  }

  void update(const std::vector<double>& u, const std::vector<char>& dropped) override {
    const std::size_t dd = static_cast<std::size_t>(d);
    std::vector<int> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      if (dropped[a] != dropped[b]) return dropped[a] == 0;  // non-finite fitness ranks last
      return u[a] > u[b];
    });
    // Every buffer first: an allocation that fails then leaves the state untouched (tell()'s promise).
    std::vector<double> yw(dd, 0.0), t(dd, 0.0), cinv(dd, 0.0), wc(static_cast<std::size_t>(n)), a(C.size()), w(dd);
    // y_w = sum w_i y_i:lambda; m += sigma y_w
    for (int i = 0; i < mu; ++i)
      for (std::size_t j = 0; j < dd; ++j) yw[j] += weights[i] * y[static_cast<std::size_t>(order[i]) * dd + j];
    for (std::size_t j = 0; j < dd; ++j) m[j] += sigma * yw[j];
    // C^{-1/2} y_w = B D^{-1} B^T y_w
    for (std::size_t j = 0; j < dd; ++j) {
      double acc = 0;
      for (std::size_t i = 0; i < dd; ++i) acc += B[i * dd + j] * yw[i];
      t[j] = acc / D[j];
    }
    for (std::size_t i = 0; i < dd; ++i) {
      double acc = 0;
      for (std::size_t j = 0; j < dd; ++j) acc += B[i * dd + j] * t[j];
      cinv[i] = acc;
    }
    const double csn = std::sqrt(cs * (2 - cs) * mueff);
    double ps_norm = 0;
    for (std::size_t j = 0; j < dd; ++j) {
      ps[j] = (1 - cs) * ps[j] + csn * cinv[j];
      ps_norm += ps[j] * ps[j];
    }
    ps_norm = std::sqrt(ps_norm);
    ++gen;
    const double hsig_lhs = ps_norm / std::sqrt(1 - std::pow(1 - cs, 2.0 * gen)) / chi_n;
    const bool hsig = hsig_lhs < 1.4 + 2 / (static_cast<double>(d) + 1);
    const double ccn = std::sqrt(cc * (2 - cc) * mueff);
    for (std::size_t j = 0; j < dd; ++j) pc[j] = (1 - cc) * pc[j] + (hsig ? ccn * yw[j] : 0.0);
    const double dh = hsig ? 0.0 : cc * (2 - cc);
    // Rank-lambda weights: a negative weight is scaled by D / ||C^-1/2 y_k||^2 = D / ||z_k||^2 (since
    // y_k = B D z_k with B orthogonal), so the worst individuals shrink C by a bounded amount.
    for (int k = 0; k < n; ++k) {
      const double wk = weights[static_cast<std::size_t>(k)];
      if (wk >= 0) {
        wc[static_cast<std::size_t>(k)] = wk;
        continue;
      }
      const float* zk = z.data() + static_cast<std::size_t>(order[k]) * dd;
      double z2 = 0;
      for (std::size_t j = 0; j < dd; ++j) z2 += double(zk[j]) * zk[j];
      wc[static_cast<std::size_t>(k)] = z2 > 0 ? wk * static_cast<double>(d) / z2 : 0.0;
    }
    const double keep = 1 - c1 - cmu * weight_sum;
    for (std::size_t i = 0; i < dd; ++i)
      for (std::size_t j = 0; j <= i; ++j) {
        double rank_mu = 0;
        for (int k = 0; k < n; ++k) {
          const double* yk = y.data() + static_cast<std::size_t>(order[k]) * dd;
          rank_mu += wc[static_cast<std::size_t>(k)] * yk[i] * yk[j];
        }
        const double cij = keep * C[i * dd + j] + c1 * (pc[i] * pc[j] + dh * C[i * dd + j]) + cmu * rank_mu;
        C[i * dd + j] = C[j * dd + i] = cij;
      }
    // At most a factor e a generation (as purecma): once the population is flat at float resolution its
    // steps are rounding, and an unbounded factor took sigma to inf (and the population to -inf).
    sigma *= std::exp(std::min(1.0, (cs / damps) * (ps_norm / chi_n - 1)));
    a = C;  // same size: no allocation (nor in jacobi_eigen, whose w and B have their sizes)
    jacobi_eigen(a, d, w, B);
    // Eigenvalues at least 1e-14 of the largest (pycma's condition limit): with a degenerate C,
    // C^-1/2 y_w divided by a near-zero D and the path ps exploded.
    double top = 0;
    for (std::size_t j = 0; j < dd; ++j) top = std::max(top, w[j]);
    const double least = std::max(1e-300, top * k_max_condition_inverse);
    for (std::size_t j = 0; j < dd; ++j) D[j] = std::sqrt(std::max(w[j], least));
  }

  std::vector<float> mean() const override { return std::vector<float>(m.begin(), m.end()); }

  double sigma;
  int mu = 1;
  double mueff = 1, cc = 0, cs = 0, c1 = 0, cmu = 0, damps = 1, chi_n = 1;
  double weight_sum = 1;  // of all lambda weights (1 minus the negative share)
  int gen = 0;
  std::vector<double> m, weights, pc, ps, C, B, D, y;
  std::vector<float> z;
};

}  // namespace
}  // namespace detail

namespace {
const cma_es_config& validated(const cma_es_config& c) {
  DIFFEVO_EXPECTS(c.population >= 2, invalid_argument, "cma-es: population must be >= 2 (got ", c.population, ")");
  detail::expect_enum<invalid_argument>(c.goal, "goal", 2, "maximize or minimize (0-1)", "cma-es");
  DIFFEVO_EXPECTS(c.dimension >= 1, invalid_argument, "cma-es: dimension must be >= 1 (got ", c.dimension, ")");
  DIFFEVO_EXPECTS(c.generations >= 1, invalid_argument, "cma-es: generations must be >= 1 (got ", c.generations, ")");
  DIFFEVO_EXPECTS(std::isfinite(c.sigma0) && c.sigma0 > 0, invalid_argument, "cma-es: sigma0 must be finite and > 0 (got ",
                  c.sigma0, ")");
  DIFFEVO_EXPECTS(c.dimension <= 4096, invalid_argument, "cma-es: dimension must be <= 4096 for the full covariance (got ",
                  c.dimension, ")");
  return c;
}
}  // namespace

cma_es::cma_es(const cma_es_config& cfg) try : baseline_strategy(std::make_unique<detail::cma_state>(validated(cfg))) {
  s_->config = detail::baseline_config_bytes(cfg);
} catch (const std::bad_alloc&) {
  detail::rethrow_as_out_of_memory("cma-es", cfg.population, cfg.dimension);
}

double cma_es::sigma() const noexcept { return static_cast<const detail::cma_state&>(*s_).sigma; }

const std::vector<double>& cma_es::weights() const noexcept {
  return static_cast<const detail::cma_state&>(*s_).weights;
}

}  // namespace diffevo
