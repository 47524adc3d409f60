#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <vector>

// |a - e| <= abs_tol + rel_tol * |e|, reporting the first mismatch.
inline ::testing::AssertionResult all_close(const std::vector<float>& a, const std::vector<double>& e, double abs_tol,
                                            double rel_tol) {
  if (a.size() != e.size())
    return ::testing::AssertionFailure() << "size " << a.size() << " != " << e.size();
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!(std::fabs(a[i] - e[i]) <= abs_tol + rel_tol * std::fabs(e[i])))
      return ::testing::AssertionFailure() << "first mismatch at " << i << ": got " << a[i] << ", expected " << e[i];
  }
  return ::testing::AssertionSuccess();
}
