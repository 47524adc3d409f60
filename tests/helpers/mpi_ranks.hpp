#pragma once
// This process's place in MPI_COMM_WORLD, and the single-process twin a distributed run is compared
// with, for the tests run under mpiexec (tests/mpi).
#include <mpi.h>

#include <vector>

#include "diffevo/optimizer.hpp"

namespace diffevo::test {

inline int rank_of() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

inline int size_of() {
  int p = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &p);
  return p;
}

/// Every rank's flag, and-ed: a verdict that must not differ between ranks.
inline bool all_ranks(bool ok) {
  int v = ok ? 1 : 0, all = 0;
  MPI_Allreduce(&v, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return all == 1;
}

/// out[i] = row_fitness(rows.row(i), rows.cols) for every row of `rows`.
template <class RowFitness>
void evaluate_rows(population_view rows, RowFitness row_fitness, float* out) {
  for (int i = 0; i < rows.rows; ++i) out[i] = row_fitness(rows.row(i), rows.cols);
}

/// One generation of the single-process twin: ask, evaluate every row, tell.
template <class RowFitness>
void tell_twin(optimizer& one, RowFitness row_fitness) {
  const population_view p = one.ask();
  std::vector<float> f(static_cast<std::size_t>(p.rows));
  evaluate_rows(p, row_fitness, f.data());
  one.tell(f);
}

}  // namespace diffevo::test
