#pragma once
// Seeded normal noise (SPEC §4). A run is one cuRAND Philox sequence keyed by splitmix64(seed); its
// draws are consumed in a fixed order: the initial population (N x D), then the projection (d x D,
// latent only), then the noise of each generation with sigma > 0 (N x D). The CPU backend uses cuRAND's
// host generator, the CUDA backend the device generator with the same calls, so both draw the same
// numbers up to the rounding of Box-Muller's log and sin/cos, which host and device evaluate with
// different math libraries (the device's fast sincos: a few 1e-6 absolute at the tails). (Re-keying the host generator costs ~7 ms per call, which is why one sequence is used.)
#include <cstddef>
#include <cstdint>

namespace diffevo::detail {

/// The Philox seed of a run seeded with `seed` (splitmix64; decorrelates nearby user seeds).
std::uint64_t run_seed(std::uint64_t seed) noexcept;

/// Every draw is rounded up to a multiple of 4 (cuRAND needs an even count for Box-Muller pairs; a
/// multiple of 4 keeps each draw on a Philox4x32 block boundary on host and device alike), and
/// buffers hold draw_count(n) floats.
inline std::size_t draw_count(std::size_t n) { return (n + 3u) & ~std::size_t(3); }

/// A cuRAND host Philox generator for one run's sequence.
class host_normal_generator {
 public:
  explicit host_normal_generator(std::uint64_t seed);
  ~host_normal_generator();
  host_normal_generator(const host_normal_generator&) = delete;
  host_normal_generator& operator=(const host_normal_generator&) = delete;
  /// Fills `out` (capacity draw_count(n)) with the next draw_count(n) N(0, 1) floats of the sequence.
  void fill(float* out, std::size_t n);
  /// Numbers drawn so far: the sequence position (cuRAND's generator offset counts generated floats).
  std::uint64_t position() const noexcept { return position_; }
  /// Continues the sequence from `position` (a checkpoint's): the next draw is the one an
  /// uninterrupted run would make there.
  void seek(std::uint64_t position);

 private:
  void* gen_ = nullptr;  // curandGenerator_t, kept out of this header
  std::uint64_t position_ = 0;
};

}  // namespace diffevo::detail
