#pragma once
/// \file
/// The host thread fan-out used by the cpu backend and by host-side fitness evaluation.

#include <functional>

namespace diffevo::detail {

/// Calls fn(begin, end) on contiguous ranges covering [0, n), one per thread, and waits for all.
/// `threads` <= 0 means one per hardware thread. The split depends only on n and the thread count.
/// An exception thrown by fn on any thread is rethrown here (the first one, after all have joined).
void parallel_rows(int n, int threads, const std::function<void(int begin, int end)>& fn);

}  // namespace diffevo::detail
