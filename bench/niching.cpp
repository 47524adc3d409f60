// Mode niching: the CEC'2013 niching competition's protocol (docs/niching.md) with open-ended Diffusion
// Evolution: each problem's budget of evaluations (counted by the driver, never exceeded), `runs` runs
// with seeds seed + r, the solution set (the archive and the last population) counted at the five
// accuracies; peak ratio and success rate per problem and accuracy, the mean peak ratio, and the wall
// time per run, as a table next to the published algorithms' means and as JSON.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "common.hpp"
#include "diffevo/cec2013.hpp"
#include "diffevo/open_ended.hpp"

namespace bench {
namespace {

namespace cec = diffevo::cec2013;

/// The settings used for every problem (docs/niching.md, "The bench's settings").
diffevo::open_ended_config settings(int id, unsigned long long seed, diffevo::backend_kind backend,
                                    diffevo::cpu_math_kind math) {
  const cec::problem_info in = cec::info(id);
  std::vector<double> lo, hi;
  cec::box(id, lo, hi);
  diffevo::open_ended_config c;
  c.run.dimension = in.dimension;
  // 16 individuals per global optimum, within [64, 1024]
  c.run.population = std::min(1024, std::max(64, 16 * in.global_optima));
  const bool crowded = 16 * in.global_optima > c.run.population;  // more optima than it can cover (8, 9)
  c.run.steps = 15;
  c.run.seed = seed;
  c.run.backend = backend;
  c.run.cpu_math = math;
  c.run.cpu_threads = 1;
  for (int j = 0; j < in.dimension; ++j) {
    c.run.center.push_back(static_cast<float>(0.5 * (lo[j] + hi[j])));
    c.run.scale.push_back(static_cast<float>(0.5 * (hi[j] - lo[j])));
  }
  c.lower = lo;
  c.upper = hi;
  c.bounds = diffevo::bound_rule::reflect;
  c.shaping = diffevo::density_shaping::rank;
  c.rank_temperature = 0.05;
  c.continuations = 1;
  c.restarts = -1;
  c.archive_radius = in.radius;
  c.archive_tolerance = cec::k_accuracy[0];
  c.refine_levels = 10;
  c.refine_scale = 0.15;
  c.refine_shrink = 0.2;
  c.refine_population = std::max(16, 6 * in.dimension);
  c.refine_steps = 8;
  // From 10-D on, a global cycle's seeds lie far down their slopes (the box is large against a cycle's
  // sample), and a local cycle climbs about one sample radius: 2 noise levels (a sample around the
  // best point and one update) climb as far as 8 for a quarter of the evaluations, so seeds get short
  // cycles and up to 90 of them instead of 30 (docs/niching.md)
  if (in.dimension >= 10) {
    c.refine_steps = 2;
    c.refine_cycles = 90;
  }
  // from 10-D on, a seed the hill-valley test would drop gets one local cycle first (a probe), and is
  // dropped only when it moved towards the refined point (cosine 0.5 or more): a global cycle's seeds
  // lie far down their slopes, below the ridges, and the test alone dropped nearly every seed after the
  // first refined point (CF4 20-D, 16 runs: 0.273 without, 0.445 with; docs/niching.md)
  if (in.dimension >= 10) c.refine_probe = 0.5;
  c.refine_first_generation = in.dimension <= 3;  // in higher dimension its seeds cost more than they find
  double half = INFINITY;  // sequential niching: a tenth of the box's narrowest half-width
  for (int j = 0; j < in.dimension; ++j) half = std::min(half, 0.5 * (hi[j] - lo[j]));
  c.derate_radius = 0.1 * half;
  // local cycles stay out of the niches refined: a seed in a small niche beside a refined one (Vincent's
  // narrow peaks at small coordinates) climbs its own peak rather than the neighbour's wider one
  c.refine_taboo = true;
  // local restarts: each restart after the first around a random point of the box. Where the
  // population is too small for the optima (crowded), restarts sample the whole box again with twice the
  // population each time (IPOP), so each finds narrow peaks the last one's sample missed
  c.restart_scale = crowded ? 0.0 : 0.3;
  if (crowded) c.population_growth = 2, c.max_population = 4096;  // (8192 took the budget of seeds waiting)
  // up to 5-D, uniform points of the box before each restart, clustered with its cycle: the
  // compositions' Weierstrass needles and their small basins beside broad ones (CF4's Rastrigin
  // components) lie in regions worse than the box's average, which the cycles' selection leaves before
  // sampling them, and Vincent's narrowest peaks are a small share of the box. 1024 before each of the
  // many local restarts; where the restarts are few and global (crowded), 32 populations (32,768)
  // before each. In 5-D they found CF4's six optima outside the Weierstrass components in every run
  // (0.688 to 0.750); from 10-D on they cost optima (CF4 10-D 0.508 to 0.473, 20-D 0.445 to 0.133 on
  // 16 runs) (docs/niching.md)
  if (in.dimension <= 5) c.explore_samples = crowded ? 32 * c.run.population : 1024;
  // many optima (32 or more: problems 7-9), so many small niches: a lower nearest-better cut makes
  // seeds of points in the small niches among the large ones, and quadratic-model steps from a seed's
  // second level (docs/algorithm.md §8) refine each of them for a tenth of the local cycles' evaluations
  // (on the compositions, whose peaks are rough, they cost optima: docs/niching.md)
  if (in.global_optima >= 32) {
    c.refine_seed_cut = 0.5;
    c.refine_polish = 1;
  }
  // seeds on local optima eat the budget: abandon one that stopped climbing 100 below the best, unless
  // its last local cycle gained a tenth of what it lacks (a Weierstrass cusp climbs slowly but steadily).
  // Below 10-D, 300: the seeds in a Weierstrass component's bowl stop on the lattice points around its
  // optimum (the component is 0 on the lattice of its period), 100 to 400 below it, and with 100 they
  // were abandoned there; with 300 they are refined, and in the run traced one of them reached the
  // optimum (CF3 3-D; docs/niching.md)
  c.refine_abandon = in.dimension < 10 ? 300 : 100;
  c.refine_abandon_gain = 0.1;
  // up to 3-D, where the exploration samples seed needles: a needle's seed gains less per cycle (its
  // peak's Hölder exponent is 0.63, and its local cycles sample a fractal), so it is spared at a fiftieth
  // (in 5-D, where the samples run too, a fiftieth cost optima: CF3 5-D 0.729 against 0.781, 16 runs)
  if (in.dimension <= 3) c.refine_abandon_gain = 0.02;
  // below 10-D (8-step local cycles), a seed may be abandoned only after three shrinks, not two: a seed
  // 0.02 from a needle gains nothing in its cycles at scales 0.74 and 0.15 (samples within its distance
  // of the needle are a 0.2 % of the latter's), and the third, at 0.03, reaches it (docs/niching.md)
  if (in.dimension < 10) c.refine_abandon_level = 3;
  // below 10-D, translation candidates among the local optima refined (docs/algorithm.md §8): a
  // Weierstrass component is 0 on the whole lattice of its period, and its optimum is the lattice point
  // where the other components weigh nothing: seeds converge on the lattice points around it (-94 to
  // -400 on CF3 3-D), and a point p + q - r of three of them lands on the optimum, whose own basin no
  // sample reaches (50 runs: CF3 3-D 0.921 to 1.0, CF3 5-D 0.721 to 0.840, CF4 3-D 0.693 to 0.665).
  // From 10-D on the seeds seldom converge on lattice points (CF3 10-D: 0 to 10 batches of candidates
  // a run, CF4 10-D none) and no count changed in 8 runs, so it stays off there (docs/niching.md)
  if (in.dimension < 10) c.refine_translate = 6;
  // and among the optima found: where they lie on a product grid (Vincent, Shubert), a candidate from
  // three of them is an optimum, and Vincent's narrowest peaks (at small coordinates, 1e-5 of the box
  // in 3-D) are found from their neighbours instead of by a sample (docs/niching.md)
  c.refine_translate_optima = c.refine_translate > 0;
  // below 10-D, steps on the float lattice where a seed ends at the level cap or float resolution on a
  // rough peak: a Weierstrass optimum's seed ended one float step from it (CF3 5-D, seed 5: -0.146),
  // where the local cycles' rounded samples did not land on it (docs/algorithm.md §8)
  if (in.dimension < 10) c.refine_nudge = 16;
  // a seed has converged when its last local population spans a tenth of the finest accuracy (told in
  // double, the values of a converged population rarely tie exactly, as they did in float)
  c.refine_precision = 0.1 * cec::k_accuracy[cec::k_accuracies - 1];
  c.max_evaluations = in.max_evaluations;
  return c;
}

std::vector<int> parse_problems(const std::string& s) {
  std::vector<int> out;
  if (s.empty()) {
    for (int id = 1; id <= cec::k_problems; ++id) out.push_back(id);
    return out;
  }
  std::size_t at = 0;
  while (at <= s.size()) {
    const std::size_t comma = std::min(s.find(',', at), s.size());
    const std::string part = s.substr(at, comma - at);
    const std::size_t dash = part.find('-');
    char* end = nullptr;
    const long a = std::strtol(part.c_str(), &end, 10);
    long b = a;
    if (dash != std::string::npos) b = std::strtol(part.c_str() + dash + 1, &end, 10);
    if (part.empty() || *end != '\0' || a < 1 || b > cec::k_problems || a > b)
      throw usage_error("--problems needs numbers or ranges in 1..20 such as 1-5,11 (got '" + s + "')");
    for (long id = a; id <= b; ++id) out.push_back(static_cast<int>(id));
    at = comma + 1;
  }
  return out;
}

}  // namespace

int run_niching(const options& o) {
  const int runs = o.runs > 0 ? o.runs : cec::k_runs;
  const std::vector<int> problems = parse_problems(o.problems);
  json j;
  j.raw("{\n  ").key("mode").str("niching").raw(",\n  ").key("runs").num(runs).raw(",\n  ").key("seed").num(double(o.seed));
  j.raw(",\n  ").key("problems").raw("[");
  std::printf("CEC'2013 niching protocol, open-ended Diffusion Evolution, %d runs per problem%s\n", runs,
              device_note().c_str());
  std::printf("| problem | D | budget | N | PR 1e-1 | PR 1e-2 | PR 1e-3 | PR 1e-4 | PR 1e-5 | SR 1e-5 | evaluations | s/run |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  double pr_sum = 0;
  std::string backend_name;
  for (std::size_t p = 0; p < problems.size(); ++p) {
    const int id = problems[p];
    const cec::problem_info in = cec::info(id);
    const cec::fitness f{cec::make_problem(id)};
    std::vector<std::vector<int>> found(cec::k_accuracies);
    double seconds = 0, evaluations = 0;
    int population = 0;
    for (int r = 0; r < runs; ++r) {
      progress(o, "problem %d (%s, D = %d), run %d/%d\r", id, in.name, in.dimension, r + 1, runs);
      const diffevo::open_ended_config c = settings(id, o.seed + static_cast<unsigned long long>(r), o.backend, o.cpu_math);
      population = c.run.population;
      const double t0 = now_seconds();
      // told in double (the report's functions are defined in double; Shubert 3-D's optimum, 2709.09,
      // is 2.4e-4 coarse in float, too coarse for the accuracies 1e-4 and 1e-5)
      const diffevo::open_ended_result res = diffevo::optimize(c, [&](diffevo::population_view pop, double* out) {
        for (int i = 0; i < pop.rows; ++i) out[i] = f.value(pop.row(i));
      });
      seconds += now_seconds() - t0;
      evaluations += static_cast<double>(res.evaluations);
      if (res.evaluations > in.max_evaluations) throw std::runtime_error("the budget was exceeded");
      std::vector<float> set = res.population;  // the solution set: the last population and the archive
      for (const diffevo::archived_point& a : res.archive) set.insert(set.end(), a.x.begin(), a.x.end());
      const int count = static_cast<int>(set.size()) / in.dimension;
      for (int a = 0; a < cec::k_accuracies; ++a)
        found[static_cast<std::size_t>(a)].push_back(diffevo::count_global_optima(id, set.data(), count, cec::k_accuracy[a]));
    }
    double pr[cec::k_accuracies], sr[cec::k_accuracies];
    for (int a = 0; a < cec::k_accuracies; ++a) {
      pr[a] = diffevo::peak_ratio(found[static_cast<std::size_t>(a)], in.global_optima);
      sr[a] = diffevo::success_rate(found[static_cast<std::size_t>(a)], in.global_optima);
      pr_sum += pr[a];
    }
    std::printf("| %d %s | %d | %lld | %d | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f | %.0f | %.2f |\n", id, in.name,
                in.dimension, in.max_evaluations, population, pr[0], pr[1], pr[2], pr[3], pr[4], sr[4],
                evaluations / runs, seconds / runs);
    std::fflush(stdout);
    j.raw(p ? ",\n    " : "\n    ").raw("{").key("id").num(id).raw(", ").key("name").str(in.name).raw(", ");
    j.key("dimension").num(in.dimension).raw(", ").key("budget").num(double(in.max_evaluations)).raw(", ");
    j.key("population").num(population).raw(", ").key("mean_evaluations").num(evaluations / runs).raw(", ");
    j.key("seconds_per_run").num(seconds / runs).raw(", ").key("peak_ratio").raw("[");
    for (int a = 0; a < cec::k_accuracies; ++a) j.raw(a ? ", " : "").num(pr[a]);
    j.raw("], ").key("success_rate").raw("[");
    for (int a = 0; a < cec::k_accuracies; ++a) j.raw(a ? ", " : "").num(sr[a]);
    j.raw("], ").key("found").raw("[");
    for (int a = 0; a < cec::k_accuracies; ++a) {
      j.raw(a ? ", [" : "[");
      for (std::size_t r = 0; r < found[static_cast<std::size_t>(a)].size(); ++r) j.raw(r ? ", " : "").num(found[static_cast<std::size_t>(a)][r]);
      j.raw("]");
    }
    j.raw("]}");
  }
  const double mean = pr_sum / (cec::k_accuracies * static_cast<double>(problems.size()));
  progress(o, "%60s\r", "");
  std::printf("\nmean peak ratio over %zu problems and 5 accuracies: %.3f\n", problems.size(), mean);
  std::printf("published means over all 20 problems (GECCO-all-results-2016-2019, bench/results/cec2013-published.md):\n"
              "  HillVallEA19 0.892, RS-CMSA17 0.856, NMMSO 0.825, NEA2 0.746, CMA-ES 0.668, IPOP-CMA-ES 0.352\n");
  j.raw("\n  ],\n  ").key("mean_peak_ratio").num(mean).raw("\n}\n");
  j.save(o.json);
  return 0;
}

}  // namespace bench
