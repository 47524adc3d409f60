// The bench's CUDA work (bench/gpu.hpp), with the cuda backend.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "common.hpp"
#include "diffevo/optimize.cuh"
#include "gpu.hpp"

namespace bench::gpu {
namespace {

/// Throws std::runtime_error naming `what` unless `e` is cudaSuccess.
void cuda_ok(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

}  // namespace

/// A device allocation released when it leaves scope (outside the unnamed namespace: rollout_buffers
/// holds two).
struct device_memory {
  void* p = nullptr;
  explicit device_memory(std::size_t bytes) { cuda_ok(cudaMalloc(&p, bytes), "cudaMalloc"); }
  ~device_memory() { cudaFree(p); }
  device_memory(const device_memory&) = delete;
  device_memory& operator=(const device_memory&) = delete;
  template <class T>
  T* as() const {
    return static_cast<T*>(p);
  }
};

namespace {

struct event {
  cudaEvent_t e = nullptr;
  event() { cuda_ok(cudaEventCreate(&e), "cudaEventCreate"); }
  ~event() { cudaEventDestroy(e); }
  event(const event&) = delete;
  event& operator=(const event&) = delete;
};

struct cublas {
  cublasHandle_t h = nullptr;
  cublas() {
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cublasCreate failed");
  }
  ~cublas() { cublasDestroy(h); }
  cublas(const cublas&) = delete;
  cublas& operator=(const cublas&) = delete;
};

}  // namespace

double time_on_stream(diffevo::cuda_stream stream, const std::function<void()>& work) {
  event a, b;
  cuda_ok(cudaEventRecord(a.e, stream), "cudaEventRecord");
  work();
  cuda_ok(cudaEventRecord(b.e, stream), "cudaEventRecord");
  cuda_ok(cudaEventSynchronize(b.e), "cudaEventSynchronize");
  float ms = 0;
  cuda_ok(cudaEventElapsedTime(&ms, a.e, b.e), "cudaEventElapsedTime");
  return ms / 1e3;
}

namespace {
/// p[i] = scale * (a hash of i mapped to [0, 1)): inputs like the library's (zeros draw less power,
/// and a device may then clock higher for the bare product than for the update it is compared with).
__global__ void fill_uniform(float* p, std::size_t count, float scale) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    std::uint32_t h = static_cast<std::uint32_t>(i) * 0x9E3779B1u ^ static_cast<std::uint32_t>(i >> 32);
    h ^= h >> 16, h *= 0x85EBCA6Bu, h ^= h >> 13, h *= 0xC2B2AE35u, h ^= h >> 16;
    p[i] = scale * static_cast<float>(h >> 8) * (1.0f / 16777216.0f);
  }
}
void fill(float* p, std::size_t count, float scale) {
  fill_uniform<<<1024, 256>>>(p, count, scale);
  cuda_ok(cudaGetLastError(), "fill_uniform launch");
  cuda_ok(cudaDeviceSynchronize(), "fill_uniform");
}
}  // namespace

double bare_gemm_seconds(int n, int d, int repeats) {
  const std::size_t nn = static_cast<std::size_t>(n) * n, nd = static_cast<std::size_t>(n) * d;
  device_memory w(sizeof(float) * nn), x(sizeof(float) * nd), c(sizeof(float) * nd);
  fill(w.as<float>(), nn, 2.0f / static_cast<float>(n));  // rows of weights that sum to about 1
  fill(x.as<float>(), nd, 1.0f);
  cublas h;
  cublasSetMathMode(h.h, CUBLAS_PEDANTIC_MATH);  // as the library: full float32, no TF32
  const float one = 1, zero = 0;
  std::vector<double> t;
  for (int r = 0; r <= repeats; ++r) {  // r = 0 is the warm-up
    const double secs = time_on_stream(nullptr, [&] {
      if (cublasSgemm(h.h, CUBLAS_OP_N, CUBLAS_OP_N, d, n, n, &one, x.as<float>(), d, w.as<float>(), n, &zero,
                      c.as<float>(), d) != CUBLAS_STATUS_SUCCESS)
        throw std::runtime_error("cublasSgemm failed");
    });
    if (r > 0) t.push_back(secs);
  }
  std::sort(t.begin(), t.end());
  return quantile(t, 0.5);
}

double copy_bandwidth(std::size_t bytes, int repeats) {
  device_memory a(bytes), b(bytes);
  cuda_ok(cudaMemset(a.p, 1, bytes), "cudaMemset");
  std::vector<double> t;
  for (int r = 0; r <= repeats; ++r) {
    const double secs = time_on_stream(nullptr, [&] {
      cuda_ok(cudaMemcpy(b.p, a.p, bytes, cudaMemcpyDeviceToDevice), "cudaMemcpy (bandwidth)");
    });
    if (r > 0) t.push_back(2.0 * static_cast<double>(bytes) / secs);
  }
  std::sort(t.begin(), t.end());
  return quantile(t, 0.5);
}

int device_count() noexcept {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

std::string use_device(int ordinal) {
  cuda_ok(cudaSetDevice(ordinal), ("cudaSetDevice(" + std::to_string(ordinal) + ")").c_str());
  cudaDeviceProp prop{};
  cuda_ok(cudaGetDeviceProperties(&prop, ordinal), "cudaGetDeviceProperties");
  return prop.name;
}

void synchronize(diffevo::cuda_stream stream) { cuda_ok(cudaStreamSynchronize(stream), "cudaStreamSynchronize"); }

device_floats::device_floats(std::size_t n) : mem_(std::make_unique<device_memory>(n * sizeof(float))) {}
device_floats::~device_floats() = default;
float* device_floats::data() const noexcept { return mem_->as<float>(); }

diffevo::optimize_result run_paper_functor(diffevo::optimizer& opt, diffevo::functions::benchmark fn) {
  return diffevo::run_functor(opt, diffevo::functions::paper_fitness{fn});
}

struct rollout_buffers::impl {
  int n;
  device_memory params, returns;
  cudaStream_t stream = nullptr;
  impl(const std::vector<float>& p, int rows)
      : n(rows), params(p.size() * sizeof(float)), returns(static_cast<std::size_t>(rows) * sizeof(float)) {
    cuda_ok(cudaMemcpy(params.p, p.data(), p.size() * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy");
    cuda_ok(cudaStreamCreate(&stream), "cudaStreamCreate");
  }
  ~impl() { cudaStreamDestroy(stream); }
};

rollout_buffers::rollout_buffers(const std::vector<float>& params, int n) : p_(std::make_unique<impl>(params, n)) {}
rollout_buffers::~rollout_buffers() = default;
diffevo::population_view rollout_buffers::view(int parameters) const {
  return {p_->params.as<float>(), p_->n, parameters};
}
float* rollout_buffers::returns() const { return p_->returns.as<float>(); }
diffevo::cuda_stream rollout_buffers::stream() const { return p_->stream; }
void rollout_buffers::copy_returns(std::vector<float>& out) const {
  cuda_ok(cudaMemcpy(out.data(), p_->returns.p, out.size() * sizeof(float), cudaMemcpyDeviceToHost), "cudaMemcpy");
}

}  // namespace bench::gpu
