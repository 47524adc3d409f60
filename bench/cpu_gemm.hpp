#pragma once
// The cpu side's reference product for the speed mode: a bare SGEMM of the x0 shape by the BLAS the
// library was built with (bench/cpu_gemm.cpp, OpenBLAS), on the BLAS's own threads; the bench links it
// exactly when the library does (diffevo::cpu_blas_available()).
#include <string>

namespace bench::cpu {

/// "OpenBLAS 0.3.21 ..." as the BLAS reports itself, or "none".
std::string blas_name();

/// Seconds of one bare SGEMM x0 (N x D) = W (N x N) X (N x D) on fresh random inputs, the median of
/// `repeats` after a warm-up.
double bare_gemm_seconds(int n, int d, int repeats);

}  // namespace bench::cpu
