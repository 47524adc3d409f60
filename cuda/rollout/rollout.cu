// The cuda evaluator: a stream and staging buffers per evaluator, and the launch of the environment's
// kernels (diffevo/detail/rollout_kernels.cuh: the three mappings and their choice). Cart-pole's
// device code is compiled here, as a user's own environment is in their CUDA source
// (diffevo/rollout.cuh); its host loop is in the core library (host/rollout/rollout.cpp).
#include <memory>

#include "host/rollout/library_cartpole.hpp"
#include "host/rollout/rollout_backend.hpp"
#include "cuda/util/check.cuh"
#include "cuda/util/handles.cuh"
#include "diffevo/rollout.cuh"
#include "cuda/plugin/entry_points.hpp"

namespace diffevo::detail {
namespace {

inline rollout_device_limits limits_of_current_device() {
  int device = 0;
  rollout_device_limits l;
  DIFFEVO_CUDA_TRY(cudaGetDevice(&device));
  DIFFEVO_CUDA_TRY(cudaDeviceGetAttribute(&l.optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  DIFFEVO_CUDA_TRY(cudaDeviceGetAttribute(&l.sms, cudaDevAttrMultiProcessorCount, device));
  return l;
}

class cuda_rollout final : public rollout_device {
 public:
  cuda_rollout(const rollout_params& rp, const rollout_environment& env) : rp_(rp), env_(env) {
    DIFFEVO_CUDA_TRY(cudaGetDevice(&device_));
    limits_ = limits_of_current_device();
    // Every net runs on some mapping except one whose widest layer's activations alone exceed the
    // device's shared memory per block (a layer of about 29,000 units on an H100).
    const std::size_t act = block_activation_bytes(rp.shape);
    if (act + k_static_smem_room > static_cast<std::size_t>(limits_.optin))
      throw invalid_argument(msg("layers: a layer of width ", rp.shape.max_width(), " needs ", act,
                                 " bytes of shared memory for the cuda evaluator's activations, but this device "
                                 "allows ", limits_.optin, " per block; use backend = cpu or narrower layers"));
    stream_ = owned_stream::create();
  }

  void evaluate_host(const float* params, int n, float* returns, std::uint64_t generation,
                     std::uint64_t first) override {
    const device_scope on(device_);
    const std::size_t p = static_cast<std::size_t>(rp_.shape.parameter_count());
    host_round_trip(stream_, [&] {  // no copy may still touch the caller's buffers when this returns or throws
      if (params_.size() < p * n) params_ = device_buffer<float>(p * n);
      if (returns_.size() < static_cast<std::size_t>(n)) returns_ = device_buffer<float>(static_cast<std::size_t>(n));
      DIFFEVO_CUDA_TRY(cudaMemcpyAsync(params_.data(), params, sizeof(float) * p * n, cudaMemcpyHostToDevice, stream_));
      launch(params_.data(), n, returns_.data(), generation, first, stream_);
      DIFFEVO_CUDA_TRY(cudaMemcpyAsync(returns, returns_.data(), sizeof(float) * n, cudaMemcpyDeviceToHost, stream_));
    });
  }

  void evaluate_device(const float* d_params, int n, float* d_returns, std::uint64_t generation, std::uint64_t first,
                       cuda_stream stream) override {
    const device_scope on(device_);
    launch(d_params, n, d_returns, generation, first, stream);
  }

 private:
  void launch(const float* d_params, int n, float* d_returns, std::uint64_t generation, std::uint64_t first,
              cudaStream_t stream) {
    rollout_params rp = rp_;
    rp.first_individual = first;
    const auto e = static_cast<cudaError_t>(env_.launch_device(rp, d_params, n, d_returns, generation, limits_, stream));
    if (e != cudaSuccess) cuda_check(e, msg("launching the ", env_.name, " rollout kernels").c_str(), __FILE__, __LINE__);
  }

  rollout_params rp_;
  rollout_environment env_;  // its name is the facade's copy, which outlives this evaluator
  int device_ = 0;
  rollout_device_limits limits_;
  device_buffer<float> params_, returns_;
  owned_stream stream_;  // last: synchronized and destroyed before the buffers are freed
};

}  // namespace

std::unique_ptr<rollout_device> create_cuda_rollout(const rollout_params& rp, const rollout_environment& env) {
  return std::make_unique<cuda_rollout>(rp, env);
}

int launch_library_cartpole(const rollout_params& rp, const float* d_params, int n, float* d_returns,
                            std::uint64_t generation, const rollout_device_limits& limits, cuda_stream stream) {
  return launch_environment<library_cartpole>(rp, d_params, n, d_returns, generation, limits, stream);
}

}  // namespace diffevo::detail
