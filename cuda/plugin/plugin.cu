// The CUDA plugin's entry point: libdiffevo_cuda.so exports this one symbol (everything else is hidden),
// and host/backend/cuda_loader.cpp calls it after loading the library.
#include <cuda_runtime_api.h>

#include "host/backend/cuda_plugin.hpp"
#include "cuda/plugin/entry_points.hpp"

namespace diffevo::detail {
namespace {

const char* no_device_reason() noexcept {
  int n = 0;
  // Any error (no driver, insufficient driver, ...) means "no device", never a crash.
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return cudaGetErrorString(e);
  }
  return n > 0 ? nullptr : "the CUDA runtime reports no device";
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
