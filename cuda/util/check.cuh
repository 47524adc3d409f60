#pragma once
// Status checks that throw diffevo exceptions carrying the call, file and line (rmm's CUDA_TRY
// style), and a move-only RAII device buffer. Destructors never throw.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <curand.h>

#include <cstddef>
#include <utility>

#include "host/util/message.hpp"
#include "diffevo/error.hpp"

namespace diffevo::detail {

inline void cuda_check(cudaError_t e, const char* call, const char* file, int line) {
  if (e == cudaSuccess) return;
  cudaGetLastError();  // clear a sticky-free error so later calls are not blamed
  if (e == cudaErrorMemoryAllocation)
    throw out_of_memory(msg("CUDA out of memory in ", call, " at ", file, ":", line));
  throw cuda_error(msg("CUDA call ", call, " failed at ", file, ":", line, ": ", cudaGetErrorString(e)));
}
inline void cublas_check(cublasStatus_t s, const char* call, const char* file, int line) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  if (s == CUBLAS_STATUS_ALLOC_FAILED) throw out_of_memory(msg("cuBLAS out of memory in ", call, " at ", file, ":", line));
  throw cublas_error(msg("cuBLAS call ", call, " failed at ", file, ":", line, " with status ", static_cast<int>(s)));
}
inline void curand_check(curandStatus_t s, const char* call, const char* file, int line) {
  if (s == CURAND_STATUS_SUCCESS) return;
  if (s == CURAND_STATUS_ALLOCATION_FAILED)
    throw out_of_memory(msg("cuRAND out of memory in ", call, " at ", file, ":", line));
  throw curand_error(msg("cuRAND call ", call, " failed at ", file, ":", line, " with status ", static_cast<int>(s)));
}

}  // namespace diffevo::detail

#define DIFFEVO_CUDA_TRY(call) ::diffevo::detail::cuda_check((call), #call, __FILE__, __LINE__)
#define DIFFEVO_CUBLAS_TRY(call) ::diffevo::detail::cublas_check((call), #call, __FILE__, __LINE__)
#define DIFFEVO_CURAND_TRY(call) ::diffevo::detail::curand_check((call), #call, __FILE__, __LINE__)
/// After every kernel launch: catches bad launch configurations immediately.
#define DIFFEVO_CHECK_LAUNCH() DIFFEVO_CUDA_TRY(cudaPeekAtLastError())

namespace diffevo::detail {

/// Runs `work`, which enqueues copies between host memory and the device on `stream`; if it throws,
/// first waits for the stream (best effort, clearing the error that may leave, so that it is not
/// blamed on a later call). CUDA 12.2 on does not promise that a copy with pageable memory has
/// finished, or staged its source, when cudaMemcpyAsync returns: without the wait, a queued copy could
/// read or write a host buffer after the exception has left its scope.
template <class Work>
decltype(auto) wait_on_throw(cudaStream_t stream, Work&& work) {
  try {
    return work();
  } catch (...) {
    cudaStreamSynchronize(stream);
    cudaGetLastError();
    throw;
  }
}

/// wait_on_throw, then waits for the stream: when it returns, every copy `work` enqueued has finished.
template <class Work>
void host_round_trip(cudaStream_t stream, Work&& work) {
  wait_on_throw(stream, [&] {
    work();
    DIFFEVO_CUDA_TRY(cudaStreamSynchronize(stream));
  });
}

/// Makes `device` current for the scope of a call and restores the caller's device after it, so an
/// optimizer keeps working when the caller's thread switches devices.
class device_scope {
 public:
  explicit device_scope(int device) {
    DIFFEVO_CUDA_TRY(cudaGetDevice(&previous_));
    if (previous_ != device) DIFFEVO_CUDA_TRY(cudaSetDevice(device));
  }
  ~device_scope() { cudaSetDevice(previous_); }
  device_scope(const device_scope&) = delete;
  device_scope& operator=(const device_scope&) = delete;

 private:
  int previous_ = 0;
};

/// Owning device allocation of `n` elements of T. Move-only.
template <class T>
class device_buffer {
 public:
  device_buffer() = default;
  explicit device_buffer(std::size_t n) : n_(n) {
    if (n == 0) return;
    const cudaError_t e = cudaMalloc(&p_, n * sizeof(T));
    if (e != cudaSuccess) {
      cudaGetLastError();
      p_ = nullptr;
      if (e == cudaErrorMemoryAllocation)
        throw out_of_memory(msg("cuda backend: cannot allocate ", n * sizeof(T), " bytes on the device"));
      cuda_check(e, "cudaMalloc", __FILE__, __LINE__);
    }
  }
  ~device_buffer() {
    if (p_) cudaFree(p_);
  }
  device_buffer(device_buffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  device_buffer& operator=(device_buffer&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  T* data() const { return p_; }
  std::size_t size() const { return n_; }

 private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

}  // namespace diffevo::detail
