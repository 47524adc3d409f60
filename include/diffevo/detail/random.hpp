#pragma once
/// \file
/// Counter-based random numbers for host and device: a value is a pure function of its key, so a
/// batch can draw in any order on any backend and get the same numbers.

#include <cstdint>

#include "diffevo/detail/hd.hpp"

namespace diffevo::detail {

/// splitmix64's finalizer: a bijective 64-bit mix.
DIFFEVO_HD inline std::uint64_t mix64(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// The key of episode `episode` of individual `individual` at generation `generation` of a run.
DIFFEVO_HD inline std::uint64_t episode_key(std::uint64_t seed, std::uint64_t generation, std::uint64_t individual,
                                            std::uint64_t episode) {
  return mix64(mix64(mix64(mix64(seed) ^ generation) ^ individual) ^ episode);
}

/// The i-th uniform double in [-half, half) of a key (53 random bits).
DIFFEVO_HD inline double uniform_pm(std::uint64_t key, std::uint64_t i, double half) {
  const double u = static_cast<double>(mix64(key + i * 0xD1B54A32D192ED03ull) >> 11) * (1.0 / 9007199254740992.0);
  return (2.0 * u - 1.0) * half;
}

}  // namespace diffevo::detail
