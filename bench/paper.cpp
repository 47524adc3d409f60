// diffevo-bench paper: Diffusion Evolution on the paper's five 2-D functions (SPEC §6) with the
// paper's settings, reporting the paper's metrics. Prints which backend ran.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "common.hpp"
#include "diffevo/diffevo.hpp"

namespace {

using diffevo::functions::benchmark;

struct metrics {
  double fitness, entropy;
};

// SPEC §6: fitness = mean of the 64 largest g(x0); entropy of the 64 best final individuals
// (ranked by g(x0)) binned at round(10 p) in both coordinates.
metrics paper_metrics(benchmark b, const std::vector<float>& x0, const std::vector<float>& pop, int n) {
  std::vector<std::pair<double, int>> g(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) g[i] = {diffevo::functions::paper_density(b, x0[2 * i], x0[2 * i + 1]), i};
  std::stable_sort(g.begin(), g.end(), [](const auto& a, const auto& c) { return a.first > c.first; });
  const int top = std::min(64, n);
  double fit = 0;
  std::map<std::pair<long, long>, int> bins;
  for (int r = 0; r < top; ++r) {
    fit += g[r].first;
    const int i = g[r].second;
    ++bins[{std::lround(10.0 * pop[2 * i]), std::lround(10.0 * pop[2 * i + 1])}];
  }
  double h = 0;
  for (const auto& kv : bins) {
    const double p = double(kv.second) / top;
    h -= p * std::log2(p);
  }
  return {fit / top, h};
}

}  // namespace

namespace bench {

int run_paper(const options& o) {
  const int runs = o.runs > 0 ? o.runs : 100;
  const int latent = o.latent;
  const unsigned long long seed0 = o.seed;
  const diffevo::backend_kind backend = o.backend;
  const std::pair<benchmark, const char*> fns[] = {{benchmark::rosenbrock, "rosenbrock"},
                                                   {benchmark::beale, "beale"},
                                                   {benchmark::himmelblau, "himmelblau"},
                                                   {benchmark::ackley, "ackley"},
                                                   {benchmark::rastrigin, "rastrigin"}};
  {
    diffevo::config cfg;
    cfg.population = 512;
    cfg.dimension = 2;
    cfg.steps = 25;
    cfg.eta = 0.1;
    cfg.scale = {4.0f};
    cfg.density = diffevo::density_kind::identity;
    cfg.latent_dim = latent;
    cfg.backend = backend;
    const diffevo::optimizer probe(cfg);
    std::printf("diffevo-bench: backend %s%s; N = 512, T = 25, cosine, eta = 0.1, scale 4, %s, %d runs per function, seeds %llu..%llu\n\n",
                diffevo::to_string(probe.backend()),
                bench::device_note().c_str(),
                latent ? "latent" : "plain", runs, seed0, seed0 + runs - 1);
    std::printf("| function | entropy (fitness) | best g seen | time / run |\n|---|---|---|---|\n");
    for (const auto& [fn, name] : fns) {
      std::vector<double> fit, ent;
      double best_g = 0;
      const auto t0 = std::chrono::steady_clock::now();
      for (int r = 0; r < runs; ++r) {
        cfg.seed = seed0 + static_cast<unsigned long long>(r);
        diffevo::optimizer opt(cfg);
        std::vector<float> g(512);
        while (!opt.done()) {
          const diffevo::population_view pop = opt.ask();
          for (int i = 0; i < pop.rows; ++i)
            g[i] = static_cast<float>(diffevo::functions::paper_density(fn, pop.row(i)[0], pop.row(i)[1]));
          opt.tell(g);
        }
        best_g = std::max(best_g, double(opt.best_fitness()));
        const diffevo::population_view fin = opt.ask();
        const metrics m = paper_metrics(fn, opt.x0(), std::vector<float>(fin.data, fin.data + fin.size()), fin.rows);
        fit.push_back(m.fitness);
        ent.push_back(m.entropy);
      }
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      auto mean_std = [](const std::vector<double>& v) {
        double m = 0, s = 0;
        for (double x : v) m += x;
        m /= v.size();
        for (double x : v) s += (x - m) * (x - m);
        return std::make_pair(m, std::sqrt(s / v.size()));
      };
      const auto [fm, fs] = mean_std(fit);
      const auto [em, es] = mean_std(ent);
      std::printf("| %s | %.2f ± %.2f (%.3f ± %.3f) | %.4f | %.1f ms |\n", name, em, es, fm, fs, best_g,
                  1e3 * secs / runs);
    }
  }
  return 0;
}

}  // namespace bench
