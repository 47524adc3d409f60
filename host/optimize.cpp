#include "diffevo/optimize.hpp"

#include <cmath>

#include "backend.hpp"
#include "diffevo/error.hpp"

namespace diffevo {

optimize_result optimize(const config& cfg, const batch_fitness& fitness) {
  if (!fitness) throw invalid_argument("optimize: fitness callback is empty");
  optimizer opt(cfg);
  std::vector<float> f(static_cast<std::size_t>(cfg.population));
  while (!opt.done()) {
    fitness(opt.ask(), f.data());
    opt.tell(f);
  }
  optimize_result r;
  const population_view last = opt.ask();
  fitness(last, f.data());
  r.population.assign(last.data, last.data + last.size());
  r.fitness = f;
  r.generations = opt.generations();
  r.backend = opt.backend();
  r.nonfinite = opt.total_nonfinite();
  r.has_best = opt.has_best();
  if (r.has_best) {
    r.best = opt.best();
    r.best_fitness = opt.best_fitness();
  }
  // The final population is evaluated too; it joins the best-so-far comparison.
  for (int i = 0; i < last.rows; ++i) {
    if (!std::isfinite(f[i])) {
      ++r.nonfinite;
      continue;
    }
    if (!r.has_best || detail::improves(f[i], r.best_fitness, cfg.goal)) {
      r.best.assign(last.row(i), last.row(i) + last.cols);
      r.best_fitness = f[i];
      r.has_best = true;
    }
  }
  return r;
}

}  // namespace diffevo
