#pragma once
// Kernels of one Diffusion Evolution generation and their launchers (stream last). Each launcher
// checks the launch. All reductions are fixed-shape trees: results are deterministic.
#include <cuda_runtime.h>

#include <cstdint>

#include "diffevo/detail/math.hpp"

namespace diffevo::detail {

constexpr int k_block = 256;  // every kernel here assumes blockDim.x == k_block

/// Up to this dimension the update is one fused kernel per generation (fused_update): no N x N weight
/// matrix, no cuBLAS.
constexpr int k_fused_max_dim = 8;

/// Device-side bookkeeping of a deferred run (tells that do not wait for the host): the first fitness
/// error halts every later kernel of the run, and best-so-far and the non-finite count are kept here
/// until the host reads them back once at the end.
struct run_record {
  int halted;             ///< 1 once a generation's fitness had an input error
  int error_generation;   ///< that generation
  fitness_summary error;  ///< its summary (first_error, error_class, error_value)
  int has_best;
  float best_value;
  int last_nonfinite;     ///< of the last generation that went through
  long long nonfinite;    ///< summed over the generations that went through
};

/// What the summary kernel does beyond the summary (all null: only the summary and log-densities).
struct summary_extras {
  const float* params = nullptr;  ///< the population just evaluated (N x dim)
  int dim = 0;
  float* candidate = nullptr;     ///< dim floats: receives the row of the summary's best individual
  run_record* rec = nullptr;      ///< a deferred run's record
  int generation = 0;             ///< with rec: this generation's number
  float* best_row = nullptr;      ///< with rec: dim floats, the best individual so far
  run_record* rec_backup = nullptr;  ///< with rec: receives the record as it was before this kernel
  float* best_row_backup = nullptr;  ///< with rec: receives best_row as it was before this kernel
};

/// Summary of the N fitness values and the final log-density of each (one block). Copies the best
/// row to x.candidate when given (so a tell reads summary and row back in one round trip). With a
/// deferred record: first copies the record and best row to their backups (what a failed enqueue of
/// this generation's update puts back); then does nothing more once the record is halted; a fitness
/// error halts it (no log-density is written); otherwise best-so-far and the non-finite count are
/// updated on the device.
void summarize_fitness(const float* d_fitness, int n, density_params p, fitness_summary* d_summary, float* d_log_g,
                       cudaStream_t stream, const summary_extras& x = {});

/// The whole update for dim <= k_fused_max_dim, one block per row i: softmax weights over j from the
/// coordinates q (n x k), x0_i = sum_j w_ij x_j (float64 sums), the DDIM step into d_x_next (d_z may be
/// null: no noise; it may alias d_p), p_i = center + scale * x_i', and d_neff[i]. d_x is only read. If
/// d_rec is halted: x_next = x and p = center + scale * x (undoing the noise draw in p); x0 and neff
/// are left as they were. Only rows [r0, r0 + rows) are computed and written (a sharded update's
/// rows; every row by default), each the same whatever the range.
void fused_update(const float* d_q, int k, const float* d_x, int n, int dim, const float* d_log_g, double a_t,
                  update_coefficients c, const float* d_z, const float* d_center, const float* d_scale,
                  float* d_x_next, float* d_x0, float* d_p, float* d_neff, const run_record* d_rec,
                  cudaStream_t stream, int r0 = 0, int rows = -1);

/// Rows [r0, r0 + rows) of softmax_j(log w_ij) into d_w (rows x n, row-major); q is n x k.
/// d_neff[r0 + r] = 1 / sum_j w_ij^2 (the row's effective number of neighbours).
void softmax_weights(const float* d_q, int n, int k, const float* d_log_g, double a_t, int r0, int rows, float* d_w,
                     float* d_neff, cudaStream_t stream);

/// Rows of softmax_j(log w_ij) from a float64 Gram chunk d_g (rows x n: q_i . q_j for the chunk's rows
/// i) and the squared norms d_norm2 (n), into d_w (rows x n). The plain variant's path for large D.
/// d_neff[r] as softmax_weights (pass the chunk's offset into the N-row array).
void softmax_weights_gram(const double* d_g, const double* d_norm2, int n, const float* d_log_g, double a_t, int rows,
                          float* d_w, float* d_neff, cudaStream_t stream);

/// d_xd = d_x in float64 (rows x cols) and d_norm2[i] = ||row i||^2.
void widen_rows(const float* d_x, int rows, int cols, double* d_xd, double* d_norm2, cudaStream_t stream);

/// d_out[i] = row_hash(d_p, i, cols) for every row (diffevo/detail/hash.hpp), one thread per row.
void row_hashes(const float* d_p, int rows, int cols, std::uint64_t* d_out, cudaStream_t stream);

/// Scales each of the `rows` rows of d_e (rows x cols) to unit L2 norm (docs/algorithm.md §5).
void normalize_rows(float* d_e, int rows, int cols, cudaStream_t stream);

/// x <- ddim_update(x, x0, z) (z may be null: no noise) and p = center + scale * x, element-wise.
/// With d_x0 null only the parameter map runs. d_z may alias d_p (each element is read before written).
void ddim_update_and_params(float* d_x, const float* d_x0, const float* d_z, update_coefficients c,
                            const float* d_center, const float* d_scale, float* d_p, int n, int dim,
                            cudaStream_t stream);

}  // namespace diffevo::detail
