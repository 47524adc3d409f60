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

/// The first format version whose runs seed restarts by a hash of their number (open_ended.cpp,
/// cycle_seed); runs in older files seeded restart k with run.seed + k and are replayed that way.
constexpr std::uint32_t k_hashed_seeds_version = 9;

struct open_ended_checkpoint {
  /// The format version the run belongs to: decode sets the file's, save() the run's (the current one,
  /// or 8 for a run resumed from a file of version 8 or older: see k_hashed_seeds_version).
  std::uint32_t version = k_open_ended_version;
  open_ended_config cfg;
  backend_kind backend = backend_kind::cpu;  // the backend the run used (cpu or cuda): the replay's
  double seconds = 0;                        // wall time so far (max_seconds goes on counting from it)
  std::string stopped;                       // stop_reason() at the save ("" while running)
  open_ended_log log;
};

/// The file's bytes, in format c.version.
std::vector<unsigned char> encode_open_ended(const open_ended_checkpoint& c);
/// The file's bytes, in format `version` (another one only for tests): it must be able to hold the run
/// (its config's fields, its tells, and its restart seeds: a version below k_hashed_seeds_version for a
/// run with c.version below it, and the other way round), else logic_error.
std::vector<unsigned char> encode_open_ended(const open_ended_checkpoint& c, std::uint32_t version);
/// Parses and checks a whole file (container, payload, config validity, log sizes); throws
/// checkpoint_error whose message starts with "checkpoint <path>: ".
open_ended_checkpoint decode_open_ended(const unsigned char* bytes, std::size_t n, const std::string& path);
/// The first field where `saved` differs from `expected` ("" if none), as a message naming it.
std::string first_difference(const open_ended_config& saved, const open_ended_config& expected);

}  // namespace diffevo::detail
