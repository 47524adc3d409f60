// libFuzzer target for the open-ended run's checkpoint decoder (host/open_ended/checkpoint.cpp: the
// config, the log of tells in float and in double, and injections). Every input must either decode or
// throw checkpoint_error: no crash, no other exception, no sanitizer report. A decoded file re-encodes
// (in the current version) to bytes that decode to the same file again. Built and run by .ci/fuzz.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "diffevo/error.hpp"
#include "host/open_ended/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const diffevo::detail::open_ended_checkpoint c = diffevo::detail::decode_open_ended(data, size, "fuzz input");
    const std::vector<unsigned char> again = diffevo::detail::encode_open_ended(c);
    const diffevo::detail::open_ended_checkpoint d = diffevo::detail::decode_open_ended(again.data(), again.size(), "again");
    if (diffevo::detail::encode_open_ended(d) != again) std::abort();  // not stable
  } catch (const diffevo::checkpoint_error&) {
  }
  return 0;
}
