#include "vector_ops.hpp"

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define DIFFEVO_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define DIFFEVO_CLONES
#endif

namespace diffevo::detail {

DIFFEVO_CLONES void add_squared_differences(double* __restrict dr, const float* __restrict col, double a, double s,
                                            int n) {
  for (int j = 0; j < n; ++j) {
    const double diff = a - s * col[j];
    dr[j] += diff * diff;
  }
}

DIFFEVO_CLONES void add_scaled(float* __restrict y, const float* __restrict x, float w, int n) {
  for (int c = 0; c < n; ++c) {
    const float prod = w * x[c];
    y[c] = y[c] + prod;
  }
}

}  // namespace diffevo::detail
