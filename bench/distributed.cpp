// Mode `distributed` (run under mpiexec): strong scaling of a generation across ranks. In one job, rank 0
// first runs the workload alone (one rank: the P = 1 time, measured side by side with the P-rank time,
// since this machine's timings drift), then every rank runs it alone at once (the P = 1 time when every
// core or device is busy: the machine's shared memory bandwidth and caches, apart from MPI), then every
// rank runs it together; the phases alternate --runs times and the medians are compared. Also times
// MPI_Allgather from 4 B to 64 MB per rank, the latency and bandwidth that bench/NOTES.md's model for
// large rank counts is built from.
//
// Backends: cpu (one thread per rank, so P ranks use P cores) or cuda (one device per rank, picked by
// the node-local rank modulo the node's device count; cart-pole rows are evaluated on the device where
// they live, ask_local_device / evaluate_device / tell_local_device, and a generation is timed to the
// end of its device work). --exchange says how a sharded update's rows move on cuda.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common.hpp"
#include "diffevo/mpi.hpp"
#include "diffevo/rollout.hpp"
#include "gpu.hpp"

namespace bench {
namespace {

/// One rank waits for the others without spinning on a core (rank 0 runs the one-rank phase meanwhile).
void quiet_barrier(MPI_Comm comm) {
  MPI_Request r;
  MPI_Ibarrier(comm, &r);
  for (int done = 0;;) {
    MPI_Test(&r, &done, MPI_STATUS_IGNORE);
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? NAN : v[v.size() / 2];
}

/// The synthetic fitness: a fixed 1,000,000 dependent multiply-adds per individual, whatever its values.
float synthetic_fitness(const float* x, int d) {
  double acc = 0;
  for (int k = 0; k < 1000000 / d; ++k)
    for (int c = 0; c < d; ++c) acc = acc * 0.999999 + static_cast<double>(x[c]);
  return static_cast<float>(-std::fabs(acc) * 1e-6);
}

struct workload {
  std::string name;
  diffevo::config cfg;
  bool cartpole = false;
};

struct timing {
  double generation = 0, evaluation = 0, communication = 0, update = 0;
  diffevo::mpi::options resolved;  ///< the optimizer's options, automatic resolved
};

/// Times `generations` generations of `w` on `comm`; each rank's times, per generation (medians). On
/// the cuda backend the evaluation and the generation are timed to the end of their device work.
timing time_generations(const workload& w, MPI_Comm comm, const diffevo::mpi::options& opts, int generations) {
  const bool cuda = w.cfg.backend == diffevo::backend_kind::cuda;
  diffevo::rollout_config rc;
  rc.layers = {4, 128, 128, 2};
  rc.backend = w.cfg.backend;
  rc.cpu_threads = 1;
  diffevo::cartpole_evaluator ev(rc);
  diffevo::mpi::optimizer opt(w.cfg, comm, opts);
  const auto [b, e] = opt.local_rows();
  const std::size_t n = static_cast<std::size_t>(e - b);
  std::vector<float> f(n);
  std::unique_ptr<gpu::device_floats> d_f;
  if (cuda && w.cartpole) d_f = std::make_unique<gpu::device_floats>(n);
  std::vector<double> gen, eval, comm_s, upd;
  for (int g = 0; g < generations && !opt.done(); ++g) {
    MPI_Barrier(comm);
    const double t0 = now_seconds(), c0 = opt.communication_seconds();
    const auto gen_index = static_cast<std::uint64_t>(g), first = static_cast<std::uint64_t>(b);
    if (cuda && w.cartpole) {
      const diffevo::cuda_stream stream = opt.local().stream();
      ev.evaluate_device(opt.ask_local_device(), d_f->data(), gen_index, stream, first);
      gpu::synchronize(stream);
    } else {
      const diffevo::population_view rows = opt.ask_local();
      if (w.cartpole)
        ev.evaluate(rows, f.data(), gen_index, first);
      else
        for (int i = 0; i < rows.rows; ++i) f[static_cast<std::size_t>(i)] = synthetic_fitness(rows.row(i), rows.cols);
    }
    const double t1 = now_seconds();
    if (cuda && w.cartpole)
      opt.tell_local_device(d_f->data(), n);
    else
      opt.tell_local(f.data(), n);
    if (cuda) gpu::synchronize(opt.local().stream());  // the update is enqueued, not waited for
    const double t2 = now_seconds(), c = opt.communication_seconds() - c0;
    gen.push_back(t2 - t0);
    eval.push_back(t1 - t0);
    comm_s.push_back(c);
    upd.push_back(t2 - t1 - c);
  }
  return timing{median(gen), median(eval), median(comm_s), median(upd), opt.opts()};
}

/// The largest value of `v` over the ranks (a generation is as slow as its slowest rank).
double max_over(double v, MPI_Comm comm) {
  double m = v;
  MPI_Allreduce(&v, &m, 1, MPI_DOUBLE, MPI_MAX, comm);
  return m;
}

struct allgather_point {
  double bytes_per_rank, seconds;
};

std::vector<allgather_point> time_allgather(MPI_Comm comm, int size) {
  std::vector<allgather_point> out;
  for (std::size_t bytes = 4; bytes <= (std::size_t(64) << 20); bytes *= 4) {
    std::vector<char> mine(bytes, 1), all(bytes * static_cast<std::size_t>(size));
    const int reps = bytes < (1 << 20) ? 50 : 5;
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
      MPI_Barrier(comm);
      const double t0 = MPI_Wtime();
      MPI_Allgather(mine.data(), static_cast<int>(bytes), MPI_CHAR, all.data(), static_cast<int>(bytes), MPI_CHAR, comm);
      t.push_back(max_over(MPI_Wtime() - t0, comm));
    }
    out.push_back({static_cast<double>(bytes), median(t)});
  }
  return out;
}

}  // namespace

int run_distributed(const options& o) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) MPI_Init(nullptr, nullptr);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const options quiet_o = [&] {
    options q = o;
    q.quiet = o.quiet || rank != 0;
    return q;
  }();
  diffevo::mpi::options mo;
  mo.update = o.update == "replicated" ? diffevo::mpi::update_mode::replicated
              : o.update == "sharded"  ? diffevo::mpi::update_mode::sharded
                                       : diffevo::mpi::update_mode::automatic;
  mo.exchange = o.exchange == "host"     ? diffevo::mpi::exchange_path::host
                : o.exchange == "device" ? diffevo::mpi::exchange_path::device
                                         : diffevo::mpi::exchange_path::automatic;
  const int runs = o.runs > 0 ? o.runs : 3, generations = 2;

  // The backend, agreed by every rank: cuda where asked for (or, automatic, where every rank has a
  // device), each rank on device node-local rank modulo the node's devices; a rank that cannot is
  // named on every rank before any timed work.
  // Every rank ok, and else the lowest rank that is not (one reduction: size when none).
  auto agree = [&](bool ok) {
    int first_bad = ok ? size : rank, lowest = size;
    MPI_Allreduce(&first_bad, &lowest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return std::make_pair(lowest == size, lowest);
  };
  const bool wants_cuda = o.backend != diffevo::backend_kind::cpu;
  const auto [every_rank_has_device, rank_without] = agree(!wants_cuda || diffevo::cuda_device_available());
  if (wants_cuda && !every_rank_has_device && o.backend == diffevo::backend_kind::cuda) {
    const std::string why = rank == rank_without ? ": " + diffevo::cuda_unavailable_reason() : "";
    MPI_Finalize();
    throw std::runtime_error("--backend cuda: rank " + std::to_string(rank_without) + " has no usable CUDA device" + why);
  }
  const diffevo::backend_kind backend =
      wants_cuda && every_rank_has_device ? diffevo::backend_kind::cuda : diffevo::backend_kind::cpu;
  std::string device;
  int ordinal = -1;
  if (backend == diffevo::backend_kind::cuda) {
    const int local = diffevo::mpi::node_local_rank(MPI_COMM_WORLD), count = gpu::device_count();
    std::string error;
    try {
      ordinal = local % std::max(count, 1);
      device = gpu::use_device(ordinal);
    } catch (const std::exception& e) {
      error = e.what();
    }
    const auto [picked, rank_failed] = agree(error.empty());
    if (!picked) {
      MPI_Finalize();
      throw std::runtime_error("picking the device of rank " + std::to_string(rank_failed) +
                               (error.empty() ? std::string() : ": " + error));
    }
  }
  const std::string backend_note =
      backend == diffevo::backend_kind::cuda
          ? "cuda backend, one device per rank (rank 0: " + device + ", device " + std::to_string(ordinal) + ")"
          : "cpu backend, one thread per rank" +
                (wants_cuda && rank_without != 0 ? " (rank " + std::to_string(rank_without) + " has no CUDA device)"
                                                 : device_note());

  std::vector<workload> work;
  const int n = o.population > 0 ? o.population : 4096;
  if (o.workload.empty() || o.workload == "cartpole") {
    workload w{"cartpole 4-128-128-2 (latent 2)", {}, true};
    w.cfg.population = n;
    w.cfg.dimension = 17410;
    w.cfg.latent_dim = 2;
    work.push_back(w);
  }
  if (o.workload.empty() || o.workload == "synthetic") {
    workload w{"synthetic 1e6 multiply-adds per individual (D = 64)", {}, false};
    w.cfg.population = n;
    w.cfg.dimension = 64;
    work.push_back(w);
  }
  for (workload& w : work) {
    w.cfg.steps = 25;
    w.cfg.seed = o.seed;
    w.cfg.backend = backend;
    w.cfg.cpu_threads = 1;  // cpu: one thread per rank, so P ranks use P cores
  }

  json j;
  j.raw("{").key("mode").str("distributed").raw(", ").key("ranks").num(size).raw(", ");
  j.key("backend").str(diffevo::to_string(backend)).raw(", ").key("device_rank0").str(device).raw(", ");
  j.key("threads_per_rank").num(1).raw(", ").key("runs").num(runs).raw(", ").key("generations_timed").num(generations);
  j.raw(", ").key("workloads").raw("[");
  if (rank == 0)
    std::printf("distributed: %d rank(s), %s, %d generations x %d runs per phase\n\n"
                "| workload | N | update | exchange | 1 rank s/gen | 1 rank s/gen, all ranks busy | %d ranks s/gen | speedup | "
                "efficiency | efficiency vs busy | comm s/gen | comm %% | eval s | update s |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
                size, backend_note.c_str(), generations, runs, size);
  for (std::size_t wi = 0; wi < work.size(); ++wi) {
    const workload& w = work[wi];
    std::vector<double> one, busy, many, comm, eval, upd;
    diffevo::mpi::options resolved = mo;
    for (int r = 0; r < runs; ++r) {
      progress(quiet_o, "distributed: %s, run %d of %d: 1 rank\n", w.name.c_str(), r + 1, runs);
      if (rank == 0) one.push_back(time_generations(w, MPI_COMM_SELF, mo, generations).generation);
      quiet_barrier(MPI_COMM_WORLD);
      // Every rank alone at once (no communication): what sharing the machine's memory and caches
      // costs by itself, apart from anything MPI does.
      progress(quiet_o, "distributed: %s, run %d of %d: %d ranks each alone\n", w.name.c_str(), r + 1, runs, size);
      busy.push_back(max_over(time_generations(w, MPI_COMM_SELF, mo, generations).generation, MPI_COMM_WORLD));
      progress(quiet_o, "distributed: %s, run %d of %d: %d ranks\n", w.name.c_str(), r + 1, runs, size);
      const timing t = time_generations(w, MPI_COMM_WORLD, mo, generations);
      resolved = t.resolved;
      many.push_back(max_over(t.generation, MPI_COMM_WORLD));
      comm.push_back(max_over(t.communication, MPI_COMM_WORLD));
      eval.push_back(max_over(t.evaluation, MPI_COMM_WORLD));
      upd.push_back(max_over(t.update, MPI_COMM_WORLD));
    }
    const std::string mode_name = diffevo::mpi::to_string(resolved.update);
    // Rows move only in a sharded update, and on the cpu backend always with MPI.
    const std::string exchange_name = resolved.update != diffevo::mpi::update_mode::sharded ? "-"
                                      : backend == diffevo::backend_kind::cpu            ? "host (MPI)"
                                                                   : diffevo::mpi::to_string(resolved.exchange);
    const double t1 = median(one), tb = median(busy), tp = median(many), c = median(comm);
    if (rank == 0) {
      std::printf("| %s | %d | %s | %s | %.3f | %.3f | %.3f | %.2f | %.1f %% | %.1f %% | %.4f | %.2f | %.3f | %.3f |\n",
                  w.name.c_str(), w.cfg.population, mode_name.c_str(), exchange_name.c_str(), t1, tb, tp, t1 / tp, 100.0 * t1 / (size * tp),
                  100.0 * tb / (size * tp), c, 100.0 * c / tp, median(eval), median(upd));
      std::fflush(stdout);
    }
    j.raw(wi ? ", {" : "{").key("workload").str(w.name).raw(", ").key("population").num(w.cfg.population);
    j.raw(", ").key("dimension").num(w.cfg.dimension).raw(", ").key("update").str(mode_name);
    j.raw(", ").key("exchange").str(exchange_name);
    j.raw(", ").key("one_rank_seconds_per_generation").num(t1).raw(", ").key("ranks_seconds_per_generation").num(tp);
    j.raw(", ").key("one_rank_all_cores_busy_seconds_per_generation").num(tb);
    j.raw(", ").key("efficiency_vs_busy").num(tb / (size * tp));
    j.raw(", ").key("efficiency").num(t1 / (size * tp)).raw(", ").key("communication_seconds_per_generation").num(c);
    j.raw(", ").key("evaluation_seconds").num(median(eval)).raw(", ").key("update_seconds").num(median(upd));
    j.raw(", ").key("one_rank_runs").raw("[");
    for (std::size_t i = 0; i < one.size(); ++i) j.raw(i ? ", " : "").num(one[i]);
    j.raw("], ").key("ranks_runs").raw("[");
    for (std::size_t i = 0; i < many.size(); ++i) j.raw(i ? ", " : "").num(many[i]);
    j.raw("]}");
  }
  j.raw("], ").key("allgather").raw("[");
  progress(quiet_o, "distributed: timing MPI_Allgather from 4 B to 64 MB per rank\n");
  const std::vector<allgather_point> ag = time_allgather(MPI_COMM_WORLD, size);
  if (rank == 0) std::printf("\nMPI_Allgather on %d ranks (median, slowest rank):\n| bytes per rank | seconds | GB/s gathered |\n|---|---|---|\n", size);
  for (std::size_t i = 0; i < ag.size(); ++i) {
    const double gbs = ag[i].bytes_per_rank * size / ag[i].seconds / 1e9;
    if (rank == 0) std::printf("| %.0f | %.3g | %.3g |\n", ag[i].bytes_per_rank, ag[i].seconds, gbs);
    j.raw(i ? ", {" : "{").key("bytes_per_rank").num(ag[i].bytes_per_rank).raw(", ").key("seconds").num(ag[i].seconds).raw("}");
  }
  j.raw("]}\n");
  if (rank == 0) {
    j.save(o.json);
    std::printf("\nwrote %s\n", o.json.c_str());
  }
  MPI_Finalize();
  return 0;
}

}  // namespace bench
