// diffevo-bench: the program people run first. Modes:
//   paper       the paper's 2-D benchmark table (docs/algorithm.md §6) with the baselines   [default]
//   schedules   the schedule study on Rastrigin
//   speed       whole-run and update-step timings
//   cartpole    the paper's cart-pole experiment (docs/algorithm.md §7), per-generation statistics
//   throughput  the cart-pole evaluator alone, env-steps per second at N = 4096, and a whole generation
//   niching     the CEC'2013 niching competition's protocol with open-ended Diffusion Evolution
// Every mode prints which backend ran and the seeds, so any cell can be rerun.
#include <cmath>
#include <cstdlib>
#include <string>

#include "common.hpp"

namespace {

void usage() {
  std::printf(
      "usage: diffevo-bench [paper|schedules|speed|cartpole|throughput|distributed|niching] [flags]\n"
      "  paper       the paper's five 2-D functions (docs/algorithm.md §6) with Diffusion Evolution (plain and\n"
      "              latent) and the baselines CMA-ES, OpenES, PEPG at the paper's settings; Markdown\n"
      "              table of entropy (fitness), mean +- std over runs, and JSON [default]\n"
      "  schedules   Rastrigin with cosine / linear / ddpm schedules at T = 10, 25, 50, 100\n"
      "  speed       a whole 2-D run (N = 512, T = 25; construction and run also apart) and the\n"
      "              update step alone for N in {512, 4096, 16384} x D in {2, 58, 17410}, plain and\n"
      "              latent, next to the memory floor at the measured copy bandwidth (cuda: and next\n"
      "              to a bare cuBLAS GEMM of the x0 product's shape)\n"
      "  cartpole    evolve cart-pole MLP controllers with the paper's setting (N = 256, T = 10,\n"
      "              eta = 1, energy, normalised observations): 4-8-2 plain and latent, 4-128-128-2\n"
      "              latent; per-generation return statistics as a table and JSON\n"
      "  throughput  the batched cart-pole evaluator alone (N = 4096, 58 and 17,410 parameters):\n"
      "              env-steps per second, counting only simulated steps; then a whole generation\n"
      "              of the optimizer on 17,410 parameters, latent d = 2, evaluation and update apart\n"
      "  distributed under mpiexec -n P: strong scaling of a generation (cart-pole 4-128-128-2 latent\n"
      "              and a synthetic fitness of 1e6 multiply-adds per individual, N = 4096), one rank\n"
      "              alone and P ranks side by side; and MPI_Allgather timings. cpu: one thread per\n"
      "              rank; cuda: one device per rank (node-local rank modulo the node's devices)\n"
      "  niching     the CEC'2013 niching competition's protocol (20 problems within their budgets)\n"
      "              with open-ended Diffusion Evolution: peak ratio and success rate at five\n"
      "              accuracies next to the published means (docs/niching.md)\n"
      "flags:\n"
      "  --runs N        runs (paper, schedules: per cell, default 100; cartpole: seeds per net,\n"
      "                  default 20; throughput: timed calls, default 3; speed: repeats, default 5;\n"
      "                  distributed: alternations of the two phases, default 3; niching: runs per\n"
      "                  problem, default 50)\n"
      "  --problems LIST niching: problems such as 1-5,11 (default 1-20)\n"
      "  --methods LIST  paper: comma-separated subset of de,latent,cma-es,open-es,pepg (default all)\n"
      "  --latent D      paper: latent dimension of the latent method (default 2)\n"
      "  --seed S        first seed; run r uses seed S + r (default 0)\n"
      "  --population N  throughput, distributed: controllers / individuals (default 4096); speed: the\n"
      "                  whole 2-D run's N (default\n"
      "                  512, the issue's setting) and the only N of the update-step grid\n"
      "  --dimension D   speed: only this D in the update-step grid\n"
      "  --backend B     auto | cpu | cuda (default auto: cuda when a device is present)\n"
      "  --cpu-math M    paper, schedules, cartpole, throughput, niching: the cpu backend's\n"
      "                  config::cpu_math, auto | exact | fast (default auto: fast); speed times both\n"
      "  --json PATH     where to write the JSON results (default diffevo-bench-<mode>.json); checked\n"
      "                  before any work starts\n"
      "  --temperature T cartpole: energy temperature on the return (default 1, the paper's setting)\n"
      "  --workload W    distributed: only cartpole or synthetic (default both)\n"
      "  --update U      distributed: automatic | replicated | sharded (default automatic)\n"
      "  --exchange E    distributed, cuda backend: how a sharded update's rows move, automatic | host |\n"
      "                  device (NCCL between the ranks' devices; default automatic)\n"
      "  --net NAME      cartpole: only one net: plain (4-8-2), latent (4-8-2, d = 2) or large\n"
      "                  (4-128-128-2, d = 2)\n"
      "  --raw-obs       cartpole: observations without the normalisation of docs/algorithm.md §7\n"
      "  --fixed-start   cartpole: every episode starts from one fixed state (as the authors' code,\n"
      "                  which resets Gymnasium with seed 42) instead of a random start per episode (§7)\n"
      "  --quiet         no progress lines (on stderr)\n"
      "A flag that does not apply to the chosen mode is an error (exit 2). What the modes compute and the\n"
      "tables' metrics are defined in docs/algorithm.md (section 6: the 2-D benchmarks; 7: cart-pole).\n"
      "  --help          this text\n");
}

/// The modes each flag applies to; a flag given to another mode is an error (it would be ignored).
struct flag_modes {
  const char* flag;
  const char* modes;  ///< space-separated
};
constexpr flag_modes k_flag_modes[] = {
    {"--methods", "paper"},          {"--latent", "paper"},          {"--population", "speed throughput distributed"},
    {"--dimension", "speed"},        {"--temperature", "cartpole"},  {"--net", "cartpole"},
    {"--raw-obs", "cartpole"},       {"--fixed-start", "cartpole"},  {"--workload", "distributed"},
    {"--update", "distributed"},     {"--exchange", "distributed"},  {"--problems", "niching"},
    {"--cpu-math", "paper schedules cartpole throughput niching"},
};

void check_flag_belongs(const std::string& flag, const std::string& mode) {
  for (const flag_modes& fm : k_flag_modes) {
    if (flag != fm.flag) continue;
    const std::string modes = std::string(" ") + fm.modes + " ";
    if (modes.find(" " + mode + " ") == std::string::npos)
      throw bench::usage_error(flag + " applies to " + fm.modes + ", not to " + mode);
  }
}

int to_int(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  const long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || x < -2147483647L || x > 2147483647L)
    throw bench::usage_error(flag + " needs an integer (got '" + v + "')");
  return static_cast<int>(x);
}

}  // namespace

int main(int argc, char** argv) {
  bench::options o;
  try {
    int a = 1;
    if (a < argc && argv[a][0] != '-') o.mode = argv[a++];
    if (o.mode != "paper" && o.mode != "schedules" && o.mode != "speed" && o.mode != "cartpole" &&
        o.mode != "throughput" && o.mode != "distributed" && o.mode != "niching")
      throw bench::usage_error("unknown mode '" + o.mode +
                               "' (paper, schedules, speed, cartpole, throughput, distributed or niching)");
    for (; a < argc; ++a) {
      const std::string f = argv[a];
      auto value = [&]() -> std::string {
        if (a + 1 >= argc) throw bench::usage_error(f + " needs a value");
        return argv[++a];
      };
      check_flag_belongs(f, o.mode);
      if (f == "--help" || f == "-h") {
        usage();
        return 0;
      } else if (f == "--runs") {
        o.runs = to_int(f, value());
        if (o.runs < 1) throw bench::usage_error("--runs must be >= 1 (got " + std::to_string(o.runs) + ")");
      } else if (f == "--methods") {
        o.methods = value();
        if (o.methods.empty()) throw bench::usage_error("--methods needs at least one of de,latent,cma-es,open-es,pepg (got '')");
      } else if (f == "--latent") {
        o.latent = to_int(f, value());
        if (o.latent < 1 || o.latent > 2)
          throw bench::usage_error("--latent must be 1 or 2: the paper's functions are 2-D (got " + std::to_string(o.latent) + ")");
      } else if (f == "--population") {
        o.population = to_int(f, value());
        if (o.population < 2) throw bench::usage_error("--population must be >= 2 (got " + std::to_string(o.population) + ")");
      } else if (f == "--dimension") {
        o.dimension = to_int(f, value());
        if (o.dimension < 1) throw bench::usage_error("--dimension must be >= 1 (got " + std::to_string(o.dimension) + ")");
      } else if (f == "--seed") {
        const std::string v = value();
        char* end = nullptr;
        o.seed = std::strtoull(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || v[0] == '-') throw bench::usage_error("--seed needs an unsigned integer (got '" + v + "')");
      } else if (f == "--backend") {
        const std::string v = value();
        if (v == "auto") o.backend = diffevo::backend_kind::automatic;
        else if (v == "cpu") o.backend = diffevo::backend_kind::cpu;
        else if (v == "cuda") o.backend = diffevo::backend_kind::cuda;
        else throw bench::usage_error("--backend must be auto, cpu or cuda (got '" + v + "')");
      } else if (f == "--cpu-math") {
        const std::string v = value();
        if (v == "auto") o.cpu_math = diffevo::cpu_math_kind::automatic;
        else if (v == "exact") o.cpu_math = diffevo::cpu_math_kind::exact;
        else if (v == "fast") o.cpu_math = diffevo::cpu_math_kind::fast;
        else throw bench::usage_error("--cpu-math must be auto, exact or fast (got '" + v + "')");
      } else if (f == "--json") {
        o.json = value();
        if (o.json.empty()) throw bench::usage_error("--json needs a path (got '')");
      } else if (f == "--temperature") {
        const std::string v = value();
        char* end = nullptr;
        o.temperature = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !(o.temperature > 0) || !std::isfinite(o.temperature))
          throw bench::usage_error("--temperature needs a positive number (got '" + v + "')");
      } else if (f == "--net") {
        o.net = value();
        if (o.net != "plain" && o.net != "latent" && o.net != "large")
          throw bench::usage_error("--net must be plain, latent or large (got '" + o.net + "')");
      } else if (f == "--workload") {
        o.workload = value();
        if (o.workload != "cartpole" && o.workload != "synthetic")
          throw bench::usage_error("--workload must be cartpole or synthetic (got '" + o.workload + "')");
      } else if (f == "--update") {
        o.update = value();
        if (o.update != "automatic" && o.update != "replicated" && o.update != "sharded")
          throw bench::usage_error("--update must be automatic, replicated or sharded (got '" + o.update + "')");
      } else if (f == "--exchange") {
        o.exchange = value();
        if (o.exchange != "automatic" && o.exchange != "host" && o.exchange != "device")
          throw bench::usage_error("--exchange must be automatic, host or device (got '" + o.exchange + "')");
      } else if (f == "--problems") {
        o.problems = value();
      } else if (f == "--raw-obs") {
        o.raw_obs = true;
      } else if (f == "--fixed-start") {
        o.fixed_start = true;
      } else if (f == "--quiet") {
        o.quiet = true;
      } else {
        throw bench::usage_error("unknown flag " + f);
      }
    }
    // Where the JSON goes is checked now, not after the whole experiment.
    if (o.json.empty()) o.json = "diffevo-bench-" + o.mode + ".json";
    bench::check_writable(o.json);
  } catch (const bench::usage_error& e) {
    std::fprintf(stderr, "error: %s (see --help)\n", e.what());
    return 2;
  }
  try {
    if (o.mode == "cartpole") return bench::run_cartpole(o);
    if (o.mode == "throughput") return bench::run_throughput(o);
    if (o.mode == "distributed") return bench::run_distributed(o);
    if (o.mode == "schedules") return bench::run_schedules(o);
    if (o.mode == "niching") return bench::run_niching(o);
    if (o.mode == "speed") return bench::run_speed(o);
    return bench::run_paper(o);
  } catch (const bench::usage_error& e) {
    std::fprintf(stderr, "error: %s (see --help)\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
