// The quadratic model of open_ended_config::refine_polish (see polish.hpp).
#include "host/open_ended/polish.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "host/util/jacobi.hpp"

namespace diffevo::detail {

bool fit_quadratic(const std::vector<double>& s, const std::vector<double>& f, int d, quadratic_model& out) {
  const int p = quadratic_terms(d);
  const int rows = static_cast<int>(f.size());
  if (rows < p) return false;
  // the design matrix, column-major: 1, s_i, s_i s_j (i <= j)
  std::vector<double> a(static_cast<std::size_t>(rows) * p), b = f;
  const auto at = [&](int r, int c) -> double& { return a[static_cast<std::size_t>(c) * rows + r]; };
  for (int r = 0; r < rows; ++r) {
    const double* x = s.data() + static_cast<std::size_t>(r) * d;
    int c = 0;
    at(r, c++) = 1;
    for (int i = 0; i < d; ++i) at(r, c++) = x[i];
    for (int i = 0; i < d; ++i)
      for (int j = i; j < d; ++j) at(r, c++) = x[i] * x[j];
  }
  std::vector<double> norm(static_cast<std::size_t>(p));
  for (int c = 0; c < p; ++c) {
    double n2 = 0;
    for (int r = 0; r < rows; ++r) n2 += at(r, c) * at(r, c);
    norm[static_cast<std::size_t>(c)] = std::sqrt(n2);
  }
  // Householder QR, applied to b as it goes
  for (int c = 0; c < p; ++c) {
    double n2 = 0;
    for (int r = c; r < rows; ++r) n2 += at(r, c) * at(r, c);
    const double n = std::sqrt(n2);
    if (!(n > 1e-10 * norm[static_cast<std::size_t>(c)])) return false;  // dependent columns (or NaN)
    const double alpha = at(c, c) > 0 ? -n : n;
    at(c, c) -= alpha;  // v = x - alpha e1, kept in the column; |v|^2 = 2 n (n + |x_c|)
    const double vv = 2 * n2 - 2 * alpha * (at(c, c) + alpha);
    for (int k = c + 1; k < p; ++k) {
      double t = 0;
      for (int r = c; r < rows; ++r) t += at(r, c) * at(r, k);
      t *= 2 / vv;
      for (int r = c; r < rows; ++r) at(r, k) -= t * at(r, c);
    }
    double t = 0;
    for (int r = c; r < rows; ++r) t += at(r, c) * b[static_cast<std::size_t>(r)];
    t *= 2 / vv;
    for (int r = c; r < rows; ++r) b[static_cast<std::size_t>(r)] -= t * at(r, c);
    at(c, c) = alpha;  // R's diagonal
  }
  std::vector<double> coef(static_cast<std::size_t>(p));
  for (int c = p - 1; c >= 0; --c) {
    double t = b[static_cast<std::size_t>(c)];
    for (int k = c + 1; k < p; ++k) t -= at(c, k) * coef[static_cast<std::size_t>(k)];
    coef[static_cast<std::size_t>(c)] = t / at(c, c);
  }
  out.a = coef[0];
  out.g.assign(coef.begin() + 1, coef.begin() + 1 + d);
  out.h.assign(static_cast<std::size_t>(d) * d, 0.0);
  int c = 1 + d;
  for (int i = 0; i < d; ++i)
    for (int j = i; j < d; ++j, ++c) {
      const double v = coef[static_cast<std::size_t>(c)];
      if (i == j) {
        out.h[static_cast<std::size_t>(i) * d + i] = 2 * v;
      } else {
        out.h[static_cast<std::size_t>(i) * d + j] = v;
        out.h[static_cast<std::size_t>(j) * d + i] = v;
      }
    }
  return true;
}

void symmetric_eigen(std::vector<double> a, int d, std::vector<double>& values, std::vector<double>& vectors) {
  std::vector<double> w, v;
  jacobi_eigen(a, d, w, v);
  std::vector<int> order(static_cast<std::size_t>(d));
  for (int i = 0; i < d; ++i) order[static_cast<std::size_t>(i)] = i;
  std::sort(order.begin(), order.end(), [&](int x, int y) { return w[static_cast<std::size_t>(x)] < w[static_cast<std::size_t>(y)]; });
  values.resize(static_cast<std::size_t>(d));
  vectors.assign(static_cast<std::size_t>(d) * d, 0.0);
  for (int k = 0; k < d; ++k) {
    const int o = order[static_cast<std::size_t>(k)];
    values[static_cast<std::size_t>(k)] = w[static_cast<std::size_t>(o)];
    for (int i = 0; i < d; ++i) vectors[static_cast<std::size_t>(i) * d + k] = v[static_cast<std::size_t>(i) * d + o];
  }
}

bool model_peak(const quadratic_model& m, int d, double clip, std::vector<double>& step, std::vector<double>& root,
                std::vector<double>& root_inverse) {
  std::vector<double> lambda, v;
  symmetric_eigen(m.h, d, lambda, v);
  if (!(lambda.back() < 0)) return false;  // also NaN
  // -H = V diag(mu) V', mu > 0: step = V diag(1 / mu) V' g
  std::vector<double> vg(static_cast<std::size_t>(d), 0.0);
  for (int k = 0; k < d; ++k)
    for (int i = 0; i < d; ++i) vg[static_cast<std::size_t>(k)] += v[static_cast<std::size_t>(i) * d + k] * m.g[static_cast<std::size_t>(i)];
  step.assign(static_cast<std::size_t>(d), 0.0);
  double log_det = 0;  // of (-H)^(-1/2)
  for (int k = 0; k < d; ++k) log_det += -0.5 * std::log(-lambda[static_cast<std::size_t>(k)]);
  const double norm = std::exp(-log_det / d);
  root.assign(static_cast<std::size_t>(d) * d, 0.0);
  root_inverse.assign(static_cast<std::size_t>(d) * d, 0.0);
  for (int k = 0; k < d; ++k) {
    const double mu = -lambda[static_cast<std::size_t>(k)];
    const double r = norm / std::sqrt(mu), ri = std::sqrt(mu) / norm;
    for (int i = 0; i < d; ++i) {
      const double vik = v[static_cast<std::size_t>(i) * d + k];
      step[static_cast<std::size_t>(i)] += vik * vg[static_cast<std::size_t>(k)] / mu;
      for (int j = 0; j < d; ++j) {
        root[static_cast<std::size_t>(i) * d + j] += vik * r * v[static_cast<std::size_t>(j) * d + k];
        root_inverse[static_cast<std::size_t>(i) * d + j] += vik * ri * v[static_cast<std::size_t>(j) * d + k];
      }
    }
  }
  const double len = length(step);
  if (len > clip)
    for (double& x : step) x *= clip / len;
  return true;
}

std::vector<double> apply_metric(const std::vector<double>& metric, const std::vector<double>& x) {
  if (metric.empty()) return x;
  const std::size_t d = x.size();
  std::vector<double> y(d, 0.0);
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t k = 0; k < d; ++k) y[i] += metric[i * d + k] * x[k];
  return y;
}

double length(const std::vector<double>& v) {
  double s = 0;
  for (const double x : v) s += x * x;
  return std::sqrt(s);
}

double model_value(const quadratic_model& m, const double* s, int d) {
  double q = m.a;
  for (int a = 0; a < d; ++a) {
    q += m.g[static_cast<std::size_t>(a)] * s[a];
    for (int b = 0; b < d; ++b) q += 0.5 * s[a] * m.h[static_cast<std::size_t>(a) * d + b] * s[b];
  }
  return q;
}

double rms_residual(const quadratic_model& m, const std::vector<double>& s, const std::vector<double>& f, int d) {
  double r2 = 0;
  for (std::size_t i = 0; i < f.size(); ++i) {
    const double e = model_value(m, s.data() + i * static_cast<std::size_t>(d), d) - f[i];
    r2 += e * e;
  }
  return f.empty() ? 0.0 : std::sqrt(r2 / static_cast<double>(f.size()));
}

namespace {
/// c = a b (d x d row-major; an empty matrix is the identity).
std::vector<double> product(const std::vector<double>& a, const std::vector<double>& b, int d) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  std::vector<double> c(static_cast<std::size_t>(d) * d, 0.0);
  for (int i = 0; i < d; ++i)
    for (int k = 0; k < d; ++k)
      for (int j = 0; j < d; ++j)
        c[static_cast<std::size_t>(i) * d + j] += a[static_cast<std::size_t>(i) * d + k] * b[static_cast<std::size_t>(k) * d + j];
  return c;
}
}  // namespace

bool compose_metric(std::vector<double>& metric, std::vector<double>& metric_inverse, const std::vector<double>& root,
                    const std::vector<double>& root_inverse, int d, double max_condition) {
  std::vector<double> next = product(metric, root, d);
  std::vector<double> gram(static_cast<std::size_t>(d) * d, 0.0), lambda, vectors;  // next' next
  for (int r = 0; r < d; ++r)
    for (int c = 0; c < d; ++c)
      for (int k = 0; k < d; ++k)
        gram[static_cast<std::size_t>(r) * d + c] += next[static_cast<std::size_t>(k) * d + r] * next[static_cast<std::size_t>(k) * d + c];
  symmetric_eigen(gram, d, lambda, vectors);
  if (!(lambda.front() > 0 && lambda.back() <= max_condition * max_condition * lambda.front())) return false;
  metric = std::move(next);
  metric_inverse = product(root_inverse, metric_inverse, d);
  return true;
}

}  // namespace diffevo::detail
