// NCCL over MPI for the CUDA emulator (cuda_emulator.hpp, "NCCL over MPI"): what the cuda backend's
// device exchange (cuda/exchange/device_group.cuh) calls, so that it runs under mpiexec on machines
// without a GPU. A group's broadcasts become work queued on the stream, which posts them as MPI
// point-to-point messages on MPI_COMM_WORLD when the stream reaches them and is not ready until they
// have gone (group_on_stream). Misuse (a buffer outside device memory, a root out of range, a
// communicator that is not one) is reported as a fault and returned as an NCCL error, as the other
// emulated calls do.
#define DIFFEVO_EMULATOR_NCCL
#include "cuda_emulator.hpp"

#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <climits>
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
  unsigned long long index = 0;  // from the unique id: the same on every rank of the communicator
  bool aborted = false;
  bool nonblocking = false;  // config.blocking = 0: creation and group ends answer ncclInProgress
  int polls_in_progress = 0;  // ncclCommGetAsyncError answers ncclInProgress this many more times
  ncclResult_t async = ncclSuccess;
  int sequence = 0;  // broadcasts enqueued so far: with index, each one's message tag
};

struct pending_broadcast {
  std::shared_ptr<communicator> comm;
  char* recv;
  const char* send;
  std::size_t bytes;
  int root;
  int tag;
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

// Message tags on MPI_COMM_WORLD: distinct per communicator and broadcast, so that a message left
// unreceived by an aborted communicator never matches a later one.
constexpr int k_tags_per_comm = 1 << 16;
int tag_of(const communicator& c, int sequence) {
  int* ub = nullptr;
  int found = 0;
  MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &ub, &found);
  const long long limit = found && ub ? *ub : 32767;
  const long long t = 1 + static_cast<long long>(c.index % 30000) * k_tags_per_comm + sequence % k_tags_per_comm;
  return static_cast<int>(t % limit);
}

// A group's broadcasts on one stream, as the device runs them: posted (the root sends its rows to
// every other rank, the others receive them) when the stream reaches them, done when every message
// has gone. While a peer has not posted its part they are not done, so the stream is not ready, as
// a device waiting in a collective. An aborted communicator cancels what it had posted.
class group_on_stream {
 public:
  explicit group_on_stream(std::vector<pending_broadcast> ops) : ops_(std::move(ops)) {}
  ~group_on_stream() { cancel(); }
  group_on_stream(const group_on_stream&) = delete;
  group_on_stream& operator=(const group_on_stream&) = delete;

  bool step() {
    for (const auto& b : ops_)
      if (b.comm->aborted) {
        cancel();
        return true;
      }
    if (!posted_) {
      posted_ = true;
      // A device fault inside the collective (a failable call): this rank sends and receives nothing.
      if (inject_failure("ncclBroadcast (on the device)")) {
        fail_queued_work();
        return true;
      }
      for (const auto& b : ops_) post(b);
    }
    if (requests_.empty()) return true;
    int done = 0;
    MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &done, MPI_STATUSES_IGNORE);
    if (done) {
      requests_.clear();
      sends_.clear();
    }
    return done != 0;
  }

 private:
  void post(const pending_broadcast& b) {
    const communicator& c = *b.comm;
    if (c.rank == b.root && b.send != b.recv) std::memmove(b.recv, b.send, b.bytes);
    if (b.bytes > static_cast<std::size_t>(INT_MAX)) {
      report_fault("emulated NCCL: a broadcast of more than INT_MAX bytes");
      fail_queued_work();
      return;
    }
    const int n = static_cast<int>(b.bytes);
    for (int r = 0; r < c.nranks; ++r) {
      if (c.rank == b.root && r != b.root) {
        requests_.emplace_back();
        sends_.push_back(requests_.size() - 1);
        MPI_Isend(b.recv, n, MPI_BYTE, r, b.tag, MPI_COMM_WORLD, &requests_.back());
      } else if (c.rank != b.root && r == b.root) {
        requests_.emplace_back();
        MPI_Irecv(b.recv, n, MPI_BYTE, r, b.tag, MPI_COMM_WORLD, &requests_.back());
      }
    }
  }

  // Receives are cancelled; a send left unmatched is released to MPI (its tag is never used again).
  void cancel() {
    for (std::size_t i = 0; i < requests_.size(); ++i) {
      MPI_Request& r = requests_[i];
      if (r == MPI_REQUEST_NULL) continue;
      if (std::find(sends_.begin(), sends_.end(), i) == sends_.end()) {
        MPI_Cancel(&r);
        MPI_Wait(&r, MPI_STATUS_IGNORE);  // a cancelled receive completes at once
      } else {
        MPI_Request_free(&r);
      }
    }
    requests_.clear();
    sends_.clear();
  }

  std::vector<pending_broadcast> ops_;
  std::vector<MPI_Request> requests_;
  std::vector<std::size_t> sends_;  // which of requests_ are sends
  bool posted_ = false;
};

ncclResult_t enqueue(std::vector<pending_broadcast> ops) {
  for (std::size_t i = 0; i < ops.size();) {  // one piece of work per run of ops on the same stream
    std::size_t j = i;
    while (j < ops.size() && ops[j].stream == ops[i].stream) ++j;
    auto run = std::make_shared<group_on_stream>(
        std::vector<pending_broadcast>(ops.begin() + static_cast<long>(i), ops.begin() + static_cast<long>(j)));
    if (enqueue_host_work(ops[i].stream, "ncclBroadcast", [run] { return run->step(); }) != cudaSuccess)
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
  std::memcpy(&c->index, id.internal, sizeof c->index);  // rank 0's count of the ids it drew
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
  c->aborted = true;  // its queued broadcasts cancel what they posted and end
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
  const auto in_group = [](ncclResult_t r) {  // a failure inside a group fails its ncclGroupEnd too
    if (g_group_depth > 0 && g_group_error == ncclSuccess) g_group_error = r;
    return r;
  };
  const auto fail = [&](ncclResult_t r, const std::string& what) { return in_group(report(r, what)); };
  if (inject_failure("ncclBroadcast")) return in_group(injected(ncclSystemError, "ncclBroadcast"));
  const auto c = find(comm);
  if (!c) return fail(ncclInvalidArgument, "ncclBroadcast: not a communicator");
  const std::size_t bytes = count * type_size(type);
  if (type_size(type) == 0) return fail(ncclInvalidArgument, "ncclBroadcast: unknown data type");
  if (root < 0 || root >= c->nranks) return fail(ncclInvalidArgument, "ncclBroadcast: root out of range");
  if (!is_device_range(recv, bytes) || (c->rank == root && !is_device_range(send, bytes)))
    return fail(ncclInvalidArgument, "ncclBroadcast: a buffer is not device memory (or its range leaves its allocation)");
  pending_broadcast b{c, static_cast<char*>(recv), static_cast<const char*>(send), bytes, root,
                      tag_of(*c, c->sequence++), stream};
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
