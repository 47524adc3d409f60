// The emulated tests' main: a test fails if the emulator reported a fault that the test did not
// expect (a fault inside a destructor or a discarded status would otherwise go unseen).
#include <gtest/gtest.h>

#include <cstdio>

#include "emulator_test_support.hpp"

namespace diffevo::emu {
long& expected_faults() {
  static long n = 0;
  return n;
}
}  // namespace diffevo::emu

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  const long unexpected = diffevo::emu::faults_reported() - diffevo::emu::expected_faults();
  if (unexpected != 0) {
    std::fprintf(stderr, "%ld fault(s) reported by the CUDA emulator that no test expected (see above)\n", unexpected);
    return 1;
  }
  return rc;
}
