// The cpu evaluator: one controller per task, rows spread over host threads. Per controller the
// weights are transposed once (W^T, in x out) so each layer is vector_ops' dense_layer, with exactly
// the per-output summation order of env::dense_unit (bias, then k ascending): the returns are
// bit-identical to the reference forward pass (tested).
#include <algorithm>
#include <vector>

#include "diffevo/detail/parallel.hpp"
#include "diffevo/detail/random.hpp"
#include "diffevo/env/cartpole.hpp"
#include "rollout_backend.hpp"
#include "vector_ops.hpp"

namespace diffevo::detail {
namespace {

/// One controller's weights, transposed per layer, and activation scratch.
class transposed_mlp {
 public:
  explicit transposed_mlp(const env::mlp_shape& s) : s_(s) {
    wt_.resize(static_cast<std::size_t>(s.parameter_count()));
    a_.resize(static_cast<std::size_t>(s.max_width()));
    b_.resize(static_cast<std::size_t>(s.max_width()));
  }

  void load(const float* params) {
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

  int action(const float* obs) {
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
    return env::argmax(in, s_.widths[s_.layers - 1]);
  }

 private:
  env::mlp_shape s_;
  std::vector<float> wt_, a_, b_;
};

template <class Env>
float rollout_one(const rollout_params& rp, transposed_mlp& net, std::uint64_t generation, std::uint64_t individual) {
  long long total = 0;
  float obs[Env::obs_dim];
  for (int e = 0; e < rp.episodes; ++e) {
    typename Env::state s = Env::reset(start_key(rp, generation, individual, e));
    int t = 0;
    while (t < rp.max_steps) {
      Env::observe(s, rp.normalize, obs);
      ++t;
      if (Env::step(s, net.action(obs))) break;
    }
    total += t;
  }
  return static_cast<float>(static_cast<double>(total) / rp.episodes);
}

}  // namespace

void rollout_cpu(const rollout_params& rp, const float* params, int n, float* returns, std::uint64_t generation,
                 int threads) {
  const std::size_t p = static_cast<std::size_t>(rp.shape.parameter_count());
  parallel_rows(n, threads, [&](int b, int e) {
    transposed_mlp net(rp.shape);
    for (int i = b; i < e; ++i) {
      net.load(params + static_cast<std::size_t>(i) * p);
      returns[i] = rollout_one<env::cartpole>(rp, net, generation, static_cast<std::uint64_t>(i));
    }
  });
}

}  // namespace diffevo::detail
