#pragma once
// For tests that provoke emulator faults on purpose.
#include <functional>

namespace diffevo::emu {
/// Faults the tests of this process provoked on purpose (main checks the rest is zero).
long& expected_faults();
/// Runs f and returns how many faults the emulator reported meanwhile; they count as expected.
inline long faults_during(const std::function<void()>& f) {
  const long before = faults_reported();
  f();
  const long n = faults_reported() - before;
  expected_faults() += n;
  return n;
}
}  // namespace diffevo::emu
