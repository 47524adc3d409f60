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

/// While it lives, the BLAS runs each call on `threads` threads of its own (1: in the calling thread,
/// so that several of the library's workers can call it at once); then the BLAS's own setting is
/// restored. Make one at a time, from one thread, around calls that do not overlap another scope.
class blas_thread_scope {
 public:
  explicit blas_thread_scope(int threads);
  ~blas_thread_scope();
  blas_thread_scope(const blas_thread_scope&) = delete;
  blas_thread_scope& operator=(const blas_thread_scope&) = delete;

 private:
  int saved_ = 0;
};

/// c = a b, float, row-major: a is m x k (row stride lda), b is k x n (ldb), c is m x n (ldc).
void blas_sgemm(int m, int n, int k, const float* a, long lda, const float* b, long ldb, float* c, long ldc);

/// c = beta c + a b^T, float64, row-major: a is m x k (lda), b is n x k (ldb), c is m x n (ldc).
void blas_dgemm_nt(int m, int n, int k, const double* a, long lda, const double* b, long ldb, double beta, double* c,
                   long ldc);

/// The upper triangle (j >= i) of c = beta c + a a^T, float64, row-major: a is n x k (row stride lda),
/// c is n x n (ldc); the lower triangle is not touched.
void blas_dsyrk_upper(int n, int k, const double* a, long lda, double beta, double* c, long ldc);

}  // namespace diffevo::detail
