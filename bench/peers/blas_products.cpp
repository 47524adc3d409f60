// The cpu backend's two large products on one BLAS, timed bare: which Debian BLAS is fastest for them,
// and what the plain variant's float64 Gram product costs next to the x0 product.
//   x0 product:  C (N x D) = W (N x N) X (N x D), float, row-major; as one call on the BLAS's own threads,
//                and as the backend makes it (one worker per core, each a serial call on its share of the columns)
//   Gram:        the upper triangle of G (N x N) = X X^T in float64 (DSYRK), X converted from float first
//                (the conversion timed apart), one call on the BLAS's own threads
// Not part of the build (it links one BLAS or the other). Build and run, for OpenBLAS and for BLIS:
//   (apt-get install libopenblas-dev libblis-pthread-dev)
//   B=/usr/lib/x86_64-linux-gnu; I=/usr/include/x86_64-linux-gnu
//   g++ -O2 bench/peers/blas_products.cpp -o /tmp/products-openblas -I$I/openblas-pthread -L$B/openblas-pthread -lopenblas -lpthread
//   g++ -O2 -DUSE_BLIS bench/peers/blas_products.cpp -o /tmp/products-blis -I$I/blis-pthread -L$B/blis-pthread -lblis -lpthread
//   /tmp/products-openblas [N] [D] [repeats]; /tmp/products-blis ...   (defaults 512 17410 7)
// BLIS picks its kernels from the CPU's FMA unit count; where it cannot read it (a VM) it falls back to
// its AVX2 'haswell' kernels, and BLIS_ARCH_TYPE=skx gives it the AVX-512 ones. The first line printed
// names the sub-configuration in use.
// Prints the median and minimum of each timing in milliseconds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#ifdef USE_BLIS
#include <blis.h>
#include <string>
static const char* blas_label() {  // its version and the sub-configuration (kernel set) it picked for this CPU
  bli_init();  // (before the query, or BLIS_ARCH_TYPE is not applied)
  static const std::string s = std::string("BLIS ") + bli_info_get_version_str() + ", sub-configuration " +
                               bli_arch_string(bli_arch_query_id());
  return s.c_str();
}
static void set_threads(int t) { bli_thread_set_num_threads(t); }
#else
#include <cblas.h>
extern "C" void openblas_set_num_threads(int);
extern "C" char* openblas_get_config();
static const char* blas_label() { return openblas_get_config(); }
static void set_threads(int t) { openblas_set_num_threads(t); }
#endif

namespace {

void sgemm_rows(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

template <class F>
void report(const char* what, int repeats, F&& f) {
  std::vector<double> ms;
  for (int r = 0; r < repeats + 1; ++r) {  // the first is a warm-up
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (r > 0) ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  std::printf("| %s | %.2f | %.2f |\n", what, ms[ms.size() / 2], ms.front());
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 512, d = argc > 2 ? std::atoi(argv[2]) : 17410;
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 7;
  if (n < 2 || d < 64 || repeats < 1) {
    std::fprintf(stderr, "usage: %s [N >= 2] [D >= 64] [repeats >= 1]\n", argv[0]);
    return 2;
  }
  std::vector<float> w(static_cast<std::size_t>(n) * n), x(static_cast<std::size_t>(n) * d), c(x.size());
  std::vector<double> xd(x.size()), g(static_cast<std::size_t>(n) * n);
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (float& v : w) v = (u(gen) + 1.0f) / n;  // a row of weights sums to about 1, as softmax rows do
  for (float& v : x) v = u(gen);
  std::printf("%s; N = %d, D = %d, %d repeats after one warm-up\n\n| product | median ms | min ms |\n|---|---|---|\n",
              blas_label(), n, d, repeats);
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  report("x0 SGEMM, one call, BLAS threads", repeats, [&] {
    set_threads(static_cast<int>(cores));
    sgemm_rows(n, d, n, w.data(), n, x.data(), d, c.data(), d);
  });
  report("x0 SGEMM, a serial call per worker on its columns", repeats, [&] {
    set_threads(1);
    const int workers = static_cast<int>(cores);
    const int width = (d / workers + 15) / 16 * 16;
    std::vector<std::thread> pool;
    for (int t = 1; t < workers; ++t) {
      const int c0 = std::min(d, t * width), c1 = t + 1 == workers ? d : std::min(d, (t + 1) * width);
      if (c1 > c0)
        pool.emplace_back([&, c0, c1] { sgemm_rows(n, c1 - c0, n, w.data(), n, x.data() + c0, d, c.data() + c0, d); });
    }
    sgemm_rows(n, std::min(d, width), n, w.data(), n, x.data(), d, c.data(), d);
    for (std::thread& t : pool) t.join();
  });
  report("X to float64 (one thread)", repeats, [&] { std::copy(x.begin(), x.end(), xd.begin()); });
  report("Gram DSYRK (upper), one call, BLAS threads", repeats, [&] {
    set_threads(static_cast<int>(cores));
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, d, 1.0, xd.data(), d, 0.0, g.data(), n);
  });
  double check = 0;  // keeps the products from being optimized away, and shows they ran
  for (int i = 0; i < n; ++i) check += g[static_cast<std::size_t>(i) * n + i] + c[static_cast<std::size_t>(i) * d];
  std::printf("\n(checksum %.6g)\n", check);
  return 0;
}
