#pragma once
// Move-only owners of the CUDA runtime's, cuBLAS's and cuRAND's handles (rmm/raft style), and a
// non-owning stream view. Each owner remembers the device current at its creation and is destroyed
// with that device current; destructors never throw (a failure there is ignored: nothing can be done
// about it, and the device may be lost). There are no hand-written release paths: a constructor that
// throws half-way destroys what it had made through these owners.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <curand.h>

#include <utility>

#include "cuda/util/check.cuh"
#include "diffevo/error.hpp"

namespace diffevo::detail {

/// Makes `device` current until the end of the scope, best effort and without throwing (for
/// destructors; calls that may throw use device_scope).
class quiet_device_scope {
 public:
  explicit quiet_device_scope(int device) noexcept {
    switched_ = cudaGetDevice(&previous_) == cudaSuccess && previous_ != device && cudaSetDevice(device) == cudaSuccess;
  }
  ~quiet_device_scope() {
    if (switched_) cudaSetDevice(previous_);
  }
  quiet_device_scope(const quiet_device_scope&) = delete;
  quiet_device_scope& operator=(const quiet_device_scope&) = delete;

 private:
  int previous_ = 0;
  bool switched_ = false;
};

/// A CUDA stream that is not the legacy default stream; refuses 0 (a library call on the default
/// stream would synchronize with every other stream of the device).
class stream_view {
 public:
  explicit stream_view(cudaStream_t s) : s_(s) {
    if (!s) throw logic_error("stream_view: the default stream (0) is not a stream of this library");
  }
  cudaStream_t value() const noexcept { return s_; }
  operator cudaStream_t() const noexcept { return s_; }

 private:
  cudaStream_t s_;
};

/// Owns one handle of type H, destroyed by D with its device current. Move-only.
template <class H, class Destroy>
class owned_handle {
 public:
  owned_handle() = default;
  ~owned_handle() { reset(); }
  owned_handle(owned_handle&& o) noexcept : h_(std::exchange(o.h_, H{})), device_(o.device_) {}
  owned_handle& operator=(owned_handle&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, H{});
      device_ = o.device_;
    }
    return *this;
  }
  owned_handle(const owned_handle&) = delete;
  owned_handle& operator=(const owned_handle&) = delete;
  H get() const noexcept { return h_; }
  /// The raw handle, for the library calls that take it (as rmm's stream view converts); not from a
  /// temporary owner, whose handle would be destroyed at once.
  operator H() const& noexcept { return h_; }
  operator H() const&& = delete;

 protected:
  /// Takes a handle just created on the current device.
  void adopt(H h) {
    int device = 0;
    if (cudaGetDevice(&device) != cudaSuccess) cudaGetLastError();
    reset();
    h_ = h;
    device_ = device;
  }

 private:
  void reset() noexcept {
    if (h_ == H{}) return;
    const quiet_device_scope on(device_);
    Destroy{}(h_);
    h_ = H{};
  }
  H h_{};
  int device_ = 0;
};

struct stream_destroy {
  void operator()(cudaStream_t s) const noexcept {
    cudaStreamSynchronize(s);  // nothing queued may outlive the buffers it uses
    cudaStreamDestroy(s);
    cudaGetLastError();
  }
};
struct cublas_destroy {
  void operator()(cublasHandle_t h) const noexcept { cublasDestroy(h); }
};
struct curand_destroy {
  void operator()(curandGenerator_t g) const noexcept { curandDestroyGenerator(g); }
};
struct event_destroy {
  void operator()(cudaEvent_t e) const noexcept {
    cudaEventDestroy(e);
    cudaGetLastError();
  }
};

/// A non-blocking stream of the current device, synchronized and destroyed with the owner.
class owned_stream : public owned_handle<cudaStream_t, stream_destroy> {
 public:
  static owned_stream create() {
    cudaStream_t s = nullptr;
    DIFFEVO_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    owned_stream o;
    o.adopt(s);
    return o;
  }
  stream_view view() const { return stream_view(get()); }
};

/// A cuBLAS handle working on `stream`.
class cublas_handle : public owned_handle<cublasHandle_t, cublas_destroy> {
 public:
  static cublas_handle create(stream_view stream) {
    cublasHandle_t h = nullptr;
    DIFFEVO_CUBLAS_TRY(cublasCreate(&h));
    cublas_handle o;
    o.adopt(h);  // owned before anything else can throw
    DIFFEVO_CUBLAS_TRY(cublasSetStream(h, stream));
    return o;
  }
};

/// A cuRAND generator of `type` drawing on `stream`.
class curand_generator : public owned_handle<curandGenerator_t, curand_destroy> {
 public:
  static curand_generator create(curandRngType_t type, stream_view stream) {
    curandGenerator_t g = nullptr;
    DIFFEVO_CURAND_TRY(curandCreateGenerator(&g, type));
    curand_generator o;
    o.adopt(g);
    DIFFEVO_CURAND_TRY(curandSetStream(g, stream));
    return o;
  }
};

/// A CUDA event (for timing or ordering).
class owned_event : public owned_handle<cudaEvent_t, event_destroy> {
 public:
  static owned_event create() {
    cudaEvent_t e = nullptr;
    DIFFEVO_CUDA_TRY(cudaEventCreate(&e));
    owned_event o;
    o.adopt(e);
    return o;
  }
};

}  // namespace diffevo::detail
