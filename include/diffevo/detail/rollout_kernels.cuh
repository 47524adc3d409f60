#pragma once
/// \file
/// The batched rollout on the device, for any environment (diffevo/rollout.cuh instantiates it).
/// Three mappings, chosen by the MLP shape:
///  - thread: one controller per thread, its weights and activations in a shared-memory slice; for
///    small nets (4-8-2: 58 parameters), 32 or 64 controllers per block (32 until there are enough
///    controllers to give every SM a block of 64). Runs env::mlp_forward itself.
///  - hidden2<H>: [obs, H, H, outputs] with H in {32, 64, 128} (4-128-128-2: 17,410 parameters; an
///    environment with at most H outputs and 32 observations, hidden2_supports), one
///    controller per block of H threads; thread j keeps row j of the H x H layer in registers for the
///    whole episode, so the big layer never touches memory again.
///  - block: any other shape, one controller per block of 128 threads, weights transposed in shared
///    memory when they fit (else read from global memory through the caches).
/// Every path evaluates each unit as env::dense_unit does (bias, then k ascending, no FMA when compiled
/// with --fmad=false, as the library is), so returns match the cpu evaluator up to the float64 math of
/// the dynamics (cart-pole: sin and cos). A block ends as soon as its controller's episodes end: finished episodes cost nothing.
#if !defined(__CUDACC__)
#error "diffevo/detail/rollout_kernels.cuh needs nvcc"
#endif

#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "diffevo/detail/rollout.hpp"
#include "diffevo/env/mlp.hpp"

namespace diffevo::detail {

inline constexpr int k_thread_block = 64;    // controllers per block, thread mapping (at most)
inline constexpr int k_generic_block = 128;  // threads per controller, block mapping
inline constexpr std::size_t k_thread_smem_max = 96 * 1024;  // thread mapping: its 64-controller block fits in this

// ---- thread mapping --------------------------------------------------------------------------

template <class Env>
__global__ void rollout_thread_kernel(const float* params, int n, rollout_params rp, std::uint64_t generation,
                                      int stride, float* returns) {
  extern __shared__ float smem[];
  const int p = static_cast<int>(rp.shape.parameter_count());
  const int maxw = rp.shape.max_width();
  const int first = blockIdx.x * blockDim.x;  // blockDim.x controllers per block
  const int rows = min(static_cast<int>(blockDim.x), n - first);
  // Coalesced copy of the block's contiguous rows into per-thread slices of odd stride (no bank conflicts).
  const float* src = params + static_cast<std::size_t>(first) * p;
  for (int idx = threadIdx.x; idx < rows * p; idx += blockDim.x) smem[(idx / p) * stride + idx % p] = src[idx];
  __syncthreads();
  if (threadIdx.x >= rows) return;
  const int i = first + threadIdx.x;
  const float* w = smem + threadIdx.x * stride;
  float* a = smem + threadIdx.x * stride + p;
  float* b = a + maxw;
  // The observation sits in b: the first layer reads it into a before anything writes b again (the
  // layers alternate a, b, a, ...). A local array here would live in local memory.
  float* const obs = b;
  double total = 0;  // the episodes' returns (without rewards: their lengths)
  for (int e = 0; e < rp.episodes; ++e) {
    typename Env::state s = Env::reset(start_key(rp, generation, static_cast<std::uint64_t>(i), e));
    int t = 0;
    while (t < rp.max_steps) {
      Env::observe(s, rp.normalize, obs);
      ++t;
      if (env_step<Env>(s, env::mlp_forward(rp.shape, w, obs, a, b), total)) break;
    }
  }
  returns[i] = static_cast<float>(total / rp.episodes);
}

// ---- hidden2<H> mapping ----------------------------------------------------------------------

template <class Env, int H>
__global__ void __launch_bounds__(H, 384 / H) rollout_hidden2_kernel(const float* params, rollout_params rp,
                                                           std::uint64_t generation, float* returns) {
  constexpr int IN = Env::obs_dim, A = env_outputs<Env>();
  constexpr int P = H * IN + H + H * H + H + A * H + A;
  __shared__ float obs[IN], h1[H], h2[H], w3[A * H], b3[A], out[A];
  __shared__ int done;
  const int i = blockIdx.x, j = threadIdx.x;
  const float* p = params + static_cast<std::size_t>(i) * P;
  const float* W1 = p;
  const float* B1 = W1 + H * IN;
  const float* W2 = B1 + H;
  const float* B2 = W2 + H * H;
  const float* W3 = B2 + H;
  const float* B3 = W3 + A * H;

  float w1[IN], w2[H];
#pragma unroll
  for (int k = 0; k < IN; ++k) w1[k] = W1[j * IN + k];
#pragma unroll
  for (int k = 0; k < H; ++k) w2[k] = W2[j * H + k];
  const float bias1 = B1[j], bias2 = B2[j];
  for (int idx = j; idx < A * H; idx += H) w3[idx] = W3[idx];
  if (j < A) b3[j] = B3[j];

  typename Env::state s{};  // thread 0's
  double total = 0;  // thread 0's: the episodes' returns (without rewards: their lengths)
  for (int e = 0; e < rp.episodes; ++e) {
    __syncthreads();  // everyone has read the previous episode's `done`
    int t = 0;
    if (j == 0) {
      s = Env::reset(start_key(rp, generation, static_cast<std::uint64_t>(i), e));
      Env::observe(s, rp.normalize, obs);
      done = 0;
    }
    __syncthreads();
    while (true) {
      float acc = bias1;
#pragma unroll
      for (int k = 0; k < IN; ++k) {
        const float prod = w1[k] * obs[k];
        acc = acc + prod;
      }
      h1[j] = env::relu(acc);
      __syncthreads();
      acc = bias2;
#pragma unroll
      for (int k = 0; k < H; ++k) {
        const float prod = w2[k] * h1[k];
        acc = acc + prod;
      }
      h2[j] = env::relu(acc);
      __syncthreads();
      if (j < A) out[j] = env::dense_unit(w3 + j * H, b3[j], h2, H);
      __syncthreads();
      if (j == 0) {
        ++t;
        if (env_step<Env>(s, out, total) || t >= rp.max_steps)
          done = 1;
        else
          Env::observe(s, rp.normalize, obs);
      }
      __syncthreads();
      if (done) break;
    }
  }
  if (j == 0) returns[i] = static_cast<float>(total / rp.episodes);
}

// ---- block mapping ---------------------------------------------------------------------------

template <class Env, bool InShared>
__global__ void __launch_bounds__(k_generic_block) rollout_block_kernel(const float* params, rollout_params rp,
                                                                       std::uint64_t generation, float* returns) {
  extern __shared__ float smem[];
  __shared__ int done;
  const env::mlp_shape& sh = rp.shape;
  const int p = static_cast<int>(sh.parameter_count());
  const int maxw = sh.max_width();
  const int i = blockIdx.x, tid = threadIdx.x;
  const float* g = params + static_cast<std::size_t>(i) * p;
  // Shared layout: [transposed weights and biases, p (InShared only)] [act0, maxw] [act1, maxw].
  float* wt = smem;
  float* act0 = smem + (InShared ? p : 0);
  float* act1 = act0 + maxw;
  if (InShared) {
    int off = 0;
    for (int l = 0; l + 1 < sh.layers; ++l) {
      const int n_in = sh.widths[l], n_out = sh.widths[l + 1];
      for (int idx = tid; idx < n_out * n_in; idx += blockDim.x)
        wt[off + (idx % n_in) * n_out + idx / n_in] = g[off + idx];
      for (int idx = tid; idx < n_out; idx += blockDim.x) wt[off + n_out * n_in + idx] = g[off + n_out * n_in + idx];
      off += n_out * n_in + n_out;
    }
  }
  typename Env::state s{};
  double total = 0;  // thread 0's: the episodes' returns (without rewards: their lengths)
  for (int e = 0; e < rp.episodes; ++e) {
    __syncthreads();
    int t = 0;
    if (tid == 0) {
      s = Env::reset(start_key(rp, generation, static_cast<std::uint64_t>(i), e));
      Env::observe(s, rp.normalize, act0);
      done = 0;
    }
    __syncthreads();
    while (true) {
      const float* in = act0;
      float* out = act1;
      int off = 0;
      for (int l = 0; l + 1 < sh.layers; ++l) {
        const int n_in = sh.widths[l], n_out = sh.widths[l + 1];
        const bool hidden = l + 2 < sh.layers;
        for (int u = tid; u < n_out; u += blockDim.x) {
          float acc = InShared ? wt[off + n_out * n_in + u] : g[off + n_out * n_in + u];
          for (int k = 0; k < n_in; ++k) {
            const float w = InShared ? wt[off + k * n_out + u] : g[off + u * n_in + k];
            const float prod = w * in[k];
            acc = acc + prod;
          }
          out[u] = hidden ? env::relu(acc) : acc;
        }
        __syncthreads();
        off += n_out * n_in + n_out;
        in = out;
        out = out == act0 ? act1 : act0;
      }
      if (tid == 0) {  // `in` holds the outputs; they are consumed before act0 takes the next observation
        ++t;
        if (env_step<Env>(s, in, total) || t >= rp.max_steps)
          done = 1;
        else
          Env::observe(s, rp.normalize, act0);
      }
      __syncthreads();
      if (done) break;
    }
  }
  if (tid == 0) returns[i] = static_cast<float>(total / rp.episodes);
}

/// Raises a kernel's dynamic shared-memory limit when it needs more than the default 48 KiB.
template <class Kernel>
cudaError_t allow_smem(Kernel k, std::size_t bytes) {
  if (bytes <= 48 * 1024) return cudaSuccess;
  return cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
}

template <class Env>
bool is_hidden2(const env::mlp_shape& s, int h) {
  return s.layers == 4 && s.widths[0] == Env::obs_dim && s.widths[1] == h && s.widths[2] == h &&
         s.widths[3] == env_outputs<Env>();
}

/// Whether the hidden2<H> mapping can run Env at all: its threads compute the outputs, one each (so
/// num_actions or action_dim <= H), hold the observation weights in registers (obs_dim <= 32), and its static
/// shared memory fits a block's 48 KiB. Other environments use the thread and block mappings.
template <class Env, int H>
inline constexpr bool hidden2_supports =
    env_outputs<Env>() <= H && Env::obs_dim <= 32 &&
    sizeof(float) * (Env::obs_dim + 2 * H + env_outputs<Env>() * (H + 2)) + sizeof(int) <= 48 * 1024;

/// Launches the hidden2<H> mapping when the net is [obs, H, H, actions] and Env allows it.
template <class Env, int H>
bool launch_hidden2([[maybe_unused]] const rollout_params& rp, [[maybe_unused]] const float* d_params,
                    [[maybe_unused]] int n, [[maybe_unused]] float* d_returns,
                    [[maybe_unused]] std::uint64_t generation, [[maybe_unused]] cudaStream_t stream) {
  if constexpr (hidden2_supports<Env, H>) {
    if (is_hidden2<Env>(rp.shape, H)) {
      rollout_hidden2_kernel<Env, H><<<n, H, 0, stream>>>(d_params, rp, generation, d_returns);
      return true;
    }
  }
  return false;
}

/// Bytes of dynamic shared memory the block mapping needs at least (its two activation vectors).
inline std::size_t block_activation_bytes(const env::mlp_shape& s) {
  return sizeof(float) * 2 * static_cast<std::size_t>(s.max_width());
}
inline constexpr std::size_t k_static_smem_room = 64;  // the kernels' static shared memory (one int), with margin

/// Enqueues the rollouts of n device controllers on `stream` with the mapping their shape calls for.
/// Returns the first error (of raising a shared-memory limit, or of the launch); throws nothing.
template <class Env>
cudaError_t launch_rollout(const rollout_params& rp, const float* d_params, int n, float* d_returns,
                           std::uint64_t generation, const rollout_device_limits& dl, cudaStream_t stream) {
  const env::mlp_shape& s = rp.shape;
  const long long p = s.parameter_count();
  const int maxw = s.max_width();
  const long long stride = (p + 2LL * maxw) | 1;  // floats per controller slice, thread mapping
  const std::size_t room = static_cast<std::size_t>(dl.optin) - k_static_smem_room;
  const auto thread_smem = [&](int per_block) { return sizeof(float) * static_cast<std::size_t>(stride) * per_block; };
  // The thread mapping is for nets whose 64-controller block fits in k_thread_smem_max (and the device).
  const bool thread_fits = thread_smem(k_thread_block) <= std::min(k_thread_smem_max, room);
  if (launch_hidden2<Env, 128>(rp, d_params, n, d_returns, generation, stream) ||
      launch_hidden2<Env, 64>(rp, d_params, n, d_returns, generation, stream) ||
      launch_hidden2<Env, 32>(rp, d_params, n, d_returns, generation, stream)) {
    // launched
  } else if (thread_fits) {
    // 64 controllers per block only when that still gives every SM a block; else 32 (N = 4096 on an
    // H100: 128 blocks of 32 rather than 64 of 64, which would leave half the SMs idle).
    const int per_block = n >= k_thread_block * dl.sms ? k_thread_block : 32;
    const std::size_t bytes = thread_smem(per_block);
    if (const cudaError_t e = allow_smem(rollout_thread_kernel<Env>, bytes)) return e;
    const int blocks = (n + per_block - 1) / per_block;
    rollout_thread_kernel<Env><<<blocks, per_block, bytes, stream>>>(d_params, n, rp, generation,
                                                                     static_cast<int>(stride), d_returns);
  } else {
    const std::size_t act = block_activation_bytes(s);
    const std::size_t shared = act + sizeof(float) * static_cast<std::size_t>(p);
    if (shared <= room) {
      if (const cudaError_t e = allow_smem(rollout_block_kernel<Env, true>, shared)) return e;
      rollout_block_kernel<Env, true><<<n, k_generic_block, shared, stream>>>(d_params, rp, generation, d_returns);
    } else {  // act <= room: checked when the evaluator was made
      if (const cudaError_t e = allow_smem(rollout_block_kernel<Env, false>, act)) return e;
      rollout_block_kernel<Env, false><<<n, k_generic_block, act, stream>>>(d_params, rp, generation, d_returns);
    }
  }
  return cudaPeekAtLastError();
}

}  // namespace diffevo::detail
