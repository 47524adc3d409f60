// The CUDA plugin's entry point: libdiffevo_cuda.so exports this one symbol (everything else is hidden),
// and host/backend/cuda_loader.cpp calls it after loading the library.
#include <cuda_runtime_api.h>

#include "host/backend/cuda_plugin.hpp"
#include "cuda/plugin/entry_points.hpp"

namespace diffevo::detail {
namespace {

// Launched by nothing: cudaFuncGetAttributes on it says whether this build holds code the current
// device can run.
__global__ void probe_kernel() {}

const char* no_device_reason() noexcept {
  int n = 0;
  // Any error (no driver, insufficient driver, ...) means "no device", never a crash.
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return cudaGetErrorString(e);
  }
  if (n == 0) return "the CUDA runtime reports no device";
  // A device older than every architecture the plugin was built for (CMAKE_CUDA_ARCHITECTURES: 80 and
  // 90 by default, so not a V100 or a T4) has no kernel image: it cannot run the backend, and
  // backend = automatic must then pick the cpu rather than fail at the first launch.
  cudaFuncAttributes a{};
  const cudaError_t k = cudaFuncGetAttributes(&a, probe_kernel);
  if (k != cudaSuccess) {
    cudaGetLastError();
    return cudaGetErrorString(k);  // "no kernel image is available for execution on the device"
  }
  return nullptr;
}

cuda_plugin make_table() {
  cuda_plugin t;
  t.no_device_reason = &no_device_reason;
  t.make_backend = &create_cuda_backend;
  t.make_rollout = &create_cuda_rollout;
  t.launch_cartpole = &launch_library_cartpole;
  t.weight_budget = &device_weight_budget;
  t.set_weight_budget = &set_device_weight_budget;
  return t;
}

}  // namespace
}  // namespace diffevo::detail

extern "C" __attribute__((visibility("default"))) const diffevo::detail::cuda_plugin* diffevo_cuda_plugin_v1() {
  static const diffevo::detail::cuda_plugin table = diffevo::detail::make_table();
  return &table;
}
