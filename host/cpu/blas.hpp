#pragma once
// The BLAS the library was built with (CMake option DIFFEVO_CPU_BLAS: OpenBLAS), for the cpu backend's
// fast products (config::cpu_math = fast). Without one, have_blas() is false and the calls throw
// logic_error: the backend then uses its own kernels.
#include <string>

namespace diffevo::detail {

/// Whether this build has a BLAS.
bool have_blas() noexcept;

/// The BLAS in use, as its library reports itself ("OpenBLAS 0.3.21 ..."), or "none".
std::string blas_name();

/// While any of these lives, the BLAS runs each call in the calling thread (no threads of its own),
/// so that several of the library's workers can call it at once; when the last one ends, the BLAS's
/// own thread setting is restored. Safe from any thread: scopes of concurrent optimizers share one
/// count, so the user's setting is saved once and restored once.
class blas_serial_scope {
 public:
  blas_serial_scope();
  ~blas_serial_scope();
  blas_serial_scope(const blas_serial_scope&) = delete;
  blas_serial_scope& operator=(const blas_serial_scope&) = delete;
};

/// The BLAS's own thread setting (OpenBLAS's openblas_get_num_threads), 0 without a BLAS.
int blas_threads() noexcept;

/// Sets the BLAS's own thread setting; nothing without a BLAS. For tests.
void set_blas_threads(int threads) noexcept;

/// c = a b, float, row-major: a is m x k (row stride lda), b is k x n (ldb), c is m x n (ldc).
void blas_sgemm(int m, int n, int k, const float* a, long lda, const float* b, long ldb, float* c, long ldc);

/// c = beta c + a b^T, float64, row-major: a is m x k (lda), b is n x k (ldb), c is m x n (ldc).
void blas_dgemm_nt(int m, int n, int k, const double* a, long lda, const double* b, long ldb, double beta, double* c,
                   long ldc);

/// The upper triangle (j >= i) of c = beta c + a a^T, float64, row-major: a is n x k (row stride lda),
/// c is n x n (ldc); the lower triangle is not touched.
void blas_dsyrk_upper(int n, int k, const double* a, long lda, double beta, double* c, long ldc);

}  // namespace diffevo::detail
