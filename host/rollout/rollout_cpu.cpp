// The cpu evaluator's MLP (detail::host_mlp, declared in diffevo/detail/rollout.hpp with the host loop
// over controllers that uses it). Per controller the weights are transposed once (W^T, in x out, each
// layer's outputs padded with zero weights to a multiple of k_pad, so dense_layer runs whole vectors
// only) and each layer is vector_ops' dense_layer, with exactly the per-output summation order of
// env::dense_unit (bias, then k ascending): the actions are the reference forward pass's bit for bit
// (tested). The padded outputs are computed and never read.
#include <algorithm>

#include "diffevo/detail/rollout.hpp"
#include "host/cpu/vector_ops.hpp"

namespace diffevo::detail {
namespace {
/// Outputs per layer are padded to a multiple of this: a whole AVX-512 vector (and so of every
/// narrower one).
constexpr int k_pad = 16;
int padded(int n) { return (n + k_pad - 1) / k_pad * k_pad; }
}  // namespace

host_mlp::host_mlp(const env::mlp_shape& s) : s_(s) {
  std::size_t size = 0;
  int widest = 0;
  for (int l = 0; l + 1 < s.layers; ++l) {
    size += static_cast<std::size_t>(padded(s.widths[l + 1])) * (s.widths[l] + 1);
    widest = std::max(widest, padded(s.widths[l + 1]));
  }
  wt_.assign(size, 0.0f);  // the padding stays zero
  a_.resize(static_cast<std::size_t>(widest));
  b_.resize(static_cast<std::size_t>(widest));
}

void host_mlp::load(const float* params) {
  std::size_t off = 0, to = 0;
  for (int l = 0; l + 1 < s_.layers; ++l) {
    const int n_in = s_.widths[l], n_out = s_.widths[l + 1], pad = padded(n_out);
    const float* w = params + off;
    float* t = wt_.data() + to;
    for (int j = 0; j < n_out; ++j)
      for (int k = 0; k < n_in; ++k) t[static_cast<std::size_t>(k) * pad + j] = w[static_cast<std::size_t>(j) * n_in + k];
    const std::size_t wn = static_cast<std::size_t>(n_out) * n_in;
    std::copy_n(params + off + wn, n_out, t + static_cast<std::size_t>(pad) * n_in);  // bias
    off += wn + static_cast<std::size_t>(n_out);
    to += static_cast<std::size_t>(pad) * (n_in + 1);
  }
}

const float* host_mlp::forward(const float* obs) {
  const float* in = obs;
  float* out = a_.data();
  std::size_t to = 0;
  for (int l = 0; l + 1 < s_.layers; ++l) {
    const int n_in = s_.widths[l], pad = padded(s_.widths[l + 1]);
    const float* __restrict t = wt_.data() + to;
    const float* __restrict bias = t + static_cast<std::size_t>(pad) * n_in;
    dense_layer(out, t, bias, in, n_in, pad);  // o_j = b_j + sum_k W_jk x_k, k ascending
    if (l + 2 < s_.layers)
      for (int j = 0; j < pad; ++j) out[j] = env::relu(out[j]);
    to += static_cast<std::size_t>(pad) * (n_in + 1);
    in = out;
    out = out == a_.data() ? b_.data() : a_.data();
  }
  return in;
}

}  // namespace diffevo::detail
