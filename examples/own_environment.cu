// Your own environment in the batched rollout: mountain car (mountain_car.hpp, a copy of
// diffevo/env/cartpole.hpp with other physics) compiled for the evaluator with make_environment, then
// evolved with Diffusion Evolution to reach the flag in as few steps as possible. Every controller of
// a generation is simulated in one call: one kernel on a GPU, the host threads otherwise.
#include <algorithm>
#include <cstdio>

#include "diffevo/diffevo.hpp"
#include "diffevo/rollout.cuh"
#include "mountain_car.hpp"

int main() {
  diffevo::rollout_config rc;
  rc.layers = {2, 16, 3};  // 2 observations, 16 hidden units, 3 actions: 99 parameters
  rc.max_steps = 200;      // Gymnasium's truncation for MountainCar-v0
  rc.episodes = 2;
  rc.seed = 7;
  diffevo::rollout_evaluator ev(rc, diffevo::make_environment<mountain_car>("mountain-car"));

  diffevo::config cfg;
  cfg.population = 256;
  cfg.dimension = ev.parameter_count();
  cfg.steps = 20;
  cfg.goal = diffevo::objective::minimize;  // episode length: fewer steps to the flag is better
  cfg.latent_dim = 2;
  cfg.seed = 7;
  diffevo::optimizer opt(cfg);
  const diffevo::optimize_result r = diffevo::run(opt, [&](diffevo::population_view pop, float* steps) {
    ev.evaluate(pop, steps, static_cast<std::uint64_t>(opt.generation()));
  });
  const int solved = static_cast<int>(std::count_if(r.fitness.begin(), r.fitness.end(), [](float s) { return s < 200; }));
  std::printf("backend %s: the best controller reaches the flag in %.1f steps (mean of %d episodes); %d of %d "
              "final controllers reach it within 200\n",
              diffevo::to_string(r.backend), r.best_fitness, rc.episodes, solved, cfg.population);
  return r.has_best && r.best_fitness < 200.0f ? 0 : 1;
}
