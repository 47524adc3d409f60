#pragma once
/// \file
/// The population hash the ranks of a distributed run compare (diffevo/mpi.hpp, state drift), shared
/// by the host and the cuda backend's kernel so that it is computed where the population lives: each
/// row's floats are hashed alone (four lanes of xxHash64's round over 64-bit words, then its merge and
/// avalanche), then the row hashes, in row order, are hashed the same way.

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "diffevo/detail/hd.hpp"

namespace diffevo::detail {

namespace hash_constants {
constexpr std::uint64_t p1 = 11400714785074694791ull, p2 = 14029467366897019727ull, p3 = 1609587929392839161ull;
}

DIFFEVO_HD inline std::uint64_t hash_rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
DIFFEVO_HD inline std::uint64_t hash_round(std::uint64_t acc, std::uint64_t w) {
  return hash_rotl(acc + w * hash_constants::p2, 31) * hash_constants::p1;
}

/// A 64-bit hash of `bytes` bytes (a multiple of 4).
DIFFEVO_HD inline std::uint64_t hash_words(const void* data, std::size_t bytes) {
  using namespace hash_constants;
  const unsigned char* b = static_cast<const unsigned char*>(data);
  std::uint64_t lane[4] = {p1 + p2, p2, 0, 0 - p1};
  const std::size_t blocks = bytes / 32;
  for (std::size_t i = 0; i < blocks; ++i)
    for (int l = 0; l < 4; ++l) {
      std::uint64_t w;
      memcpy(&w, b + i * 32 + static_cast<std::size_t>(l) * 8, 8);
      lane[l] = hash_round(lane[l], w);
    }
  std::uint64_t h = hash_rotl(lane[0], 1) + hash_rotl(lane[1], 7) + hash_rotl(lane[2], 12) + hash_rotl(lane[3], 18);
  for (int l = 0; l < 4; ++l) h = (h ^ hash_round(0, lane[l])) * p1 + p3;
  h += bytes;
  for (std::size_t i = blocks * 32; i + 4 <= bytes; i += 4) {
    std::uint32_t w;
    memcpy(&w, b + i, 4);
    h = hash_rotl(h ^ (w * p1), 23) * p2 + p3;
  }
  h ^= h >> 33;
  h *= p2;
  h ^= h >> 29;
  h *= p3;
  h ^= h >> 32;
  return h;
}

/// Row i's hash (the first stage of the population hash).
DIFFEVO_HD inline std::uint64_t row_hash(const float* rows, int i, int cols) {
  return hash_words(rows + static_cast<std::size_t>(i) * static_cast<std::size_t>(cols),
                    sizeof(float) * static_cast<std::size_t>(cols));
}

/// The population hash from its row hashes (the second stage).
inline std::uint64_t combine_row_hashes(const std::uint64_t* row_hashes, int rows) {
  return hash_words(row_hashes, sizeof(std::uint64_t) * static_cast<std::size_t>(rows));
}

}  // namespace diffevo::detail
