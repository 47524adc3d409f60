#pragma once
// This process's place in MPI_COMM_WORLD, and the single-process twin a distributed run is compared
// with, for the tests run under mpiexec (tests/mpi).
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstring>
#include <vector>

#include "diffevo/mpi.hpp"
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

/// True when a and b hold the same floats, bit for bit.
inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

/// Runs `c` across the ranks with the sharded update next to its single-process twin, both evaluated
/// by row_fitness: x0 (its rows exchanged on request) must match the twin's bit for bit after every
/// generation (the run stops at the first mismatch), and the final population, best point and
/// generation at the end.
template <class RowFitness>
void expect_sharded_matches_twin(const config& c, RowFitness row_fitness,
                                 mpi::exchange_path path = mpi::exchange_path::automatic) {
  optimizer one(c);
  mpi::options o;
  o.update = mpi::update_mode::sharded;
  o.exchange = path;
  mpi::optimizer many(c, MPI_COMM_WORLD, o);
  const auto [b, e] = many.local_rows();
  std::vector<float> f(static_cast<std::size_t>(e - b));
  while (!many.done()) {
    evaluate_rows(many.ask_local(), row_fitness, f.data());
    many.tell_local(f.data(), f.size());
    tell_twin(one, row_fitness);
    const bool same = same_bits(one.x0(), many.x0());
    EXPECT_TRUE(same) << "x0 differs at generation " << many.generation();
    if (!same) return;
  }
  const population_view a = one.ask(), m = many.ask();
  EXPECT_EQ(std::memcmp(a.data, m.data, a.size() * sizeof(float)), 0);
  EXPECT_TRUE(same_bits(one.best(), many.best()));
  EXPECT_EQ(one.generation(), many.generation());
}

}  // namespace diffevo::test
