#pragma once
// The bench's own CUDA work (timing with events, a bare cuBLAS GEMM, the device copy bandwidth, device
// buffers for the evaluator): bench/gpu.cu with the cuda backend, bench/gpu_none.cpp without it (whose
// functions throw: the modes call them only when the backend is cuda).
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "diffevo/diffevo.hpp"

namespace bench::gpu {

/// Seconds between two CUDA events recorded on `stream` around `work` (which enqueues on it), after
/// the stream reached the second one.
double time_on_stream(diffevo::cuda_stream stream, const std::function<void()>& work);

/// Median seconds of a bare SGEMM C (D x N) = X^T (D x N) W^T (N x N): the x0 product's shape.
double bare_gemm_seconds(int n, int d, int repeats);

/// Median device-to-device copy bandwidth (bytes read + written per second) of `bytes`.
double copy_bandwidth(std::size_t bytes, int repeats);

/// The whole run of `opt` with the paper's fitness of `fn` in a kernel (diffevo::run_functor).
diffevo::optimize_result run_paper_functor(diffevo::optimizer& opt, diffevo::functions::benchmark fn);

/// Number of CUDA devices this process sees (0 where the runtime reports none or fails).
int device_count() noexcept;

/// Makes device `ordinal` current (cudaSetDevice) for the calling thread.
/// @return The device's name.
std::string use_device(int ordinal);

/// Waits for the work queued on `stream`; throws naming the call if it failed.
void synchronize(diffevo::cuda_stream stream);

struct device_memory;  // bench/gpu.cu's owned allocation

/// n floats of device memory, freed when it leaves scope.
class device_floats {
 public:
  explicit device_floats(std::size_t n);
  ~device_floats();
  device_floats(const device_floats&) = delete;
  device_floats& operator=(const device_floats&) = delete;
  float* data() const noexcept;

 private:
  std::unique_ptr<device_memory> mem_;
};

/// Device copies of an n-row parameter matrix and n returns, on a stream of their own.
class rollout_buffers {
 public:
  rollout_buffers(const std::vector<float>& params, int n);
  ~rollout_buffers();
  rollout_buffers(const rollout_buffers&) = delete;
  rollout_buffers& operator=(const rollout_buffers&) = delete;
  diffevo::population_view view(int parameters) const;
  float* returns() const;
  diffevo::cuda_stream stream() const;
  /// Copies the returns to `out` (n floats) and waits.
  void copy_returns(std::vector<float>& out) const;

 private:
  struct impl;
  std::unique_ptr<impl> p_;
};

}  // namespace bench::gpu
