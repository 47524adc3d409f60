#pragma once
// The MPI component's plumbing (mpi/): checked MPI calls timed into the run's communication seconds,
// the agreement by which one rank's failure becomes every rank's exception, and the row split.
#include <mpi.h>

#include <cstddef>
#include <exception>
#include <string>
#include <vector>

#include "diffevo/mpi.hpp"

namespace diffevo::mpi::detail {

/// Throws mpi_error naming `call` and MPI's reason unless `rc` is MPI_SUCCESS. An MPI error is this
/// rank's alone (the others are not told): the job should end (MPI_Abort), as MPI's default would.
void check(int rc, const char* call);

/// A duplicated communicator that returns errors (never aborts) and times the calls made through it.
class channel {
 public:
  /// Duplicates `comm` (collective). @throws mpi_error.
  explicit channel(MPI_Comm comm);
  /// Frees the duplicate unless MPI is finalized.
  ~channel();
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;

  MPI_Comm comm() const noexcept { return comm_; }
  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  double seconds() const noexcept { return seconds_; }

  /// Runs `call` (an MPI call returning its code), adding its wall time to seconds(). @throws mpi_error.
  template <class F>
  void run(const char* name, F&& call) {
    const double t0 = MPI_Wtime();
    const int rc = call();
    seconds_ += MPI_Wtime() - t0;
    check(rc, name);
  }

  /// Collective: returns when no rank passes an error. Otherwise every rank throws the error of the
  /// lowest failing rank, as the same diffevo type (else rank_failure), its message prefixed by
  /// "rank r, <where>: " ("rank r: " for an empty `where`); on that rank with `local` nested.
  void agree(std::exception_ptr local, const std::string& where);
  /// The second half of agree(), for callers that found the lowest failing rank `failing` in a
  /// reduction of their own (folded with other values): every rank throws that rank's error.
  [[noreturn]] void raise_from(int failing, std::exception_ptr local, const std::string& where);

  /// Broadcasts a string from `root` (collective).
  std::string broadcast(const std::string& s, int root);

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  double seconds_ = 0;
};

/// Rank r's first row when n rows are split into p contiguous blocks whose sizes differ by at most one.
inline int first_row(int n, int p, int r) {
  return static_cast<int>(static_cast<long long>(n) * r / p);
}

/// Each rank's row count and first row (for the all-gathers).
void row_layout(int n, int p, std::vector<int>& counts, std::vector<int>& firsts);

/// Collective: throws invalid_argument on every rank naming the first of `fields` (name, exact value
/// as text) whose value differs from rank 0's, with both values.
void require_same(channel& ch, const std::vector<std::pair<std::string, std::string>>& fields, const char* what);

/// The fields of a config and options as exact text (cpu_threads excepted: the bits do not depend on it).
std::vector<std::pair<std::string, std::string>> describe(const config& cfg, const options& opts);

}  // namespace diffevo::mpi::detail
