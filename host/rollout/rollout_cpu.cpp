// The cpu evaluator's MLP (detail::host_mlp, declared in diffevo/detail/rollout.hpp with the host loop
// over controllers that uses it). Per controller the weights are transposed once (W^T, in x out) so
// each layer is vector_ops' dense_layer, with exactly the per-output summation order of
// env::dense_unit (bias, then k ascending): the actions are the reference forward pass's bit for bit
// (tested).
#include <algorithm>

#include "diffevo/detail/rollout.hpp"
#include "host/cpu/vector_ops.hpp"

namespace diffevo::detail {

host_mlp::host_mlp(const env::mlp_shape& s) : s_(s) {
  wt_.resize(static_cast<std::size_t>(s.parameter_count()));
  a_.resize(static_cast<std::size_t>(s.max_width()));
  b_.resize(static_cast<std::size_t>(s.max_width()));
}

void host_mlp::load(const float* params) {
  std::size_t off = 0;
  for (int l = 0; l + 1 < s_.layers; ++l) {
    const int n_in = s_.widths[l], n_out = s_.widths[l + 1];
    const float* w = params + off;
    float* t = wt_.data() + off;
    for (int j = 0; j < n_out; ++j)
      for (int k = 0; k < n_in; ++k) t[static_cast<std::size_t>(k) * n_out + j] = w[static_cast<std::size_t>(j) * n_in + k];
    const std::size_t wn = static_cast<std::size_t>(n_out) * n_in;
    std::copy_n(params + off + wn, n_out, t + wn);  // bias
    off += wn + static_cast<std::size_t>(n_out);
  }
}

const float* host_mlp::forward(const float* obs) {
  const float* in = obs;
  float* out = a_.data();
  std::size_t off = 0;
  for (int l = 0; l + 1 < s_.layers; ++l) {
    const int n_in = s_.widths[l], n_out = s_.widths[l + 1];
    const float* __restrict t = wt_.data() + off;
    const float* __restrict bias = t + static_cast<std::size_t>(n_out) * n_in;
    dense_layer(out, t, bias, in, n_in, n_out);  // o_j = b_j + sum_k W_jk x_k, k ascending
    if (l + 2 < s_.layers)
      for (int j = 0; j < n_out; ++j) out[j] = env::relu(out[j]);
    off += static_cast<std::size_t>(n_out) * n_in + n_out;
    in = out;
    out = out == a_.data() ? b_.data() : a_.data();
  }
  return in;
}

}  // namespace diffevo::detail
