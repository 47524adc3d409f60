#pragma once
// The checkpoint file format (version 1, described in host/checkpoint_format.cpp): encoding and
// decoding of the plain data a checkpoint holds. Pure C++ with no CUDA: the fuzz target links
// only this and the config validation.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "diffevo/config.hpp"

namespace diffevo::detail {

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
