// diffevo-bench cartpole: the paper's cart-pole experiment (docs/algorithm.md §7). For each net (4-8-2 plain,
// 4-8-2 latent d = 2, 4-128-128-2 latent d = 2) and each seed: N = 256, T = 10 (9 generations plus
// the final evaluation), cosine, eta = 1, energy density with temperature 1 on the return, one
// episode per individual, normalised observations. Per generation: mean, quartiles, max of the
// returns and the share at 500, pooled over seeds; then the final-generation summary per net.
//
// diffevo-bench throughput: the evaluator alone at N = 4096 on both nets, env-steps per second; then a
// whole generation of the optimizer on the large net (evaluation and update timed apart).
#include <random>

#include "common.hpp"
#include "cpu_peak.hpp"
#include "gpu.hpp"

namespace bench {
namespace {

struct net_case {
  const char* name;
  std::vector<int> layers;
  int latent;
};

struct generation_stats {
  double mean, q1, median, q3, max, share500;
};

generation_stats stats_of(std::vector<double> r) {
  std::sort(r.begin(), r.end());
  generation_stats s{};
  for (double v : r) {
    s.mean += v / static_cast<double>(r.size());
    s.share500 += (v >= 500.0 ? 1.0 : 0.0) / static_cast<double>(r.size());
  }
  s.q1 = quantile(r, 0.25);
  s.median = quantile(r, 0.5);
  s.q3 = quantile(r, 0.75);
  s.max = r.back();
  return s;
}

}  // namespace

int run_cartpole(const options& o) {
  const int seeds = o.runs > 0 ? o.runs : 20;
  std::vector<net_case> nets = {
      {"4-8-2 plain", {4, 8, 2}, 0}, {"4-8-2 latent", {4, 8, 2}, 2}, {"4-128-128-2 latent", {4, 128, 128, 2}, 2}};
  if (!o.net.empty()) nets = {nets[o.net == "plain" ? 0 : o.net == "latent" ? 1 : 2]};
  const std::string& path = o.json;

  diffevo::rollout_config rc;
  rc.backend = o.backend;
  const diffevo::cartpole_evaluator probe(rc);
  std::printf("diffevo-bench cartpole: backend %s%s; N = 256, T = 10, cosine, eta = 1, energy (temperature %g), "
              "1 episode, %s observations, %s; seeds %llu..%llu per net\n\n",
              diffevo::to_string(probe.backend()), device_note().c_str(), o.temperature,
              o.raw_obs ? "raw" : "normalised", o.fixed_start ? "one fixed start state (--fixed-start)" : "random start per episode (docs/algorithm.md §7)", o.seed,
              o.seed + seeds - 1);

  json js;
  js.raw("{\n").key("mode").str("cartpole").raw(",\n").key("backend").str(diffevo::to_string(probe.backend()));
  js.raw(",\n").key("temperature").num(o.temperature);
  js.raw(",\n").key("normalize_obs").raw(o.raw_obs ? "false" : "true");
  js.raw(",\n").key("fixed_start").raw(o.fixed_start ? "true" : "false");
  js.raw(",\n").key("seeds").raw("[").num(static_cast<double>(o.seed)).raw(", ").num(static_cast<double>(o.seed + seeds - 1));
  js.raw("],\n").key("nets").raw("[\n");
  std::vector<std::string> summary;
  for (std::size_t c = 0; c < nets.size(); ++c) {
    const net_case& nc = nets[c];
    diffevo::rollout_config r;
    r.layers = nc.layers;
    r.backend = o.backend;
    r.fixed_start = o.fixed_start;
    r.normalize_obs = !o.raw_obs;
    const double t0 = now_seconds();
    std::vector<std::vector<double>> per_gen(10);  // returns pooled over seeds, per evaluated generation
    std::vector<double> final_mean, final_share;
    long long steps = 0;
    for (int k = 0; k < seeds; ++k) {
      r.seed = o.seed + static_cast<unsigned long long>(k);
      diffevo::cartpole_evaluator ev(r);
      diffevo::config cfg;
      cfg.population = 256;
      cfg.dimension = ev.parameter_count();
      cfg.steps = 10;
      cfg.eta = 1.0;
      cfg.density = diffevo::density_kind::energy;
      cfg.temperature = o.temperature;
      cfg.latent_dim = nc.latent;
      cfg.seed = r.seed;
      cfg.backend = o.backend;
      cfg.cpu_math = o.cpu_math;
      diffevo::optimizer opt(cfg);
      int g = 0;
      const diffevo::optimize_result res = diffevo::run(opt, [&](diffevo::population_view pop, float* f) {
        ev.evaluate(pop, f, static_cast<std::uint64_t>(g));
        steps += ev.last_steps();
        per_gen[static_cast<std::size_t>(g)].insert(per_gen[static_cast<std::size_t>(g)].end(), f, f + pop.rows);
        ++g;
      });
      const generation_stats fs = stats_of(std::vector<double>(res.fitness.begin(), res.fitness.end()));
      final_mean.push_back(fs.mean);
      final_share.push_back(fs.share500);
      if (!o.quiet)
        std::fprintf(stderr, "  %s seed %llu: final mean return %.1f, %.1f %% at 500 (%.1f s)\n", nc.name,
                     static_cast<unsigned long long>(r.seed), fs.mean, 100 * fs.share500, now_seconds() - t0);
    }
    const double secs = now_seconds() - t0;
    std::printf("### %s (%d parameters)\n\n| generation | mean | q1 | median | q3 | max | share at 500 |\n"
                "|---|---|---|---|---|---|---|\n",
                nc.name, static_cast<int>(diffevo::cartpole_evaluator(r).parameter_count()));
    js.raw("  {").key("net").str(nc.name).raw(", ").key("layers").raw("[");
    for (std::size_t l = 0; l < nc.layers.size(); ++l) js.raw(l ? ", " : "").num(nc.layers[l]);
    js.raw("], ").key("latent").num(nc.latent).raw(", ").key("generations").raw("[\n");
    for (std::size_t g = 0; g < per_gen.size(); ++g) {
      const generation_stats s = stats_of(per_gen[g]);
      std::printf("| %zu | %.1f | %.1f | %.1f | %.1f | %.0f | %.1f %% |\n", g, s.mean, s.q1, s.median, s.q3, s.max,
                  100 * s.share500);
      js.raw("    {").key("generation").num(static_cast<double>(g)).raw(", ").key("mean").num(s.mean);
      js.raw(", ").key("q1").num(s.q1).raw(", ").key("median").num(s.median).raw(", ").key("q3").num(s.q3);
      js.raw(", ").key("max").num(s.max).raw(", ").key("share500").num(s.share500).raw(g + 1 < per_gen.size() ? "},\n" : "}\n");
    }
    const mean_sd fm = mean_std(final_mean), fsh = mean_std(final_share);
    js.raw("  ], ").key("final_mean_per_seed").raw("[");
    for (std::size_t k = 0; k < final_mean.size(); ++k) js.raw(k ? ", " : "").num(final_mean[k]);
    js.raw("], ").key("final_share500_per_seed").raw("[");
    for (std::size_t k = 0; k < final_share.size(); ++k) js.raw(k ? ", " : "").num(final_share[k]);
    js.raw("], ").key("env_steps").num(static_cast<double>(steps)).raw(", ").key("seconds").num(secs);
    js.raw(c + 1 < nets.size() ? "},\n" : "}\n");
    char line[256];
    std::snprintf(line, sizeof line, "| %s | %.1f ± %.1f | %.1f ± %.1f %% | %.1f s |", nc.name, fm.mean, fm.sd,
                  100 * fsh.mean, 100 * fsh.sd, secs);
    summary.push_back(line);
    std::printf("\n");
  }
  js.raw("]}\n");
  std::printf("### final generation, %d seeds (mean ± std over seeds)\n\n| net | mean return | share at 500 | time |\n"
              "|---|---|---|---|\n", seeds);
  for (const auto& l : summary) std::printf("%s\n", l.c_str());
  std::printf("\npaper (docs/algorithm.md §7, 100 runs): 4-8-2 plain 482.9 / 92.5 %%, 4-8-2 latent 491.6 / 96.4 %%, "
              "4-128-128-2 latent 445.0 / 79.4 %%\n");
  js.save(path);
  std::printf("JSON: %s\n", path.c_str());
  return 0;
}

int run_throughput(const options& o) {
  const int n = o.population > 0 ? o.population : 4096;
  const int repeats = o.runs > 0 ? o.runs : 3;
  const std::string& path = o.json;
  json js;
  diffevo::rollout_config rc;
  rc.backend = o.backend;
  const diffevo::cartpole_evaluator probe(rc);
  const std::string backend = diffevo::to_string(probe.backend());
  std::printf("diffevo-bench throughput: backend %s%s; N = %d distinct controllers, 1 episode, max 500 steps, "
              "median of %d timed calls after one warm-up; steps counted as simulated\n\n",
              backend.c_str(), device_note().c_str(), n, repeats);
  // cpu: the float floor measured now (bench/cpu_peak.hpp): 2 P lane operations per step
  const double lane_ops = backend == "cpu" ? cpu::float_lane_ops_per_second() : 0.0;
  if (lane_ops > 0)
    std::printf("float floor measured in this run: %.3g lane operations / s (multiplies and adds, all threads)\n\n",
                lane_ops);
  std::printf("| net | parameters | mean episode length | env-steps / s (%s) | time / call |%s\n|---|---|---|---|---|%s\n",
              backend.c_str(), lane_ops > 0 ? " floor (2 P per step) | of the floor |" : "", lane_ops > 0 ? "---|---|" : "");
  js.raw("{\n").key("mode").str("throughput").raw(",\n").key("backend").str(backend).raw(",\n").key("population").num(n);
  if (lane_ops > 0) js.raw(",\n").key("float_lane_ops_per_s").num(lane_ops);
  js.raw(",\n").key("nets").raw("[\n");
  const std::vector<std::vector<int>> nets = {{4, 8, 2}, {4, 128, 128, 2}};
  for (std::size_t c = 0; c < nets.size(); ++c) {
    diffevo::rollout_config r;
    r.layers = nets[c];
    r.backend = o.backend;
    r.seed = o.seed;
    diffevo::cartpole_evaluator ev(r);
    const int p = ev.parameter_count();
    // Controllers that balance for a varied while: u = theta + theta_dot pushed through every layer
    // (relu(u), relu(-u)), plus N(0, 0.05^2) on every parameter, a distinct draw per controller.
    std::mt19937 rng(static_cast<unsigned>(o.seed) + 1);
    std::normal_distribution<float> nd(0.0f, 0.05f);
    std::vector<float> params(static_cast<std::size_t>(n) * p);
    for (int i = 0; i < n; ++i) {
      float* w = params.data() + static_cast<std::size_t>(i) * p;
      std::size_t off = 0;
      for (std::size_t l = 0; l + 1 < nets[c].size(); ++l) {
        const int ni = nets[c][l], no = nets[c][l + 1];
        for (int k = 0; k < no * ni + no; ++k) w[off + k] = nd(rng);
        if (l == 0) {
          w[off + 2] += 1; w[off + 3] += 1; w[off + ni + 2] -= 1; w[off + ni + 3] -= 1;
        } else if (l + 2 < nets[c].size()) {
          w[off + 0] += 1; w[off + ni + 1] += 1;
        } else {
          w[off + ni + 0] += 1; w[off + 1] += 1;
        }
        off += static_cast<std::size_t>(no) * ni + no;
      }
    }
    std::vector<float> ret(static_cast<std::size_t>(n));
    const diffevo::population_view pv{params.data(), n, p};
    std::vector<double> times, rates;
    long long steps = 0;
    if (ev.backend() == diffevo::backend_kind::cuda) {
      // Device-resident parameters, timed with CUDA events around evaluate_device (no copies).
      gpu::rollout_buffers dt(params, n);
      ev.evaluate_device(dt.view(p), dt.returns(), 0, dt.stream());  // warm-up
      for (int k = 0; k < repeats; ++k) {
        const double secs = gpu::time_on_stream(
            dt.stream(), [&] { ev.evaluate_device(dt.view(p), dt.returns(), k + 1u, dt.stream()); });
        dt.copy_returns(ret);
        steps = ev.count_steps(ret.data(), n);
        times.push_back(secs);
        rates.push_back(static_cast<double>(steps) / secs);
        if (!o.quiet) std::fprintf(stderr, "  %d parameters, call %d: %.6f s\n", p, k + 1, secs);
      }
    } else {
      ev.evaluate(pv, ret.data(), 0);  // warm-up
      for (int k = 0; k < repeats; ++k) {
        const double t0 = now_seconds();
        ev.evaluate(pv, ret.data(), static_cast<std::uint64_t>(k + 1));
        const double secs = now_seconds() - t0;
        steps = ev.last_steps();
        times.push_back(secs);
        rates.push_back(static_cast<double>(steps) / secs);
        if (!o.quiet) std::fprintf(stderr, "  %d parameters, call %d: %.3f s\n", p, k + 1, secs);
      }
    }
    std::sort(times.begin(), times.end());
    std::sort(rates.begin(), rates.end());
    const double rate = quantile(rates, 0.5), t = quantile(times, 0.5);
    const double floor_rate = lane_ops / (2.0 * p);
    if (lane_ops > 0)
      std::printf("| %s | %d | %.1f | %.3g | %.3f s | %.3g | %.1f %% |\n", c ? "4-128-128-2" : "4-8-2", p,
                  static_cast<double>(steps) / n, rate, t, floor_rate, 100.0 * rate / floor_rate);
    else
      std::printf("| %s | %d | %.1f | %.3g | %.3f s |\n", c ? "4-128-128-2" : "4-8-2", p,
                  static_cast<double>(steps) / n, rate, t);
    js.raw("  {").key("parameters").num(p).raw(", ").key("env_steps_per_s_median").num(rate).raw(", ");
    if (lane_ops > 0) js.key("floor_env_steps_per_s").num(floor_rate).raw(", ");
    js.key("seconds_median").num(t).raw(", ").key("mean_episode_length").num(static_cast<double>(steps) / n);
    js.raw(c + 1 < nets.size() ? "},\n" : "}\n");
  }
  js.raw("],\n");
  std::printf("\n(cpu: wall time of evaluate(); cuda: CUDA events around evaluate_device() on device-resident\n"
              "parameters, after the device finished)\n\n");

  // A whole generation through the library: the optimizer's own population (the paper's optimizer
  // setting: 4-128-128-2, latent d = 2, eta = 1, energy), evaluated and told, the two timed apart.
  {
    diffevo::rollout_config r;
    r.layers = {4, 128, 128, 2};
    r.backend = o.backend;
    r.seed = o.seed;
    diffevo::cartpole_evaluator ev(r);
    diffevo::config cfg;
    cfg.population = n;
    cfg.dimension = ev.parameter_count();
    cfg.latent_dim = 2;
    cfg.steps = repeats + 2;
    cfg.eta = 1.0;
    cfg.density = diffevo::density_kind::energy;
    cfg.seed = o.seed;
    cfg.backend = o.backend;
    cfg.cpu_math = o.cpu_math;
    diffevo::optimizer opt(cfg);
    std::vector<double> eval_s, update_s, rate;
    std::vector<float> f(static_cast<std::size_t>(n));
    long long steps = 0;
    for (int k = 0; k <= repeats; ++k) {  // k = 0 is the warm-up
      double te = 0, tu = 0;
      if (opt.backend() == diffevo::backend_kind::cuda) {
        const diffevo::population_view pop = opt.ask_device();
        te = gpu::time_on_stream(opt.stream(), [&] {
          ev.evaluate_device(pop, opt.device_fitness(), static_cast<std::uint64_t>(k), opt.stream());
        });
        // The update: the summary's round trip and the queued update, until the device finished.
        tu = gpu::time_on_stream(opt.stream(),
                                 [&] { opt.tell_device(opt.device_fitness(), static_cast<std::size_t>(n)); });
        // The returns are still in the fitness buffer (the update does not touch it).
        opt.download(opt.device_fitness(), f.data(), f.size());
        steps = ev.count_steps(f.data(), n);
      } else {
        const diffevo::population_view pop = opt.ask();
        const double t0 = now_seconds();
        ev.evaluate(pop, f.data(), static_cast<std::uint64_t>(k));
        const double t1 = now_seconds();
        opt.tell(f);
        te = t1 - t0;
        tu = now_seconds() - t1;
        steps = ev.last_steps();
      }
      if (k == 0) continue;
      eval_s.push_back(te);
      update_s.push_back(tu);
      rate.push_back(static_cast<double>(steps) / (te + tu));
      if (!o.quiet)
        std::fprintf(stderr, "  generation %d: evaluation %.6f s, update %.6f s, %lld env-steps\n", k, te, tu, steps);
    }
    for (auto* v : {&eval_s, &update_s, &rate}) std::sort(v->begin(), v->end());
    const double te = quantile(eval_s, 0.5), tu = quantile(update_s, 0.5), gr = quantile(rate, 0.5);
    std::printf("whole generation, N = %d, 4-128-128-2 (17,410 parameters), latent d = 2, the optimizer's own "
                "population (%s):\n| evaluation | update (tell) | generation | env-steps / s (generation) |\n"
                "|---|---|---|---|\n| %.6f s | %.6f s | %.6f s | %.3g |\n",
                n, backend.c_str(), te, tu, te + tu, gr);
    js.key("generation").raw("{").key("parameters").num(ev.parameter_count()).raw(", ").key("latent").num(2);
    js.raw(", ").key("evaluation_seconds_median").num(te).raw(", ").key("update_seconds_median").num(tu);
    js.raw(", ").key("env_steps_per_s_median").num(gr).raw("}\n}\n");
  }
  std::printf("JSON: %s\n", path.c_str());
  js.save(path);
  return 0;
}

}  // namespace bench
