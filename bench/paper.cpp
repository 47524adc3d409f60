// diffevo-bench paper: the paper's 2-D benchmark table (docs/algorithm.md §6): five functions, Diffusion
// Evolution (plain and latent) and the baselines CMA-ES, OpenES and PEPG with the paper's settings,
// cells "entropy (fitness)" as mean ± std over runs. diffevo-bench schedules: the schedule study
// (Rastrigin, cosine / linear / ddpm at 10, 25, 50, 100 steps). Both write every run's numbers and
// the first run's final populations (for plots/plot_populations.py) as JSON.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common.hpp"
#include "diffevo/diffevo.hpp"

namespace bench {
namespace {

using diffevo::functions::benchmark;

const std::pair<benchmark, const char*> k_functions[] = {{benchmark::rosenbrock, "rosenbrock"},
                                                         {benchmark::beale, "beale"},
                                                         {benchmark::himmelblau, "himmelblau"},
                                                         {benchmark::ackley, "ackley"},
                                                         {benchmark::rastrigin, "rastrigin"}};

struct metrics {
  double fitness, entropy;
};

// docs/algorithm.md §6: fitness = mean of the 64 largest g of `ranking` (x0 for Diffusion Evolution, the final
// population itself for the baselines); entropy of the matching 64 final individuals binned at
// round(10 p), in bits.
metrics paper_metrics(benchmark b, const std::vector<float>& ranking, const std::vector<float>& pop, int n) {
  std::vector<std::pair<double, int>> g(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) g[i] = {diffevo::functions::paper_density(b, ranking[2 * i], ranking[2 * i + 1]), i};
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

void density(benchmark b, diffevo::population_view pop, float* g) {
  for (int i = 0; i < pop.rows; ++i)
    g[i] = static_cast<float>(diffevo::functions::paper_density(b, pop.row(i)[0], pop.row(i)[1]));
}

struct run_output {
  metrics m;
  std::vector<float> population;
};

/// Diffusion Evolution with the paper's settings (N = 512, eta = 0.1, scale 4, identity density).
run_output run_de(benchmark b, int latent, diffevo::schedule_kind sched, int steps, std::uint64_t seed,
                  diffevo::backend_kind backend, diffevo::cpu_math_kind math) {
  diffevo::config cfg;
  cfg.population = 512;
  cfg.dimension = 2;
  cfg.steps = steps;
  cfg.schedule = sched;
  cfg.eta = 0.1;
  cfg.scale = {4.0f};
  cfg.density = diffevo::density_kind::identity;
  cfg.latent_dim = latent;
  cfg.backend = backend;
  cfg.cpu_math = math;
  cfg.seed = seed;
  diffevo::optimizer opt(cfg);
  std::vector<float> g(512);
  while (!opt.done()) {
    density(b, opt.ask(), g.data());
    opt.tell(g);
  }
  const diffevo::population_view fin = opt.ask();
  std::vector<float> pop(fin.data, fin.data + fin.size());
  return {paper_metrics(b, opt.x0(), pop, fin.rows), pop};
}

/// A baseline driven for `evaluated` populations (the last one is the final population).
run_output run_baseline(benchmark b, diffevo::strategy& s) {
  const diffevo::optimize_result r = diffevo::run(s, [b](diffevo::population_view p, float* f) { density(b, p, f); });
  return {paper_metrics(b, r.population, r.population, s.population_size()), r.population};
}

// The baselines with the paper's benchmark settings (docs/algorithm.md §6; the authors' scripts in
// experiments/benchmarks/methods): N = 512, mean 0, sigma 4, and 25 / 1000 / 25 evaluated
// populations, i.e. 24 / 999 / 24 tells plus the final population.
run_output run_cma(benchmark b, std::uint64_t seed) {
  diffevo::cma_es_config c;
  c.population = 512;
  c.dimension = 2;
  c.generations = 24;
  c.sigma0 = 4.0;
  c.seed = seed;
  diffevo::cma_es es(c);
  return run_baseline(b, es);
}
run_output run_openes(benchmark b, std::uint64_t seed) {
  diffevo::open_es_config c;  // their script: raw fitness, momentum 0.9, lr 1000 and sigma 4 decaying
  c.population = 512;
  c.dimension = 2;
  c.generations = 999;
  c.shaping = diffevo::fitness_shaping::raw;
  c.optimizer = diffevo::es_optimizer::momentum;
  c.momentum = 0.9;
  c.learning_rate = 1000;
  c.learning_rate_decay = std::pow(1e-5, 1.0 / 1000);
  c.learning_rate_limit = 0;
  c.sigma_init = 4.0;
  c.sigma_decay = std::pow(0.01, 1.0 / 1000);
  c.sigma_limit = 0;
  c.weight_decay = 0;
  c.seed = seed;
  diffevo::open_es es(c);
  return run_baseline(b, es);
}
run_output run_pepg(benchmark b, std::uint64_t seed) {
  diffevo::pepg_config c;  // estool defaults except: sigma 4 decaying to 1 % over the run, elite 0.1
  c.population = 512;
  c.dimension = 2;
  c.generations = 24;
  c.sigma_init = 4.0;
  c.sigma_decay = std::pow(0.01, 1.0 / 25);
  c.elite_ratio = 0.1;
  c.seed = seed;
  diffevo::pepg es(c);
  return run_baseline(b, es);
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

void json_population(json& js, const std::vector<float>& pop) {
  js.raw("[");
  for (std::size_t i = 0; i < pop.size(); i += 2) {
    js.raw(i ? ", [" : "[").num(pop[i]).raw(", ").num(pop[i + 1]).raw("]");
  }
  js.raw("]");
}

std::string cell(const std::vector<double>& ent, const std::vector<double>& fit) {
  const mean_sd e = mean_std(ent), f = mean_std(fit);
  char b[96];
  std::snprintf(b, sizeof b, "%.2f ± %.2f (%.3f ± %.3f)", e.mean, e.sd, f.mean, f.sd);
  return b;
}

}  // namespace

/// What a table cell means, printed under every table (definitions: docs/algorithm.md §6).
void print_cell_legend() {
  std::printf(
      "cells: entropy (fitness), each mean ± std over runs (docs/algorithm.md §6).\n"
      "  entropy: diversity of the 64 best final individuals, in bits: each put in the 2-D cell\n"
      "           (round(10 p1), round(10 p2)), Shannon entropy of the cell counts; 0 = all in one cell,\n"
      "           6 = all 64 in different cells.\n"
      "  fitness: mean of the 64 largest densities g of the last generation, in [0, 1]; 1 = at the optimum.\n");
}

int run_paper(const options& o) {
  const int runs = o.runs > 0 ? o.runs : 100;
  const int latent = o.latent > 0 ? o.latent : 2;
  const std::vector<std::string> methods =
      o.methods.empty() ? std::vector<std::string>{"de", "latent", "cma-es", "open-es", "pepg"} : split(o.methods);
  for (const auto& m : methods)
    if (m != "de" && m != "latent" && m != "cma-es" && m != "open-es" && m != "pepg")
      throw usage_error("--methods: unknown method '" + m + "' (de, latent, cma-es, open-es, pepg)");
  const std::string& path = o.json;
  diffevo::config probe_cfg;
  probe_cfg.backend = o.backend;
  const diffevo::optimizer probe(probe_cfg);
  const std::string backend = diffevo::to_string(probe.backend());
  std::printf("diffevo-bench paper: Diffusion Evolution on backend %s%s (baselines on the host); N = 512; DE: T = 25, "
              "cosine, eta = 0.1, scale 4, latent d = %d; CMA-ES: sigma0 4, 25 populations; OpenES: 1000; PEPG: 25, "
              "elite 0.1; %d runs per cell, seeds %llu..%llu\n\n",
              backend.c_str(), device_note().c_str(), latent, runs, o.seed, o.seed + runs - 1);

  json js;
  js.raw("{\n").key("mode").str("paper").raw(",\n").key("backend").str(backend).raw(",\n").key("runs").num(runs);
  js.raw(",\n").key("first_seed").num(static_cast<double>(o.seed)).raw(",\n").key("cells").raw("[\n");
  std::map<std::string, std::map<std::string, std::string>> table;
  std::map<std::string, double> seconds;
  bool first_cell = true;
  for (const auto& [fn, fname] : k_functions) {
    for (const auto& method : methods) {
      std::vector<double> fit, ent;
      std::vector<float> first_pop;
      const double t0 = now_seconds();
      for (int r = 0; r < runs; ++r) {
        const std::uint64_t seed = o.seed + static_cast<std::uint64_t>(r);
        run_output out;
        if (method == "de") out = run_de(fn, 0, diffevo::schedule_kind::cosine, 25, seed, o.backend, o.cpu_math);
        else if (method == "latent") out = run_de(fn, latent, diffevo::schedule_kind::cosine, 25, seed, o.backend, o.cpu_math);
        else if (method == "cma-es") out = run_cma(fn, seed);
        else if (method == "open-es") out = run_openes(fn, seed);
        else out = run_pepg(fn, seed);
        fit.push_back(out.m.fitness);
        ent.push_back(out.m.entropy);
        if (r == 0) first_pop = std::move(out.population);
      }
      seconds[method] += now_seconds() - t0;
      table[fname][method] = cell(ent, fit);
      if (!o.quiet) std::fprintf(stderr, "  %s / %s: %s\n", fname, method.c_str(), table[fname][method].c_str());
      js.raw(first_cell ? "  {" : ",\n  {").key("function").str(fname).raw(", ").key("method").str(method);
      js.raw(", ").key("fitness").raw("[");
      for (std::size_t k = 0; k < fit.size(); ++k) js.raw(k ? ", " : "").num(fit[k]);
      js.raw("], ").key("entropy").raw("[");
      for (std::size_t k = 0; k < ent.size(); ++k) js.raw(k ? ", " : "").num(ent[k]);
      js.raw("], ").key("first_run_population");
      json_population(js, first_pop);
      js.raw("}");
      first_cell = false;
    }
  }
  // The density landscapes on a 161 x 161 grid over [-4, 4]^2 (row = y, column = x), for the plots.
  js.raw("\n],\n").key("landscape_grid").num(161).raw(",\n").key("landscapes").raw("{\n");
  for (std::size_t f = 0; f < 5; ++f) {
    js.raw(f ? ",\n  " : "  ").str(k_functions[f].second).raw(": [");
    for (int yi = 0; yi <= 160; ++yi)
      for (int xi = 0; xi <= 160; ++xi)
        js.raw(yi || xi ? ", " : "")
            .num(diffevo::functions::paper_density(k_functions[f].first, -4.0 + xi * 0.05, -4.0 + yi * 0.05));
    js.raw("]");
  }
  js.raw("\n}}\n");
  std::printf("| function |");
  for (const auto& m : methods) std::printf(" %s |", m.c_str());
  std::printf("\n|---|");
  for (std::size_t k = 0; k < methods.size(); ++k) std::printf("---|");
  std::printf("\n");
  for (const auto& [fn, fname] : k_functions) {
    std::printf("| %s |", fname);
    for (const auto& m : methods) std::printf(" %s |", table[fname][m].c_str());
    std::printf("\n");
  }
  std::printf("\n");
  print_cell_legend();
  std::printf("time per run:");
  for (const auto& m : methods) std::printf(" %s %.1f ms;", m.c_str(), 1e3 * seconds[m] / (5.0 * runs));
  std::printf("\nJSON: %s\n", path.c_str());
  js.save(path);
  return 0;
}

int run_schedules(const options& o) {
  const int runs = o.runs > 0 ? o.runs : 100;
  const std::string& path = o.json;
  diffevo::config probe_cfg;
  probe_cfg.backend = o.backend;
  const diffevo::optimizer probe(probe_cfg);
  std::printf("diffevo-bench schedules: Rastrigin, Diffusion Evolution (plain, N = 512, eta = 0.1, scale 4) on backend "
              "%s%s; %d runs per cell, seeds %llu..%llu; cells entropy (fitness)\n\n",
              diffevo::to_string(probe.backend()), device_note().c_str(), runs, o.seed, o.seed + runs - 1);
  const std::pair<diffevo::schedule_kind, const char*> scheds[] = {
      {diffevo::schedule_kind::cosine, "cosine"}, {diffevo::schedule_kind::linear, "linear"},
      {diffevo::schedule_kind::ddpm, "ddpm"}};
  const int steps[] = {10, 25, 50, 100};
  json js;
  js.raw("{\n").key("mode").str("schedules").raw(",\n").key("function").str("rastrigin").raw(",\n").key("cells").raw("[\n");
  std::printf("| schedule | T = 10 | T = 25 | T = 50 | T = 100 |\n|---|---|---|---|---|\n");
  bool first = true;
  for (const auto& [sk, sname] : scheds) {
    std::printf("| %s |", sname);
    for (int t : steps) {
      std::vector<double> fit, ent;
      for (int r = 0; r < runs; ++r) {
        const run_output out = run_de(benchmark::rastrigin, 0, sk, t, o.seed + static_cast<std::uint64_t>(r), o.backend,
                                              o.cpu_math);
        fit.push_back(out.m.fitness);
        ent.push_back(out.m.entropy);
      }
      std::printf(" %s |", cell(ent, fit).c_str());
      std::fflush(stdout);
      js.raw(first ? "  {" : ",\n  {").key("schedule").str(sname).raw(", ").key("steps").num(t).raw(", ");
      js.key("fitness").raw("[");
      for (std::size_t k = 0; k < fit.size(); ++k) js.raw(k ? ", " : "").num(fit[k]);
      js.raw("], ").key("entropy").raw("[");
      for (std::size_t k = 0; k < ent.size(); ++k) js.raw(k ? ", " : "").num(ent[k]);
      js.raw("]}");
      first = false;
    }
    std::printf("\n");
  }
  std::printf("\n");
  print_cell_legend();
  js.raw("\n]}\n");
  js.save(path);
  std::printf("\nJSON: %s\n", path.c_str());
  return 0;
}

}  // namespace bench
