// The bench's CUDA work (bench/gpu.hpp) in a build without the cuda backend: the modes never reach it
// (the backend is always cpu), and a call would be a bug, so each throws naming itself.
#include <stdexcept>
#include <string>

#include "gpu.hpp"

namespace bench::gpu {
namespace {
[[noreturn]] void unavailable(const char* what) {
  throw std::logic_error(std::string("bench: ") + what + " needs the cuda backend, and this build has none");
}
}  // namespace

double time_on_stream(diffevo::cuda_stream, const std::function<void()>&) { unavailable("time_on_stream"); }
double bare_gemm_seconds(int, int, int) { unavailable("bare_gemm_seconds"); }
double copy_bandwidth(std::size_t, int) { unavailable("copy_bandwidth"); }
diffevo::optimize_result run_paper_functor(diffevo::optimizer&, diffevo::functions::benchmark) {
  unavailable("run_paper_functor");
}
int device_count() noexcept { return 0; }
std::string use_device(int) { unavailable("use_device"); }
void synchronize(diffevo::cuda_stream) { unavailable("synchronize"); }
struct device_memory {};
device_floats::device_floats(std::size_t) { unavailable("device_floats"); }
device_floats::~device_floats() = default;
float* device_floats::data() const noexcept { return nullptr; }
struct rollout_buffers::impl {};
rollout_buffers::rollout_buffers(const std::vector<float>&, int) { unavailable("rollout_buffers"); }
rollout_buffers::~rollout_buffers() = default;
diffevo::population_view rollout_buffers::view(int) const { unavailable("rollout_buffers"); }
float* rollout_buffers::returns() const { unavailable("rollout_buffers"); }
diffevo::cuda_stream rollout_buffers::stream() const { unavailable("rollout_buffers"); }
void rollout_buffers::copy_returns(std::vector<float>&) const { unavailable("rollout_buffers"); }

}  // namespace bench::gpu
