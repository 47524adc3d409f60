// A host C++ training loop with ask/tell: minimise a 10-D Rastrigin function (minimum 0 at the origin), print pycma-style
// progress, checkpoint every 10 generations and resume from the checkpoint if one exists.
//   ./example_host_loop [checkpoint-path]
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "diffevo/diffevo.hpp"

int main(int argc, char** argv) {
  const std::string checkpoint = argc > 1 ? argv[1] : "host_loop.ckpt";
  diffevo::config cfg;
  cfg.population = 256;
  cfg.dimension = 10;
  cfg.steps = 100;
  cfg.goal = diffevo::objective::minimize;
  cfg.density = diffevo::density_kind::energy;
  cfg.temperature = 1;  // energy: weight ~ exp(-loss / temperature)
  cfg.scale = {3.0f};     // search p = 3 x, x ~ N(0, 1) at the start
  cfg.seed = 7;

  const bool resume = std::ifstream(checkpoint).good();
  diffevo::optimizer opt = resume ? diffevo::optimizer::load(checkpoint, &cfg) : diffevo::optimizer(cfg);
  std::printf("%s on backend %s at generation %d\n", resume ? "resumed" : "started", diffevo::to_string(opt.backend()),
              opt.generation());
  diffevo::progress_printer print(stdout);
  float first_best = NAN;  // the best loss of the first generation this process saw
  opt.on_generation([&](const diffevo::generation_record& r) {
    if (std::isnan(first_best)) first_best = r.best;
    print(r);
  });

  std::vector<float> loss(static_cast<std::size_t>(cfg.population));
  while (!opt.done()) {
    const diffevo::population_view pop = opt.ask();
    for (int i = 0; i < pop.rows; ++i) {
      const float* p = pop.row(i);
      double f = 10.0 * pop.cols;
      for (int k = 0; k < pop.cols; ++k) f += p[k] * p[k] - 10.0 * std::cos(2 * M_PI * p[k]);
      loss[i] = static_cast<float>(f);
    }
    opt.tell(loss);
    if (opt.generation() % 10 == 0) opt.save(checkpoint);
  }
  std::printf("best loss %.4f (first generation's best: %.4f)\n", opt.best_fitness(), first_best);
  std::remove(checkpoint.c_str());
  return opt.best_fitness() < first_best / 4 ? 0 : 1;
}
