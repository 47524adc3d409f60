// Continuous actions: Gymnasium's Pendulum-v1 (pendulum.hpp declares `action_dim`, so the MLP's
// output is the torque itself), evolved with latent Diffusion Evolution to swing the pendulum up and
// hold it upright. On 100 fresh starts each, 512 random controllers (N(0, 1) weights) return -1,431
// (median) and -967 (best); a good controller about -150; 0 is perfect.
//
// Measured on the cpu over seeds 1 to 5 (best / median return of the final controllers on 100 fresh
// starts each):
//  - this program: seeds 1, 2 and 4 reach -156 / -209, -149 / -201 and -157 / -210; seeds 3 and 5
//    stop at -616 / -782 and -560 / -756, a local optimum. Running a few seeds and keeping the best
//    controller is the cheap remedy. Seed 1 is the one below;
//  - scale 1 instead of 4: -770 to -826 best on every seed (the torque needs larger weights than the
//    N(0, 1) draws give);
//  - plain Diffusion Evolution instead of latent d = 4: -746 to -884 best on every seed;
//  - 8 random starts per controller instead of the 16 shared ones (fixed_start): also three of five
//    (-131 to -205 best), with medians spread wider (-164 to -445).
// The temperature, 10, is in return units: returns span about a thousand.
#include <algorithm>
#include <cstdio>
#include <vector>

#include "diffevo/diffevo.hpp"
#include "diffevo/rollout.cuh"
#include "pendulum.hpp"

int main() {
  diffevo::rollout_config rc;
  rc.layers = {3, 16, 1};  // cos, sin, speed in; 16 hidden units; the torque out: 81 parameters
  rc.max_steps = 200;      // Gymnasium's truncation for Pendulum-v1
  rc.episodes = 16;
  rc.fixed_start = true;
  rc.seed = 1;
  diffevo::rollout_evaluator ev(rc, diffevo::make_environment<pendulum>("pendulum"));

  diffevo::config cfg;
  cfg.population = 512;
  cfg.dimension = ev.parameter_count();
  cfg.steps = 50;
  cfg.temperature = 10;
  cfg.scale = {4.0f};
  cfg.latent_dim = 4;
  cfg.seed = 1;
  diffevo::optimizer opt(cfg);
  // About 4 s on 2 cores: a progress line every 10 generations (this generation's best and the run's).
  opt.on_generation([print = diffevo::progress_printer()](const diffevo::generation_record& g) mutable {
    if (g.generation % 10 == 0 || g.generation == g.generations) print(g);
  });
  const diffevo::optimize_result r = diffevo::run(opt, [&](diffevo::population_view pop, float* returns) {
    ev.evaluate(pop, returns, static_cast<std::uint64_t>(opt.generation()));
  });

  // The final controllers on 100 fresh random starts each (the starts of generation key 1000).
  diffevo::rollout_config fresh = rc;
  fresh.episodes = 100;
  fresh.fixed_start = false;
  diffevo::rollout_evaluator judge(fresh, diffevo::make_environment<pendulum>("pendulum"));
  const diffevo::population_view final_pop = opt.ask();
  std::vector<float> scores(static_cast<std::size_t>(final_pop.rows));
  judge.evaluate(final_pop, scores.data(), 1000);
  std::sort(scores.begin(), scores.end());
  std::printf("backend %s: best return on the 16 training starts %.1f; the final controllers on 100 fresh starts: "
              "best %.1f, median %.1f\n",
              diffevo::to_string(r.backend), r.best_fitness, scores.back(), scores[scores.size() / 2]);
  // Success: a controller well beyond the best of 512 random ones (-955); every seed measured passes.
  return scores.back() > -800.0f ? 0 : 1;
}
