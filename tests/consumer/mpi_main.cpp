// The installed MPI component from a consumer project: a sphere minimized across the ranks of
// MPI_COMM_WORLD must equal the single-process run bit for bit. Exits non-zero otherwise. Under MPI
// cpu_math = automatic computes as exact (the same bits at any rank count), so the single-process run
// it is compared with asks for exact (in one process automatic is fast: docs/algorithm.md §9).
#include <diffevo/diffevo.hpp>
#include <diffevo/mpi.hpp>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  diffevo::config cfg;
  cfg.population = 50;
  cfg.dimension = 6;
  cfg.goal = diffevo::objective::minimize;
  cfg.backend = diffevo::backend_kind::cpu;
  cfg.cpu_math = diffevo::cpu_math_kind::exact;
  const auto sphere = [](const float* x, int d) {
    float s = 0;
    for (int c = 0; c < d; ++c) s += (x[c] - 1) * (x[c] - 1);
    return s;
  };
  const diffevo::optimize_result many =
      diffevo::mpi::optimize(cfg, MPI_COMM_WORLD, [&](diffevo::population_view rows, int, float* f) {
        for (int i = 0; i < rows.rows; ++i) f[i] = sphere(rows.row(i), rows.cols);
      });
  const diffevo::optimize_result one = diffevo::optimize(cfg, [&](diffevo::population_view p, float* f) {
    for (int i = 0; i < p.rows; ++i) f[i] = sphere(p.row(i), p.cols);
  });
  const bool same = std::memcmp(one.population.data(), many.population.data(), one.population.size() * 4) == 0;
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (rank == 0)
    std::printf("mpi consumer: %d ranks, best %g, %s the single-process run\n", size, many.best_fitness,
                same ? "bit-identical to" : "DIFFERENT from");
  MPI_Finalize();
  return same ? 0 : 1;
}
