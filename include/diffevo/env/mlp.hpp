#pragma once
/// \file
/// The MLP controller of docs/algorithm.md §7, as plain host/device code: ReLU hidden layers, a linear output layer;
/// for a discrete environment one output per action and action = argmax (ties -> the lower index),
/// for a continuous one the outputs are the action. Parameters are flattened layer by layer as W
/// (out x in, row-major) then b.
///
/// The arithmetic is fixed so every implementation (this reference, the cpu evaluator's vectorized
/// loop, the GPU kernels) rounds identically: out_j = b_j, then out_j += W_jk * in_k for k ascending,
/// each product and sum rounded to float (no fused multiply-add); ReLU is `v > 0 ? v : 0`, so NaN
/// becomes 0. With non-finite parameters a discrete controller still returns an action (a NaN logit
/// never wins the argmax); a continuous one passes its NaN outputs on to the environment.

#include "diffevo/detail/hd.hpp"

namespace diffevo::env {

constexpr int k_max_layers = 8;        ///< layer widths, input and output included
constexpr int k_max_width = 1 << 20;   ///< per layer (validated by the evaluator)

/// Layer widths of an MLP (widths[0] = observation size, widths[layers - 1] = action count or a
/// continuous action's dimension).
struct mlp_shape {
  int layers = 0;
  int widths[k_max_layers] = {};

  /// Callers keep every width <= k_max_width, so the count cannot overflow.
  DIFFEVO_HD long long parameter_count() const {
    long long p = 0;
    for (int l = 0; l + 1 < layers; ++l) p += static_cast<long long>(widths[l + 1]) * widths[l] + widths[l + 1];
    return p;
  }
  DIFFEVO_HD int max_width() const {
    int m = 0;
    for (int l = 0; l < layers; ++l) m = widths[l] > m ? widths[l] : m;
    return m;
  }
};

DIFFEVO_HD inline float relu(float v) { return v > 0.0f ? v : 0.0f; }

/// One output of a dense layer: b_j + sum_k W_jk in_k in the order fixed above.
DIFFEVO_HD inline float dense_unit(const float* w_row, float bias, const float* in, int n_in) {
  float acc = bias;
  for (int k = 0; k < n_in; ++k) {
    const float prod = w_row[k] * in[k];
    acc = acc + prod;
  }
  return acc;
}

/// argmax with ties resolved to the lowest index; a NaN never wins over a number (all NaN: 0).
DIFFEVO_HD_INLINE int argmax(const float* v, int n) {
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (v[i] > v[best] || (v[best] != v[best] && v[i] == v[i])) best = i;
  return best;
}

/// The reference forward pass: `params` in the docs/algorithm.md §7 layout, `obs` of widths[0] floats, `a` and `b`
/// scratch of max_width() floats each. Returns the widths[layers - 1] outputs (logits, or a continuous
/// action), which lie in `a` or `b`.
DIFFEVO_HD inline const float* mlp_forward(const mlp_shape& s, const float* params, const float* obs, float* a,
                                           float* b) {
  const float* in = obs;
  float* out = a;
  const float* p = params;
  for (int l = 0; l + 1 < s.layers; ++l) {
    const int n_in = s.widths[l], n_out = s.widths[l + 1];
    const float* w = p;
    const float* bias = p + static_cast<long long>(n_out) * n_in;
    const bool hidden = l + 2 < s.layers;
    for (int j = 0; j < n_out; ++j) {
      const float v = dense_unit(w + static_cast<long long>(j) * n_in, bias[j], in, n_in);
      out[j] = hidden ? relu(v) : v;
    }
    p = bias + n_out;
    in = out;
    out = out == a ? b : a;
  }
  return in;
}

/// The discrete action: the argmax of mlp_forward's outputs.
DIFFEVO_HD inline int mlp_action(const mlp_shape& s, const float* params, const float* obs, float* a, float* b) {
  return argmax(mlp_forward(s, params, obs, a, b), s.widths[s.layers - 1]);
}

}  // namespace diffevo::env
