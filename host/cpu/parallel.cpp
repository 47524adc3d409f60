#include "diffevo/detail/parallel.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace diffevo::detail {
namespace {

/// The range of worker w when n rows are split into chunks of `chunk`.
void chunk_of(int w, int n, int chunk, int* b, int* e) {
  const long long bl = static_cast<long long>(w) * chunk;
  *b = static_cast<int>(std::min<long long>(bl, n));
  *e = static_cast<int>(std::min<long long>(n, bl + chunk));
}

/// One thread per extra chunk, started and joined for this call: the fallback when the pool is busy
/// (a nested or concurrent call) or cannot grow.
void run_spawned(int n, int t, int chunk, const std::function<void(int, int)>& fn) {
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(t));
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(t - 1));
  auto guarded = [&](int w, int b, int e) {
    try {
      fn(b, e);
    } catch (...) {
      errors[static_cast<std::size_t>(w)] = std::current_exception();
    }
  };
  try {
    for (int w = 1; w < t; ++w) {
      int b, e;
      chunk_of(w, n, chunk, &b, &e);
      if (b < e) pool.emplace_back(guarded, w, b, e);
    }
  } catch (...) {  // thread creation failed: join what started, then report
    for (auto& th : pool) th.join();
    throw;
  }
  guarded(0, 0, std::min(n, chunk));
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

/// Spin iterations (about 50 microseconds) before a thread waits on a condition variable.
constexpr int k_spin = 2000;

inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

/// Worker threads kept for the life of the process, so a call costs a wake-up instead of thread
/// creation (the cpu backend makes several calls per generation). One job at a time: a call that
/// finds the pool busy runs with its own threads instead, so nesting and concurrent optimizers work.
class pool {
 public:
  /// Never destroyed: a static destructor could run before some other static's or atexit code that
  /// still evaluates a population. Its threads sleep until the process ends.
  static pool& instance() {
    static pool* p = new pool();
    return *p;
  }

  /// Runs fn on chunks 1 .. t-1 in the workers and chunk 0 here. False, having run nothing, when the
  /// pool is busy, belongs to the parent of a fork(), or cannot start enough workers.
  bool try_run(int n, int t, int chunk, const std::function<void(int, int)>& fn) {
    // A call nested in this thread's own job must not try busy_ again: try_lock by the owner of a
    // std::mutex is undefined behaviour (glibc happens to answer 'busy').
    if (owns_job_) return false;
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock() || ::getpid() != pid_) return false;
    struct owner {  // set while this thread holds busy_, cleared on every way out
      owner() { owns_job_ = true; }
      ~owner() { owns_job_ = false; }
    } const owning;
    try {
      while (static_cast<int>(workers_.size()) < t - 1) {
        const int id = static_cast<int>(workers_.size());
        // It must not miss the job posted below: it starts from the current job number (only the
        // holder of busy_ changes it, and that is this thread).
        workers_.emplace_back([this, id, seen = job_.load()] { work(id + 1, seen); });
      }
    } catch (...) {
      return false;  // the workers that did start stay for later calls
    }
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(t));
    {
      std::lock_guard<std::mutex> lock(m_);
      fn_ = &fn;
      errors_ = &errors;
      n_ = n;
      t_ = t;
      chunk_ = chunk;
      pending_ = t - 1;
      job_.fetch_add(1);
    }
    wake_.notify_all();
    try {
      fn(0, std::min(n, chunk));
    } catch (...) {
      errors[0] = std::current_exception();
    }
    for (int i = 0; i < k_spin && pending_.load() != 0; ++i) relax();  // usually done within microseconds
    {
      std::unique_lock<std::mutex> lock(m_);
      done_.wait(lock, [this] { return pending_.load() == 0; });
      fn_ = nullptr;
      errors_ = nullptr;
    }
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
    return true;
  }

 private:
  pool() : pid_(::getpid()) {}

  void work(int w, unsigned long long seen) {
    for (;;) {
      const std::function<void(int, int)>* fn;
      int b = 0, e = 0;
      std::vector<std::exception_ptr>* errors;
      // The next job often follows within microseconds (several calls per generation): watch for it
      // briefly before sleeping.
      for (int i = 0; i < k_spin && job_.load() == seen; ++i) relax();
      {
        std::unique_lock<std::mutex> lock(m_);
        wake_.wait(lock, [&] { return job_.load() != seen; });
        seen = job_.load();
        if (w >= t_) continue;  // this job needs fewer workers
        fn = fn_;
        errors = errors_;
        chunk_of(w, n_, chunk_, &b, &e);
      }
      if (b < e) {
        try {
          (*fn)(b, e);
        } catch (...) {
          (*errors)[static_cast<std::size_t>(w)] = std::current_exception();
        }
      }
      {
        std::lock_guard<std::mutex> lock(m_);
        if (--pending_ == 0) done_.notify_one();
      }
    }
  }

  static thread_local bool owns_job_;  // this thread holds busy_

  const pid_t pid_;
  std::mutex busy_;  // held by the call that owns the workers
  std::mutex m_;     // guards everything below
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(int, int)>* fn_ = nullptr;
  std::vector<std::exception_ptr>* errors_ = nullptr;
  int n_ = 0, t_ = 0, chunk_ = 0;
  std::atomic<int> pending_{0};              // written under m_; also read while spinning
  std::atomic<unsigned long long> job_{0};   // likewise
};

thread_local bool pool::owns_job_ = false;

}  // namespace

void parallel_rows(int n, int threads, const std::function<void(int, int)>& fn) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int t = std::max(1, std::min(threads, n));
  if (t == 1) {
    if (n > 0) fn(0, n);
    return;
  }
  const int chunk = static_cast<int>((static_cast<long long>(n) + t - 1) / t);
  if (!pool::instance().try_run(n, t, chunk, fn)) run_spawned(n, t, chunk, fn);
}

}  // namespace diffevo::detail
