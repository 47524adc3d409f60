// parallel_rows (host/cpu/parallel.cpp): its persistent worker pool and the fallback to per-call threads.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "diffevo/detail/parallel.hpp"

using diffevo::detail::parallel_rows;

namespace {
/// Runs parallel_rows and checks that every row in [0, n) was visited exactly once.
void expect_each_row_once(int n, int threads) {
  std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
  parallel_rows(n, threads, [&](int b, int e) {
    for (int i = b; i < e; ++i) hits[static_cast<std::size_t>(i)].fetch_add(1);
  });
  for (int i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<std::size_t>(i)].load(), 1) << "n " << n << ", row " << i;
}
}  // namespace

TEST(Parallel, EveryRowOnceForAnyThreadCount) {
  for (int n : {0, 1, 2, 7, 1000})
    for (int threads : {-1, 0, 1, 2, 3, 5, 16}) expect_each_row_once(n, threads);
}

TEST(Parallel, NestedCallsComplete) {
  std::atomic<long> total{0};
  parallel_rows(4, 4, [&](int b, int e) {
    for (int i = b; i < e; ++i)
      parallel_rows(100, 3, [&](int b2, int e2) { total += e2 - b2; });
  });
  EXPECT_EQ(total.load(), 400);
}

TEST(Parallel, ConcurrentCallersEachGetTheirOwnRows) {
  std::vector<std::thread> callers;
  std::vector<long> sums(4, 0);
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&sums, c] {
      for (int rep = 0; rep < 200; ++rep) {
        std::atomic<long> s{0};
        parallel_rows(64, 2, [&](int b, int e) {
          for (int i = b; i < e; ++i) s += i;
        });
        sums[static_cast<std::size_t>(c)] += s.load();
      }
    });
  for (auto& t : callers) t.join();
  for (long s : sums) EXPECT_EQ(s, 200L * (63 * 64 / 2));
}

TEST(Parallel, AWorkerExceptionIsRethrownAfterAllChunksFinishAndThePoolStaysUsable) {
  std::atomic<int> finished{0};
  EXPECT_THROW(parallel_rows(8, 4,
                             [&](int b, int) {
                               if (b >= 4) throw std::runtime_error("chunk failed");
                               finished += 1;
                             }),
               std::runtime_error);
  EXPECT_EQ(finished.load(), 2);  // chunks [0, 2) and [2, 4) ran to the end
  expect_each_row_once(100, 4);
}
