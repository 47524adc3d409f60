#pragma once
// The sharded update's exchange over MPI (host/backend/row_exchange.hpp is the core's side): each rank
// computed its rows; MPI_Allgatherv in place fills in everyone else's. With `device` set, the cuda
// backend moves its device rows itself (NCCL) and uses this only for its setup and agreements.
#include <mpi.h>

#include <climits>
#include <exception>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "diffevo/error.hpp"
#include "host/backend/row_exchange.hpp"
#include "host/util/message.hpp"
#include "mpi/comm.hpp"

namespace diffevo::mpi::detail {

class mpi_row_exchange final : public diffevo::detail::row_exchange {
 public:
  /// `row_sizes`: the row sizes in bytes that will be exchanged, whose types are made now (local work,
  /// so that the exchanges themselves allocate nothing).
  /// `counts`, `firsts`: each rank's rows (row_layout()), owned by the caller, who outlives the exchange.
  mpi_row_exchange(channel& ch, const std::vector<int>& counts, const std::vector<int>& firsts,
                   std::initializer_list<std::size_t> row_sizes)
      : ch_(ch), counts_(counts), firsts_(firsts) {
    for (std::size_t b : row_sizes) row_type(b);
  }
  ~mpi_row_exchange() override {
    int finalized = 1;
    if (MPI_Finalized(&finalized) != MPI_SUCCESS || finalized) return;
    for (auto& t : types_) MPI_Type_free(&t.second);
  }
  mpi_row_exchange(const mpi_row_exchange&) = delete;
  mpi_row_exchange& operator=(const mpi_row_exchange&) = delete;

  int first() const override { return firsts_[static_cast<std::size_t>(ch_.rank())]; }
  int last() const override { return first() + counts_[static_cast<std::size_t>(ch_.rank())]; }
  int processes() const override { return ch_.size(); }
  int index() const override { return ch_.rank(); }
  int first_of(int p) const override { return firsts_.at(static_cast<std::size_t>(p)); }
  int count_of(int p) const override { return counts_.at(static_cast<std::size_t>(p)); }
  bool on_device() const override { return device; }

  void broadcast_from_first(void* data, std::size_t bytes) override {
    if (bytes > static_cast<std::size_t>(INT_MAX))
      throw invalid_argument(diffevo::detail::msg("diffevo::mpi: a broadcast of ", bytes, " bytes is too large"));
    ch_.run("MPI_Bcast", [&] { return MPI_Bcast(data, static_cast<int>(bytes), MPI_BYTE, 0, ch_.comm()); });
  }

  void allgather_rows(void* data, std::size_t row_bytes) override {
    const MPI_Datatype row = row_type(row_bytes);
    ch_.run("MPI_Allgatherv", [&] {
      return MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, counts_.data(), firsts_.data(), row, ch_.comm());
    });
  }

  void agree(std::exception_ptr local) override {
    ++agrees;
    try {
      ch_.agree(local, where);
    } catch (...) {
      agreed = std::current_exception();  // every rank holds it now; the update changed nothing
      throw;
    }
  }

  void give_up() override {
    if (gave_up_) return;
    gave_up_ = true;
    for (int r = 0; r < ch_.size(); ++r) {
      if (r == ch_.rank()) continue;
      sends_.emplace_back();
      ch_.run("MPI_Isend", [&] { return MPI_Isend(&k_notice, 1, MPI_INT, r, k_give_up_tag, ch_.comm(), &sends_.back()); });
    }
  }

  bool peer_gave_up() override {
    int flag = 0;
    ch_.run("MPI_Iprobe",
            [&] { return MPI_Iprobe(MPI_ANY_SOURCE, k_give_up_tag, ch_.comm(), &flag, MPI_STATUS_IGNORE); });
    return flag != 0;
  }

  void clear_give_ups() override {
    int mine = gave_up_ ? 1 : 0;
    std::vector<int> all(static_cast<std::size_t>(ch_.size()));
    ch_.run("MPI_Allgather",
            [&] { return MPI_Allgather(&mine, 1, MPI_INT, all.data(), 1, MPI_INT, ch_.comm()); });
    for (int r = 0; r < ch_.size(); ++r) {
      if (r == ch_.rank() || !all[static_cast<std::size_t>(r)]) continue;
      int notice = 0;
      ch_.run("MPI_Recv",
              [&] { return MPI_Recv(&notice, 1, MPI_INT, r, k_give_up_tag, ch_.comm(), MPI_STATUS_IGNORE); });
    }
    ch_.run("MPI_Waitall", [&] {
      return MPI_Waitall(static_cast<int>(sends_.size()), sends_.data(), MPI_STATUSES_IGNORE);
    });
    sends_.clear();
    gave_up_ = false;
  }

  bool device = false;            ///< rows move between devices (options::exchange resolved to device)
  std::string where;              ///< names the call in an agreed error ("generation 4")
  std::exception_ptr agreed;      ///< the last error agree() threw (on every rank alike)
  int agrees = 0;                 ///< agreements entered since the caller reset it

 private:
  /// One committed type per row size, so each row is one element and the counts stay small whatever
  /// N x D is; kept for the exchange's lifetime.
  MPI_Datatype row_type(std::size_t row_bytes) {
    const auto it = types_.find(row_bytes);
    if (it != types_.end()) return it->second;
    if (row_bytes > static_cast<std::size_t>(INT_MAX))
      throw invalid_argument(diffevo::detail::msg("diffevo::mpi: a row of ", row_bytes,
                                                  " bytes is too large for the sharded update's exchange"));
    MPI_Datatype t = MPI_DATATYPE_NULL;
    check(MPI_Type_contiguous(static_cast<int>(row_bytes), MPI_BYTE, &t), "MPI_Type_contiguous");
    const int rc = MPI_Type_commit(&t);
    if (rc != MPI_SUCCESS) {
      MPI_Type_free(&t);
      check(rc, "MPI_Type_commit");
    }
    types_[row_bytes] = t;
    return t;
  }

  /// The give-up notices' tag on the channel's communicator (its only point-to-point messages).
  static constexpr int k_give_up_tag = 7301;
  static constexpr int k_notice = 1;
  bool gave_up_ = false;
  std::vector<MPI_Request> sends_;  // give_up()'s, completed by clear_give_ups()

  channel& ch_;
  const std::vector<int>& counts_;
  const std::vector<int>& firsts_;
  std::map<std::size_t, MPI_Datatype> types_;
};

}  // namespace diffevo::mpi::detail
