#include <algorithm>

#include "cuda/util/check.cuh"
#include "diffevo/detail/hash.hpp"
#include "kernels.cuh"

namespace diffevo::detail {
namespace {

// Every kernel here is launched with k_block threads; those whose code assumes it (shared arrays and
// loops of k_block) say so with __launch_bounds__(k_block), so the compiler budgets registers for
// that block size (ddim_update_kernel strides by blockDim and assumes nothing). The block reductions are written here rather
// than taken from CUB: CUB's BlockReduce is deterministic at a fixed block size too, but it reaches
// the hardware through inline PTX, which the CUDA emulator (tests/emulator, which runs these kernels
// with g++ in CI) cannot execute; the fixed trees below are deterministic and run in both places.

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

constexpr int k_warps = k_block / 32;

/// Sums K doubles per thread over the block: a fixed shuffle tree per warp, then every thread adds the
/// warp totals in warp order. Deterministic; every thread gets the K sums. sh holds K * k_warps.
template <int K>
__device__ void block_sums(double (&v)[K], double* sh) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
#pragma unroll
  for (int k = 0; k < K; ++k) {
    for (int off = 16; off > 0; off /= 2) v[k] += __shfl_down_sync(0xffffffffu, v[k], off);
    if (lane == 0) sh[k * k_warps + warp] = v[k];
  }
  __syncthreads();
#pragma unroll
  for (int k = 0; k < K; ++k) {
    double s = 0;
    for (int w = 0; w < k_warps; ++w) s += sh[k * k_warps + w];
    v[k] = s;
  }
  __syncthreads();
}

/// The block's maximum of one double per thread; every thread gets it. sh holds k_warps.
__device__ double block_max(double v, double* sh) {
  for (int off = 16; off > 0; off /= 2) v = fmax(v, __shfl_down_sync(0xffffffffu, v, off));
  if (threadIdx.x % 32 == 0) sh[threadIdx.x / 32] = v;
  __syncthreads();
  double m = -INFINITY;
  for (int w = 0; w < k_warps; ++w) m = fmax(m, sh[w]);
  __syncthreads();
  return m;
}

// dst[c] = params[row * dim + c] for c < dim, over the block's threads.
__device__ void copy_row(float* dst, const float* params, int row, int dim) {
  for (int c = threadIdx.x; c < dim; c += k_block) dst[c] = params[static_cast<size_t>(row) * dim + c];
}

// One block of k_block threads. Thread t folds j = t, t + k_block, ... (increasing j), then a tree of
// summary_merge (associative, lowest-index ties) combines them: deterministic. Then every thread
// writes the final log-density of its j. A deferred run's record is read by every thread before
// thread 0 updates it.
__global__ void __launch_bounds__(k_block) summarize_fitness_kernel(const float* f, int n, density_params p, fitness_summary* out,
                                         float* log_g, summary_extras d) {
  __shared__ fitness_summary sh[k_block];
  if (d.rec) {  // the state before this generation, for a failed enqueue of its update to restore
    if (threadIdx.x == 0) *d.rec_backup = *d.rec;
    for (int c = threadIdx.x; c < d.dim; c += k_block) d.best_row_backup[c] = d.best_row[c];
    __syncthreads();
  }
  if (d.rec && d.rec->halted) return;  // the same value for every thread: no barrier is skipped by some
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
  if (d.rec && all.first_error >= 0) {  // halt the run here: later kernels leave the state as it is now
    if (threadIdx.x == 0) {
      d.rec->halted = 1;
      d.rec->error_generation = d.generation;
      d.rec->error = all;
    }
    return;
  }
  for (int j = threadIdx.x; j < n; j += k_block) log_g[j] = final_log_density(f[j], p, all);
  if (d.candidate && all.best >= 0) copy_row(d.candidate, d.params, all.best, d.dim);
  if (!d.rec) return;
  const bool improved =
      all.best >= 0 && (!d.rec->has_best || better_than(all.best_value, d.rec->best_value, p.minimize));
  __syncthreads();  // every thread has read the record
  if (improved) copy_row(d.best_row, d.params, all.best, d.dim);
  if (threadIdx.x == 0) {
    if (improved) {
      d.rec->has_best = 1;
      d.rec->best_value = all.best_value;
    }
    d.rec->last_nonfinite = all.nonfinite;
    d.rec->nonfinite += all.nonfinite;
  }
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
    wr[j] = product_weight(wr[j] * inv);
    sq += double(wr[j]) * wr[j];
  }
  sq = block_reduce(sq, sh, [](double a, double b) { return a + b; });
  if (threadIdx.x == 0) *neff = static_cast<float>(1.0 / sq);  // effective neighbours of this row
}

// One block per row i = r0 + blockIdx.x; distances computed directly from the coordinates q (n x k).
__global__ void __launch_bounds__(k_block) softmax_weights_kernel(const float* q, int n, int k, const float* log_g, float s, double sd,
                                       double inv2, int r0, float* w, float* neff) {
  __shared__ double sh[k_block];
  const float* qi = q + static_cast<size_t>(r0 + blockIdx.x) * k;
  softmax_row(
      n, [&](int j) { return row_log_weight(qi, q + static_cast<size_t>(j) * k, k, s, sd, log_g[j], inv2); },
      w + static_cast<size_t>(blockIdx.x) * n, sh, neff + r0 + blockIdx.x);
}

// One block per row i = r0 + block: pass 1 the row's maximum log-weight, pass 2 the float64 sums of
// e_j = exp(v_j - max), e_j^2 and e_j x_j (the weights never leave registers), then thread c < dim
// finishes column c.
__global__ void __launch_bounds__(k_block) fused_update_kernel(const float* q, int k, const float* x, int n, int dim, const float* log_g, float s,
                                    double sd, double inv2, update_coefficients co, const float* z,
                                    const float* center, const float* scale, float* x_next, float* x0, float* p,
                                    float* neff, const run_record* rec, int r0) {
  constexpr int K = k_fused_max_dim + 2;  // sum e, sum e^2, sum e x_j[c]
  __shared__ double sh[K * k_warps];
  const int i = r0 + static_cast<int>(blockIdx.x);
  const size_t row = static_cast<size_t>(i) * dim;
  const float* xi = x + row;
  if (rec && rec->halted) {
    for (int c = threadIdx.x; c < dim; c += k_block) {
      x_next[row + c] = xi[c];
      p[row + c] = center[c] + scale[c] * xi[c];
    }
    return;
  }
  const float* qi = q + static_cast<size_t>(i) * k;
  auto v = [&](int j) { return row_log_weight(qi, q + static_cast<size_t>(j) * k, k, s, sd, log_g[j], inv2); };
  double m = -INFINITY;
  for (int j = threadIdx.x; j < n; j += k_block) m = fmax(m, v(j));
  m = block_max(m, sh);
  double acc[K] = {};
  for (int j = threadIdx.x; j < n; j += k_block) {
    const double e = exp(v(j) - m);
    acc[0] += e;
    acc[1] += e * e;
    const float* xj = x + static_cast<size_t>(j) * dim;
#pragma unroll
    for (int c = 0; c < k_fused_max_dim; ++c)
      if (c < dim) acc[2 + c] += e * xj[c];
  }
  block_sums(acc, sh);
  if (threadIdx.x == 0) neff[i] = static_cast<float>(acc[0] * acc[0] / acc[1]);
  const int c = threadIdx.x;
  if (c < dim) {
    // Register arrays need constant indices: pick column c's sum by an unrolled select.
    double sum_c = 0;
#pragma unroll
    for (int t = 0; t < k_fused_max_dim; ++t)
      if (t == c) sum_c = acc[2 + t];
    const float x0c = static_cast<float>(sum_c / acc[0]);
    x0[row + c] = x0c;
    const float next = ddim_update(xi[c], x0c, z ? z[row + c] : 0.0f, co);  // z may alias p: read first
    x_next[row + c] = next;
    p[row + c] = center[c] + scale[c] * next;
  }
}

// One block per chunk row r; distances from the float64 Gram chunk g (rows x n) and the squared norms.
__global__ void __launch_bounds__(k_block) softmax_weights_gram_kernel(const double* g, const double* norm2, int n, const float* log_g, double a,
                                            double sd, double inv2, float* w, float* neff) {
  __shared__ double sh[k_block];
  const double* gr = g + static_cast<size_t>(blockIdx.x) * n;
  softmax_row(
      n, [&](int j) { return log_weight_gram(log_g[j], norm2[j], gr[j], a, sd, inv2); },
      w + static_cast<size_t>(blockIdx.x) * n, sh, neff + blockIdx.x);
}

// One block per row: the row in float64 and its squared norm (fixed tree).
__global__ void __launch_bounds__(k_block) widen_rows_kernel(const float* x, int cols, double* xd, double* norm2) {
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
__global__ void __launch_bounds__(k_block) normalize_rows_kernel(float* e, int cols) {
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
                       cudaStream_t stream, const summary_extras& x) {
  summarize_fitness_kernel<<<1, k_block, 0, stream>>>(d_fitness, n, p, d_summary, d_log_g, x);
  DIFFEVO_CHECK_LAUNCH();
}

void fused_update(const float* d_q, int k, const float* d_x, int n, int dim, const float* d_log_g, double a_t,
                  update_coefficients c, const float* d_z, const float* d_center, const float* d_scale,
                  float* d_x_next, float* d_x0, float* d_p, float* d_neff, const run_record* d_rec,
                  cudaStream_t stream, int r0, int rows) {
  if (dim > k_fused_max_dim)
    throw logic_error(msg("fused_update: dimension ", dim, " exceeds k_fused_max_dim = ", k_fused_max_dim));
  if (rows < 0) rows = n - r0;
  if (r0 < 0 || r0 + rows > n)
    throw logic_error(msg("fused_update: rows [", r0, ", ", r0 + rows, ") are not within the population of ", n));
  if (rows == 0) return;
  const double sd = sqrt(a_t);
  fused_update_kernel<<<rows, k_block, 0, stream>>>(d_q, k, d_x, n, dim, d_log_g, static_cast<float>(sd), sd,
                                                    1.0 / (2.0 * (1.0 - a_t)), c, d_z, d_center, d_scale, d_x_next,
                                                    d_x0, d_p, d_neff, d_rec, r0);
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

namespace {
/// One thread per row: the row's hash (diffevo/detail/hash.hpp, the host's function).
__global__ void row_hashes_kernel(const float* p, int rows, int cols, std::uint64_t* out) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < rows; i += gridDim.x * blockDim.x)
    out[i] = row_hash(p, i, cols);
}
}  // namespace

void row_hashes(const float* d_p, int rows, int cols, std::uint64_t* d_out, cudaStream_t stream) {
  const int blocks = std::max(1, std::min((rows + k_block - 1) / k_block, 4096));
  row_hashes_kernel<<<blocks, k_block, 0, stream>>>(d_p, rows, cols, d_out);
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
