#include <algorithm>

#include "check.cuh"
#include "kernels.cuh"

namespace diffevo::detail {
namespace {

/// Tree reduction of one double per thread over the block; every thread gets the result.
template <class Op>
__device__ double block_reduce(double v, double* sh, Op op) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int w = k_block / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) sh[threadIdx.x] = op(sh[threadIdx.x], sh[threadIdx.x + w]);
    __syncthreads();
  }
  const double r = sh[0];
  __syncthreads();
  return r;
}

// One block of k_block threads. Thread t folds j = t, t + k_block, ... (increasing j), then a tree of
// summary_merge (associative, lowest-index ties) combines them: deterministic. Then every thread
// writes the final log-density of its j.
__global__ void summarize_fitness_kernel(const float* f, int n, density_params p, fitness_summary* out,
                                         float* log_g) {
  __shared__ fitness_summary sh[k_block];
  fitness_summary s = empty_summary();
  for (int j = threadIdx.x; j < n; j += k_block) summary_add(s, j, f[j], p);
  sh[threadIdx.x] = s;
  __syncthreads();
  for (int w = k_block / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) sh[threadIdx.x] = summary_merge(sh[threadIdx.x], sh[threadIdx.x + w], p.minimize);
    __syncthreads();
  }
  const fitness_summary all = sh[0];
  if (threadIdx.x == 0) *out = all;
  for (int j = threadIdx.x; j < n; j += k_block) log_g[j] = final_log_density(f[j], p, all);
}

__device__ double row_log_weight(const float* qi, const float* qj, int k, float s, double sd, float log_g_j,
                                 double inv2) {
  double d2;
  if (k <= k_direct_distance_max) {
    d2 = scaled_distance2(qi, qj, k, s);
  } else {  // float64 accumulation, as the cpu backend
    d2 = 0;
    for (int c = 0; c < k; ++c) {
      const double diff = double(qi[c]) - sd * qj[c];
      d2 += diff * diff;
    }
  }
  return log_weight(log_g_j, d2, inv2);
}

// Softmax over j of v(j) into one row of w, by one block: pass 1 the max, pass 2 exp(v - max) and
// the sum, pass 3 the normalization. v is recomputed rather than stored in float, whose rounding at
// |v| ~ 1e6 would distort the weights. Deterministic (fixed trees).
template <class Value>
__device__ void softmax_row(int n, const Value& v, float* wr, double* sh, float* neff) {
  double m = -INFINITY;
  for (int j = threadIdx.x; j < n; j += k_block) m = fmax(m, v(j));
  m = block_reduce(m, sh, [](double a, double b) { return fmax(a, b); });
  double sum = 0;
  for (int j = threadIdx.x; j < n; j += k_block) {
    const double e = exp(v(j) - m);
    wr[j] = static_cast<float>(e);
    sum += e;
  }
  sum = block_reduce(sum, sh, [](double a, double b) { return a + b; });
  const float inv = static_cast<float>(1.0 / sum);
  double sq = 0;
  for (int j = threadIdx.x; j < n; j += k_block) {
    wr[j] *= inv;
    sq += double(wr[j]) * wr[j];
  }
  sq = block_reduce(sq, sh, [](double a, double b) { return a + b; });
  if (threadIdx.x == 0) *neff = static_cast<float>(1.0 / sq);  // effective neighbours of this row
}

// One block per row i = r0 + blockIdx.x; distances computed directly from the coordinates q (n x k).
__global__ void softmax_weights_kernel(const float* q, int n, int k, const float* log_g, float s, double sd,
                                       double inv2, int r0, float* w, float* neff) {
  __shared__ double sh[k_block];
  const float* qi = q + static_cast<size_t>(r0 + blockIdx.x) * k;
  softmax_row(
      n, [&](int j) { return row_log_weight(qi, q + static_cast<size_t>(j) * k, k, s, sd, log_g[j], inv2); },
      w + static_cast<size_t>(blockIdx.x) * n, sh, neff + r0 + blockIdx.x);
}

// One block per chunk row r; distances from the float64 Gram chunk g (rows x n) and the squared norms.
__global__ void softmax_weights_gram_kernel(const double* g, const double* norm2, int n, const float* log_g, double a,
                                            double sd, double inv2, float* w, float* neff) {
  __shared__ double sh[k_block];
  const double* gr = g + static_cast<size_t>(blockIdx.x) * n;
  softmax_row(
      n, [&](int j) { return log_weight_gram(log_g[j], norm2[j], gr[j], a, sd, inv2); },
      w + static_cast<size_t>(blockIdx.x) * n, sh, neff + blockIdx.x);
}

// One block per row: the row in float64 and its squared norm (fixed tree).
__global__ void widen_rows_kernel(const float* x, int cols, double* xd, double* norm2) {
  __shared__ double sh[k_block];
  const float* row = x + static_cast<size_t>(blockIdx.x) * cols;
  double* out = xd + static_cast<size_t>(blockIdx.x) * cols;
  double s = 0;
  for (int c = threadIdx.x; c < cols; c += k_block) {
    const double v = row[c];
    out[c] = v;
    s += v * v;
  }
  s = block_reduce(s, sh, [](double a, double b) { return a + b; });
  if (threadIdx.x == 0) norm2[blockIdx.x] = s;
}

// One block per row.
__global__ void normalize_rows_kernel(float* e, int cols) {
  __shared__ double sh[k_block];
  float* row = e + static_cast<size_t>(blockIdx.x) * cols;
  double s = 0;
  for (int c = threadIdx.x; c < cols; c += k_block) s += double(row[c]) * row[c];
  s = block_reduce(s, sh, [](double a, double b) { return a + b; });
  const double inv = 1.0 / sqrt(s);
  for (int c = threadIdx.x; c < cols; c += k_block) row[c] = static_cast<float>(row[c] * inv);
}

// Grid-stride, one element per thread per iteration.
__global__ void ddim_update_kernel(float* x, const float* x0, const float* z, update_coefficients c,
                                   const float* center, const float* scale, float* p, size_t total, int dim) {
  for (size_t t = blockIdx.x * size_t(blockDim.x) + threadIdx.x; t < total; t += size_t(gridDim.x) * blockDim.x) {
    float v = x[t];
    if (x0) {
      v = ddim_update(v, x0[t], z ? z[t] : 0.0f, c);
      x[t] = v;
    }
    const int col = static_cast<int>(t % dim);
    p[t] = center[col] + scale[col] * v;
  }
}

}  // namespace

void summarize_fitness(const float* d_fitness, int n, density_params p, fitness_summary* d_summary, float* d_log_g,
                       cudaStream_t stream) {
  summarize_fitness_kernel<<<1, k_block, 0, stream>>>(d_fitness, n, p, d_summary, d_log_g);
  DIFFEVO_CHECK_LAUNCH();
}

void softmax_weights(const float* d_q, int n, int k, const float* d_log_g, double a_t, int r0, int rows, float* d_w,
                     float* d_neff, cudaStream_t stream) {
  const double sd = sqrt(a_t);
  softmax_weights_kernel<<<rows, k_block, 0, stream>>>(d_q, n, k, d_log_g, static_cast<float>(sd), sd,
                                                       1.0 / (2.0 * (1.0 - a_t)), r0, d_w, d_neff);
  DIFFEVO_CHECK_LAUNCH();
}

void softmax_weights_gram(const double* d_g, const double* d_norm2, int n, const float* d_log_g, double a_t, int rows,
                          float* d_w, float* d_neff, cudaStream_t stream) {
  softmax_weights_gram_kernel<<<rows, k_block, 0, stream>>>(d_g, d_norm2, n, d_log_g, a_t, sqrt(a_t),
                                                            1.0 / (2.0 * (1.0 - a_t)), d_w, d_neff);
  DIFFEVO_CHECK_LAUNCH();
}

void widen_rows(const float* d_x, int rows, int cols, double* d_xd, double* d_norm2, cudaStream_t stream) {
  widen_rows_kernel<<<rows, k_block, 0, stream>>>(d_x, cols, d_xd, d_norm2);
  DIFFEVO_CHECK_LAUNCH();
}

void normalize_rows(float* d_e, int rows, int cols, cudaStream_t stream) {
  normalize_rows_kernel<<<rows, k_block, 0, stream>>>(d_e, cols);
  DIFFEVO_CHECK_LAUNCH();
}

void ddim_update_and_params(float* d_x, const float* d_x0, const float* d_z, update_coefficients c,
                            const float* d_center, const float* d_scale, float* d_p, int n, int dim,
                            cudaStream_t stream) {
  const size_t total = static_cast<size_t>(n) * dim;
  const int blocks = static_cast<int>(std::min<size_t>((total + k_block - 1) / k_block, 65535));
  ddim_update_kernel<<<blocks, k_block, 0, stream>>>(d_x, d_x0, d_z, c, d_center, d_scale, d_p, total, dim);
  DIFFEVO_CHECK_LAUNCH();
}

}  // namespace diffevo::detail
