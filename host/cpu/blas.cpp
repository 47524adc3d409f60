#include "blas.hpp"

#include "diffevo/config.hpp"
#include "diffevo/error.hpp"

#ifdef DIFFEVO_HAVE_BLAS
#include <cblas.h>

#include <mutex>
#endif

namespace diffevo {
bool cpu_blas_available() noexcept { return detail::have_blas(); }
}  // namespace diffevo

namespace diffevo::detail {

#ifdef DIFFEVO_HAVE_BLAS
namespace {
std::mutex g_scope_mutex;
int g_scopes = 0, g_saved_threads = 0;  // under g_scope_mutex
}  // namespace

blas_serial_scope::blas_serial_scope() {
  const std::lock_guard<std::mutex> lock(g_scope_mutex);
  if (g_scopes++ == 0) {
    g_saved_threads = openblas_get_num_threads();
    if (g_saved_threads != 1) openblas_set_num_threads(1);
  }
}

blas_serial_scope::~blas_serial_scope() {
  const std::lock_guard<std::mutex> lock(g_scope_mutex);
  if (--g_scopes == 0 && g_saved_threads != 1) openblas_set_num_threads(g_saved_threads);
}

bool have_blas() noexcept { return true; }

int blas_threads() noexcept { return openblas_get_num_threads(); }

void set_blas_threads(int threads) noexcept { openblas_set_num_threads(threads); }

std::string blas_name() { return openblas_get_config(); }

void blas_sgemm(int m, int n, int k, const float* a, long lda, const float* b, long ldb, float* c, long ldc) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, static_cast<blasint>(lda), b,
              static_cast<blasint>(ldb), 0.0f, c, static_cast<blasint>(ldc));
}

void blas_dgemm_nt(int m, int n, int k, const double* a, long lda, const double* b, long ldb, double beta, double* c,
                   long ldc) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0, a, static_cast<blasint>(lda), b,
              static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

void blas_dsyrk_upper(int n, int k, const double* a, long lda, double beta, double* c, long ldc) {
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, k, 1.0, a, static_cast<blasint>(lda), beta, c,
              static_cast<blasint>(ldc));
}
#else
blas_serial_scope::blas_serial_scope() = default;

blas_serial_scope::~blas_serial_scope() = default;

bool have_blas() noexcept { return false; }

int blas_threads() noexcept { return 0; }

void set_blas_threads(int) noexcept {}

std::string blas_name() { return "none"; }

void blas_sgemm(int, int, int, const float*, long, const float*, long, float*, long) {
  throw logic_error("blas_sgemm: this library was built without a BLAS (DIFFEVO_CPU_BLAS=OFF)");
}

void blas_dgemm_nt(int, int, int, const double*, long, const double*, long, double, double*, long) {
  throw logic_error("blas_dgemm_nt: this library was built without a BLAS (DIFFEVO_CPU_BLAS=OFF)");
}

void blas_dsyrk_upper(int, int, const double*, long, double, double*, long) {
  throw logic_error("blas_dsyrk_upper: this library was built without a BLAS (DIFFEVO_CPU_BLAS=OFF)");
}
#endif

}  // namespace diffevo::detail
