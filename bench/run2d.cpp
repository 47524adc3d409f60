// diffevo-run2d: one whole 2-D run as its own process, for whole-process timings against the peers
// (bench/peers/compare_process.py): N = 512, T = 25, the paper's settings (cosine, eta = 0.1, scale 4,
// identity density of Himmelblau, docs/algorithm.md §6), fitness included, on the automatic backend.
// Prints the backend and the best fitness. Plain C++ against the core library: on a machine without a
// GPU no CUDA library is loaded.
#include <cstdio>
#include <cstdlib>

#include "diffevo/diffevo.hpp"

int main(int argc, char** argv) {
  diffevo::config cfg;
  cfg.population = 512;
  cfg.dimension = 2;
  cfg.steps = 25;
  cfg.eta = 0.1;
  cfg.scale = {4.0f};
  cfg.density = diffevo::density_kind::identity;
  cfg.seed = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 0;
  const diffevo::functions::paper_fitness f{diffevo::functions::benchmark::himmelblau};
  try {
    diffevo::optimizer opt(cfg);
    const diffevo::optimize_result r = diffevo::run(opt, [&](diffevo::population_view pop, float* out) {
      for (int i = 0; i < pop.rows; ++i) out[i] = f(pop.row(i), pop.cols);
    });
    std::printf("backend %s: best fitness %.6f\n", diffevo::to_string(r.backend), r.best_fitness);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
