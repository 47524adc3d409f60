#pragma once
// The open-ended run's checkpoint (host/open_ended/checkpoint.cpp): its config and the log of what
// was told and injected, which open_ended::load replays.
#include <cstdint>
#include <string>
#include <vector>

#include "diffevo/open_ended.hpp"
#include "host/checkpoint/checkpoint_format.hpp"

namespace diffevo::detail {

/// Everything told and injected, in order. events: n > 0 a tell of n values, n <= 0 an injection of
/// -n points (the next -n x D values of `injected`). precise: one flag per tell, in order: 0 its
/// values are the next n of `told` (told in float), 1 the next n of `told_precise` (told in double).
struct open_ended_log {
  std::vector<std::int32_t> events;
  std::vector<float> told, injected;
  std::vector<std::uint8_t> precise;
  std::vector<double> told_precise;
};

struct open_ended_checkpoint {
  open_ended_config cfg;
  backend_kind backend = backend_kind::cpu;  // the backend the run used (cpu or cuda): the replay's
  double seconds = 0;                        // wall time so far (max_seconds goes on counting from it)
  std::string stopped;                       // stop_reason() at the save ("" while running)
  open_ended_log log;
};

/// The file's bytes, in format `version` (an older one only for tests: it must be able to hold the run,
/// else logic_error).
std::vector<unsigned char> encode_open_ended(const open_ended_checkpoint& c,
                                             std::uint32_t version = k_open_ended_version);
/// Parses and checks a whole file (container, payload, config validity, log sizes); throws
/// checkpoint_error whose message starts with "checkpoint <path>: ".
open_ended_checkpoint decode_open_ended(const unsigned char* bytes, std::size_t n, const std::string& path);
/// The first field where `saved` differs from `expected` ("" if none), as a message naming it.
std::string first_difference(const open_ended_config& saved, const open_ended_config& expected);

}  // namespace diffevo::detail
