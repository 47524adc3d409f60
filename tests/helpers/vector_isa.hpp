#pragma once
// For tests that compare the cpu backend's vector kernels across instruction sets
// (tests/cpu/test_vector_ops.cpp, tests/rollout/test_cartpole.cpp): the sets this processor supports,
// and a loop that runs a check under each and restores the one in use.
#include <gtest/gtest.h>

#include <vector>

#include "host/cpu/vector_ops.hpp"

namespace diffevo::test {

/// The instruction sets this processor (and build) supports, baseline first.
inline std::vector<detail::vector_isa> supported_isas() {
  using detail::vector_isa;
  std::vector<vector_isa> out;
  const vector_isa was = detail::active_vector_isa();
  for (vector_isa i : {vector_isa::baseline, vector_isa::avx2, vector_isa::avx512})
    if (detail::use_vector_isa(i)) out.push_back(i);
  detail::use_vector_isa(was);
  return out;
}

/// Restores the instruction set in use when it was made.
struct isa_guard {
  detail::vector_isa was = detail::active_vector_isa();
  ~isa_guard() { detail::use_vector_isa(was); }
};

/// Runs fn once per supported instruction set, each failure traced with the set's name, and restores
/// the one in use.
template <class F>
void for_each_isa(F fn) {
  isa_guard guard;
  for (detail::vector_isa i : supported_isas()) {
    ASSERT_TRUE(detail::use_vector_isa(i));
    SCOPED_TRACE(detail::to_string(i));
    fn();
  }
}

}  // namespace diffevo::test
