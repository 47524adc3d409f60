#pragma once
// The one seam between the core and a multi-process driver (the MPI component, mpi/): how an optimizer
// splits its update by rows between processes and exchanges the rows it computed. The core knows
// nothing of MPI; mpi/ implements row_exchange and attaches it with set_row_exchange().
#include <cstddef>
#include <memory>

#include "diffevo/optimizer.hpp"

namespace diffevo::detail {

/// The rows of a sharded update: each process computes rows [first(), last()) of the next population
/// from the whole current one (replicated in every process), then allgather_rows() fills in the rest.
class row_exchange {
 public:
  virtual ~row_exchange() = default;
  /// This process's rows [first, last) of the N (possibly empty).
  virtual int first() const = 0;
  virtual int last() const = 0;
  /// `data` holds N rows of `row_bytes` bytes, this process's rows filled in. On return every row holds
  /// the values of the process that owns it. Collective: every process calls it with the same
  /// row_bytes. Throws (leaving `data`'s other rows unspecified) if the exchange fails.
  virtual void allgather_rows(void* data, std::size_t row_bytes) = 0;
};

/// Attaches `ex` to `opt`: its later tells compute only ex's rows and exchange them (cpu backend).
/// A null `ex` detaches it (the whole update again).
/// @throws logic_error if `ex` is not null and `opt` is not on the cpu backend.
void set_row_exchange(optimizer& opt, std::shared_ptr<row_exchange> ex);

}  // namespace diffevo::detail
