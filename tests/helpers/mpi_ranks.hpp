#pragma once
// This process's place in MPI_COMM_WORLD, for the tests run under mpiexec (tests/mpi).
#include <mpi.h>

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

}  // namespace diffevo::test
