// The CUDA emulator's runtime (see cuda_emulator.hpp): fibers for CUDA threads, stream queues, the
// device-memory registry and the checks, and cuBLAS/cuRAND stand-ins. Compiled without the
// force-included header, against the real CUDA headers and the real cuRAND host generator.
#define DIFFEVO_EMULATOR_RUNTIME
#include "cuda_emulator.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define DIFFEVO_EMU_ASAN 1
#endif

namespace diffevo::emu {
namespace {

// ---- the emulated device -------------------------------------------------------------------------

constexpr std::size_t k_total_memory = std::size_t(80) << 30;  // an H100's 80 GB
constexpr int k_sms = 132;
constexpr int k_smem_default = 48 * 1024;
constexpr int k_smem_optin = 227 * 1024;
constexpr std::size_t k_alignment = 256;

std::recursive_mutex g_mutex;  // every runtime call holds it; kernels run under it
using lock = std::lock_guard<std::recursive_mutex>;
cudaError_t g_last_error = cudaSuccess;
std::string g_last_message;
long g_faults = 0;

template <class... A>
std::string format(const char* fmt, A... a) {
  char buf[1024];
  std::snprintf(buf, sizeof buf, fmt, a...);
  return buf;
}

// Reports a fault: stderr now, and for a CUDA runtime call the code as the last error (the message
// goes with its error string). cuBLAS and cuRAND failures leave the runtime's last error alone.
cudaError_t fault(cudaError_t code, const std::string& what, bool runtime_call = true) {
  std::fprintf(stderr, "diffevo emulator: %s\n", what.c_str());
  ++g_faults;
  g_last_message = what;
  if (runtime_call) g_last_error = code;
  return code;
}

long g_fail_countdown = -1;  // fail_call: calls left before the one that fails (-1: none)
bool g_fail_sticky = false;  // fail_call: the failure is a device fault that loses the context
cudaError_t g_sticky = cudaSuccess;  // once lost: what every later call returns (until reset_device)

// True when this call is the one fail_call chose: the fault is reported with `code`.
bool injected(cudaError_t code, const char* call, bool runtime_call = true) {
  if (g_fail_countdown < 0 || g_fail_countdown-- > 0) return false;
  fault(code, format("%s failed (injected by fail_call%s)", call, g_fail_sticky ? ", the context is lost" : ""),
        runtime_call);
  if (g_fail_sticky) g_sticky = cudaErrorLaunchFailure;
  return true;
}

// After a sticky failure every call fails (not reported again: one fault, many refusals).
bool lost() { return g_sticky != cudaSuccess; }
cudaError_t refuse() {
  g_last_error = g_sticky;
  return g_sticky;
}

std::map<std::uintptr_t, std::size_t> g_allocations;  // base -> bytes
std::size_t g_allocated = 0;

// The allocation holding [p, p + bytes) (bytes may be 0: p may be one past the end), or none.
const std::pair<const std::uintptr_t, std::size_t>* find_allocation(const void* p, std::size_t bytes) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  auto it = g_allocations.upper_bound(a);
  if (it == g_allocations.begin()) return nullptr;
  --it;
  if (a < it->first || a + bytes > it->first + it->second || a > it->first + it->second) return nullptr;
  return &*it;
}
bool in_device(const void* p, std::size_t bytes) { return bytes == 0 || find_allocation(p, bytes) != nullptr; }
bool overlaps_device(const void* p, std::size_t bytes) {
  if (bytes == 0) return false;
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  auto it = g_allocations.lower_bound(a + bytes);
  if (it == g_allocations.begin()) return false;
  --it;
  return it->first + it->second > a;
}

struct stream_state {
  bool blocking = true;  // synchronizes with the legacy default stream
  // Each returns true when done; false (only the NCCL emulation's broadcasts, waiting for a peer)
  // leaves it at the front, and the stream is not ready.
  std::deque<std::function<bool()>> work;
};
std::map<cudaStream_t, stream_state> g_streams = {{nullptr, stream_state{}}};
std::map<const void*, int> g_max_dynamic_smem;  // cudaFuncSetAttribute
cudaError_t g_pending = cudaSuccess;              // a fault while running queued work, for the next sync

stream_state* find_stream(cudaStream_t s) {
  auto it = g_streams.find(s);
  return it == g_streams.end() ? nullptr : &it->second;
}

// Runs the stream's queue. With `wait`, until it is empty (an operation waiting for another process
// is retried until it is done); without, up to the first operation that is not done: false then.
bool drain(stream_state& st, bool wait = true) {
  if (lost()) st.work.clear();  // a lost context runs nothing more
  while (!st.work.empty()) {
    if (!st.work.front()()) {
      if (!wait) return false;
      std::this_thread::yield();
      continue;
    }
    st.work.pop_front();
  }
  return true;
}
bool reverse_order();
void drain_all() {  // in reverse creation order too under reverse order: a race between streams shows
  if (reverse_order()) {
    for (auto it = g_streams.rbegin(); it != g_streams.rend(); ++it) drain(it->second);
  } else {
    for (auto& [s, st] : g_streams) drain(st);
  }
}
// What waiting for `s` runs: s itself, and for the legacy default stream every blocking stream too.
void drain_for(cudaStream_t s) {
  if (s == nullptr) {
    for (auto& [k, st] : g_streams)
      if (k == nullptr || st.blocking) drain(st);
  } else if (auto* st = find_stream(s)) {
    drain(*st);
  }
}
cudaError_t take_pending() {
  const cudaError_t e = g_pending;
  g_pending = cudaSuccess;
  return e;
}

cudaError_t enqueue(cudaStream_t s, const char* what, std::function<void()> op) {
  stream_state* st = find_stream(s);
  if (!st) return fault(cudaErrorInvalidResourceHandle, format("%s on a stream that does not exist", what));
  st->work.push_back([op = std::move(op)] {
    op();
    return true;
  });
  return cudaSuccess;
}

// ---- fibers --------------------------------------------------------------------------------------

constexpr std::size_t k_stack_bytes = 64 * 1024;  // kernels keep little on the stack; a guard page below

struct stack {
  char* base = nullptr;  // the guard page; usable memory starts one page above
  std::size_t bytes = 0;
  stack() {
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    bytes = k_stack_bytes + page;
    void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) std::abort();
    base = static_cast<char*>(m);
    mprotect(base, page, PROT_NONE);  // a fiber that overflows its stack faults here
  }
  ~stack() {
    if (base) munmap(base, bytes);
  }
  stack(const stack&) = delete;
  stack& operator=(const stack&) = delete;
  char* bottom() const { return base + (bytes - k_stack_bytes); }
  char* top() const { return base + bytes; }
};

enum class fiber_state { ready, at_block_barrier, at_warp_barrier, done, failed };

struct fiber {
  void* sp = nullptr;
  stack* st = nullptr;
  fiber_state state = fiber_state::ready;
  const char* file = "";
  int line = 0;
  thread_ids id{};
  unsigned parity = 0;  // which of the warp's two exchange buffers the next shuffle uses
};

struct block_run {
  std::vector<fiber> fibers;
  const std::function<void()>* body = nullptr;
  void* scheduler_sp = nullptr;
  std::size_t current = 0;
  std::vector<std::uint64_t> slots;  // per warp: 2 buffers x 32 lanes
  void* smem = nullptr;
  std::string error;
#if DIFFEVO_EMU_ASAN
  const void* scheduler_bottom = nullptr;
  std::size_t scheduler_size = 0;
#endif
};

thread_local block_run* g_block = nullptr;
thread_local std::vector<std::unique_ptr<stack>> g_stacks;

}  // namespace
}  // namespace diffevo::emu

extern "C" void diffevo_emu_switch(void** save_sp, void* new_sp);
extern "C" void diffevo_emu_fiber_main(void* f);

#if defined(__x86_64__)
// Saves the callee-saved registers on the current stack, stores the stack pointer in *save_sp, and
// resumes the context whose stack pointer is new_sp. MXCSR and the x87 control word are not switched:
// every fiber starts with the launching thread's and nothing in a kernel changes them.
extern "C" void diffevo_emu_trampoline();
asm(R"(
  .text
  .globl diffevo_emu_switch
  .type diffevo_emu_switch, @function
diffevo_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size diffevo_emu_switch, .-diffevo_emu_switch

  .globl diffevo_emu_trampoline
  .type diffevo_emu_trampoline, @function
diffevo_emu_trampoline:
  movq %r12, %rdi
  call diffevo_emu_fiber_main
  ud2
  .size diffevo_emu_trampoline, .-diffevo_emu_trampoline
)");
#else
#error "the CUDA emulator's fiber switch is written for x86-64"
#endif

namespace diffevo::emu {
namespace {

// A fresh fiber's stack: the registers diffevo_emu_switch pops, then the trampoline as return address.
void* initial_stack(stack& s, fiber* f) {
  auto top = reinterpret_cast<std::uintptr_t>(s.top()) - 64;
  top &= ~std::uintptr_t(15);  // the trampoline starts with a 16-byte aligned stack
  void** sp = reinterpret_cast<void**>(top);
  sp[-1] = reinterpret_cast<void*>(&diffevo_emu_trampoline);
  for (int r = 2; r <= 7; ++r) sp[-r] = nullptr;  // rbp, rbx, r12, r13, r14, r15
  sp[-4] = f;                                     // r12: the trampoline's argument
  return &sp[-7];
}

void resume(block_run& b, std::size_t i) {
  b.current = i;
  fiber& f = b.fibers[i];
#if DIFFEVO_EMU_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, f.st->bottom(), k_stack_bytes);
  diffevo_emu_switch(&b.scheduler_sp, f.sp);
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
  diffevo_emu_switch(&b.scheduler_sp, f.sp);
#endif
}

// Back to the scheduler from the running fiber (which set its state first).
void yield_to_scheduler(bool final_exit = false) {
  block_run& b = *g_block;
  fiber& f = b.fibers[b.current];
#if DIFFEVO_EMU_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(final_exit ? nullptr : &fake, b.scheduler_bottom, b.scheduler_size);
  diffevo_emu_switch(&f.sp, b.scheduler_sp);
  __sanitizer_finish_switch_fiber(fake, &b.scheduler_bottom, &b.scheduler_size);
#else
  (void)final_exit;
  diffevo_emu_switch(&f.sp, b.scheduler_sp);
#endif
}

// Ends the block with an error from inside a fiber; the fiber is never resumed.
[[noreturn]] void fail_in_fiber(std::string what) {
  block_run& b = *g_block;  // moved from: the abandoned frame keeps no heap buffer
  if (b.error.empty()) b.error = std::move(what);
  b.fibers[b.current].state = fiber_state::failed;
  yield_to_scheduler(true);
  std::abort();  // unreachable
}

bool same_place(const fiber& a, const fiber& b) {
  return a.line == b.line && (a.file == b.file || std::strcmp(a.file, b.file) == 0);
}
std::string where(const fiber& f) { return format("%s:%d", f.file, f.line); }
std::string who(const fiber& f) { return format("thread %u", f.id.thread.x + f.id.block_dim.x * (f.id.thread.y + f.id.block_dim.y * f.id.thread.z)); }

std::atomic<int> g_reverse{-1};  // -1: not read from the environment yet
bool reverse_order() {
  int r = g_reverse.load();
  if (r < 0) {
    const char* v = std::getenv("DIFFEVO_EMULATOR_ORDER");
    r = v && std::strcmp(v, "reverse") == 0;
    g_reverse.store(r);
  }
  return r == 1;
}

// Runs one block to the end. Returns an error description, or "" on success.
std::string run_block(const launch_shape& s, uint3 block_idx, const std::function<void()>& body, void* smem) {
  // Before any stack is touched: a block in progress has suspended fibers on them.
  if (g_block) return "a kernel ran from inside a kernel (the emulator runs one block at a time)";
  const unsigned threads = s.block.x * s.block.y * s.block.z;
  block_run b;
  b.body = &body;
  b.smem = smem;
  b.fibers.resize(threads);
  const unsigned warps = (threads + 31) / 32;
  b.slots.assign(static_cast<std::size_t>(warps) * 64, 0);
  while (g_stacks.size() < threads) g_stacks.push_back(std::make_unique<stack>());
  for (unsigned t = 0; t < threads; ++t) {
    fiber& f = b.fibers[t];
    f.st = g_stacks[t].get();
#if DIFFEVO_EMU_ASAN
    ASAN_UNPOISON_MEMORY_REGION(f.st->bottom(), k_stack_bytes);  // frames a finished fiber never left
#endif
    f.sp = initial_stack(*f.st, &f);
    f.id.thread = uint3{t % s.block.x, (t / s.block.x) % s.block.y, t / (s.block.x * s.block.y)};
    f.id.block = block_idx;
    f.id.block_dim = s.block;
    f.id.grid_dim = s.grid;
  }
  g_block = &b;
  struct restore {
    ~restore() { g_block = nullptr; }
  } restore_outer;
  const bool rev = reverse_order();
  while (true) {
    for (unsigned k = 0; k < threads; ++k) {
      const unsigned t = rev ? threads - 1 - k : k;
      if (b.fibers[t].state != fiber_state::ready) continue;
      resume(b, t);
      if (!b.error.empty()) return b.error;
    }
    // Every fiber is done or waiting: release a whole warp at one shuffle, else the block at one barrier.
    bool released = false, all_done = true;
    for (unsigned w = 0; w < warps; ++w) {
      const unsigned lo = w * 32, hi = std::min(threads, lo + 32);
      const fiber* shuffling = nullptr;
      for (unsigned t = lo; t < hi; ++t)
        if (b.fibers[t].state == fiber_state::at_warp_barrier) shuffling = &b.fibers[t];
      if (!shuffling) continue;
      if (hi - lo != 32) return format("a shuffle at %s in a partial warp (%u threads)", where(*shuffling).c_str(), hi - lo);
      for (unsigned t = lo; t < hi; ++t) {
        const fiber& f = b.fibers[t];
        if (f.state == fiber_state::done)
          return format("a full-warp shuffle at %s while %s of the warp has exited", where(*shuffling).c_str(), who(f).c_str());
        if (f.state == fiber_state::at_block_barrier)
          return format("warp divergence: a shuffle at %s while %s waits at __syncthreads at %s",
                        where(*shuffling).c_str(), who(f).c_str(), where(f).c_str());
        if (!same_place(f, *shuffling))
          return format("one warp at two shuffles: %s and %s", where(*shuffling).c_str(), where(f).c_str());
      }
      for (unsigned t = lo; t < hi; ++t) b.fibers[t].state = fiber_state::ready;
      released = true;
    }
    if (released) continue;
    const fiber* waiting = nullptr;
    for (const fiber& f : b.fibers) {
      if (f.state != fiber_state::done) all_done = false;
      if (f.state != fiber_state::at_block_barrier) continue;
      if (waiting && !same_place(f, *waiting))
        return format("divergent __syncthreads: %s waits at %s, %s at %s", who(*waiting).c_str(),
                      where(*waiting).c_str(), who(f).c_str(), where(f).c_str());
      waiting = &f;
    }
    if (all_done) return "";
    for (fiber& f : b.fibers)
      if (f.state == fiber_state::at_block_barrier) f.state = fiber_state::ready;
  }
}

void run_grid(const launch_shape& s, const std::function<void()>& body) {
  // The dynamic shared memory, exactly as large as launched, then a canary: a write past the end is a
  // fault after the block (and, under AddressSanitizer, any access past it at once).
  constexpr std::size_t k_canary = 64;
  std::unique_ptr<unsigned char[]> smem(new unsigned char[s.smem + k_canary]);
  unsigned char* const canary = smem.get() + s.smem;
  const bool rev = reverse_order();  // blocks in reverse too: a race between blocks shows in one order
  const unsigned long long blocks = 1ULL * s.grid.x * s.grid.y * s.grid.z;
  for (unsigned long long i = 0; i < blocks; ++i) {
    const unsigned long long b = rev ? blocks - 1 - i : i;
    const unsigned x = static_cast<unsigned>(b % s.grid.x), y = static_cast<unsigned>(b / s.grid.x % s.grid.y),
                   z = static_cast<unsigned>(b / (1ULL * s.grid.x * s.grid.y));
    std::memset(smem.get(), 0xff, s.smem);  // uninitialized shared memory reads as NaN
    std::memset(canary, 0xff, k_canary);  // a read past the end is NaN too
#if DIFFEVO_EMU_ASAN
    ASAN_POISON_MEMORY_REGION(canary, k_canary);
#endif
    std::string e = run_block(s, uint3{x, y, z}, body, smem.get());
#if DIFFEVO_EMU_ASAN
    ASAN_UNPOISON_MEMORY_REGION(canary, k_canary);
#endif
    if (e.empty() && std::any_of(canary, canary + k_canary, [](unsigned char c) { return c != 0xff; }))
      e = format("a write past the end of its %zu bytes of dynamic shared memory", s.smem);
    if (!e.empty()) {
      fault(cudaErrorLaunchFailure, format("kernel %s, block (%u, %u, %u): %s", s.name, x, y, z, e.c_str()));
      g_pending = cudaErrorLaunchFailure;
      return;
    }
  }
}

}  // namespace
}  // namespace diffevo::emu

extern "C" void diffevo_emu_fiber_main(void* fp) {
  using namespace diffevo::emu;
  auto* f = static_cast<fiber*>(fp);
#if DIFFEVO_EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &g_block->scheduler_bottom, &g_block->scheduler_size);
#endif
  bool failed = false;  // leave the handler before switching away: the exception is then freed
  try {
    (*g_block->body)();
  } catch (const std::exception& e) {
    if (g_block->error.empty()) g_block->error = std::string("an exception in a kernel: ") + e.what();
    failed = true;
  } catch (...) {
    if (g_block->error.empty()) g_block->error = "an exception in a kernel";
    failed = true;
  }
  f->state = failed ? fiber_state::failed : fiber_state::done;
  yield_to_scheduler(true);
  std::abort();  // a finished fiber is never resumed
}

namespace diffevo::emu {

// ---- inside kernels ------------------------------------------------------------------------------

const thread_ids& ids() noexcept { return g_block->fibers[g_block->current].id; }
void* dynamic_shared_memory() noexcept { return g_block->smem; }

void sync_block(const char* file, int line) {
  fiber& f = g_block->fibers[g_block->current];
  f.file = file;
  f.line = line;
  f.state = fiber_state::at_block_barrier;
  yield_to_scheduler();
}

std::uint64_t warp_exchange(unsigned mask, std::uint64_t in, int src, const char* file, int line) {
  block_run& b = *g_block;
  fiber& f = b.fibers[b.current];
  if (mask != 0xffffffffu)
    fail_in_fiber(format("a shuffle at %s:%d with mask %#x (the emulator takes full warps only)", file, line, mask));
  const std::size_t t = b.current, warp = t / 32, lane = t % 32;
  std::uint64_t* buf = b.slots.data() + warp * 64 + f.parity * 32;
  buf[lane] = in;
  f.file = file;
  f.line = line;
  f.state = fiber_state::at_warp_barrier;
  yield_to_scheduler();
  f.parity ^= 1u;  // the other buffer next: a lane cannot overwrite this one before every lane has read it
  return buf[src];
}

// ---- launches ------------------------------------------------------------------------------------

bool is_device_pointer(const void* p) noexcept {
  const lock l(g_mutex);
  return p == nullptr || find_allocation(p, 0) != nullptr;
}

void report_bad_argument(const launch_shape& s, const std::string& where) {
  const lock l(g_mutex);
  fault(cudaErrorInvalidValue,
        format("kernel %s: %s is a pointer outside every device allocation", s.name, where.c_str()));
}

void launch(const launch_shape& s, std::function<void()> thread_body) {
  const lock l(g_mutex);
  if (lost()) {
    refuse();
    return;
  }
  const dim3 b = s.block, g = s.grid;
  const unsigned long long threads = 1ULL * b.x * b.y * b.z;
  if (b.x == 0 || b.y == 0 || b.z == 0 || b.x > 1024 || b.y > 1024 || b.z > 64 || threads > 1024) {
    fault(cudaErrorInvalidConfiguration, format("kernel %s: block (%u, %u, %u) is not a valid block", s.name, b.x, b.y, b.z));
    return;
  }
  if (g.x == 0 || g.y == 0 || g.z == 0 || g.x > 2147483647u || g.y > 65535 || g.z > 65535) {
    fault(cudaErrorInvalidConfiguration, format("kernel %s: grid (%u, %u, %u) is not a valid grid", s.name, g.x, g.y, g.z));
    return;
  }
  const auto it = g_max_dynamic_smem.find(s.kernel);
  const std::size_t limit = it == g_max_dynamic_smem.end() ? k_smem_default : static_cast<std::size_t>(it->second);
  if (s.smem > limit) {
    fault(cudaErrorInvalidValue, format("kernel %s: %zu bytes of dynamic shared memory, above its limit of %zu "
                                        "(cudaFuncSetAttribute raises it)", s.name, s.smem, limit));
    return;
  }
  if (injected(cudaErrorLaunchOutOfResources, s.name)) return;
  enqueue(s.stream, s.name, [s, body = std::move(thread_body)] { run_grid(s, body); });
}

// ---- runtime -------------------------------------------------------------------------------------

cudaError_t malloc_bytes(void** p, std::size_t bytes) {
  const lock l(g_mutex);
  if (lost()) return refuse();
  if (!p) return fault(cudaErrorInvalidValue, "cudaMalloc with a null result pointer");
  *p = nullptr;
  if (bytes == 0) return cudaSuccess;
  if (injected(cudaErrorMemoryAllocation, "cudaMalloc")) return cudaErrorMemoryAllocation;
  if (bytes > k_total_memory - g_allocated) return cudaErrorMemoryAllocation;  // as a device: no message
  void* m = nullptr;  // exactly `bytes`: under AddressSanitizer an access one byte past the end is reported
  if (posix_memalign(&m, k_alignment, bytes) != 0) return cudaErrorMemoryAllocation;
  std::memset(m, 0xff, bytes);  // uninitialized device memory reads as NaN
  g_allocations[reinterpret_cast<std::uintptr_t>(m)] = bytes;
  g_allocated += bytes;
  *p = m;
  return cudaSuccess;
}

cudaError_t cuda_free(void* p) {
  const lock l(g_mutex);
  if (lost()) return refuse();  // the memory goes with the context (reset_device)
  drain_all();  // cudaFree waits for the device
  if (!p) return cudaSuccess;
  auto it = g_allocations.find(reinterpret_cast<std::uintptr_t>(p));
  if (it == g_allocations.end()) return fault(cudaErrorInvalidValue, "cudaFree of a pointer that is not a device allocation");
  g_allocated -= it->second;
  g_allocations.erase(it);
  std::free(p);
  return cudaSuccess;
}

// Checks a copy's pointers for its direction: device ranges inside one allocation, host ones outside all.
cudaError_t check_copy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, const char* call) {
  if (bytes == 0) return cudaSuccess;
  const bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (kind == cudaMemcpyDefault) {
    if ((overlaps_device(dst, bytes) && !in_device(dst, bytes)) || (overlaps_device(src, bytes) && !in_device(src, bytes)))
      return fault(cudaErrorInvalidValue, format("%s (default kind) of %zu bytes crosses an allocation's end", call, bytes));
    return cudaSuccess;
  }
  if (kind == cudaMemcpyHostToHost) return fault(cudaErrorInvalidValue, format("%s host to host", call));
  if (dst_dev ? !in_device(dst, bytes) : overlaps_device(dst, bytes))
    return fault(cudaErrorInvalidValue, format("%s of %zu bytes: the destination is not %s", call, bytes,
                                               dst_dev ? "inside one device allocation" : "host memory"));
  if (src_dev ? !in_device(src, bytes) : overlaps_device(src, bytes))
    return fault(cudaErrorInvalidValue, format("%s of %zu bytes: the source is not %s", call, bytes,
                                               src_dev ? "inside one device allocation" : "host memory"));
  return cudaSuccess;
}

cudaError_t cuda_memcpy_async(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  const lock l(g_mutex);
  if (lost()) return refuse();
  if (const cudaError_t e = check_copy(dst, src, bytes, kind, "cudaMemcpyAsync")) return e;
  if (injected(cudaErrorInvalidValue, "cudaMemcpyAsync")) return cudaErrorInvalidValue;
  if (!overlaps_device(src, bytes)) {
    // The copy reads its host source when the stream gets there. A source changed in between is a
    // fault: a device may have read it at the call (staged) or later (pinned, or not staged).
    auto at_call = std::make_shared<std::vector<unsigned char>>(static_cast<const unsigned char*>(src),
                                                                static_cast<const unsigned char*>(src) + bytes);
    return enqueue(stream, "cudaMemcpyAsync", [=] {
      if (std::memcmp(src, at_call->data(), bytes) != 0)
        fault(cudaErrorInvalidValue, format("the host source of a %zu-byte cudaMemcpyAsync changed before the copy "
                                            "ran (a device may copy either version)", bytes));
      std::memmove(dst, src, bytes);
    });
  }
  return enqueue(stream, "cudaMemcpyAsync", [=] { std::memmove(dst, src, bytes); });
}

cudaError_t cuda_memcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  const lock l(g_mutex);
  if (lost()) return refuse();
  if (const cudaError_t e = check_copy(dst, src, bytes, kind, "cudaMemcpy")) return e;
  if (injected(cudaErrorInvalidValue, "cudaMemcpy")) return cudaErrorInvalidValue;
  drain_for(nullptr);
  if (const cudaError_t e = take_pending()) return e;
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cuda_memset_async(void* p, int value, std::size_t bytes, cudaStream_t stream) {
  const lock l(g_mutex);
  if (lost()) return refuse();
  if (!in_device(p, bytes))
    return fault(cudaErrorInvalidValue, format("cudaMemsetAsync of %zu bytes outside every device allocation", bytes));
  if (injected(cudaErrorInvalidValue, "cudaMemsetAsync")) return cudaErrorInvalidValue;
  return enqueue(stream, "cudaMemsetAsync", [=] { std::memset(p, value, bytes); });
}

cudaError_t cuda_memset(void* p, int value, std::size_t bytes) {
  const lock l(g_mutex);
  if (lost()) return refuse();
  if (const cudaError_t e = cuda_memset_async(p, value, bytes, nullptr)) return e;
  drain_for(nullptr);
  return take_pending();
}

cudaError_t cuda_stream_create_with_flags(cudaStream_t* s, unsigned flags) {
  const lock l(g_mutex);
  if (lost()) return refuse();
  static std::uintptr_t next = 0x1000;  // stream handles are opaque: distinct non-null values
  if (!s) return fault(cudaErrorInvalidValue, "cudaStreamCreate with a null result pointer");
  if (injected(cudaErrorMemoryAllocation, "cudaStreamCreate")) return cudaErrorMemoryAllocation;
  next += 0x10;
  *s = reinterpret_cast<cudaStream_t>(next);
  g_streams[*s].blocking = (flags & cudaStreamNonBlocking) == 0;
  return cudaSuccess;
}
cudaError_t cuda_stream_create(cudaStream_t* s) { return cuda_stream_create_with_flags(s, cudaStreamDefault); }

cudaError_t cuda_stream_destroy(cudaStream_t s) {
  const lock l(g_mutex);
  stream_state* st = s ? find_stream(s) : nullptr;
  if (!st) return fault(cudaErrorInvalidResourceHandle, "cudaStreamDestroy of a stream that does not exist");
  drain(*st);  // its work still completes
  g_streams.erase(s);
  return lost() ? refuse() : cudaSuccess;
}

cudaError_t cuda_stream_synchronize(cudaStream_t s) {
  const lock l(g_mutex);
  if (lost()) return refuse();
  if (s && !find_stream(s)) return fault(cudaErrorInvalidResourceHandle, "cudaStreamSynchronize of a stream that does not exist");
  drain_for(s);
  if (injected(cudaErrorLaunchFailure, "cudaStreamSynchronize")) return cudaErrorLaunchFailure;
  return take_pending();
}

cudaError_t cuda_stream_query(cudaStream_t s) {
  const lock l(g_mutex);
  if (lost()) return refuse();
  stream_state* st = s ? find_stream(s) : nullptr;
  if (!st) return fault(cudaErrorInvalidResourceHandle, "cudaStreamQuery of a stream that does not exist (or 0)");
  if (!drain(*st, false)) return cudaErrorNotReady;
  if (injected(cudaErrorLaunchFailure, "cudaStreamQuery")) return cudaErrorLaunchFailure;
  return take_pending();
}

cudaError_t enqueue_host_work(cudaStream_t s, const char* what, std::function<bool()> op) {
  const lock l(g_mutex);
  if (lost()) return refuse();
  stream_state* st = find_stream(s);
  if (!st) return fault(cudaErrorInvalidResourceHandle, format("%s on a stream that does not exist", what));
  st->work.push_back(std::move(op));
  return cudaSuccess;
}

void fail_queued_work() {
  const lock l(g_mutex);
  g_pending = cudaErrorLaunchFailure;
}

bool inject_failure(const char* call) {
  const lock l(g_mutex);
  return lost() || injected(cudaErrorLaunchFailure, call, false);
}

void report_fault(const std::string& what) {
  const lock l(g_mutex);
  fault(cudaSuccess, what, false);
}

bool is_device_range(const void* p, std::size_t bytes) noexcept {
  const lock l(g_mutex);
  return in_device(p, bytes);
}

cudaError_t cuda_device_synchronize() {
  const lock l(g_mutex);
  if (lost()) return refuse();
  drain_all();
  if (injected(cudaErrorLaunchFailure, "cudaDeviceSynchronize")) return cudaErrorLaunchFailure;
  return take_pending();
}

cudaError_t cuda_get_device(int* d) {
  const lock l(g_mutex);
  if (lost()) return refuse();
  if (!d) return cudaErrorInvalidValue;
  *d = 0;
  return cudaSuccess;
}
cudaError_t cuda_set_device(int d) {
  const lock l(g_mutex);
  if (lost()) return refuse();
  if (d != 0) {
    return fault(cudaErrorInvalidDevice, format("cudaSetDevice(%d): the emulator has device 0 only", d));
  }
  return cudaSuccess;
}
cudaError_t cuda_get_device_count(int* n) {
  if (!n) return cudaErrorInvalidValue;
  *n = 1;
  return cudaSuccess;
}
cudaError_t cuda_get_device_properties(cudaDeviceProp* prop, int device) {
  const lock l(g_mutex);
  if (lost()) return refuse();
  if (!prop || device != 0) return fault(cudaErrorInvalidDevice, "cudaGetDeviceProperties: bad pointer or device");
  if (injected(cudaErrorInvalidValue, "cudaGetDeviceProperties")) return cudaErrorInvalidValue;
  *prop = cudaDeviceProp{};
  std::snprintf(prop->name, sizeof prop->name, "%s", "diffevo CUDA emulator (H100 limits)");
  // DIFFEVO_EMULATOR_ONE_DEVICE=1: every process reports the same device (ranks sharing one GPU).
  const char* one = std::getenv("DIFFEVO_EMULATOR_ONE_DEVICE");
  const bool shared = one && std::strcmp(one, "1") == 0;
  const unsigned long long id[2] = {0x646966666576ull, shared ? 0ull : static_cast<unsigned long long>(getpid())};
  std::memcpy(prop->uuid.bytes, id, sizeof id);
  prop->totalGlobalMem = k_total_memory;
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = k_sms;
  prop->maxThreadsPerBlock = 1024;
  prop->warpSize = 32;
  prop->sharedMemPerBlock = static_cast<std::size_t>(k_smem_default);
  prop->sharedMemPerBlockOptin = static_cast<std::size_t>(k_smem_optin);
  return cudaSuccess;
}
cudaError_t cuda_mem_get_info(std::size_t* free_bytes, std::size_t* total_bytes) {
  const lock l(g_mutex);
  if (lost()) return refuse();
  if (free_bytes) *free_bytes = k_total_memory - g_allocated;
  if (total_bytes) *total_bytes = k_total_memory;
  return cudaSuccess;
}

cudaError_t cuda_device_get_attribute(int* value, cudaDeviceAttr attr, int device) {
  const lock l(g_mutex);
  if (lost()) return refuse();
  if (!value || device != 0) return fault(cudaErrorInvalidValue, "cudaDeviceGetAttribute: bad value pointer or device");
  switch (attr) {
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = k_smem_optin; return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = k_smem_default; return cudaSuccess;
    case cudaDevAttrMultiProcessorCount: *value = k_sms; return cudaSuccess;
    case cudaDevAttrMaxThreadsPerBlock: *value = 1024; return cudaSuccess;
    case cudaDevAttrWarpSize: *value = 32; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMajor: *value = 9; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMinor: *value = 0; return cudaSuccess;
    default: return fault(cudaErrorInvalidValue, format("cudaDeviceGetAttribute: attribute %d is not emulated", int(attr)));
  }
}

cudaError_t func_set_attribute(const void* kernel, cudaFuncAttribute attr, int value) {
  const lock l(g_mutex);
  if (lost()) return refuse();
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaSuccess;  // hints: no effect here
  if (value < 0 || value > k_smem_optin)
    return fault(cudaErrorInvalidValue, format("cudaFuncSetAttribute: %d bytes of dynamic shared memory exceed the "
                                               "device's %d", value, k_smem_optin));
  g_max_dynamic_smem[kernel] = value;
  return cudaSuccess;
}

cudaError_t func_get_attributes(cudaFuncAttributes* a, const void* kernel) {
  const lock l(g_mutex);
  if (lost()) return refuse();
  if (a == nullptr || kernel == nullptr) return fault(cudaErrorInvalidValue, "cudaFuncGetAttributes: a null pointer");
  *a = cudaFuncAttributes{};
  return cudaSuccess;
}

// Events: a recorded event is a queued operation that stamps the host clock when its stream runs it.
struct event_state {
  cudaStream_t stream = nullptr;
  bool recorded = false, done = false;
  std::chrono::steady_clock::time_point at{};
};
std::map<cudaEvent_t, std::shared_ptr<event_state>> g_events;

cudaError_t cuda_event_create(cudaEvent_t* e) {
  const lock l(g_mutex);
  if (lost()) return refuse();
  static std::uintptr_t next = 0x2000;  // opaque handles, distinct from streams
  if (!e) return fault(cudaErrorInvalidValue, "cudaEventCreate with a null result pointer");
  next += 0x10;
  *e = reinterpret_cast<cudaEvent_t>(next);
  g_events[*e] = std::make_shared<event_state>();
  return cudaSuccess;
}
cudaError_t cuda_event_destroy(cudaEvent_t e) {
  const lock l(g_mutex);
  if (!g_events.erase(e)) return fault(cudaErrorInvalidResourceHandle, "cudaEventDestroy of an event that does not exist");
  return lost() ? refuse() : cudaSuccess;
}
cudaError_t cuda_event_record(cudaEvent_t e, cudaStream_t s) {
  const lock l(g_mutex);
  if (lost()) return refuse();
  auto it = g_events.find(e);
  if (it == g_events.end()) return fault(cudaErrorInvalidResourceHandle, "cudaEventRecord of an event that does not exist");
  auto ev = it->second;
  ev->stream = s;
  ev->recorded = true;
  ev->done = false;
  return enqueue(s, "cudaEventRecord", [ev] {
    ev->at = std::chrono::steady_clock::now();
    ev->done = true;
  });
}
cudaError_t cuda_event_synchronize(cudaEvent_t e) {
  const lock l(g_mutex);
  if (lost()) return refuse();
  auto it = g_events.find(e);
  if (it == g_events.end()) return fault(cudaErrorInvalidResourceHandle, "cudaEventSynchronize of an event that does not exist");
  if (it->second->recorded) drain_for(it->second->stream);
  return take_pending();
}
cudaError_t cuda_event_elapsed_time(float* ms, cudaEvent_t start, cudaEvent_t end) {
  const lock l(g_mutex);
  if (lost()) return refuse();
  auto a = g_events.find(start), b = g_events.find(end);
  if (!ms || a == g_events.end() || b == g_events.end())
    return fault(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime: a null result or an unknown event");
  if (!a->second->done || !b->second->done) return cudaErrorNotReady;  // as a device: not a fault
  *ms = std::chrono::duration<float, std::milli>(b->second->at - a->second->at).count();
  return cudaSuccess;
}

cudaError_t cuda_get_last_error() {
  const lock l(g_mutex);
  if (lost()) return g_sticky;  // sticky: not cleared
  const cudaError_t e = g_last_error;
  g_last_error = cudaSuccess;
  return e;
}
cudaError_t cuda_peek_at_last_error() {
  const lock l(g_mutex);
  return lost() ? g_sticky : g_last_error;
}
const char* cuda_get_error_string(cudaError_t e) {
  const lock l(g_mutex);
  static thread_local std::string s;
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorMemoryAllocation: return "out of memory";
    default: break;
  }
  s = format("emulated CUDA error %d", int(e));
  if (!g_last_message.empty()) s += " (last fault: " + g_last_message + ")";
  return s.c_str();
}

// ---- cuBLAS ----------------------------------------------------------------------------------------

struct blas_handle {
  cudaStream_t stream = nullptr;
};
std::set<const void*> g_blas_handles;

cublasStatus_t cublas_create(cublasHandle_t* h) {
  const lock l(g_mutex);
  if (!h) return CUBLAS_STATUS_INVALID_VALUE;
  if (lost()) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (injected(cudaErrorMemoryAllocation, "cublasCreate", false)) return CUBLAS_STATUS_ALLOC_FAILED;
  auto* b = new blas_handle;
  *h = reinterpret_cast<cublasHandle_t>(b);
  g_blas_handles.insert(b);
  return CUBLAS_STATUS_SUCCESS;
}
blas_handle* find_blas(cublasHandle_t h) {
  return g_blas_handles.count(h) ? reinterpret_cast<blas_handle*>(h) : nullptr;
}
cublasStatus_t cublas_destroy(cublasHandle_t h) {
  const lock l(g_mutex);
  blas_handle* b = find_blas(h);
  if (!b) return CUBLAS_STATUS_NOT_INITIALIZED;
  drain_all();
  g_blas_handles.erase(b);
  delete b;
  return lost() ? CUBLAS_STATUS_EXECUTION_FAILED : CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublas_set_stream(cublasHandle_t h, cudaStream_t s) {
  const lock l(g_mutex);
  blas_handle* b = find_blas(h);
  if (!b) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (lost()) return CUBLAS_STATUS_EXECUTION_FAILED;
  if (s && !find_stream(s)) return CUBLAS_STATUS_INVALID_VALUE;
  b->stream = s;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublas_set_math_mode(cublasHandle_t h, cublasMath_t) {
  const lock l(g_mutex);
  return find_blas(h) ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_NOT_INITIALIZED;
}

// C = alpha op(A) op(B) + beta C, column-major, as cuBLAS checks and computes it (sums over k ascending).
template <class T>
cublasStatus_t gemm(const char* call, cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                    const T* alpha, const T* a, int lda, const T* b, int ldb, const T* beta, T* c, int ldc) {
  const lock l(g_mutex);
  blas_handle* hb = find_blas(h);
  if (!hb) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (lost()) return CUBLAS_STATUS_EXECUTION_FAILED;
  auto bad = [&](const std::string& what) {
    fault(cudaErrorInvalidValue,
          format("%s(m %d, n %d, k %d, lda %d, ldb %d, ldc %d): %s", call, m, n, k, lda, ldb, ldc, what.c_str()), false);
    return CUBLAS_STATUS_INVALID_VALUE;
  };
  const bool an = ta == CUBLAS_OP_N, bn = tb == CUBLAS_OP_N;
  if (m < 0 || n < 0 || k < 0) return bad("a negative size");
  const int a_rows = an ? m : k, a_cols = an ? k : m, b_rows = bn ? k : n, b_cols = bn ? n : k;
  if (lda < std::max(1, a_rows)) return bad("lda below the rows of A");
  if (ldb < std::max(1, b_rows)) return bad("ldb below the rows of B");
  if (ldc < std::max(1, m)) return bad("ldc below m");
  if (!alpha || !beta) return bad("null alpha or beta");
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  auto extent = [](int rows, int cols, int ld) { return (static_cast<std::size_t>(cols) - 1) * ld + rows; };
  if (k > 0 && !in_device(a, sizeof(T) * extent(a_rows, a_cols, lda))) return bad("A is not inside one device allocation");
  if (k > 0 && !in_device(b, sizeof(T) * extent(b_rows, b_cols, ldb))) return bad("B is not inside one device allocation");
  if (!in_device(c, sizeof(T) * extent(m, n, ldc))) return bad("C is not inside one device allocation");
  if (injected(cudaErrorLaunchFailure, call, false)) return CUBLAS_STATUS_EXECUTION_FAILED;
  const T al = *alpha, be = *beta;  // host pointer mode: read at the call
  enqueue(hb->stream, call, [=] {
    std::vector<T> col(static_cast<std::size_t>(m));
    for (int j = 0; j < n; ++j) {
      std::fill(col.begin(), col.end(), T(0));
      for (int p = 0; p < k; ++p) {
        const T bv = bn ? b[p + static_cast<std::size_t>(j) * ldb] : b[j + static_cast<std::size_t>(p) * ldb];
        for (int i = 0; i < m; ++i) {
          const T av = an ? a[i + static_cast<std::size_t>(p) * lda] : a[p + static_cast<std::size_t>(i) * lda];
          const T prod = av * bv;
          col[i] = col[i] + prod;
        }
      }
      T* cj = c + static_cast<std::size_t>(j) * ldc;
      for (int i = 0; i < m; ++i) cj[i] = be == T(0) ? T(al * col[i]) : T(al * col[i] + be * cj[i]);
    }
  });
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublas_sgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const float* alpha, const float* a, int lda, const float* b, int ldb, const float* beta,
                            float* c, int ldc) {
  return gemm<float>("cublasSgemm", h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
cublasStatus_t cublas_dgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const double* alpha, const double* a, int lda, const double* b, int ldb,
                            const double* beta, double* c, int ldc) {
  return gemm<double>("cublasDgemm", h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// ---- cuRAND ----------------------------------------------------------------------------------------

// A "device" generator is cuRAND's host generator of the same type: the same sequence (without the
// device's fast-math rounding). Its numbers are drawn at the call, so the generator's position moves
// as on a device, and land in device memory in stream order.
std::map<curandGenerator_t, cudaStream_t> g_device_generators;

curandStatus_t curand_create_generator(curandGenerator_t* g, curandRngType_t type) {
  const lock l(g_mutex);
  if (lost()) return CURAND_STATUS_INITIALIZATION_FAILED;
  if (injected(cudaErrorMemoryAllocation, "curandCreateGenerator", false)) return CURAND_STATUS_ALLOCATION_FAILED;
  const curandStatus_t s = curandCreateGeneratorHost(g, type);
  if (s == CURAND_STATUS_SUCCESS) g_device_generators[*g] = nullptr;
  return s;
}
curandStatus_t curand_destroy_generator(curandGenerator_t g) {
  const lock l(g_mutex);
  if (g_device_generators.erase(g)) drain_all();
  return curandDestroyGenerator(g);
}
curandStatus_t curand_set_stream(curandGenerator_t g, cudaStream_t s) {
  const lock l(g_mutex);
  auto it = g_device_generators.find(g);
  if (it == g_device_generators.end()) return curandSetStream(g, s);
  if (lost()) return CURAND_STATUS_LAUNCH_FAILURE;
  if (s && !find_stream(s)) return CURAND_STATUS_NOT_INITIALIZED;
  it->second = s;
  return CURAND_STATUS_SUCCESS;
}
curandStatus_t curand_generate_normal(curandGenerator_t g, float* out, std::size_t n, float mean, float stddev) {
  const lock l(g_mutex);
  auto it = g_device_generators.find(g);
  if (it == g_device_generators.end()) return curandGenerateNormal(g, out, n, mean, stddev);
  if (lost()) return CURAND_STATUS_LAUNCH_FAILURE;
  if (!in_device(out, n * sizeof(float))) {
    fault(cudaErrorInvalidValue, format("curandGenerateNormal of %zu floats outside every device allocation", n), false);
    return CURAND_STATUS_LAUNCH_FAILURE;
  }
  if (injected(cudaErrorLaunchFailure, "curandGenerateNormal", false)) return CURAND_STATUS_LAUNCH_FAILURE;
  auto staged = std::make_shared<std::vector<float>>(n);
  const curandStatus_t s = curandGenerateNormal(g, staged->data(), n, mean, stddev);
  if (s != CURAND_STATUS_SUCCESS) return s;
  enqueue(it->second, "curandGenerateNormal", [=] { std::memcpy(out, staged->data(), n * sizeof(float)); });
  return CURAND_STATUS_SUCCESS;
}

// ---- for the emulator's own tests ----------------------------------------------------------------

bool set_reverse_order(bool reverse) noexcept {
  const bool before = reverse_order();
  g_reverse.store(reverse ? 1 : 0);
  return before;
}

void fail_call(long k, bool sticky) noexcept {
  const lock l(g_mutex);
  g_fail_countdown = k;
  g_fail_sticky = sticky;
}

void reset_device() noexcept {
  const lock l(g_mutex);
  g_sticky = cudaSuccess;
  g_last_error = cudaSuccess;
  g_pending = cudaSuccess;
  for (auto it = g_streams.begin(); it != g_streams.end();) {
    it->second.work.clear();
    it = it->first ? g_streams.erase(it) : std::next(it);
  }
  for (const auto& [base, bytes] : g_allocations) std::free(reinterpret_cast<void*>(base));
  g_allocations.clear();
  g_allocated = 0;
  for (const void* h : g_blas_handles) delete static_cast<const blas_handle*>(h);
  g_blas_handles.clear();
  for (const auto& [g, stream] : g_device_generators) curandDestroyGenerator(g);
  g_device_generators.clear();
}
bool failure_pending() noexcept {
  const lock l(g_mutex);
  return g_fail_countdown >= 0;
}

std::size_t live_allocations() noexcept {
  const lock l(g_mutex);
  return g_allocations.size();
}
long faults_reported() noexcept {
  const lock l(g_mutex);
  return g_faults;
}

}  // namespace diffevo::emu
