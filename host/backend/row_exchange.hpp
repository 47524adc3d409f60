#pragma once
// The one seam between the core and a multi-process driver (the MPI component, mpi/): how an optimizer
// splits its update by rows between processes and exchanges the rows it computed. The core knows
// nothing of MPI; mpi/ implements row_exchange and attaches it with set_row_exchange().
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>

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
  /// The processes taking part, this one's index among them, and process p's rows [first_of(p),
  /// first_of(p) + count_of(p)): what a backend that moves rows between devices itself needs.
  virtual int processes() const = 0;
  virtual int index() const = 0;
  virtual int first_of(int p) const = 0;
  virtual int count_of(int p) const = 0;
  /// True when the backend moves device rows directly between the processes' devices (the cuda
  /// backend's NCCL group, cuda/exchange/) instead of through host memory and allgather_rows(). The
  /// driver sets it the same on every process, and only where device_exchange_available() holds.
  virtual bool on_device() const { return false; }
  /// Collective on the host: process 0's first `bytes` bytes of `data` are copied to every process
  /// (how a device group is set up: NCCL's unique id). Throws if the broadcast fails.
  virtual void broadcast_from_first(void* data, std::size_t bytes) = 0;

  // While a process waits on its device for the others (a collective between devices that every
  // process queued), a process whose part failed cannot reach them through an agreement: the others
  // are not in one. It gives up instead, and they see it while they wait, abort, and meet it in the
  // agreement that follows, which then has its error.
  /// Tells every other process that this one gave up waiting (local, returns at once).
  virtual void give_up() {}
  /// True when another process has given up (local, returns at once).
  virtual bool peer_gave_up() { return false; }
  /// Collective, on every process after an agreed failure of a step in which processes may have given
  /// up: consumes the notices, so that none is seen by a later wait.
  virtual void clear_give_ups() {}
  /// `data` holds N rows of `row_bytes` bytes, this process's rows filled in. On return every row holds
  /// the values of the process that owns it. Collective: every process calls it with the same
  /// row_bytes. Throws (leaving `data`'s other rows unspecified) if the exchange fails.
  virtual void allgather_rows(void* data, std::size_t row_bytes) = 0;
  /// Collective, before an exchange: returns when no process passes an error; otherwise every
  /// process throws (the same error), so none waits in an exchange that another has left. The update
  /// calls it after its local work (whose failure leaves the state unchanged) and before exchanging.
  virtual void agree(std::exception_ptr local) = 0;

  /// Runs `work` (this process's part, which may fail here only), then agree()s on its outcome.
  template <class Work>
  void agree_on(Work&& work) {
    std::exception_ptr local;
    try {
      work();
    } catch (...) {
      local = std::current_exception();
    }
    agree(local);
  }
};

/// Attaches `ex` to `opt`: its later tells compute only ex's rows and exchange the new x (the cuda
/// backend through host memory or, when ex.on_device(), between devices; its fused D <= 8 kernel too); x0 is exchanged only by
/// complete_rows(). A null `ex` detaches it (the whole update again).
void set_row_exchange(optimizer& opt, std::shared_ptr<row_exchange> ex);

/// Completes what a sharded update left split (its x0) by exchanging rows; collective. Call it on every
/// process before x0() or save(). A no-op without a row exchange or when nothing is split.
void complete_rows(optimizer& opt);

/// True when `opt`'s backend can exchange rows between devices itself (the cuda backend built with
/// NCCL), so that a row_exchange may say on_device(). Local.
bool device_exchange_available(const optimizer& opt);

/// The device `opt`'s population lives on (its UUID in hex), or "" on the cpu backend: how the
/// driver tells whether two processes share a device (NCCL needs one device per process). Local.
std::string device_identity(optimizer& opt);

/// Makes `opt` compute as config::cpu_math = exact from its next update on, and its cfg() say so
/// (the MPI component's choice for cpu_math = automatic: the same bits at any rank count). Local.
void use_exact_cpu_math(optimizer& opt);

/// The hash of `opt`'s current population in parameter space (diffevo/detail/hash.hpp), computed by its
/// backend where the population lives. Local (not collective).
std::uint64_t params_hash(optimizer& opt);

}  // namespace diffevo::detail
