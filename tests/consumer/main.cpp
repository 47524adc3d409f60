// A plain C++ project using the installed package: minimizes a sphere with ask/tell (with an
// observer and a checkpoint round trip), evaluates cart-pole controllers and runs a baseline through
// the same strategy interface. Exits non-zero unless each piece did its job.
#include <diffevo/diffevo.hpp>

#include <cstdio>
#include <string>
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
  if (!(opt.best_fitness() < 0.5f)) return 1;

  // Checkpoint round trip and an observer.
  opt.save("consumer.ckpt");
  diffevo::optimizer back = diffevo::optimizer::load("consumer.ckpt", &cfg);
  std::remove("consumer.ckpt");
  if (back.best_fitness() != opt.best_fitness() || !back.done()) return 2;
  int records = 0;
  diffevo::optimizer watched(cfg);
  watched.on_generation([&](const diffevo::generation_record&) { ++records; });
  const diffevo::optimize_result r = diffevo::run(watched, [](diffevo::population_view pop, float* out) {
    for (int i = 0; i < pop.rows; ++i) out[i] = pop.row(i)[0] * pop.row(i)[0];
  });
  if (records != watched.generations() || !r.has_best) return 3;

  // Cart-pole evaluation and a baseline behind the strategy interface.
  diffevo::rollout_config rc;
  rc.backend = diffevo::backend_kind::cpu;
  diffevo::cartpole_evaluator env(rc);
  std::vector<float> params(static_cast<std::size_t>(env.parameter_count()) * 8, 0.0f), returns(8);
  env.evaluate(diffevo::population_view{params.data(), 8, env.parameter_count()}, returns.data(), 0);
  if (!(returns[0] >= 1.0f && returns[0] <= 500.0f)) return 4;
  diffevo::cma_es_config cc;
  cc.population = 8;
  cc.dimension = 2;
  cc.generations = 30;
  cc.goal = diffevo::objective::minimize;
  diffevo::cma_es es(cc);
  diffevo::strategy& s = es;
  const diffevo::optimize_result cr = diffevo::run(s, [](diffevo::population_view pop, float* out) {
    for (int i = 0; i < pop.rows; ++i) out[i] = pop.row(i)[0] * pop.row(i)[0] + pop.row(i)[1] * pop.row(i)[1];
  });
  std::printf("consumer: cart-pole return %g, cma-es best %g\n", returns[0], cr.best_fitness);
  return cr.best_fitness < 1e-3f ? 0 : 5;
}
