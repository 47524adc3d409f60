#pragma once
// The checkpoint file format (version 1, described in host/checkpoint/checkpoint_format.cpp): the container
// every checkpoint shares, and the encoding and decoding of the optimizer's. The baselines' payload is
// in host/baselines/checkpoint.cpp. Pure C++ with no CUDA: the fuzz target links only this and the
// config validation.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "diffevo/config.hpp"
#include "diffevo/error.hpp"
#include "host/util/message.hpp"

namespace diffevo::detail {

/// Appends little-endian values and counted arrays to a byte buffer.
class byte_writer {
 public:
  template <class T>
  void put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    unsigned char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));  // little-endian hosts only (x86-64, aarch64): checked below
    out_.insert(out_.end(), b, b + sizeof(T));
  }
  template <class T>
  void put_array(const std::vector<T>& v) {
    put<std::uint64_t>(v.size());
    if (v.empty()) return;
    const auto* b = reinterpret_cast<const unsigned char*>(v.data());
    out_.insert(out_.end(), b, b + v.size() * sizeof(T));
  }
  std::vector<unsigned char>& bytes() { return out_; }

 private:
  std::vector<unsigned char> out_;
};

/// Reads what byte_writer wrote, throwing checkpoint_error (naming `what`) where the bytes end early.
class byte_reader {
 public:
  byte_reader(const unsigned char* p, std::size_t n, std::string path) : p_(p), n_(n), path_(std::move(path)) {}
  template <class T>
  T get(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_ + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  template <class T>
  std::vector<T> get_array(const char* what) {
    const auto count = get<std::uint64_t>(what);
    if (count > (n_ - at_) / sizeof(T))
      throw checkpoint_error(msg("checkpoint ", path_, ": ", what, " claims ", count,
                                         " values, more than the file holds (corrupted)"));
    std::vector<T> v(static_cast<std::size_t>(count));
    if (!v.empty()) std::memcpy(v.data(), p_ + at_, v.size() * sizeof(T));  // memcpy(nullptr, ..., 0) is UB
    at_ += v.size() * sizeof(T);
    return v;
  }
  bool at_end() const { return at_ == n_; }

 private:
  void need(std::size_t k, const char* what) {
    if (n_ - at_ < k)
      throw checkpoint_error(msg("checkpoint ", path_, ": payload ends inside ", what, " (corrupted)"));
  }
  const unsigned char* p_;
  std::size_t n_, at_ = 0;
  std::string path_;
};

/// The container every checkpoint shares: magic, version, flags, payload size, payload, CRC-32. The
/// optimizer's magic is "DIFFEVO\x1a", the baselines' "DIFFEVOB" (both version 1), an open-ended run's
/// "DIFFEVOO" (version 13 added refine_nudge, and version 12 files are read with it 0;
/// version 12 added refine_translate_optima, and version 11 files are read with it false;
/// version 11 added refine_translate, and version 10 files are read with it 0; version 10
/// added refine_probe, and version 9 files are read with it 0; version 9 seeds
/// restarts by a hash of their number, and files of version 8 and older are
/// replayed with restart k seeded run.seed + k, as their runs were; version 8 added explore_samples and refine_abandon_level, and version 7 files are read with
/// them 0 and 2; version 7 added refine_polish and refine_seed_cut, and version 6 files are read with them 0
/// and 2; version 6 added refine_taboo, and version 5 files are read with it false; version 5 added refine_cycles, and version 4 files are read with it 0; version 4: its
/// log gained values told in double; version 3 files are read with every tell in float; version 3
/// added refine_abandon_gain, and version 2 files are read with it 0; version 1 files are refused,
/// naming the versions read).
extern const char k_baseline_magic[8];
extern const char k_open_ended_magic[8];  ///< "DIFFEVOO": host/open_ended/checkpoint.cpp
constexpr std::uint32_t k_container_version = 1;  ///< the optimizer's and the baselines'
constexpr std::uint32_t k_open_ended_version = 13;
constexpr std::uint32_t k_open_ended_oldest = 2;  ///< the oldest open-ended version still read
std::vector<unsigned char> seal(const char (&magic)[8], const std::vector<unsigned char>& payload,
                                std::uint32_t version = k_container_version);
struct unsealed {
  const unsigned char* data;
  std::size_t size;
  std::uint32_t version;  ///< the file's, in [version_oldest, version_read]
};
/// Checks the container (magic, version, flags, size, checksum) and returns its payload; throws
/// checkpoint_error "checkpoint <path>: not a <what> ..." or naming the problem. Versions from
/// version_oldest (0: version_read alone) to version_read are accepted.
unsealed unseal(const unsigned char* data, std::size_t size, const char (&magic)[8], const char* what,
                const std::string& path, std::uint32_t version_read = k_container_version,
                std::uint32_t version_oldest = 0);

/// The algorithm fields of a config (not backend or cpu_threads), in the optimizer checkpoint's order.
void write_config(byte_writer& w, const config& c);
/// Reads what write_config wrote; checks the enums (not the rest: the caller validates).
config read_config(byte_reader& r, const std::string& path);

struct checkpoint_data {
  config cfg;
  int generation = 0;
  int last_nonfinite = 0;
  long long total_nonfinite = 0;
  bool has_best = false;
  float best_fitness = 0;
  std::vector<float> best;
  std::uint64_t rng_position = 0;
  std::vector<float> x, x0, e;  // N x D, N x D (or empty at generation 0), d x D (or empty)
};

/// The whole file: header, payload, checksum.
std::vector<unsigned char> encode_checkpoint(const checkpoint_data& d);

/// Parses and checks a whole file (magic, version, size, checksum, payload, config validity, array
/// sizes). Throws checkpoint_error whose message starts with "checkpoint <name>: ".
checkpoint_data decode_checkpoint(const unsigned char* bytes, std::size_t n, const std::string& name);

/// The first algorithm field where `saved` differs from `expected` ("" if none), as a message.
std::string first_difference(const config& saved, const config& expected);

}  // namespace diffevo::detail
