// A run that loses a rank, and its resumption at other rank counts (tests/mpi/test_resume.py):
//   resume_driver run CKPT KILL_AT   saves every generation; at generation KILL_AT the last rank kills
//                                     itself (SIGKILL), which ends the job (MPI's behaviour)
//   resume_driver resume CKPT OUT    loads CKPT at this rank count, finishes, rank 0 writes the final
//                                     population's bytes to OUT
//   resume_driver single OUT         the uninterrupted run in one process, its bytes to OUT
#include <mpi.h>
#include <signal.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "diffevo/mpi.hpp"
#include "diffevo/optimize.hpp"

namespace {

float row_fitness(const float* x, int d) {
  float s = 0;
  for (int c = 0; c < d; ++c) s += (x[c] - 0.25f) * (x[c] - 0.25f) - 0.2f * std::cos(4.0f * x[c]);
  return -s;
}

diffevo::config make_config() {
  diffevo::config c;
  c.population = 300;  // >= k_shard_min_population: the update is sharded at 2 and 3 ranks
  c.dimension = 20;
  c.latent_dim = 4;
  c.steps = 15;
  c.seed = 2026;
  c.backend = diffevo::backend_kind::cpu;
  c.cpu_threads = 1;
  c.cpu_math = diffevo::cpu_math_kind::exact;  // as automatic under MPI, for the single-process run too
  return c;
}

void write(const std::string& path, const std::vector<float>& v) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(v.data(), sizeof(float), v.size(), f) != v.size() || std::fclose(f) != 0) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

const diffevo::mpi::local_fitness k_fitness = [](diffevo::population_view rows, int, float* f) {
  for (int i = 0; i < rows.rows; ++i) f[i] = row_fitness(rows.row(i), rows.cols);
};

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::string mode = argc > 1 ? argv[1] : "";
  const diffevo::config cfg = make_config();
  try {
    if (mode == "run" && argc == 4) {
      const int kill_at = std::atoi(argv[3]);
      diffevo::mpi::optimizer opt(cfg, MPI_COMM_WORLD);
      const auto [b, e] = opt.local_rows();
      std::vector<float> f(static_cast<std::size_t>(e - b));
      while (!opt.done()) {
        k_fitness(opt.ask_local(), b, f.data());
        opt.tell_local(f.data(), f.size());
        opt.save(argv[2]);
        if (opt.generation() == kill_at && rank == size - 1) raise(SIGKILL);
      }
      std::fprintf(stderr, "the run finished without losing a rank\n");
      MPI_Finalize();
      return 3;
    }
    if (mode == "resume" && argc == 4) {
      diffevo::mpi::optimizer opt = diffevo::mpi::optimizer::load(argv[2], MPI_COMM_WORLD, &cfg);
      if (rank == 0) std::printf("resumed at generation %d on %d ranks\n", opt.generation(), size);
      const diffevo::optimize_result r = diffevo::mpi::run(opt, k_fitness);
      if (rank == 0) write(argv[3], r.population);
      MPI_Finalize();
      return 0;
    }
    if (mode == "single" && argc == 3) {
      const diffevo::optimize_result r = diffevo::optimize(cfg, [](diffevo::population_view p, float* f) {
        k_fitness(p, 0, f);
      });
      if (rank == 0) write(argv[2], r.population);
      MPI_Finalize();
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: %s\n", rank, e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  std::fprintf(stderr, "usage: resume_driver run CKPT KILL_AT | resume CKPT OUT | single OUT\n");
  MPI_Finalize();
  return 2;
}
