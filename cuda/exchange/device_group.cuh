#pragma once
// The sharded update's rows moved between the processes' devices with NCCL (options::exchange =
// device in the MPI component): one communicator per optimizer over the row_exchange's processes,
// and an in-place all-gather of rows as grouped broadcasts, one per owner, so the rows never visit
// host memory. Built only with NCCL (DIFFEVO_WITH_NCCL).
//
// The communicator is non-blocking (config.blocking = 0): its creation and each group of broadcasts
// return at once, and the caller agrees with the other processes (row_exchange::agree_on) on each
// step's local outcome before the next that needs them: the calls' return codes, then their setting
// up (a non-blocking call may still be connecting), then the stream's wait (which needs every peer). A process whose step fails aborts its communicator at once,
// so that peers blocked in NCCL on it see a remote error (NCCL's own detection), and after an agreed
// failure every process aborts: queued collectives are dropped and the next exchange makes a new
// communicator. Once every process has queued the broadcasts, an agreement cannot help a process whose
// part fails (the others wait on their devices, not in an agreement): it gives up instead
// (row_exchange::give_up, a message to every peer), and the peers, polling for it while they wait,
// abort and meet it in the agreement that follows. What remains out of reach is a process that can
// no longer give up (killed, or its host thread stuck): as with a killed rank, end the job and
// resume from the last checkpoint.
#include <cuda_runtime.h>
#include <nccl.h>

#include <cstddef>
#include <initializer_list>
#include <thread>
#include <utility>

#include "cuda/util/check.cuh"
#include "diffevo/error.hpp"
#include "host/backend/row_exchange.hpp"
#include "host/util/message.hpp"

namespace diffevo::detail {

inline void nccl_check(ncclResult_t r, const char* call, const char* file, int line) {
  if (r == ncclSuccess || r == ncclInProgress) return;  // in progress: the caller settles it
  throw nccl_error(msg("NCCL call ", call, " failed at ", file, ":", line, ": ", ncclGetErrorString(r)));
}

}  // namespace diffevo::detail

#define DIFFEVO_NCCL_TRY(call) ::diffevo::detail::nccl_check((call), #call, __FILE__, __LINE__)

namespace diffevo::detail {

/// An NCCL communicator over the processes of a row_exchange, owned (aborted on destruction, which
/// needs no other process). Move-only; empty until create().
class device_group {
 public:
  device_group() = default;
  ~device_group() { abort(); }
  device_group(device_group&& o) noexcept : comm_(std::exchange(o.comm_, nullptr)) {}
  device_group& operator=(device_group&& o) noexcept {
    if (this != &o) {
      abort();
      comm_ = std::exchange(o.comm_, nullptr);
    }
    return *this;
  }
  device_group(const device_group&) = delete;
  device_group& operator=(const device_group&) = delete;

  explicit operator bool() const noexcept { return comm_ != nullptr; }

  /// Makes the communicator of ex's processes on the current device (collective): process 0 draws the
  /// unique id, MPI broadcasts it (ex.broadcast_from_first), each process starts its part and then
  /// waits for it, with an agreement after each step. Throws the agreed error on every process,
  /// having aborted whatever it had started.
  static device_group create(row_exchange& ex) {
    ncclUniqueId id{};
    ex.agree_on([&] {
      if (ex.index() == 0) DIFFEVO_NCCL_TRY(ncclGetUniqueId(&id));
    });
    ex.broadcast_from_first(&id, sizeof id);
    device_group g;
    ex.agree_on([&] {
      ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
      config.blocking = 0;  // returns at once; completion is polled below
      ncclComm_t c = nullptr;
      const ncclResult_t r = ncclCommInitRankConfig(&c, ex.processes(), id, ex.index(), &config);
      g.comm_ = c;  // owned even if it failed, so that it is aborted
      if (r != ncclSuccess && r != ncclInProgress) g.abort();
      nccl_check(r, "ncclCommInitRankConfig", __FILE__, __LINE__);
    });
    ex.agree_on([&] { g.settle("ncclCommInitRankConfig"); });  // every process started it: it completes or fails
    return g;
  }

  /// Enqueues on `stream` the in-place all-gather of each buffer's rows: buffer b holds N rows of
  /// b.second bytes at b.first, process p's rows [ex.first_of(p), + ex.count_of(p)) filled in by p.
  /// One NCCL group of broadcasts, each owner the root of its rows. Local: returns when enqueued (a
  /// failure aborts the communicator); once every process has, settle_group() and then wait().
  void enqueue_allgather(std::initializer_list<std::pair<void*, std::size_t>> buffers, const row_exchange& ex,
                         cudaStream_t stream) {
    DIFFEVO_NCCL_TRY(ncclGroupStart());
    ncclResult_t failed = ncclSuccess;  // the group is ended even when a call inside it fails
    int failed_root = -1;
    std::size_t failed_bytes = 0;
    for (int p = 0; p < ex.processes() && failed == ncclSuccess; ++p) {
      for (const auto& [base, row_bytes] : buffers) {
        const std::size_t bytes = static_cast<std::size_t>(ex.count_of(p)) * row_bytes;
        if (bytes == 0) continue;
        char* rows = static_cast<char*>(base) + static_cast<std::size_t>(ex.first_of(p)) * row_bytes;
        const ncclResult_t r = ncclBroadcast(rows, rows, bytes, ncclChar, p, comm_, stream);
        if (r != ncclSuccess && r != ncclInProgress) {
          failed = r;
          failed_root = p;
          failed_bytes = bytes;
          break;
        }
      }
    }
    const ncclResult_t end = ncclGroupEnd();
    if (failed != ncclSuccess) {
      abort();
      throw nccl_error(msg("NCCL call ncclBroadcast (root ", failed_root, ", ", failed_bytes, " bytes) failed: ",
                           ncclGetErrorString(failed)));
    }
    if (end != ncclSuccess && end != ncclInProgress) abort();
    nccl_check(end, "ncclGroupEnd", __FILE__, __LINE__);
  }

  /// After every process enqueued (agreed on): waits until the group has been set up (a non-blocking
  /// ncclGroupEnd may still be connecting to the peers). Local; a failure aborts the communicator
  /// first. Agreed on before wait(), so that no process waits on the device for a peer that failed.
  void settle_group() { settle("ncclGroupEnd"); }

  /// After every process settled its group (agreed on): waits until `stream` has run everything
  /// queued on it, the broadcasts included, polling meanwhile the communicator's asynchronous error
  /// (an error NCCL detects) and whether another process gave up (ex.peer_gave_up()). A failure here
  /// aborts the communicator, gives up (ex.give_up(): the peers may be waiting on this device) and
  /// throws. When a peer gave up, this process aborts too and returns: the agreement that follows
  /// has the peer's error. Local.
  void wait(cudaStream_t stream, row_exchange& ex) {
    for (;;) {
      const cudaError_t q = cudaStreamQuery(stream);
      if (q == cudaSuccess) return;
      try {
        if (q != cudaErrorNotReady) {
          abort();
          cuda_check(q, "cudaStreamQuery (waiting for the broadcasts)", __FILE__, __LINE__);  // a fault of this device
        }
        poll("the broadcasts");
      } catch (...) {
        ex.give_up();
        throw;
      }
      if (ex.peer_gave_up()) {
        abort();  // its queued broadcasts end; the rows are not used (the agreement fails)
        cudaStreamSynchronize(stream);  // what it had queued before them still runs; its error is not this step's
        cudaGetLastError();
        return;
      }
      std::this_thread::yield();
    }
  }

  /// Aborts the communicator (local, never throws): collectives queued on this device are dropped.
  /// Every process does it after an agreed failure; the next exchange makes a new one.
  void abort() noexcept {
    if (comm_) ncclCommAbort(std::exchange(comm_, nullptr));
  }

 private:
  /// Polls the non-blocking communicator until the operation that returned ncclInProgress (`call`)
  /// has completed; throws its error (having aborted).
  void settle(const char* call) {
    while (poll(call)) std::this_thread::yield();
  }

  /// One look at the communicator's asynchronous state: true while in progress; throws an error
  /// (`what` names the operation), aborting first so that the peers see it.
  bool poll(const char* what) {
    ncclResult_t async = ncclSuccess;
    const ncclResult_t r = ncclCommGetAsyncError(comm_, &async);
    if (r == ncclSuccess && (async == ncclSuccess || async == ncclInProgress)) return async == ncclInProgress;
    abort();
    if (r != ncclSuccess) nccl_check(r, "ncclCommGetAsyncError", __FILE__, __LINE__);
    throw nccl_error(msg("NCCL reported an error during ", what, ": ", ncclGetErrorString(async)));
  }

  ncclComm_t comm_ = nullptr;
};

}  // namespace diffevo::detail
