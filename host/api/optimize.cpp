// The one-call drivers: loop ask/evaluate/tell to the end, evaluate the final population, collect.
// Also the strategy interface's one default (on_generation).
#include "diffevo/optimize.hpp"

#include <cmath>

#include "host/api/collect.hpp"
#include "host/backend/backend.hpp"
#include "diffevo/error.hpp"
#include "host/util/message.hpp"

namespace diffevo {

void strategy::on_generation(generation_callback cb) {
  if (cb) throw logic_error(detail::msg(name(), ": on_generation() is not supported by this strategy"));
}

namespace detail {

optimize_result collect_result(const strategy& opt, const population_view& last, const std::vector<float>& f) {
  optimize_result r;
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
    const bool winning_inf = std::isinf(f[i]) && ((f[i] > 0) == (opt.goal() == objective::maximize));
    if (winning_inf)  // as tell() would reject it
      throw invalid_argument(detail::msg("final population: fitness[", i, "] = ", f[i],
                                         " is infinite in the winning direction (objective ", to_string(opt.goal()), ")"));
    if (!std::isfinite(f[i])) {
      ++r.nonfinite;
      continue;
    }
    if (!r.has_best || detail::improves(f[i], r.best_fitness, opt.goal())) {
      r.best.assign(last.row(i), last.row(i) + last.cols);
      r.best_fitness = f[i];
      r.has_best = true;
    }
  }
  return r;
}

}  // namespace detail

optimize_result optimize(const config& cfg, const batch_fitness& fitness) {
  if (!fitness) throw invalid_argument("optimize: fitness callback is empty");
  optimizer opt(cfg);
  return run(opt, fitness);
}

optimize_result run(strategy& opt, const batch_fitness& fitness) {
  if (!fitness) throw invalid_argument("run: fitness callback is empty");
  if (opt.generations() < 0)  // open_ended: its ask() changes size, and its last population is told inside
    throw invalid_argument(detail::msg("run: ", opt.name(), " has no fixed number of generations (generations() = ",
                                       opt.generations(), "); call run(open_ended&, fitness) from "
                                       "diffevo/open_ended.hpp, which returns an open_ended_result"));
  std::vector<float> f;
  while (!opt.done()) {
    const population_view pop = opt.ask();
    f.assign(static_cast<std::size_t>(pop.rows), 0.0f);  // as asked: the callback writes pop.rows values
    fitness(pop, f.data());
    opt.tell(f);
  }
  const population_view last = opt.ask();
  f.assign(static_cast<std::size_t>(last.rows), 0.0f);
  fitness(last, f.data());
  return detail::collect_result(opt, last, f);
}

optimize_result run_device(optimizer& opt, const device_batch_fitness& fitness) {
  if (!fitness) throw invalid_argument("run_device: fitness callback is empty");
  if (opt.backend() != backend_kind::cuda)
    throw logic_error(detail::msg("run_device() needs backend = cuda; this optimizer runs on ", to_string(opt.backend()),
                                  " (use run() with a host callback)"));
  float* d_f = opt.device_fitness();
  const std::size_t n = static_cast<std::size_t>(opt.cfg().population);
  // Asynchronous tells: where the backend can, no host round trip per generation, one at the end.
  try {
    while (!opt.done()) {
      fitness(opt.ask_device(), d_f, opt.stream());
      opt.tell_device_async(d_f, n);
    }
  } catch (...) {
    opt.synchronize();  // a fitness error of an earlier generation is reported first
    throw;
  }
  opt.synchronize();
  fitness(opt.ask_device(), d_f, opt.stream());
  std::vector<float> f(n);
  opt.download(d_f, f.data(), n);  // waits: the copy cannot land in f after it is gone
  return detail::collect_result(opt, opt.ask(), f);
}

}  // namespace diffevo
