// diffevo-bench speed: timings of the library itself (issue 4's speed section).
//  - whole 2-D run: N = 512 (or --population), T = 25, the paper's settings, fitness included (the functor path:
//    inside the library's kernel on cuda, host threads on cpu), median of repeats after a warm-up,
//    split into constructing the optimizer (allocations, handles, initial draw) and the run itself;
//  - update step alone: tell() with a fixed fitness vector (cuda: CUDA events on its stream), for N in {512, 4096, 16384} x
//    D in {2, 58, 17,410} (or the N and D given by --population and --dimension), plain and latent d = 2,
//    skipping grid cells whose N^2 D multiply-adds would take too long on the cpu; next to a bare SGEMM of
//    the x0 product's shape (N x N times N x D) measured in the same run (cuBLAS on cuda; on cpu the
//    BLAS the library was built with, if any); on cpu under both config::cpu_math choices, fast (the
//    default) and exact, their tells interleaved with the SGEMM; and next to the memory floor: the
//    bytes any update must move (read x, write the new x and x0, which the optimizer keeps: 12 N D
//    bytes; the noise can stay on chip, and the parameters are x itself without a centre and scale)
//    at the copy bandwidth measured in the same run. The median tell, and the mean: the tells run through a
//    whole (repeats + 2)-step schedule, and a slow stretch of it shows in the mean only.
// Plain C++: the cuda backend's own timing (events, the bare GEMM, the functor run) is in bench/gpu.cu.
#include <cstring>
#include <memory>
#include <random>

#include "common.hpp"
#include "cpu_gemm.hpp"
#include "gpu.hpp"

namespace bench {
namespace {

/// Copy bandwidth (bytes read + written per second), median of repeats: a device-to-device
/// cudaMemcpy of `gpu_bytes` on cuda, a host memcpy split over all hardware threads on cpu (256 MiB).
double copy_bandwidth(bool gpu, std::size_t gpu_bytes, int repeats) {
  if (gpu) return gpu::copy_bandwidth(gpu_bytes, repeats);
  std::vector<double> t;
  const std::size_t bytes = std::size_t(256) << 20;
  std::vector<char> a(bytes, 1), b(bytes, 0);
  const int blocks = 64;
  for (int r = 0; r <= repeats; ++r) {
    const double t0 = now_seconds();
    diffevo::detail::parallel_rows(blocks, 0, [&](int lo, int hi) {
      const std::size_t from = bytes / blocks * lo, to = bytes / blocks * hi;
      std::memcpy(b.data() + from, a.data() + from, to - from);
    });
    if (r > 0) t.push_back(2.0 * bytes / (now_seconds() - t0));
  }
  std::sort(t.begin(), t.end());
  return quantile(t, 0.5);
}

/// The paper's Himmelblau run to the end, fitness included: in the library's kernel on cuda, on the
/// optimizer's host threads on cpu (as diffevo::run_functor does).
diffevo::optimize_result whole_2d_run(diffevo::optimizer& opt) {
  const diffevo::functions::paper_fitness f{diffevo::functions::benchmark::himmelblau};
  if (opt.backend() == diffevo::backend_kind::cuda) return gpu::run_paper_functor(opt, f.fn);
  const int threads = opt.cfg().cpu_threads;
  return diffevo::run(opt, [&](diffevo::population_view pop, float* out) {
    diffevo::detail::parallel_rows(pop.rows, threads, [&](int b, int e) {
      for (int i = b; i < e; ++i) out[i] = f(pop.row(i), pop.cols);
    });
  });
}

}  // namespace

int run_speed(const options& o) {
  const int repeats = o.runs > 0 ? o.runs : 5;
  const std::string& path = o.json;
  diffevo::config probe_cfg;
  probe_cfg.backend = o.backend;
  const diffevo::optimizer probe(probe_cfg);
  const bool gpu = probe.backend() == diffevo::backend_kind::cuda;
  const std::string backend = diffevo::to_string(probe.backend());
  const bool blas = !gpu && diffevo::cpu_blas_available();
  std::printf("diffevo-bench speed: backend %s%s; medians of %d repeats after one warm-up; seed %llu (the 2-D runs: "
              "%llu to %llu)%s\n\n",
              backend.c_str(), device_note().c_str(), repeats, static_cast<unsigned long long>(o.seed),
              static_cast<unsigned long long>(o.seed), static_cast<unsigned long long>(o.seed + static_cast<std::uint64_t>(repeats)),
              gpu ? "" : ("; cpu figures (wall time, host threads); BLAS: " + cpu::blas_name()).c_str());
  json js;
  js.raw("{\n").key("mode").str("speed").raw(",\n").key("backend").str(backend).raw(",\n");
  js.key("seed").num(static_cast<double>(o.seed)).raw(",\n");
  if (!gpu) js.key("blas").str(cpu::blas_name()).raw(",\n");

  // Whole 2-D runs.
  diffevo::config c2;
  c2.population = o.population > 0 ? o.population : 512;
  c2.dimension = 2;
  c2.steps = 25;
  c2.eta = 0.1;
  c2.scale = {4.0f};
  c2.density = diffevo::density_kind::identity;
  c2.backend = o.backend;
  std::vector<double> whole, built, ran;
  progress(o, "  whole 2-D run, N = %d: 1 warm-up + %d runs\n", c2.population, repeats);
  for (int r = 0; r <= repeats; ++r) {
    c2.seed = o.seed + static_cast<std::uint64_t>(r);
    const double t0 = now_seconds();
    diffevo::optimizer opt(c2);
    const double t1 = now_seconds();
    const diffevo::optimize_result res = whole_2d_run(opt);
    const double t2 = now_seconds();  // run_functor returns host results: the device has finished
    if (r > 0) {
      whole.push_back(t2 - t0);
      built.push_back(t1 - t0);
      ran.push_back(t2 - t1);
    }
    if (!res.has_best) throw std::runtime_error("speed: the 2-D run found no finite fitness");
  }
  for (auto* v : {&whole, &built, &ran}) std::sort(v->begin(), v->end());
  const double whole_med = quantile(whole, 0.5), built_med = quantile(built, 0.5), ran_med = quantile(ran, 0.5);
  std::printf("whole 2-D run (N = %d, T = 25, 25 evaluations of Himmelblau included): %.3f ms "
              "(constructing the optimizer %.3f ms, the run %.3f ms; medians of each)\n",
              c2.population, 1e3 * whole_med, 1e3 * built_med, 1e3 * ran_med);
  // The update-step grid: the default, or the one N and/or D given by --population / --dimension. A
  // cell whose N and D were both given runs whatever its size.
  const std::vector<int> ns = o.population > 0 ? std::vector<int>{o.population} : std::vector<int>{512, 4096, 16384};
  const std::vector<int> ds = o.dimension > 0 ? std::vector<int>{o.dimension} : std::vector<int>{2, 58, 17410};
  const bool chosen = o.population > 0 && o.dimension > 0;
  // The device copy moves 1 GiB, or for a smaller grid at least 64 MiB and the grid's largest update
  // floor (12 N D bytes), enough to reach the copy engine's rate on an H100.
  const double largest = 12.0 * *std::max_element(ns.begin(), ns.end()) * *std::max_element(ds.begin(), ds.end());
  const std::size_t gpu_bytes = static_cast<std::size_t>(std::clamp(largest, 64.0 * (1 << 20), 1024.0 * (1 << 20)));
  const double bandwidth = copy_bandwidth(gpu, gpu_bytes, repeats);
  std::printf("copy bandwidth (%s, read + written): %.1f GB/s\n\n",
              gpu ? ("device-to-device cudaMemcpy, " + std::to_string(gpu_bytes >> 20) + " MiB").c_str()
                  : "host memcpy on all threads, 256 MiB",
              bandwidth / 1e9);
  js.key("whole_2d_population").num(c2.population).raw(",\n").key("whole_2d_run_seconds").num(whole_med).raw(",\n").key("whole_2d_construct_seconds").num(built_med);
  js.raw(",\n").key("whole_2d_run_only_seconds").num(ran_med).raw(",\n");
  js.key("copy_bandwidth_bytes_per_second").num(bandwidth).raw(",\n");
  js.key("copy_bandwidth_buffer_bytes").num(static_cast<double>(gpu ? gpu_bytes : std::size_t(256) << 20)).raw(",\n");
  js.key("update").raw("[\n");

  // Update step alone.
  if (gpu)
    std::printf("| N | D | variant | update (tell) | memory floor (12 N D bytes) | bare SGEMM N x N x D | ratio "
                "| update, mean over the run |\n|---|---|---|---|---|---|---|---|\n");
  else
    std::printf("| N | D | variant | update, fast | update, exact | bare SGEMM N x N x D | fast / SGEMM | exact / SGEMM "
                "| memory floor (12 N D bytes) | fast, exact: mean over the run |\n|---|---|---|---|---|---|---|---|---|---|\n");
  const double cpu_budget = 2e10;  // multiply-adds of the x0 product: about 4-10 s per update on 2 cores
  bool first = true;
  for (int n : ns)
    for (int d : ds)
      for (int latent : {0, 2}) {
        const double work = static_cast<double>(n) * n * d;
        const char* variant = latent ? "latent d = 2" : "plain";
        if (!gpu && !chosen && work > cpu_budget) {
          std::printf("| %d | %d | %s | skipped on cpu (%.1e multiply-adds) |\n", n, d, variant, work);
          continue;
        }
        diffevo::config c;
        c.population = n;
        c.dimension = d;
        c.latent_dim = latent;
        c.steps = repeats + 2;
        c.backend = o.backend;
        c.seed = o.seed;
        // cpu: the default (fast) and exact, one tell of each per repeat, then a bare SGEMM
        std::vector<double> t, t_exact, t_gemm;
        progress(o, "  N = %d, D = %d, %s: 1 warm-up + %d tells\n", n, d, variant, repeats);
        try {
          diffevo::optimizer opt(c);
          std::unique_ptr<diffevo::optimizer> exact;
          if (!gpu) {
            diffevo::config ce = c;
            ce.cpu_math = diffevo::cpu_math_kind::exact;
            exact = std::make_unique<diffevo::optimizer>(ce);
          }
          std::mt19937 rng(1);
          std::normal_distribution<float> nd(0.0f, 1.0f);
          std::vector<float> f(static_cast<std::size_t>(n));
          for (float& v : f) v = nd(rng);
          const auto cpu_tell = [&](diffevo::optimizer& one) {
            one.ask();
            const double t0 = now_seconds();
            one.tell(f);
            return now_seconds() - t0;
          };
          for (int r = 0; r <= repeats; ++r) {
            double secs = 0;
            if (gpu) {  // CUDA events on the optimizer's stream around tell(): the fitness upload, the
              opt.ask_device();  // summary and its readback, and the whole update, until the device finished
              secs = gpu::time_on_stream(opt.stream(), [&] { opt.tell(f); });
            } else {
              secs = cpu_tell(opt);
              const double secs_exact = cpu_tell(*exact);
              if (r > 0) t_exact.push_back(secs_exact);
              if (blas && r > 0) t_gemm.push_back(cpu::bare_gemm_seconds(n, d, 1));
            }
            if (r > 0) t.push_back(secs);
            if (secs > 1.0) progress(o, "    tell %d of %d: %.2f s\n", r + 1, repeats + 1, secs);
          }
        } catch (const std::bad_alloc& e) {
          std::printf("| %d | %d | %s | out of memory: %s |\n", n, d, variant, e.what());
          continue;
        }
        // The timed tells are every generation of a (repeats + 2)-step schedule but the first and the
        // last: the mean is the run's average tell, which a slow stretch of the schedule moves and the
        // median hides.
        const double upd_mean = mean_std(t).mean, upd_exact_mean = mean_std(t_exact).mean;
        for (auto* v : {&t, &t_exact, &t_gemm}) std::sort(v->begin(), v->end());
        const double upd = quantile(t, 0.5);
        const double upd_exact = gpu ? 0 : quantile(t_exact, 0.5);
        double gemm = blas ? quantile(t_gemm, 0.5) : 0;
        if (gpu) gemm = gpu::bare_gemm_seconds(n, d, repeats);
        const double floor_bytes = 12.0 * n * d, floor_s = floor_bytes / bandwidth;
        if (gpu) {
          std::printf("| %d | %d | %s | %.3f ms | %.3f ms | %.3f ms | %.2f | %.3f ms |\n", n, d, variant, 1e3 * upd,
                      1e3 * floor_s, 1e3 * gemm, upd / gemm, 1e3 * upd_mean);
        } else if (blas) {
          std::printf("| %d | %d | %s | %.3f ms | %.3f ms | %.3f ms | %.2f | %.2f | %.3f ms | %.3f, %.3f ms |\n", n, d,
                      variant, 1e3 * upd, 1e3 * upd_exact, 1e3 * gemm, upd / gemm, upd_exact / gemm, 1e3 * floor_s,
                      1e3 * upd_mean, 1e3 * upd_exact_mean);
        } else {
          std::printf("| %d | %d | %s | %.3f ms | %.3f ms | no BLAS | | | %.3f ms | %.3f, %.3f ms |\n", n, d, variant,
                      1e3 * upd, 1e3 * upd_exact, 1e3 * floor_s, 1e3 * upd_mean, 1e3 * upd_exact_mean);
        }
        std::fflush(stdout);
        js.raw(first ? "  {" : ",\n  {").key("n").num(n).raw(", ").key("d").num(d).raw(", ").key("latent").num(latent);
        js.raw(", ").key("update_seconds").num(upd).raw(", ").key("update_mean_seconds").num(upd_mean);
        js.raw(", ").key("floor_bytes").num(floor_bytes).raw(", ").key("floor_seconds").num(floor_s);
        if (!gpu) js.raw(", ").key("exact_update_seconds").num(upd_exact).raw(", ").key("exact_update_mean_seconds").num(upd_exact_mean);
        if (gpu || blas) js.raw(", ").key("bare_gemm_seconds").num(gemm);
        js.raw("}");
        first = false;
      }
  js.raw("\n]}\n");
  js.save(path);
  std::printf("\nJSON: %s\n", path.c_str());
  return 0;
}

}  // namespace bench
