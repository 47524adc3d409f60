#pragma once
// The innermost loops of the cpu backend and the cpu cart-pole evaluator. They are compiled twice,
// for AVX2 and for baseline x86-64, and the version is picked at load time (host/vector_ops.cpp).
// Neither contracts to FMA nor reduces across lanes, so both versions give bit-identical results.
namespace diffevo::detail {

/// dr[j] += (a - s col[j])^2 for j < n (float64).
void add_squared_differences(double* __restrict dr, const float* __restrict col, double a, double s, int n);

/// y[c] = y[c] + w x[c] for c < n (float; the product is rounded before the sum).
void add_scaled(float* __restrict y, const float* __restrict x, float w, int n);

}  // namespace diffevo::detail
