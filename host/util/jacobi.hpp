#pragma once
// A cyclic Jacobi eigendecomposition of small symmetric matrices (float64): CMA-ES's covariance
// (host/baselines/cma_es.cpp) and the polish steps' quadratic models (host/open_ended/polish.cpp).
#include <vector>

namespace diffevo::detail {

/// Eigendecomposition of the symmetric d x d matrix `a` (row-major, destroyed): eigenvalues in `w`
/// (in no particular order), eigenvectors as the columns of `v`. Cyclic Jacobi with threshold sweeps;
/// converges quadratically.
void jacobi_eigen(std::vector<double>& a, int d, std::vector<double>& w, std::vector<double>& v);

}  // namespace diffevo::detail
