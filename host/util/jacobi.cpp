// Cyclic Jacobi eigendecomposition (see jacobi.hpp).
#include "host/util/jacobi.hpp"

#include <cmath>
#include <cstddef>

namespace diffevo::detail {

void jacobi_eigen(std::vector<double>& a, int d, std::vector<double>& w, std::vector<double>& v) {
  auto A = [&](int i, int j) -> double& { return a[static_cast<std::size_t>(i) * d + j]; };
  v.assign(static_cast<std::size_t>(d) * d, 0.0);
  for (int i = 0; i < d; ++i) v[static_cast<std::size_t>(i) * d + i] = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, diag = 0;
    for (int i = 0; i < d; ++i) {
      diag += A(i, i) * A(i, i);
      for (int j = i + 1; j < d; ++j) off += A(i, j) * A(i, j);
    }
    if (off <= 1e-30 * diag || off == 0) break;
    for (int p = 0; p < d; ++p)
      for (int q = p + 1; q < d; ++q) {
        const double apq = A(p, q);
        if (apq == 0) continue;
        const double theta = (A(q, q) - A(p, p)) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < d; ++k) {  // A <- J^T A J, columns then rows
          const double akp = A(k, p), akq = A(k, q);
          A(k, p) = c * akp - s * akq;
          A(k, q) = s * akp + c * akq;
        }
        for (int k = 0; k < d; ++k) {
          const double apk = A(p, k), aqk = A(q, k);
          A(p, k) = c * apk - s * aqk;
          A(q, k) = s * apk + c * aqk;
        }
        for (int k = 0; k < d; ++k) {
          double& vkp = v[static_cast<std::size_t>(k) * d + p];
          double& vkq = v[static_cast<std::size_t>(k) * d + q];
          const double x = vkp, y = vkq;
          vkp = c * x - s * y;
          vkq = s * x + c * y;
        }
      }
  }
  w.resize(static_cast<std::size_t>(d));
  for (int i = 0; i < d; ++i) w[static_cast<std::size_t>(i)] = A(i, i);
}

}  // namespace diffevo::detail
