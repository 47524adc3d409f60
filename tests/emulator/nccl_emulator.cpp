// NCCL over MPI for the CUDA emulator (cuda_emulator.hpp, "NCCL over MPI"): what the cuda backend's
// device exchange (cuda/exchange/device_group.cuh) calls, so that it runs under mpiexec on machines
// without a GPU. A group's broadcasts become host work queued on the stream, which runs them as MPI
// broadcasts over a duplicate of MPI_COMM_WORLD when the stream is waited for. Misuse (a buffer
// outside device memory, a root out of range, a communicator that is not one, ranks joining with
// different ids) is reported as a fault and returned as an NCCL error, as the other emulated calls do.
#define DIFFEVO_EMULATOR_NCCL
#include "cuda_emulator.hpp"

#include <mpi.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace diffevo::emu {
namespace {

struct communicator {
  int nranks = 0, rank = 0;
  ncclUniqueId id{};
  bool aborted = false;
  bool nonblocking = false;  // config.blocking = 0: creation and group ends answer ncclInProgress
  int polls_in_progress = 0;  // ncclCommGetAsyncError answers ncclInProgress this many more times
  ncclResult_t async = ncclSuccess;
  MPI_Comm mpi = MPI_COMM_NULL;  // made when its first collective runs (every rank runs it)
  bool checked_id = false;
};

struct pending_broadcast {
  std::shared_ptr<communicator> comm;
  char* recv;
  const char* send;
  std::size_t bytes;
  int root;
  cudaStream_t stream;
};

std::recursive_mutex g_mutex;
using lock = std::lock_guard<std::recursive_mutex>;
std::map<const void*, std::shared_ptr<communicator>> g_comms;  // handle -> state, while alive
int g_group_depth = 0;
std::vector<pending_broadcast> g_group;
ncclResult_t g_group_error = ncclSuccess;
std::string g_last_error;

// Misuse or a failure of the emulated transport: reported and counted as the emulator's faults are.
ncclResult_t report(ncclResult_t r, const std::string& what) {
  report_fault(what);
  g_last_error = what;
  return r;
}
// A failure fail_call injected (inject_failure has reported it): the error NCCL would return.
ncclResult_t injected(ncclResult_t r, const char* call) {
  g_last_error = std::string(call) + " failed (injected by fail_call)";
  return r;
}

std::shared_ptr<communicator> find(ncclComm_t c) {
  const auto it = g_comms.find(c);
  return it == g_comms.end() ? nullptr : it->second;
}

std::size_t type_size(ncclDataType_t t) {
  switch (t) {
    case ncclInt8: case ncclUint8: return 1;
    case ncclFloat16: case ncclBfloat16: return 2;
    case ncclInt32: case ncclUint32: case ncclFloat32: return 4;
    case ncclInt64: case ncclUint64: case ncclFloat64: return 8;
    default: return 0;
  }
}

// Runs one queued broadcast (the stream reached it). A communicator aborted since runs nothing.
void run(const pending_broadcast& b) {
  communicator& c = *b.comm;
  if (c.aborted || c.async != ncclSuccess) return;
  if (c.mpi == MPI_COMM_NULL && MPI_Comm_dup(MPI_COMM_WORLD, &c.mpi) != MPI_SUCCESS) {
    c.async = report(ncclSystemError, "emulated NCCL: MPI_Comm_dup failed");
    return;
  }
  if (!c.checked_id) {  // every rank must have joined with the same unique id
    unsigned long long h = 1469598103934665603ull, lo = 0, hi = 0;
    for (char ch : c.id.internal) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
    MPI_Allreduce(&h, &lo, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, c.mpi);
    MPI_Allreduce(&h, &hi, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, c.mpi);
    c.checked_id = true;
    if (lo != hi) {
      c.async = report(ncclInvalidUsage, "emulated NCCL: the ranks of a communicator joined with different unique ids");
      return;
    }
  }
  if (c.rank == b.root && b.send != b.recv) std::memmove(b.recv, b.send, b.bytes);
  for (std::size_t done = 0; done < b.bytes;) {  // MPI counts are int
    const int n = static_cast<int>(std::min<std::size_t>(b.bytes - done, 1u << 30));
    if (MPI_Bcast(b.recv + done, n, MPI_BYTE, b.root, c.mpi) != MPI_SUCCESS) {
      c.async = report(ncclSystemError, "emulated NCCL: MPI_Bcast failed");
      return;
    }
    done += static_cast<std::size_t>(n);
  }
}

ncclResult_t enqueue(std::vector<pending_broadcast> ops) {
  for (std::size_t i = 0; i < ops.size();) {  // one piece of host work per run of ops on the same stream
    std::size_t j = i;
    while (j < ops.size() && ops[j].stream == ops[i].stream) ++j;
    auto run_of = std::make_shared<std::vector<pending_broadcast>>(ops.begin() + static_cast<long>(i),
                                                                   ops.begin() + static_cast<long>(j));
    if (enqueue_host_work(ops[i].stream, "ncclBroadcast", [run_of] {
          for (const auto& b : *run_of) run(b);
        }) != cudaSuccess)
      return report(ncclUnhandledCudaError, "emulated NCCL: queueing on the stream failed");
    i = j;
  }
  return ncclSuccess;
}

}  // namespace

ncclResult_t nccl_get_unique_id(ncclUniqueId* id) {
  const lock l(g_mutex);
  if (!id) return report(ncclInvalidArgument, "ncclGetUniqueId: null id");
  if (inject_failure("ncclGetUniqueId")) return injected(ncclSystemError, "ncclGetUniqueId");
  static std::atomic<unsigned long long> counter{0};
  std::memset(id, 0, sizeof *id);
  int world = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world);
  const unsigned long long v[2] = {++counter, static_cast<unsigned long long>(world) + 1000003ull * 7919u};
  std::memcpy(id->internal, v, sizeof v);
  return ncclSuccess;
}

ncclResult_t nccl_comm_init_rank_config(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank, ncclConfig_t* config) {
  const lock l(g_mutex);
  if (!comm) return report(ncclInvalidArgument, "ncclCommInitRankConfig: null communicator pointer");
  *comm = nullptr;
  if (inject_failure("ncclCommInitRankConfig")) return injected(ncclSystemError, "ncclCommInitRankConfig");
  int world = 0, world_rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  if (nranks != world || rank != world_rank)
    return report(ncclInvalidUsage, "emulated NCCL: a communicator spans MPI_COMM_WORLD in rank order (got rank " +
                                        std::to_string(rank) + " of " + std::to_string(nranks) + ")");
  auto c = std::make_shared<communicator>();
  c->nranks = nranks;
  c->rank = rank;
  c->id = id;
  c->nonblocking = config && config->blocking == 0;
  c->polls_in_progress = c->nonblocking ? 1 : 0;
  *comm = reinterpret_cast<ncclComm_t>(c.get());
  g_comms[c.get()] = c;
  return c->nonblocking ? ncclInProgress : ncclSuccess;
}

ncclResult_t nccl_comm_get_async_error(ncclComm_t comm, ncclResult_t* async) {
  const lock l(g_mutex);
  const auto c = find(comm);
  if (!c || !async) return report(ncclInvalidArgument, "ncclCommGetAsyncError: not a communicator, or null result");
  if (inject_failure("ncclCommGetAsyncError")) {
    *async = injected(ncclRemoteError, "ncclCommGetAsyncError (a peer failed)");
    return ncclSuccess;
  }
  if (c->polls_in_progress > 0) {
    --c->polls_in_progress;
    *async = ncclInProgress;
  } else {
    *async = c->async;
  }
  return ncclSuccess;
}

ncclResult_t nccl_comm_abort(ncclComm_t comm) {
  const lock l(g_mutex);
  const auto c = find(comm);
  if (!c) return report(ncclInvalidArgument, "ncclCommAbort: not a communicator");
  c->aborted = true;  // its queued broadcasts run nothing
  // Its MPI communicator is not freed: MPI_Comm_free is collective, and an abort is local. The few
  // a test makes are released by MPI_Finalize.
  g_comms.erase(comm);
  return ncclSuccess;
}

ncclResult_t nccl_group_start() {
  const lock l(g_mutex);
  if (inject_failure("ncclGroupStart")) return injected(ncclSystemError, "ncclGroupStart");
  if (g_group_depth++ == 0) {
    g_group.clear();
    g_group_error = ncclSuccess;
  }
  return ncclSuccess;
}

ncclResult_t nccl_group_end() {
  const lock l(g_mutex);
  if (g_group_depth == 0) return report(ncclInvalidUsage, "ncclGroupEnd without ncclGroupStart");
  if (--g_group_depth > 0) return ncclSuccess;
  std::vector<pending_broadcast> ops;
  ops.swap(g_group);
  if (g_group_error != ncclSuccess) return g_group_error;  // a call inside the group failed: nothing queued
  if (inject_failure("ncclGroupEnd")) return injected(ncclSystemError, "ncclGroupEnd");
  if (const ncclResult_t r = enqueue(ops); r != ncclSuccess) return r;
  bool in_progress = false;
  for (const auto& b : ops) {
    if (b.comm->nonblocking) {
      b.comm->polls_in_progress = 1;
      in_progress = true;
    }
  }
  if (!in_progress) return ncclSuccess;
  return ncclInProgress;
}

ncclResult_t nccl_broadcast(const void* send, void* recv, std::size_t count, ncclDataType_t type, int root,
                            ncclComm_t comm, cudaStream_t stream) {
  const lock l(g_mutex);
  const auto fail = [](ncclResult_t r, const std::string& what) {
    if (g_group_depth > 0 && g_group_error == ncclSuccess) g_group_error = r;
    return report(r, what);
  };
  if (inject_failure("ncclBroadcast")) {
    if (g_group_depth > 0 && g_group_error == ncclSuccess) g_group_error = ncclSystemError;
    return injected(ncclSystemError, "ncclBroadcast");
  }
  const auto c = find(comm);
  if (!c) return fail(ncclInvalidArgument, "ncclBroadcast: not a communicator");
  const std::size_t bytes = count * type_size(type);
  if (type_size(type) == 0) return fail(ncclInvalidArgument, "ncclBroadcast: unknown data type");
  if (root < 0 || root >= c->nranks) return fail(ncclInvalidArgument, "ncclBroadcast: root out of range");
  if (!is_device_range(recv, bytes) || (c->rank == root && !is_device_range(send, bytes)))
    return fail(ncclInvalidArgument, "ncclBroadcast: a buffer is not device memory (or its range leaves its allocation)");
  pending_broadcast b{c, static_cast<char*>(recv), static_cast<const char*>(send), bytes, root, stream};
  if (g_group_depth > 0) {
    g_group.push_back(b);
    return ncclSuccess;
  }
  return enqueue({b});
}

const char* nccl_get_error_string(ncclResult_t r) {
  switch (r) {
    case ncclSuccess: return "no error";
    case ncclUnhandledCudaError: return "unhandled cuda error (run with NCCL_DEBUG=INFO for details)";
    case ncclSystemError: return "unhandled system error (run with NCCL_DEBUG=INFO for details)";
    case ncclInternalError: return "internal error - please report this issue to the NCCL developers";
    case ncclInvalidArgument: return "invalid argument (run with NCCL_DEBUG=WARN for details)";
    case ncclInvalidUsage: return "invalid usage (run with NCCL_DEBUG=WARN for details)";
    case ncclRemoteError: return "remote process exited or there was a network error";
    case ncclInProgress: return "NCCL operation in progress";
    default: return "unknown result code";
  }
}

const char* nccl_get_last_error(ncclComm_t) {
  const lock l(g_mutex);
  return g_last_error.c_str();
}

std::size_t live_communicators() noexcept {
  const lock l(g_mutex);
  return g_comms.size();
}

}  // namespace diffevo::emu
