// Evolve a 4-8-2 cart-pole controller with latent Diffusion Evolution (the paper's setting) and save
// the best parameters as text (one float per line, docs/algorithm.md §7 layout).
//   ./example_cartpole [output-path]
#include <cstdio>
#include <fstream>
#include <string>

#include "diffevo/diffevo.hpp"

int main(int argc, char** argv) {
  const std::string out = argc > 1 ? argv[1] : "cartpole_best.txt";
  diffevo::rollout_config rc;
  rc.layers = {4, 8, 2};
  rc.seed = 3;
  diffevo::cartpole_evaluator env(rc);

  diffevo::config cfg;
  cfg.population = 256;
  cfg.dimension = env.parameter_count();
  cfg.steps = 10;
  cfg.latent_dim = 2;
  cfg.seed = 3;  // energy density on the return, temperature 1, eta = 1: the defaults
  diffevo::optimizer opt(cfg);
  const diffevo::optimize_result r = diffevo::run(opt, [&](diffevo::population_view pop, float* returns) {
    env.evaluate(pop, returns, static_cast<std::uint64_t>(opt.generation()));
  });
  int full = 0;
  for (float v : r.fitness) full += v >= 500.0f;
  std::printf("backend %s: best return %.0f, %d of %d final controllers reach 500\n", diffevo::to_string(r.backend),
              r.best_fitness, full, cfg.population);
  std::ofstream f(out);
  for (float w : r.best) f << w << "\n";
  std::printf("best parameters (%zu floats) written to %s\n", r.best.size(), out.c_str());
  return f && r.best_fitness >= 500.0f ? 0 : 1;
}
