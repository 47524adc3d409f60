#include "diffevo/detail/parallel.hpp"

#include <algorithm>
#include <exception>
#include <thread>
#include <vector>

namespace diffevo::detail {

void parallel_rows(int n, int threads, const std::function<void(int, int)>& fn) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int t = std::max(1, std::min(threads, n));
  if (t == 1) {
    if (n > 0) fn(0, n);
    return;
  }
  const int chunk = static_cast<int>((static_cast<long long>(n) + t - 1) / t);
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
      const long long bl = static_cast<long long>(w) * chunk;
      const int b = static_cast<int>(std::min<long long>(bl, n)), e = static_cast<int>(std::min<long long>(n, bl + chunk));
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

}  // namespace diffevo::detail
