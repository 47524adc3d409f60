#pragma once
// The CUDA emulator: runs the library's own kernels, launchers and cuBLAS/cuRAND calls on the CPU, so
// that the cuda backend is tested on machines without a GPU (where this project is built and its CI
// runs). It is a test tool, never installed. The emulated build (tests/emulator/CMakeLists.txt)
// compiles the library's sources with a C++ compiler and force-includes this header first.
//
// How it runs code:
//  - Every CUDA thread is a fiber with its own stack. A block's fibers run one at a time on the host
//    thread, switching only at __syncthreads and warp shuffles; blocks run one after another. So
//    `__shared__` is a function-local static (one copy per kernel, reused by each block), and dynamic
//    shared memory is one buffer per launch, filled with NaN bytes before every block.
//  - Streams are queues: a launch, copy, memset, GEMM or noise draw runs when something waits for its
//    stream (cudaStreamSynchronize, cudaDeviceSynchronize, cudaMemcpy, cudaFree, ...). A copy reads and
//    writes host memory then, as with pinned memory: CUDA (12.2 on) promises no more for pageable
//    memory, whose copies "might be synchronous" and "may" be staged. A host reading a result before
//    synchronizing sees a stale buffer; a host source changed before its copy ran is a fault.
//  - Device memory is host memory kept in a registry. New allocations are filled with NaN bytes.
//
// What it checks (a failure is reported on stderr and returned as a CUDA, cuBLAS or cuRAND error, so
// the library throws as it would on a device):
//  - launch shapes and dynamic shared memory against an H100's limits and cudaFuncSetAttribute;
//  - every pointer argument of a kernel (members of struct arguments included), copy, memset, GEMM and noise draw points into a device
//    allocation (host pointers where the host is expected), with the whole range inside it;
//  - GEMM leading dimensions as cuBLAS checks them;
//  - with fail_call, what the library does when any one of its CUDA, cuBLAS or cuRAND calls fails;
//  - __syncthreads reached by every live thread of the block at the same line; shuffles with the
//    whole warp present at the same line; no deadlock; writes past dynamic shared memory.
// With DIFFEVO_EMULATOR_ORDER=reverse the threads run in reverse order between barriers, and blocks
// and streams in reverse order too, so a result that depends on the order (a missing barrier, a race
// on shared memory, between blocks or between streams) differs between two runs.
//
// What it does not model: device-only branches (#ifdef __CUDA_ARCH__; the host branch runs), fast
// intrinsics (cuRAND's device Box-Muller: the emulated generator is cuRAND's host generator, whose
// numbers the cpu backend reproduces), concurrency between blocks, TF32, resource limits of
// registers and static shared memory, __launch_bounds__, and timing. Static `__shared__` memory
// starts at zero and keeps the last block's values (not NaN). Pointers inside struct arguments are
// checked (at any depth of aggregate members and arrays), but not those inside a union or a class
// with constructors, such as a lambda's captures. A thread that exits counts as arrived at later
// barriers (as on Volta and later). Kernel faults are not sticky: after one the device keeps
// working, where a real context would be lost (fail_call(k, true) models a lost context); injected
// failures happen before the call has any effect.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <curand.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace diffevo::emu {

/// The running CUDA thread's indices and its launch's shape.
struct thread_ids {
  uint3 thread, block;
  dim3 block_dim, grid_dim;
};
const thread_ids& ids() noexcept;
void sync_block(const char* file, int line);
/// One warp-wide exchange: every lane of the warp puts a value and gets lane `src`'s.
std::uint64_t warp_exchange(unsigned mask, std::uint64_t in, int src, const char* file, int line);
void* dynamic_shared_memory() noexcept;

template <class T>
T shfl_down(const char* file, int line, unsigned mask, T v, unsigned delta, int width = 32) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "shuffles move at most 8 bytes");
  const int lane = static_cast<int>(ids().thread.x % 32);
  const int base = lane / width * width;
  const int src = lane - base + static_cast<int>(delta) < width ? lane + static_cast<int>(delta) : lane;
  std::uint64_t in = 0;
  std::memcpy(&in, &v, sizeof(T));
  const std::uint64_t got = warp_exchange(mask, in, src, file, line);
  T out;
  std::memcpy(&out, &got, sizeof(T));
  return out;
}

// ---- launches ------------------------------------------------------------------------------------

struct launch_shape {
  dim3 grid, block;
  std::size_t smem;
  cudaStream_t stream;
  const char* name;
  const void* kernel;
};
/// True when p is null or inside a device allocation (one past its end allowed).
bool is_device_pointer(const void* p) noexcept;
/// Checks the shape now (a bad one becomes the launch error) and queues the blocks on the stream.
void launch(const launch_shape& s, std::function<void()> thread_body);
/// `where`: "argument 3", or "argument 2, field 5" for a pointer inside a struct argument.
void report_bad_argument(const launch_shape& s, const std::string& where);

// The fields of an aggregate argument (a struct of pointers and sizes, a functor's members), found
// without naming them: the count is the most braced initializers `T{{f}, {f}, ...}` accepts (one per
// member, arrays included), and a structured binding of that many names gives the members.
struct any_field {
  template <class T>
  operator T() const noexcept;  // only in unevaluated contexts
};
template <std::size_t>
using any_field_at = any_field;
template <class T, std::size_t... I>
constexpr auto braced_init(std::index_sequence<I...>) -> decltype(T{{any_field_at<I>{}}...}, true) {
  return true;
}
template <class T, std::size_t... I>
constexpr bool braced_init(...) {
  return false;
}
template <class T, std::size_t K = 0>
constexpr std::size_t field_count() {
  if constexpr (K < 16 && braced_init<T>(std::make_index_sequence<K + 1>{})) return field_count<T, K + 1>();
  else return K;
}
constexpr std::size_t k_max_fields = 12;

/// Calls f(field, i) for each member of the aggregate t.
template <class T, class F>
void for_each_field(const T& t, F&& f) {
  constexpr std::size_t k = field_count<T>();
  static_assert(k <= k_max_fields, "emulator: a kernel's struct argument has more fields than for_each_field names");
  static_assert(k > 0 || std::is_empty_v<T>,
                "emulator: cannot enumerate the members of a kernel's struct argument (its first member cannot be "
                "initialized from {any}); give it plain members or check it in bad_pointer_in");
  std::size_t i = 0;
  const auto each = [&](const auto&... member) { (f(member, i++), ...); };
#define DIFFEVO_EMU_FIELDS(...)  \
  const auto& [__VA_ARGS__] = t; \
  each(__VA_ARGS__)
  if constexpr (k == 1) { DIFFEVO_EMU_FIELDS(a); }
  else if constexpr (k == 2) { DIFFEVO_EMU_FIELDS(a, b); }
  else if constexpr (k == 3) { DIFFEVO_EMU_FIELDS(a, b, c); }
  else if constexpr (k == 4) { DIFFEVO_EMU_FIELDS(a, b, c, d); }
  else if constexpr (k == 5) { DIFFEVO_EMU_FIELDS(a, b, c, d, e); }
  else if constexpr (k == 6) { DIFFEVO_EMU_FIELDS(a, b, c, d, e, g); }
  else if constexpr (k == 7) { DIFFEVO_EMU_FIELDS(a, b, c, d, e, g, h); }
  else if constexpr (k == 8) { DIFFEVO_EMU_FIELDS(a, b, c, d, e, g, h, j); }
  else if constexpr (k == 9) { DIFFEVO_EMU_FIELDS(a, b, c, d, e, g, h, j, l); }
  else if constexpr (k == 10) { DIFFEVO_EMU_FIELDS(a, b, c, d, e, g, h, j, l, m); }
  else if constexpr (k == 11) { DIFFEVO_EMU_FIELDS(a, b, c, d, e, g, h, j, l, m, n); }
  else if constexpr (k == 12) { DIFFEVO_EMU_FIELDS(a, b, c, d, e, g, h, j, l, m, n, o); }
#undef DIFFEVO_EMU_FIELDS
}

/// Every pointer in a kernel argument, at any depth of aggregate members and arrays, is null or points
/// into a device allocation; returns where the first one that does not is ("" when all do).
template <class T>
struct is_std_array : std::false_type {};
template <class T, std::size_t N>
struct is_std_array<std::array<T, N>> : std::true_type {};

template <class T>
std::string bad_pointer_in(const T& x, const std::string& where) {
  if constexpr (std::is_array_v<T> || is_std_array<T>::value) {  // before decaying, which would make it a pointer
    for (std::size_t i = 0; i < std::size(x); ++i) {
      std::string bad = bad_pointer_in(x[i], where + "[" + std::to_string(i) + "]");
      if (!bad.empty()) return bad;
    }
    return {};
  } else if constexpr (std::is_pointer_v<T> && std::is_function_v<std::remove_pointer_t<T>>) {
    return {};  // code, not data
  } else if constexpr (std::is_pointer_v<T>) {
    return is_device_pointer(const_cast<const void*>(static_cast<const volatile void*>(x))) ? std::string() : where;
  } else if constexpr (std::is_class_v<T> && std::is_aggregate_v<T>) {
    std::string bad;
    for_each_field(x, [&](const auto& m, std::size_t i) {
      if (bad.empty()) bad = bad_pointer_in(m, where + ", field " + std::to_string(i));
    });
    return bad;
  } else {
    return {};  // scalars, unions, and classes with constructors (lambdas among them): members unchecked
  }
}

template <class... P>
struct kernel_call {
  launch_shape shape;
  void (*kernel)(P...);

  template <class... A>
  void operator()(A&&... a) const {
    static_assert(sizeof...(A) == sizeof...(P), "wrong number of kernel arguments");
    // Kernel parameters are copied at launch, as on a device.
    auto args = std::make_shared<std::tuple<std::decay_t<P>...>>(std::forward<A>(a)...);
    std::string bad;
    std::size_t index = 0;
    std::apply(
        [&](const auto&... v) {
          ((bad.empty() ? (bad = bad_pointer_in(v, "argument " + std::to_string(index))) : bad, ++index), ...);
        },
        *args);
    if (!bad.empty()) {
      report_bad_argument(shape, bad);
      return;
    }
    auto* k = kernel;
    launch(shape, [args, k] {
      auto copy = *args;  // each thread gets its own parameters
      std::apply(k, copy);
    });
  }
};

template <class... P>
kernel_call<P...> launcher(dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream, const char* name,
                           void (*kernel)(P...)) {
  return kernel_call<P...>{launch_shape{grid, block, smem, stream, name, reinterpret_cast<const void*>(kernel)},
                           kernel};
}

// ---- runtime, cuBLAS and cuRAND ----------------------------------------------------------------

cudaError_t malloc_bytes(void** p, std::size_t bytes);
template <class T>
cudaError_t cuda_malloc(T** p, std::size_t bytes) {
  return malloc_bytes(reinterpret_cast<void**>(p), bytes);
}
cudaError_t cuda_free(void* p);
cudaError_t cuda_memcpy_async(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                              cudaStream_t stream = nullptr);
cudaError_t cuda_memcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind);
cudaError_t cuda_memset_async(void* p, int value, std::size_t bytes, cudaStream_t stream = nullptr);
cudaError_t cuda_memset(void* p, int value, std::size_t bytes);
cudaError_t cuda_stream_create_with_flags(cudaStream_t* s, unsigned flags);
cudaError_t cuda_stream_create(cudaStream_t* s);
cudaError_t cuda_stream_destroy(cudaStream_t s);
cudaError_t cuda_stream_synchronize(cudaStream_t s);
/// Runs the stream's queue, then answers cudaSuccess (an emulated stream is never left not ready).
cudaError_t cuda_stream_query(cudaStream_t s);
cudaError_t cuda_device_synchronize();
cudaError_t cuda_get_device(int* d);
cudaError_t cuda_set_device(int d);
cudaError_t cuda_get_device_count(int* n);
/// An H100's limits; the name says it is emulated, and the UUID is this process's own (every process
/// has its own emulated device, as one rank per GPU), or with DIFFEVO_EMULATOR_ONE_DEVICE=1 the same
/// in every process (ranks sharing one GPU).
cudaError_t cuda_get_device_properties(cudaDeviceProp* prop, int device);
cudaError_t cuda_mem_get_info(std::size_t* free_bytes, std::size_t* total_bytes);
cudaError_t cuda_device_get_attribute(int* value, cudaDeviceAttr attr, int device);
cudaError_t func_set_attribute(const void* kernel, cudaFuncAttribute attr, int value);
/// Every kernel has an image on the emulated device: zero attributes and success.
cudaError_t func_get_attributes(cudaFuncAttributes* a, const void* kernel);
template <class T>
cudaError_t cuda_func_get_attributes(cudaFuncAttributes* a, T* kernel) {
  return func_get_attributes(a, reinterpret_cast<const void*>(kernel));
}
template <class T>
cudaError_t cuda_func_set_attribute(T* kernel, cudaFuncAttribute attr, int value) {
  return func_set_attribute(reinterpret_cast<const void*>(kernel), attr, value);
}
cudaError_t cuda_event_create(cudaEvent_t* e);
cudaError_t cuda_event_destroy(cudaEvent_t e);
cudaError_t cuda_event_record(cudaEvent_t e, cudaStream_t s = nullptr);
cudaError_t cuda_event_synchronize(cudaEvent_t e);
cudaError_t cuda_event_elapsed_time(float* ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t cuda_get_last_error();
cudaError_t cuda_peek_at_last_error();
const char* cuda_get_error_string(cudaError_t e);

cublasStatus_t cublas_create(cublasHandle_t* h);
cublasStatus_t cublas_destroy(cublasHandle_t h);
cublasStatus_t cublas_set_stream(cublasHandle_t h, cudaStream_t s);
cublasStatus_t cublas_set_math_mode(cublasHandle_t h, cublasMath_t mode);
cublasStatus_t cublas_sgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const float* alpha, const float* a, int lda, const float* b, int ldb, const float* beta,
                            float* c, int ldc);
cublasStatus_t cublas_dgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const double* alpha, const double* a, int lda, const double* b, int ldb,
                            const double* beta, double* c, int ldc);

curandStatus_t curand_create_generator(curandGenerator_t* g, curandRngType_t type);
curandStatus_t curand_destroy_generator(curandGenerator_t g);
curandStatus_t curand_set_stream(curandGenerator_t g, cudaStream_t s);
curandStatus_t curand_generate_normal(curandGenerator_t g, float* out, std::size_t n, float mean, float stddev);

// ---- for the emulator's other parts (the NCCL emulation, nccl_emulator.cpp) ----------------------------

/// Queues host work on a stream, run in stream order when something waits for it: `op` returns true
/// when done, false while it waits for another process (it is called again; cudaStreamQuery answers
/// cudaErrorNotReady meanwhile, and the waits retry it).
cudaError_t enqueue_host_work(cudaStream_t s, const char* what, std::function<bool()> op);
/// From queued work: a device fault there (already reported), returned by the stream's next wait.
void fail_queued_work();
/// True when fail_call chose this call (reported as a fault), or the context is lost.
bool inject_failure(const char* call);
/// Reports a fault (stderr, counted in faults_reported()) that is not a CUDA runtime error.
void report_fault(const std::string& what);
/// True when [p, p + bytes) lies in one device allocation.
bool is_device_range(const void* p, std::size_t bytes) noexcept;

// ---- for the emulator's own tests ----------------------------------------------------------------

/// Runs threads in reverse order between barriers (or in order); returns the previous setting.
bool set_reverse_order(bool reverse) noexcept;
/// Makes the k-th failable call from now fail (0: the next; -1: none): an allocation, copy, memset,
/// launch, synchronization, stream, handle or generator creation, GEMM or noise draw. It returns the
/// error a device would (out of memory, a launch or execution failure, ...), reported as a fault.
/// `sticky`: the failure is a device fault that loses the context, as on a GPU: every later call
/// fails too (cudaErrorLaunchFailure, not cleared by cudaGetLastError) until reset_device.
void fail_call(long k, bool sticky = false) noexcept;
/// cudaDeviceReset: a lost context is usable again; every allocation, stream, handle and queued
/// operation is dropped.
void reset_device() noexcept;
/// True while the call chosen by fail_call has not been made yet.
bool failure_pending() noexcept;
/// Device allocations alive now.
std::size_t live_allocations() noexcept;
/// Emulated kernel faults, launch errors and bad calls reported so far.
long faults_reported() noexcept;

}  // namespace diffevo::emu

// ---- the CUDA names, redirected (not in the emulator's own source) -----------------------------------
#ifndef DIFFEVO_EMULATOR_RUNTIME
#define DIFFEVO_CUDA_EMULATOR 1

#undef __shared__
#define __shared__ static
#ifndef __launch_bounds__
#define __launch_bounds__(...)
#endif
#define threadIdx (::diffevo::emu::ids().thread)
#define blockIdx (::diffevo::emu::ids().block)
#define blockDim (::diffevo::emu::ids().block_dim)
#define gridDim (::diffevo::emu::ids().grid_dim)
#define __syncthreads() ::diffevo::emu::sync_block(__FILE__, __LINE__)
#define __shfl_down_sync(...) ::diffevo::emu::shfl_down(__FILE__, __LINE__, __VA_ARGS__)
using std::max;
using std::min;

#define DIFFEVO_LAUNCH(grid, block, smem, stream, ...) \
  ::diffevo::emu::launcher(grid, block, smem, stream, #__VA_ARGS__, __VA_ARGS__)
#define DIFFEVO_DYNAMIC_SHARED(T, name) T* const name = static_cast<T*>(::diffevo::emu::dynamic_shared_memory())

#define cudaMalloc ::diffevo::emu::cuda_malloc
#define cudaFree ::diffevo::emu::cuda_free
#define cudaMemcpyAsync ::diffevo::emu::cuda_memcpy_async
#define cudaMemcpy ::diffevo::emu::cuda_memcpy
#define cudaMemsetAsync ::diffevo::emu::cuda_memset_async
#define cudaMemset ::diffevo::emu::cuda_memset
#define cudaStreamCreateWithFlags ::diffevo::emu::cuda_stream_create_with_flags
#define cudaStreamCreate ::diffevo::emu::cuda_stream_create
#define cudaStreamDestroy ::diffevo::emu::cuda_stream_destroy
#define cudaStreamSynchronize ::diffevo::emu::cuda_stream_synchronize
#define cudaStreamQuery ::diffevo::emu::cuda_stream_query
#define cudaDeviceSynchronize ::diffevo::emu::cuda_device_synchronize
#define cudaGetDevice ::diffevo::emu::cuda_get_device
#define cudaSetDevice ::diffevo::emu::cuda_set_device
#define cudaGetDeviceCount ::diffevo::emu::cuda_get_device_count
#define cudaGetDeviceProperties ::diffevo::emu::cuda_get_device_properties
#define cudaMemGetInfo ::diffevo::emu::cuda_mem_get_info
#define cudaDeviceGetAttribute ::diffevo::emu::cuda_device_get_attribute
#define cudaFuncSetAttribute ::diffevo::emu::cuda_func_set_attribute
#define cudaFuncGetAttributes ::diffevo::emu::cuda_func_get_attributes
#define cudaEventCreate ::diffevo::emu::cuda_event_create
#define cudaEventDestroy ::diffevo::emu::cuda_event_destroy
#define cudaEventRecord ::diffevo::emu::cuda_event_record
#define cudaEventSynchronize ::diffevo::emu::cuda_event_synchronize
#define cudaEventElapsedTime ::diffevo::emu::cuda_event_elapsed_time
#define cudaGetLastError ::diffevo::emu::cuda_get_last_error
#define cudaPeekAtLastError ::diffevo::emu::cuda_peek_at_last_error
#define cudaGetErrorString ::diffevo::emu::cuda_get_error_string
#undef cublasCreate
#undef cublasDestroy
#undef cublasSetStream
#undef cublasSgemm
#undef cublasDgemm
#define cublasCreate ::diffevo::emu::cublas_create
#define cublasDestroy ::diffevo::emu::cublas_destroy
#define cublasSetStream ::diffevo::emu::cublas_set_stream
#define cublasSetMathMode ::diffevo::emu::cublas_set_math_mode
#define cublasSgemm ::diffevo::emu::cublas_sgemm
#define cublasDgemm ::diffevo::emu::cublas_dgemm
#define curandCreateGenerator ::diffevo::emu::curand_create_generator
#define curandDestroyGenerator ::diffevo::emu::curand_destroy_generator
#define curandSetStream ::diffevo::emu::curand_set_stream
#define curandGenerateNormal ::diffevo::emu::curand_generate_normal
#endif  // DIFFEVO_EMULATOR_RUNTIME

// ---- NCCL over MPI (nccl_emulator.cpp), for code built with DIFFEVO_WITH_NCCL -----------------------
// The calls the cuda backend makes (cuda/exchange/device_group.cuh), each one a failable call of
// fail_call, and so is each group's run on the device ("ncclBroadcast (on the device)": that rank
// sends and receives nothing, and its stream's next wait fails). A communicator spans
// MPI_COMM_WORLD in rank order. A group's broadcasts are queued on the stream; when the stream
// reaches them they are posted as MPI messages of the (emulated) device memory, and the stream is
// not ready (cudaStreamQuery: cudaErrorNotReady; the waits retry) until they have gone, so a peer
// that never posts leaves the others waiting, as on a device. ncclCommAbort ends what the
// communicator has queued (its receives cancelled). Non-blocking communicators answer ncclInProgress
// from their creation and from ncclGroupEnd, and ncclCommGetAsyncError says ncclInProgress once
// before it settles. Not modeled: a creation or group that needs its peers to settle (here each
// settles alone), and NCCL's own detection of a peer's failure.
#if DIFFEVO_WITH_NCCL || defined(DIFFEVO_EMULATOR_NCCL)
#include <nccl.h>
namespace diffevo::emu {
ncclResult_t nccl_get_unique_id(ncclUniqueId* id);
ncclResult_t nccl_comm_init_rank_config(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank, ncclConfig_t* config);
ncclResult_t nccl_comm_get_async_error(ncclComm_t comm, ncclResult_t* async);
ncclResult_t nccl_comm_abort(ncclComm_t comm);
ncclResult_t nccl_group_start();
ncclResult_t nccl_group_end();
ncclResult_t nccl_broadcast(const void* send, void* recv, std::size_t count, ncclDataType_t type, int root,
                            ncclComm_t comm, cudaStream_t stream);
const char* nccl_get_error_string(ncclResult_t r);
const char* nccl_get_last_error(ncclComm_t comm);
/// Communicators alive now (made and not aborted).
std::size_t live_communicators() noexcept;
}  // namespace diffevo::emu
#ifndef DIFFEVO_EMULATOR_NCCL
#define ncclGetUniqueId ::diffevo::emu::nccl_get_unique_id
#define ncclCommInitRankConfig ::diffevo::emu::nccl_comm_init_rank_config
#define ncclCommGetAsyncError ::diffevo::emu::nccl_comm_get_async_error
#define ncclCommAbort ::diffevo::emu::nccl_comm_abort
#define ncclGroupStart ::diffevo::emu::nccl_group_start
#define ncclGroupEnd ::diffevo::emu::nccl_group_end
#define ncclBroadcast ::diffevo::emu::nccl_broadcast
#define ncclGetErrorString ::diffevo::emu::nccl_get_error_string
#define ncclGetLastError ::diffevo::emu::nccl_get_last_error
#endif
#endif
