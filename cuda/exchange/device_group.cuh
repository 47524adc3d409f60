#pragma once
// The sharded update's rows moved between the processes' devices with NCCL (options::exchange =
// device in the MPI component): one communicator per optimizer over the row_exchange's processes,
// and an in-place all-gather of rows as grouped broadcasts, one per owner, so the rows never visit
// host memory. Built only with NCCL (DIFFEVO_WITH_NCCL).
//
// Nothing here may leave a process waiting for one that has given up. The communicator is
// non-blocking (config.blocking = 0): its creation and each group of broadcasts return at once, and
// the caller agrees with the other processes (row_exchange::agree_on) on each step's local outcome
// before the next. After an agreed failure every process calls abort(): ncclCommAbort drops the
// collectives queued on a device whose peers will never join them, and the next exchange makes a
// new communicator. What no agreement can reach is a device fault in the middle of a collective that
// every process had queued: as with any NCCL collective, the peers then wait, and the job must be
// ended (MPI's behaviour for a lost rank); the last checkpoint resumes it.
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
  if (r == ncclSuccess || r == ncclInProgress) return;  // in progress: the caller waits for it
  const char* detail = ncclGetLastError(nullptr);
  throw nccl_error(msg("NCCL call ", call, " failed at ", file, ":", line, ": ", ncclGetErrorString(r),
                       detail && *detail ? " (" : "", detail && *detail ? detail : "", detail && *detail ? ")" : ""));
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
      DIFFEVO_NCCL_TRY(r);
    });
    ex.agree_on([&] { g.settle("ncclCommInitRankConfig"); });  // every process started: completes or fails
    return g;
  }

  /// Enqueues on `stream` the in-place all-gather of each buffer's rows: buffer b holds N rows of
  /// b.second bytes at b.first, process p's rows [ex.first_of(p), + ex.count_of(p)) filled in by p.
  /// One NCCL group of broadcasts, each owner the root of its rows. Local: returns when enqueued;
  /// wait() then waits for it.
  void enqueue_allgather(std::initializer_list<std::pair<void*, std::size_t>> buffers, const row_exchange& ex,
                         cudaStream_t stream) {
    DIFFEVO_NCCL_TRY(ncclGroupStart());
    ncclResult_t failed = ncclSuccess;  // the group is ended even when a call inside it fails
    for (int p = 0; p < ex.processes() && failed == ncclSuccess; ++p) {
      for (const auto& [base, row_bytes] : buffers) {
        const std::size_t bytes = static_cast<std::size_t>(ex.count_of(p)) * row_bytes;
        if (bytes == 0) continue;
        char* rows = static_cast<char*>(base) + static_cast<std::size_t>(ex.first_of(p)) * row_bytes;
        const ncclResult_t r = ncclBroadcast(rows, rows, bytes, ncclChar, p, comm_, stream);
        if (r != ncclSuccess && r != ncclInProgress) {
          failed = r;
          break;
        }
      }
    }
    const ncclResult_t end = ncclGroupEnd();
    DIFFEVO_NCCL_TRY(failed == ncclSuccess ? ncclSuccess : failed);
    DIFFEVO_NCCL_TRY(end);
    settle("ncclGroupEnd");
  }

  /// Waits until `stream` has run everything queued on it (the broadcasts included), polling the
  /// communicator's asynchronous error meanwhile: an error NCCL detects (a peer's failure among them)
  /// is thrown instead of waiting on. Local.
  void wait(cudaStream_t stream) const {
    for (;;) {
      const cudaError_t q = cudaStreamQuery(stream);
      if (q == cudaSuccess) return;
      if (q != cudaErrorNotReady) DIFFEVO_CUDA_TRY(q);
      ncclResult_t async = ncclSuccess;
      DIFFEVO_NCCL_TRY(ncclCommGetAsyncError(comm_, &async));
      DIFFEVO_NCCL_TRY(async);
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
  /// has completed; throws its error.
  void settle(const char* call) const {
    for (;;) {
      ncclResult_t async = ncclSuccess;
      DIFFEVO_NCCL_TRY(ncclCommGetAsyncError(comm_, &async));
      if (async != ncclInProgress) {
        nccl_check(async, call, __FILE__, __LINE__);
        return;
      }
      std::this_thread::yield();
    }
  }

  ncclComm_t comm_ = nullptr;
};

}  // namespace diffevo::detail
