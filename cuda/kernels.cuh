#pragma once
// Kernels of one Diffusion Evolution generation and their launchers (stream last). Each launcher
// checks the launch. All reductions are fixed-shape trees: results are deterministic.
#include <cuda_runtime.h>

#include "diffevo/detail/math.hpp"

namespace diffevo::detail {

constexpr int k_block = 256;  // every kernel here assumes blockDim.x == k_block

/// Summary of the N fitness values and the final log-density of each (one block).
void summarize_fitness(const float* d_fitness, int n, density_params p, fitness_summary* d_summary, float* d_log_g,
                       cudaStream_t stream);

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

/// Scales each of the `rows` rows of d_e (rows x cols) to unit L2 norm (SPEC §5).
void normalize_rows(float* d_e, int rows, int cols, cudaStream_t stream);

/// x <- ddim_update(x, x0, z) (z may be null: no noise) and p = center + scale * x, element-wise.
/// With d_x0 null only the parameter map runs. d_z may alias d_p (each element is read before written).
void ddim_update_and_params(float* d_x, const float* d_x0, const float* d_z, update_coefficients c,
                            const float* d_center, const float* d_scale, float* d_p, int n, int dim,
                            cudaStream_t stream);

}  // namespace diffevo::detail
