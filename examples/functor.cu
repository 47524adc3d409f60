// A user-written __host__ __device__ fitness functor evaluated inside the library's kernel (cuda
// backend) or on the host threads (cpu backend): the population never leaves the device on a GPU.
#include <cstdio>

#include "diffevo/optimize.cuh"

// Trivially copyable: plain data only. The optimum is at p_k = target for every k.
struct shifted_sphere {
  float target;
  __host__ __device__ float operator()(const float* p, int dim) const {
    float s = 0;
    for (int k = 0; k < dim; ++k) s += (p[k] - target) * (p[k] - target);
    return s;
  }
};

int main() {
  diffevo::config cfg;
  cfg.population = 512;
  cfg.dimension = 20;
  cfg.steps = 30;
  cfg.goal = diffevo::objective::minimize;
  cfg.latent_dim = 2;  // distances through a random 2-D projection (docs/algorithm.md §5)
  cfg.seed = 1;
  const diffevo::optimize_result r = diffevo::optimize_functor(cfg, shifted_sphere{0.5f});
  std::printf("backend %s: best loss %.4f after %d generations (start: about %d)\n", diffevo::to_string(r.backend),
              r.best_fitness, r.generations, 25);
  return r.has_best && r.best_fitness < 5.0f ? 0 : 1;
}
