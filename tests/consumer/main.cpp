// Minimizes a sphere with ask/tell; exits non-zero unless the run got close to the optimum.
#include <diffevo/diffevo.hpp>

#include <cstdio>
#include <vector>

int main() {
  diffevo::config cfg;
  cfg.population = 64;
  cfg.dimension = 4;
  cfg.steps = 20;
  cfg.goal = diffevo::objective::minimize;
  cfg.backend = diffevo::backend_kind::cpu;
  diffevo::optimizer opt(cfg);
  std::vector<float> f(64);
  while (!opt.done()) {
    const diffevo::population_view pop = opt.ask();
    for (int i = 0; i < pop.rows; ++i) {
      double s = 0;
      for (int d = 0; d < pop.cols; ++d) s += double(pop.row(i)[d] - 0.5) * (pop.row(i)[d] - 0.5);
      f[i] = float(s);
    }
    opt.tell(f);
  }
  std::printf("consumer: backend %s, best %g\n", diffevo::to_string(opt.backend()), opt.best_fitness());
  return opt.best_fitness() < 0.5f ? 0 : 1;
}
