// libFuzzer target for the optimizer's checkpoint decoder (the baselines' checkpoints share its
// container; their payload is covered by tests/baselines/test_baseline_checkpoint.cpp).
// Every input must either decode to data that re-encodes to the same bytes, or throw
// checkpoint_error: no crash, no other exception, no sanitizer report. Built and run by .ci/fuzz.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "host/checkpoint/checkpoint_format.hpp"
#include "diffevo/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const diffevo::detail::checkpoint_data d = diffevo::detail::decode_checkpoint(data, size, "fuzz input");
    const std::vector<unsigned char> again = diffevo::detail::encode_checkpoint(d);
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();  // not a round trip
  } catch (const diffevo::checkpoint_error&) {
  }
  return 0;
}
