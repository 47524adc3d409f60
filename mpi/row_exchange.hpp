#pragma once
// The sharded update's exchange over MPI (host/backend/row_exchange.hpp is the core's side): each rank
// computed its rows; MPI_Allgatherv in place fills in everyone else's.
#include <mpi.h>

#include <climits>
#include <vector>

#include "diffevo/error.hpp"
#include "host/backend/row_exchange.hpp"
#include "host/util/message.hpp"
#include "mpi/comm.hpp"

namespace diffevo::mpi::detail {

class mpi_row_exchange final : public diffevo::detail::row_exchange {
 public:
  mpi_row_exchange(channel& ch, int n) : ch_(ch) { row_layout(n, ch.size(), counts_, firsts_); }
  int first() const override { return firsts_[static_cast<std::size_t>(ch_.rank())]; }
  int last() const override { return first() + counts_[static_cast<std::size_t>(ch_.rank())]; }

  void allgather_rows(void* data, std::size_t row_bytes) override {
    if (row_bytes > static_cast<std::size_t>(INT_MAX))
      throw invalid_argument(diffevo::detail::msg("diffevo::mpi: a row of ", row_bytes,
                                                  " bytes is too large for the sharded update's exchange"));
    // One row is one element, so the counts stay small whatever N x D is.
    MPI_Datatype row = MPI_DATATYPE_NULL;
    ch_.run("MPI_Type_contiguous", [&] { return MPI_Type_contiguous(static_cast<int>(row_bytes), MPI_BYTE, &row); });
    struct release {
      MPI_Datatype* t;
      ~release() { MPI_Type_free(t); }
    } guard{&row};
    ch_.run("MPI_Type_commit", [&] { return MPI_Type_commit(&row); });
    ch_.run("MPI_Allgatherv", [&] {
      return MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, counts_.data(), firsts_.data(), row, ch_.comm());
    });
  }

 private:
  channel& ch_;
  std::vector<int> counts_, firsts_;
};

}  // namespace diffevo::mpi::detail
