// Finds the cuda backend at run time (host/backend/cuda_plugin.hpp). A build without CUDA has none; a build
// with CUDA loads libdiffevo_cuda.so the first time a device is asked for, and only when the CUDA
// driver (libcuda.so.1) is present and reports a device, so a process on a machine without a GPU
// never loads the CUDA runtime, cuBLAS (with cuBLASLt, about 540 MB) or cuRAND: that load costs
// about 100 ms per process. The emulated test library links the plugin in (DIFFEVO_CUDA_LINKED).
#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>

#include "cuda_backend.hpp"
#include "cuda_plugin.hpp"
#include "diffevo/error.hpp"
#include "diffevo/optimizer.hpp"
#include "diffevo/rollout.hpp"
#include "host/util/message.hpp"

namespace diffevo {
namespace detail {
namespace {

struct loaded {
  const cuda_plugin* plugin = nullptr;
  std::string why;  ///< why there is no plugin
};

#if defined(DIFFEVO_CUDA_LINKED)
loaded load() { return loaded{diffevo_cuda_plugin_v1(), ""}; }
#elif defined(DIFFEVO_WITH_CUDA)
/// True when the CUDA driver is installed and reports at least one device. Asks the driver API
/// directly (cuInit, cuDeviceGetCount) so that a machine without a GPU pays one failed dlopen.
bool driver_reports_a_device(std::string& why) {
  void* driver = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!driver) {
    why = "no CUDA driver (libcuda.so.1 not found)";
    return false;
  }
  using init_fn = int (*)(unsigned);
  using count_fn = int (*)(int*);
  const auto init = reinterpret_cast<init_fn>(::dlsym(driver, "cuInit"));
  const auto count = reinterpret_cast<count_fn>(::dlsym(driver, "cuDeviceGetCount"));
  if (!init || !count) {
    why = "libcuda.so.1 lacks cuInit or cuDeviceGetCount";
    return false;
  }
  // The driver stays loaded either way: the CUDA runtime would load it again.
  int n = 0;
  if (const int e = init(0); e != 0) {
    why = msg("the CUDA driver's cuInit failed (CUresult ", e, e == 100 ? ": no CUDA-capable device" : "", ")");
    return false;
  }
  if (const int e = count(&n); e != 0 || n < 1) {
    why = e ? msg("the CUDA driver's cuDeviceGetCount failed (CUresult ", e, ")")
            : std::string("the CUDA driver reports no device");
    return false;
  }
  return true;
}

/// The folder of the shared library that holds this code (libdiffevo.so), with a trailing '/'.
std::string own_folder() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&driver_reports_a_device), &info) == 0 || !info.dli_fname) return "";
  const std::string path = info.dli_fname;
  const std::string::size_type slash = path.find_last_of('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

loaded load() {
  loaded r;
  if (!driver_reports_a_device(r.why)) return r;
  // DIFFEVO_CUDA_PLUGIN names the plugin; else it sits next to libdiffevo.so; else the loader's search path.
  const char* env = std::getenv("DIFFEVO_CUDA_PLUGIN");
  std::string path = env && *env ? env : own_folder() + "libdiffevo_cuda.so";
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* e = ::dlerror();  // the first attempt's reason (a missing libcublas, say) is the one to report
    const std::string first = e ? e : "unknown error";
    if (!(env && *env)) {
      handle = ::dlopen("libdiffevo_cuda.so", RTLD_NOW | RTLD_LOCAL);
      path = "libdiffevo_cuda.so (from the library search path)";  // what the messages below name
    }
    if (!handle) {
      r.why = msg("the CUDA plugin could not be loaded: ", first,
                  env && *env ? "" : " (nor libdiffevo_cuda.so from the library search path)");
      return r;
    }
  }
  using entry_fn = const cuda_plugin* (*)();
  const auto entry = reinterpret_cast<entry_fn>(::dlsym(handle, "diffevo_cuda_plugin_v1"));
  if (!entry) {
    r.why = msg("the CUDA plugin ", path, " has no entry point diffevo_cuda_plugin_v1");
    return r;
  }
  const cuda_plugin* p = entry();
  if (!p || std::string(p->build_id) != k_build_id) {
    r.why = msg("the CUDA plugin ", path, " comes from another build of diffevo (", p ? p->build_id : "none",
                ", this library ", k_build_id, "): install both libraries from one build");
    return r;  // not closed: its static objects may already live
  }
  r.plugin = p;
  return r;
}
#else
loaded load() { return loaded{nullptr, "this diffevo was built without CUDA (DIFFEVO_ENABLE_CUDA=OFF)"}; }
#endif

const loaded& once() {
  static const loaded l = [] {
    try {
      return load();
    } catch (...) {  // std::string allocation; nothing else throws
      return loaded{nullptr, "the CUDA plugin could not be loaded"};
    }
  }();
  return l;
}

}  // namespace

const cuda_plugin* cuda_plugin_with_device(std::string* why) noexcept {
  const loaded& l = once();
  const char* runtime = l.plugin ? l.plugin->no_device_reason() : nullptr;
  if (l.plugin && !runtime) return l.plugin;
  if (why) {
    try {
      *why = l.plugin ? msg("the CUDA runtime: ", runtime) : l.why;
    } catch (...) {
    }
  }
  return nullptr;
}

const cuda_plugin& require_cuda_plugin(const char* what) {
  std::string why;
  const cuda_plugin* p = cuda_plugin_with_device(&why);
  if (!p) throw device_unavailable(msg(what, " but no CUDA device is available (", why, ")"));
  return *p;
}

std::unique_ptr<backend> make_cuda_backend(const config& cfg) {
  return require_cuda_plugin("backend = cuda was requested").make_backend(cfg);
}
std::size_t cuda_weight_budget() { return require_cuda_plugin("cuda_weight_budget() was called").weight_budget(); }
void set_cuda_weight_budget(std::size_t bytes) {
  require_cuda_plugin("set_cuda_weight_budget() was called").set_weight_budget(bytes);
}

std::unique_ptr<rollout_device> make_cuda_rollout(const rollout_params& rp, const rollout_environment& env) {
  return require_cuda_plugin("backend = cuda was requested").make_rollout(rp, env);
}

int launch_cartpole_on_device(const rollout_params& rp, const float* d_params, int n, float* d_returns,
                              std::uint64_t generation, const rollout_device_limits& limits, cuda_stream stream) {
  return require_cuda_plugin("cart-pole's device rollout was launched")
      .launch_cartpole(rp, d_params, n, d_returns, generation, limits, stream);
}

}  // namespace detail

bool cuda_device_available() noexcept { return detail::cuda_plugin_with_device() != nullptr; }

std::string cuda_unavailable_reason() {
  std::string why;
  return detail::cuda_plugin_with_device(&why) ? std::string() : why;
}

bool built_with_cuda() noexcept {
#if defined(DIFFEVO_WITH_CUDA)
  return true;
#else
  return false;
#endif
}

}  // namespace diffevo
