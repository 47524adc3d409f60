// The cpu evaluator's MLP (detail::host_mlp, declared in diffevo/detail/rollout.hpp with the host loop
// over controllers that uses it). Per controller the weights are transposed once (W^T, in x out, each
// layer's outputs padded with zero weights to a multiple of k_pad, so dense_layer runs whole vectors
// only) and each layer is vector_ops' dense_layer, with exactly the per-output summation order of
// env::dense_unit (bias, then k ascending): the actions are the reference forward pass's bit for bit
// (tested). The padded outputs are computed and never read.
#if __has_include(<unistd.h>)
#include <unistd.h>  // sysconf
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "diffevo/detail/rollout.hpp"
#include "host/cpu/vector_ops.hpp"
#include "host/rollout/library_cartpole.hpp"

namespace diffevo::detail {
namespace {
/// Outputs per layer are padded to a multiple of this: a whole AVX-512 vector (and so of every
/// narrower one).
constexpr int k_pad = 16;
int padded(int n) { return (n + k_pad - 1) / k_pad * k_pad; }

/// Floats of host_mlp's transposed weights and biases, each layer's outputs padded to k_pad: also the
/// multiply-adds of one step of the scalar loop (cartpole_runs_in_lanes).
std::size_t padded_weight_count(const env::mlp_shape& s) {
  std::size_t size = 0;
  for (int l = 0; l + 1 < s.layers; ++l) size += static_cast<std::size_t>(padded(s.widths[l + 1])) * (s.widths[l] + 1);
  return size;
}
}  // namespace

host_mlp::host_mlp(const env::mlp_shape& s) : s_(s) {
  int widest = 0;
  for (int l = 1; l < s.layers; ++l) widest = std::max(widest, padded(s.widths[l]));
  wt_.assign(padded_weight_count(s), 0.0f);  // the padding stays zero
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

// The library cart-pole's loop over controllers in vector lanes (library_cartpole.hpp). Each thread
// keeps k_env_lanes controllers in flight: lane l holds one controller's weights (interleaved with the
// other lanes', so a layer of all lanes is one vector expression per output), its state and its
// count of steps; when its last episode ends, the lane takes one of the thread's next controllers,
// loaded with other waiting lanes' (k_refill_lanes). Every lane
// computes exactly the scalar loop's operations in its order (vector_ops.hpp), so the returns are
// rollout_host's bit for bit; only cos and sin run per lane, as the C library's calls. (GCC may merge
// each pair into one sincos call, here as in env::cartpole::step; glibc's sincos gives sin's and cos's
// bits, which the tests check against the scalar loop.)
namespace diffevo::detail {
namespace {

constexpr int L = k_env_lanes;

/// A lane whose controller is done waits for a new one until k_refill_lanes lanes wait, for at most
/// k_refill_wait steps (or until no lane runs); then they are loaded in one pass (lanes_mlp::load).
/// Loading touches every cache line of the lanes' weights, one line per weight, whatever the number
/// of lanes it fills, so with short episodes (12-23 steps) loading one lane at a time took most of
/// the time. Nets whose lanes' weights fit in k_refill_at_once_bytes (4-8-2: 3.7 KB) load cheaply
/// and are refilled at once: waiting cost 4-8-2 3 % with long episodes. bench/NOTES.md has the
/// figures.
constexpr int k_refill_lanes = 4, k_refill_wait = 8;
constexpr std::size_t k_refill_at_once_bytes = 32 * 1024;

/// The core's L2 in bytes as the C library reports it (sysconf), else 512 KiB.
std::size_t core_l2_bytes() noexcept {
#ifdef _SC_LEVEL2_CACHE_SIZE
  const long bytes = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (bytes > 0) return static_cast<std::size_t>(bytes);
#endif
  return std::size_t(512) << 10;
}

/// The L2 size the lanes' cost model uses (cartpole_l2_bytes).
std::atomic<std::size_t> g_l2_bytes{core_l2_bytes()};

/// Bytes of the lanes' weights: L x parameters floats.
std::size_t lanes_weight_bytes(std::size_t parameters) { return sizeof(float) * L * parameters; }

/// The MLP of L controllers, one per lane: layer l's weights as wt[lanes_weight_index(k, j, ...) + lane]
/// (in panels of outputs, vector_ops.hpp), then its biases as b[j L + lane].
class lanes_mlp {
 public:
  explicit lanes_mlp(const env::mlp_shape& s) : s_(s) {
    // A row of lanes (L floats) is one 64-byte cache line: from the buffer's first 64-byte boundary.
    // (From malloc's 16-byte alignment every row spanned two lines: about 10 % at 4-64-64-2, AVX2.)
    constexpr std::size_t line = 64 / sizeof(float);
    wt_.assign(static_cast<std::size_t>(s.parameter_count()) * L + line, 0.0f);
    const std::size_t skip = (64 - reinterpret_cast<std::uintptr_t>(wt_.data()) % 64) % 64 / sizeof(float);
    w_ = wt_.data() + skip;
    a_.resize(static_cast<std::size_t>(s.max_width()) * L);
    b_.resize(a_.size());
  }
  lanes_mlp(const lanes_mlp&) = delete;  // w_ points into wt_
  lanes_mlp& operator=(const lanes_mlp&) = delete;

  /// Lanes lanes[c] take the controllers of params[c] (docs/algorithm.md §7 layout), c < m, in one
  /// pass over the weights: each of their cache lines is read and written once for all m lanes.
  void load(const int* lanes, const float* const* params, int m) {
    std::size_t off = 0;
    for (int l = 0; l + 1 < s_.layers; ++l) {
      const int n_in = s_.widths[l], n_out = s_.widths[l + 1];
      float* t = w_ + off * L;
      for (int j = 0; j < n_out; ++j)
        for (int k = 0; k < n_in; ++k) {
          float* at = t + lanes_weight_index(k, j, n_in, n_out);
          const std::size_t from = off + static_cast<std::size_t>(j) * n_in + k;
          for (int c = 0; c < m; ++c) at[lanes[c]] = params[c][from];
        }
      const std::size_t wn = static_cast<std::size_t>(n_out) * n_in;
      for (int j = 0; j < n_out; ++j)
        for (int c = 0; c < m; ++c) t[(wn + j) * L + lanes[c]] = params[c][off + wn + j];
      off += wn + static_cast<std::size_t>(n_out);
    }
  }

  /// The outputs of every lane (widths[layers - 1] x L floats) for obs (widths[0] x L floats).
  const float* forward(const float* obs) {
    const float* in = obs;
    float* out = a_.data();
    std::size_t off = 0;
    for (int l = 0; l + 1 < s_.layers; ++l) {
      const int n_in = s_.widths[l], n_out = s_.widths[l + 1];
      const float* t = w_ + off * L;
      const std::size_t wn = static_cast<std::size_t>(n_out) * n_in;
      dense_lanes(out, t, t + wn * L, in, n_in, n_out, l + 2 < s_.layers);
      off += wn + static_cast<std::size_t>(n_out);
      in = out;
      out = out == a_.data() ? b_.data() : a_.data();
    }
    return in;
  }

 private:
  env::mlp_shape s_;
  std::vector<float> wt_, a_, b_;
  float* w_;  // the weights: in wt_, from a 64-byte boundary
};

}  // namespace

std::size_t cartpole_l2_bytes() noexcept { return g_l2_bytes.load(std::memory_order_relaxed); }

void set_cartpole_l2_bytes(std::size_t bytes) noexcept { g_l2_bytes.store(bytes, std::memory_order_relaxed); }

// Multiply-adds per controller step: the scalar loop's host_mlp computes every layer's outputs padded
// to k_pad (a 4-H-2 net's last layer 8 times over); the lanes compute the P real ones, at 1.25 times
// the cost once their weights pass 5/8 of the L2 (cartpole_l2_bytes()) and no longer stay in it.
// Fitted on an AVX2 Zen 3 (512 KiB of L2, so 320 KiB; bench/NOTES.md, "The cpu evaluator in lanes"):
// lanes win by 1.05-2.2x for two-layer nets through 4-72-72-2 (5,762 parameters) and by 2.4-4.4x for
// the 4-H-2 nets measured (to 4-2048-2); the scalar loop wins from 4-80-80-2 on. On an AVX-512 Xeon
// with 2 MiB of L2 lanes win by 1.3-1.4x from 4-64-64-2 through 4-128-128-2 (17,410 parameters,
// 1.1 MB in lanes), which the L2's size decides here.
bool cartpole_runs_in_lanes(const env::mlp_shape& s) {
  const double scalar = static_cast<double>(padded_weight_count(s));
  const double p = static_cast<double>(s.parameter_count());
  const bool past_l2 = lanes_weight_bytes(s.parameter_count()) > cartpole_l2_bytes() / 8 * 5;
  const double lanes = p * (past_l2 ? 1.25 : 1.0);
  return lanes < scalar;
}

void rollout_cartpole_host(const rollout_params& rp, const float* params, int n, float* returns,
                           std::uint64_t generation, int threads) {
  if (!cartpole_runs_in_lanes(rp.shape)) {
    rollout_host<library_cartpole>(rp, params, n, returns, generation, threads);
    return;
  }
  const std::size_t p = static_cast<std::size_t>(rp.shape.parameter_count());
  parallel_rows(n, threads, [&](int b, int e) {
    lanes_mlp net(rp.shape);
    cartpole_lanes s{};
    float obs[env::cartpole::obs_dim * L];
    double cos_theta[L], sin_theta[L];
    int done[L];
    int who[L], episode[L], t[L];
    double total[L];  // the controller's step count over its episodes so far
    bool live[L];
    int next = b, live_lanes = 0;
    const auto put = [&](int l, const env::cartpole::state& st) {
      s.x[l] = st.x;
      s.x_dot[l] = st.x_dot;
      s.theta[l] = st.theta;
      s.theta_dot[l] = st.theta_dot;
    };
    const auto begin_episode = [&](int l) {
      put(l, library_cartpole::reset(start_key(rp, generation, static_cast<std::uint64_t>(who[l]), episode[l])));
      t[l] = 0;
    };
    int waiting[L], n_waiting = 0, waited = 0;  // lanes without a controller, loaded together
    const int wait = lanes_weight_bytes(p) > k_refill_at_once_bytes ? k_refill_wait : 0;
    const auto refill = [&] {  // the waiting lanes take the next controllers; the rest idle for good
      int lanes[L], m = 0;
      const float* src[L];
      for (int c = 0; c < n_waiting && next < e; ++c) {
        const int l = waiting[c];
        who[l] = next++;
        lanes[m] = l;
        src[m++] = params + static_cast<std::size_t>(who[l]) * p;
      }
      net.load(lanes, src, m);
      for (int c = 0; c < m; ++c) {
        const int l = lanes[c];
        live[l] = true;
        episode[l] = 0;
        total[l] = 0;
        begin_episode(l);
        ++live_lanes;
      }
      n_waiting = 0;
      waited = 0;
    };
    for (int l = 0; l < L; ++l) {
      live[l] = false;
      waiting[n_waiting++] = l;
    }
    refill();
    while (live_lanes > 0) {
      cartpole_observe_lanes(s, rp.normalize, obs);
      const float* logits = net.forward(obs);
      for (int l = 0; l < L; ++l) {  // as env::cartpole::step calls them; an idle lane's are not needed
        cos_theta[l] = live[l] ? ::cos(s.theta[l]) : 1.0;
        sin_theta[l] = live[l] ? ::sin(s.theta[l]) : 0.0;
      }
      cartpole_advance_lanes(s, logits, cos_theta, sin_theta, done);
      for (int l = 0; l < L; ++l) {
        if (!live[l]) {  // back to the zero state, so an idle lane's numbers stay small
          put(l, env::cartpole::state{});
          continue;
        }
        ++t[l];
        total[l] += 1;  // env_step: every cart-pole step earns 1
        if (!done[l] && t[l] < rp.max_steps) continue;
        if (++episode[l] < rp.episodes) {
          begin_episode(l);
          continue;
        }
        returns[who[l]] = static_cast<float>(total[l] / rp.episodes);
        --live_lanes;
        live[l] = false;
        if (next < e) waiting[n_waiting++] = l;
      }
      if (n_waiting > 0 && (n_waiting >= k_refill_lanes || ++waited > wait || live_lanes == 0)) refill();
    }
  });
}

}  // namespace diffevo::detail
