#pragma once
// The cuda backend as the rest of the library sees it: a table of entry points filled by the CUDA
// plugin (cuda/plugin/plugin.cu, built as libdiffevo_cuda.so and loaded on first use by host/backend/cuda_loader.cpp),
// so that a process that never uses a GPU never loads the CUDA runtime, cuBLAS or cuRAND.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "backend.hpp"
#include "diffevo/detail/rollout.hpp"
#include "host/rollout/rollout_backend.hpp"

namespace diffevo::detail {

/// The build tree that built the core and the plugin (DIFFEVO_BUILD_ID, a random string CMake draws at
/// a build tree's first configure and keeps in its cache): the loader refuses a plugin from another
/// build tree, whose table, backend vtables or config layout may differ (a stale libdiffevo_cuda.so
/// next to a newer libdiffevo.so). Within one tree the build keeps the two in step only when both
/// are built: `--target diffevo` alone after a header change leaves the plugin stale, unchecked.
#ifndef DIFFEVO_BUILD_ID
#define DIFFEVO_BUILD_ID "unset"
#endif
constexpr const char* k_build_id = DIFFEVO_BUILD_ID;

struct cuda_plugin {
  const char* build_id = k_build_id;
  /// Null when the CUDA runtime reports a device; else why not (its error string, or "no device").
  const char* (*no_device_reason)() noexcept = nullptr;
  std::unique_ptr<backend> (*make_backend)(const config& cfg) = nullptr;
  /// The evaluator's device side for `env` (its launch_device compiled by nvcc, here or in user code).
  std::unique_ptr<rollout_device> (*make_rollout)(const rollout_params& rp, const rollout_environment& env) = nullptr;
  /// Cart-pole's device code (the library's own environment), as rollout_environment::launch_device.
  int (*launch_cartpole)(const rollout_params& rp, const float* d_params, int n, float* d_returns,
                         std::uint64_t generation, const rollout_device_limits& limits, cuda_stream stream) = nullptr;
  std::size_t (*weight_budget)() noexcept = nullptr;
  void (*set_weight_budget)(std::size_t bytes) noexcept = nullptr;
};

/// The loaded plugin with a device present, or null; then `why` (if given) says why not: built without
/// CUDA, no CUDA driver, no device, or the plugin could not be loaded (with the loader's message).
/// Loading happens once per process and only when a CUDA driver reports a device.
const cuda_plugin* cuda_plugin_with_device(std::string* why = nullptr) noexcept;

/// As above, but throws device_unavailable naming `what` and the reason.
const cuda_plugin& require_cuda_plugin(const char* what);

}  // namespace diffevo::detail

/// The plugin's one exported symbol (cuda/plugin/plugin.cu). Linked directly into the emulated test library.
extern "C" const diffevo::detail::cuda_plugin* diffevo_cuda_plugin_v1();
