#pragma once
// Seeded normal noise (SPEC §4): every draw of a run is its own cuRAND Philox stream, keyed by
// (seed, stream id), so a draw never depends on how many numbers earlier draws consumed. The CPU
// backend uses cuRAND's host generator, the CUDA backend the device generator with the same keys.
#include <cstddef>
#include <cstdint>

namespace diffevo::detail {

/// Stream ids of the draws of one run.
enum : std::uint64_t { stream_initial = 0, stream_projection = 1, stream_generation0 = 2 };

/// The Philox seed of stream `stream` of a run seeded with `seed` (splitmix64 of both).
std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t stream) noexcept;

/// cuRAND generates normals in pairs (Box-Muller): buffers hold an even count.
inline std::size_t even_count(std::size_t n) { return n + (n & 1u); }

/// Fills host buffer `out` (capacity even_count(n)) with N(0, 1) floats of stream `stream`.
void normal_host(std::uint64_t seed, std::uint64_t stream, float* out, std::size_t n);

}  // namespace diffevo::detail
