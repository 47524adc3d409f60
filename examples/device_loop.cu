// Your own device loop: a fitness kernel you write, launched on the optimizer's stream; the
// population never leaves the GPU and, with tell_device_async(), the host does not wait for the
// device between generations (D <= 8: checks and best-so-far run on the device). Needs a GPU: without
// one it says so and exits with 77, which ctest reports as skipped.
#include <cmath>
#include <cstdio>

#include <cuda_runtime.h>

#include "diffevo/diffevo.hpp"

// Rastrigin loss, minimum 0 at the origin, one thread per individual.
__global__ void rastrigin_loss(const float* x, int n, int dim, float* loss) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float s = 10.0f * dim;
  for (int k = 0; k < dim; ++k) {
    const float v = x[static_cast<size_t>(i) * dim + k];
    s += v * v - 10.0f * cospif(2.0f * v);
  }
  loss[i] = s;
}

int main() {
  if (!diffevo::cuda_device_available()) {
    std::printf("no CUDA device: this example needs the cuda backend\n");
    return 77;
  }
  diffevo::config cfg;
  cfg.population = 1024;
  cfg.dimension = 2;
  cfg.steps = 50;
  cfg.goal = diffevo::objective::minimize;  // energy density of -loss (the default mapping)
  cfg.scale = {3.0f};
  cfg.seed = 7;
  cfg.backend = diffevo::backend_kind::cuda;
  diffevo::optimizer opt(cfg);
  while (!opt.done()) {
    const diffevo::population_view d = opt.ask_device();  // device pointer, ready on opt.stream()
    rastrigin_loss<<<(d.rows + 255) / 256, 256, 0, opt.stream()>>>(d.data, d.rows, d.cols, opt.device_fitness());
    if (cudaPeekAtLastError() != cudaSuccess) {
      std::printf("launch failed: %s\n", cudaGetErrorString(cudaGetLastError()));
      return 1;
    }
    opt.tell_device_async(opt.device_fitness(), static_cast<std::size_t>(d.rows));  // enqueues, returns
  }
  opt.synchronize();  // one wait for the whole run; throws a bad fitness value of any generation
  const std::vector<float> best = opt.best();
  std::printf("backend cuda: best loss %.5f at (%.4f, %.4f) after %d generations\n", opt.best_fitness(), best[0],
              best[1], opt.generation());
  return opt.best_fitness() < 1.0f ? 0 : 1;
}
