// A plain C++ project using the installed package: minimizes a sphere with ask/tell (with an
// observer and a checkpoint round trip), evaluates cart-pole controllers, runs a baseline through
// the same strategy interface (and observes, saves and resumes one), and an environment of its own
// on the cpu backend. Exits non-zero unless each piece did its job.
#include <diffevo/diffevo.hpp>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

// An environment of the consumer's own, compiled without nvcc (host only): a car on a line that
// must get past x = 1, pushed left or right. DIFFEVO_HD expands to nothing in plain C++.
struct line_car {
  static constexpr int obs_dim = 1, num_actions = 2;
  struct state {
    double x;
  };
  DIFFEVO_HD static state reset(std::uint64_t key) { return state{diffevo::detail::uniform_pm(key, 0, 0.5)}; }
  DIFFEVO_HD static bool step(state& s, int action) {
    s.x += action == 1 ? 0.05 : -0.05;
    return s.x > 1;
  }
  DIFFEVO_HD static void observe(const state& s, bool, float* obs) { obs[0] = static_cast<float>(s.x); }
};

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
  if (!(cr.best_fitness < 1e-3f)) return 5;
  // A baseline observed, saved halfway and resumed from its file.
  diffevo::cma_es half(cc);
  int baseline_records = 0;
  half.on_generation([&](const diffevo::generation_record&) { ++baseline_records; });
  std::vector<float> hf(8);
  for (int g = 0; g < 15; ++g) {
    const diffevo::population_view pop = half.ask();
    for (int i = 0; i < 8; ++i) hf[i] = pop.row(i)[0] * pop.row(i)[0] + pop.row(i)[1] * pop.row(i)[1];
    half.tell(hf);
  }
  half.save("consumer-cma.ckpt");
  diffevo::cma_es resumed = diffevo::cma_es::load("consumer-cma.ckpt", &cc);
  std::remove("consumer-cma.ckpt");
  if (baseline_records != 15 || resumed.generation() != 15 || resumed.mean() != half.mean()) return 7;

  // Its own environment on the cpu backend: a controller that always pushes right (bias of action 1
  // above action 0's) gets past x = 1 from x0 in ceil((1 - x0) / 0.05) or so steps, under 31.
  diffevo::rollout_config lc;
  lc.layers = {1, 2};
  lc.max_steps = 100;
  diffevo::rollout_evaluator line(lc, diffevo::make_host_environment<line_car>("line car"));
  const std::vector<float> right = {0.0f, 0.0f, 0.0f, 1.0f};  // W (2 x 1), then biases (0, 1)
  float steps = 0;
  line.evaluate(diffevo::population_view{right.data(), 1, 4}, &steps, 0);
  std::printf("consumer: cart-pole return %g, cma-es best %g, own environment %g steps on %s\n", returns[0],
              cr.best_fitness, steps, diffevo::to_string(line.backend()));
  return steps >= 10 && steps <= 31 ? 0 : 6;
}
