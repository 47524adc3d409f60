#pragma once
// The quadratic model of open_ended_config::refine_polish (docs/algorithm.md §8): a least-squares fit of
// f(s) = a + g.s + s'Hs / 2 to a seed's polish design, its peak, and the metric the next design is
// drawn in. Host only, float64; used by host/open_ended/open_ended.cpp.
#include <vector>

namespace diffevo::detail {

/// The unknowns of a quadratic in d variables: 1 + d + d (d + 1) / 2.
inline int quadratic_terms(int d) { return 1 + d + d * (d + 1) / 2; }

/// A fitted quadratic: f(s) = a + g.s + s'Hs / 2, H symmetric (d x d, row-major).
struct quadratic_model {
  double a = 0;
  std::vector<double> g, h;
};

/// Least-squares fit (Householder QR) of a quadratic to `rows` points s (rows x d, row-major) and their
/// values f.
/// @return false when the points do not determine it (fewer than quadratic_terms(d), or a design
///   whose columns are dependent to about 1e-10 of their norm); `out` is then unspecified.
bool fit_quadratic(const std::vector<double>& s, const std::vector<double>& f, int d, quadratic_model& out);

/// The eigenvalues (ascending) and eigenvectors (columns of `vectors`, d x d row-major) of a symmetric
/// d x d matrix (jacobi_eigen, sorted).
void symmetric_eigen(std::vector<double> a, int d, std::vector<double>& values, std::vector<double>& vectors);

/// The peak of a model whose Hessian is negative definite: step = -H^-1 g, shortened to length `clip`,
/// and root = (-H)^(-1/2) / det((-H)^(-1/2))^(1/d) (the metric in which the model's peak is round, with
/// determinant 1) and its inverse.
/// @return false when H is not negative definite (its largest eigenvalue >= 0); the outputs are then
///   unspecified.
bool model_peak(const quadratic_model& m, int d, double clip, std::vector<double>& step, std::vector<double>& root,
                std::vector<double>& root_inverse);

/// y = metric x (metric d x d row-major, d = x.size(); an empty metric is the identity).
std::vector<double> apply_metric(const std::vector<double>& metric, const std::vector<double>& x);

/// The Euclidean length of v.
double length(const std::vector<double>& v);

/// The model's value at s (d values).
double model_value(const quadratic_model& m, const double* s, int d);

/// The root-mean-square difference between the model and the values f at the points s (rows x d).
double rms_residual(const quadratic_model& m, const std::vector<double>& s, const std::vector<double>& f, int d);

/// metric <- metric root and metric_inverse <- root_inverse metric_inverse (d x d row-major; an empty
/// metric is the identity), unless the product's axes would differ by more than max_condition (ratio of
/// its largest and smallest singular values).
/// @return false, leaving both unchanged, when they would.
bool compose_metric(std::vector<double>& metric, std::vector<double>& metric_inverse, const std::vector<double>& root,
                    const std::vector<double>& root_inverse, int d, double max_condition);

}  // namespace diffevo::detail
