// diffevo-bench speed: timings of the library itself (issue 4's speed section).
//  - whole 2-D run: N = 512, T = 25, the paper's settings, fitness included (the functor path:
//    inside the library's kernel on cuda, host threads on cpu), median of repeats after a warm-up;
//  - update step alone: tell() with a fixed fitness vector, for N in {512, 4096, 16384} x
//    D in {2, 58, 17,410}, plain and latent d = 2, skipping cells whose N^2 D multiply-adds would take
//    too long on the cpu; on cuda, next to a bare cuBLAS SGEMM of the x0 product's shape
//    (N x N times N x D) measured in the same run.
// Compiled by nvcc (it uses diffevo/optimize.cuh); runs on either backend.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <random>

#include "common.hpp"
#include "diffevo/optimize.cuh"

namespace bench {
namespace {

/// Median seconds of a bare SGEMM C (D x N) = X^T (D x N) W^T (N x N): the x0 product's shape.
double bare_gemm_seconds(int n, int d, int repeats) {
  float *w = nullptr, *x = nullptr, *c = nullptr;
  cublasHandle_t h = nullptr;
  cudaEvent_t a = nullptr, b = nullptr;
  std::vector<double> t;
  try {
    cuda_ok(cudaMalloc(reinterpret_cast<void**>(&w), sizeof(float) * n * static_cast<std::size_t>(n)), "cudaMalloc W");
    cuda_ok(cudaMalloc(reinterpret_cast<void**>(&x), sizeof(float) * n * static_cast<std::size_t>(d)), "cudaMalloc X");
    cuda_ok(cudaMalloc(reinterpret_cast<void**>(&c), sizeof(float) * n * static_cast<std::size_t>(d)), "cudaMalloc C");
    cuda_ok(cudaMemset(w, 0, sizeof(float) * n * static_cast<std::size_t>(n)), "cudaMemset");
    cuda_ok(cudaMemset(x, 0, sizeof(float) * n * static_cast<std::size_t>(d)), "cudaMemset");
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cublasCreate failed");
    cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH);  // as the library: full float32, no TF32
    cuda_ok(cudaEventCreate(&a), "cudaEventCreate");
    cuda_ok(cudaEventCreate(&b), "cudaEventCreate");
    const float one = 1, zero = 0;
    for (int r = 0; r <= repeats; ++r) {
      cuda_ok(cudaEventRecord(a), "cudaEventRecord");
      if (cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, d, n, n, &one, x, d, w, n, &zero, c, d) != CUBLAS_STATUS_SUCCESS)
        throw std::runtime_error("cublasSgemm failed");
      cuda_ok(cudaEventRecord(b), "cudaEventRecord");
      cuda_ok(cudaEventSynchronize(b), "cudaEventSynchronize");
      float ms = 0;
      cuda_ok(cudaEventElapsedTime(&ms, a, b), "cudaEventElapsedTime");
      if (r > 0) t.push_back(ms / 1e3);  // r = 0 is the warm-up
    }
  } catch (...) {
    cudaFree(w);
    cudaFree(x);
    cudaFree(c);
    if (h) cublasDestroy(h);
    throw;
  }
  cudaFree(w);
  cudaFree(x);
  cudaFree(c);
  cublasDestroy(h);
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(t.begin(), t.end());
  return quantile(t, 0.5);
}

}  // namespace

int run_speed(const options& o) {
  const int repeats = o.runs > 0 ? o.runs : 5;
  const std::string path = o.json.empty() ? "diffevo-bench-speed.json" : o.json;
  diffevo::config probe_cfg;
  probe_cfg.backend = o.backend;
  const diffevo::optimizer probe(probe_cfg);
  const bool gpu = probe.backend() == diffevo::backend_kind::cuda;
  const std::string backend = diffevo::to_string(probe.backend());
  std::printf("diffevo-bench speed: backend %s%s; medians of %d repeats after one warm-up%s\n\n", backend.c_str(),
              device_note().c_str(), repeats,
              gpu ? "" : "; cpu figures (wall time, host threads)");
  json js;
  js.raw("{\n").key("mode").str("speed").raw(",\n").key("backend").str(backend).raw(",\n");

  // Whole 2-D runs.
  diffevo::config c2;
  c2.population = 512;
  c2.dimension = 2;
  c2.steps = 25;
  c2.eta = 0.1;
  c2.scale = {4.0f};
  c2.density = diffevo::density_kind::identity;
  c2.backend = o.backend;
  std::vector<double> whole;
  for (int r = 0; r <= repeats; ++r) {
    c2.seed = o.seed + static_cast<std::uint64_t>(r);
    const double t0 = now_seconds();
    const diffevo::optimize_result res =
        diffevo::optimize_functor(c2, diffevo::functions::paper_fitness{diffevo::functions::benchmark::himmelblau});
    const double dt = now_seconds() - t0;
    if (r > 0) whole.push_back(dt);
    if (!res.has_best) throw std::runtime_error("speed: the 2-D run found no finite fitness");
  }
  std::sort(whole.begin(), whole.end());
  const double whole_med = quantile(whole, 0.5);
  std::printf("whole 2-D run (N = 512, T = 25, 25 evaluations of Himmelblau included): %.3f ms\n\n", 1e3 * whole_med);
  js.key("whole_2d_run_seconds").num(whole_med).raw(",\n").key("update").raw("[\n");

  // Update step alone.
  std::printf("| N | D | variant | update (tell) | %s\n|---|---|---|---|%s\n",
              gpu ? "bare SGEMM N x N x D | ratio |" : "", gpu ? "---|---|" : "");
  const double cpu_budget = 2e10;  // multiply-adds of the x0 product: about 4-10 s per update on 2 cores
  bool first = true;
  for (int n : {512, 4096, 16384})
    for (int d : {2, 58, 17410})
      for (int latent : {0, 2}) {
        const double work = static_cast<double>(n) * n * d;
        const char* variant = latent ? "latent d = 2" : "plain";
        if (!gpu && work > cpu_budget) {
          std::printf("| %d | %d | %s | skipped on cpu (%.1e multiply-adds) |\n", n, d, variant, work);
          continue;
        }
        diffevo::config c;
        c.population = n;
        c.dimension = d;
        c.latent_dim = latent;
        c.steps = repeats + 2;
        c.backend = o.backend;
        c.seed = o.seed;
        std::vector<double> t;
        try {
          diffevo::optimizer opt(c);
          std::mt19937 rng(1);
          std::normal_distribution<float> nd(0.0f, 1.0f);
          std::vector<float> f(static_cast<std::size_t>(n));
          for (float& v : f) v = nd(rng);
          for (int r = 0; r <= repeats; ++r) {
            opt.ask();
            const double t0 = now_seconds();
            opt.tell(f);  // summary + update; returns after the device finished (the summary syncs first,
            if (gpu) cuda_ok(cudaStreamSynchronize(opt.stream()), "cudaStreamSynchronize");  // then this)
            if (r > 0) t.push_back(now_seconds() - t0);
          }
        } catch (const std::bad_alloc& e) {
          std::printf("| %d | %d | %s | out of memory: %s |\n", n, d, variant, e.what());
          continue;
        }
        std::sort(t.begin(), t.end());
        const double upd = quantile(t, 0.5);
        double gemm = 0;
        if (gpu) gemm = bare_gemm_seconds(n, d, repeats);
        if (gpu)
          std::printf("| %d | %d | %s | %.3f ms | %.3f ms | %.2f |\n", n, d, variant, 1e3 * upd, 1e3 * gemm, upd / gemm);
        else
          std::printf("| %d | %d | %s | %.3f ms |\n", n, d, variant, 1e3 * upd);
        std::fflush(stdout);
        js.raw(first ? "  {" : ",\n  {").key("n").num(n).raw(", ").key("d").num(d).raw(", ").key("latent").num(latent);
        js.raw(", ").key("update_seconds").num(upd);
        if (gpu) js.raw(", ").key("bare_gemm_seconds").num(gemm);
        js.raw("}");
        first = false;
      }
  js.raw("\n]}\n");
  js.save(path);
  std::printf("\nJSON: %s\n", path.c_str());
  return 0;
}

}  // namespace bench
