#pragma once
/// \file
/// The CEC'2013 problems on the device (nvcc): device_problem copies a problem's composition data to
/// device memory and gives the view that cec2013::fitness and cec2013::evaluate take inside kernels,
/// for example `evaluate_device(cec2013::fitness{dp.view()}, ...)` (diffevo/optimize.cuh).

#if !defined(__CUDACC__)
#error "diffevo/cec2013.cuh needs nvcc; plain C++ code uses diffevo/cec2013.hpp"
#endif

#include <cuda_runtime.h>

#include <string>

#include "diffevo/cec2013.hpp"
#include "diffevo/error.hpp"

namespace diffevo::cec2013 {

/// Owns the device copy of one problem's data (composition problems 11-20; nothing for 1-10).
///
/// Allocated on the device current at construction; move-only.
class device_problem {
 public:
  /// Copies problem `id`'s data to the current device.
  /// @param id 1 .. 20.
  /// @throws invalid_argument naming `id` when it is outside 1 .. 20.
  /// @throws cuda_error if allocating or copying fails (nothing is left allocated).
  /// @note Waits for the copy and for the device (cudaMemcpy from pageable memory may return before
  ///       its transfer lands, and a kernel on a non-blocking stream is not ordered after it).
  explicit device_problem(int id) : view_(make_problem(id)) {
    if (!view_.cf) return;
    composition* d = nullptr;
    cudaError_t e = cudaMalloc(&d, sizeof(composition));
    if (e == cudaSuccess) {
      e = cudaMemcpy(d, view_.cf, sizeof(composition), cudaMemcpyHostToDevice);
      if (e == cudaSuccess) e = cudaDeviceSynchronize();
      if (e != cudaSuccess) cudaFree(d);
    }
    if (e != cudaSuccess) {
      cudaGetLastError();
      throw cuda_error(std::string("cec2013::device_problem(") + std::to_string(id) +
                       "): copying the problem's data to the device failed: " + cudaGetErrorString(e));
    }
    view_.cf = d;
  }
  ~device_problem() {
    if (view_.cf) cudaFree(const_cast<composition*>(view_.cf));
  }
  device_problem(device_problem&& o) noexcept : view_(o.view_) { o.view_.cf = nullptr; }
  device_problem& operator=(device_problem&& o) noexcept {
    if (this != &o) {
      if (view_.cf) cudaFree(const_cast<composition*>(view_.cf));
      view_ = o.view_;
      o.view_.cf = nullptr;
    }
    return *this;
  }
  device_problem(const device_problem&) = delete;
  device_problem& operator=(const device_problem&) = delete;

  /// @return The view to pass to kernels (its data pointer is device memory).
  problem view() const noexcept { return view_; }

 private:
  problem view_;
};

}  // namespace diffevo::cec2013
