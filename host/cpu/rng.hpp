#pragma once
// Seeded normal noise (docs/algorithm.md §4). A run is one cuRAND Philox sequence keyed by splitmix64(seed); its
// draws are consumed in a fixed order: the initial population (N x D), then the projection (d x D,
// latent only), then the noise of each generation with sigma > 0 (N x D). The CUDA backend draws with
// cuRAND's device generator. The host side computes the same sequence itself (host/cpu/rng.cpp): bit for
// bit what cuRAND's host generator returns (tests/cpu/test_rng.cpp checks it against cuRAND), without its
// ~8 ms first call, and on several threads. Host and device numbers differ only by the rounding of
// Box-Muller's log and sin/cos, which they evaluate with different math libraries (the device's fast
// sincos: a few 1e-6 absolute at the tails).
#include <cstddef>
#include <cstdint>

namespace diffevo::detail {

/// The Philox seed of a run seeded with `seed` (splitmix64; decorrelates nearby user seeds).
std::uint64_t run_seed(std::uint64_t seed) noexcept;

/// Every draw is rounded up to a multiple of 4 (cuRAND needs an even count for Box-Muller pairs; a
/// multiple of 4 keeps each draw on a Philox4x32 block boundary on host and device alike, which the
/// host generator relies on), and
/// buffers hold draw_count(n) floats.
inline std::size_t draw_count(std::size_t n) { return (n + 3u) & ~std::size_t(3); }

/// One run's sequence on the host, equal to cuRAND's host Philox4x32-10 generator (default ordering,
/// curandGenerateNormal with mean 0 and standard deviation 1) seeded with run_seed(seed).
class host_normal_generator {
 public:
  /// `threads`: how many threads a large fill may use (<= 0: one per hardware thread); the numbers
  /// do not depend on it.
  explicit host_normal_generator(std::uint64_t seed, int threads = 1);
  /// Fills `out` (capacity draw_count(n)) with the next draw_count(n) N(0, 1) floats of the sequence.
  /// `fast`: the same Philox words and Box-Muller, with the library's vectorized log, sin and cos
  /// (detail::box_muller) instead of the C library's: within an ulp or so of cuRAND's numbers, not
  /// bit for bit (config::cpu_math = fast).
  void fill(float* out, std::size_t n, bool fast = false);
  /// Writes floats [first, first + n) of the sequence to `out` (capacity n), any alignment, in the
  /// calling thread; the position does not move. For several threads drawing their parts of one draw.
  void fill_range(std::uint64_t first, std::size_t n, float* out, bool fast = false) const;
  /// Numbers drawn so far: the sequence position (cuRAND's generator offset counts generated floats).
  std::uint64_t position() const noexcept { return position_; }
  /// Continues the sequence from `position` (a checkpoint's): the next draw is the one an
  /// uninterrupted run would make there.
  void seek(std::uint64_t position) noexcept;

 private:
  std::uint64_t key_;
  int threads_;
  std::uint64_t position_ = 0;
};

}  // namespace diffevo::detail
