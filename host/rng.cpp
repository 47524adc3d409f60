#include "rng.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "diffevo/detail/parallel.hpp"
#include "diffevo/detail/random.hpp"

namespace diffevo::detail {

std::uint64_t run_seed(std::uint64_t seed) noexcept { return mix64(seed); }

namespace {

struct block4 {
  std::uint32_t x, y, z, w;
};

/// Philox4x32-10 (Salmon et al., SC'11): ten rounds of the multiply-xor bijection on a 128-bit counter
/// under a 64-bit key that is bumped by the Weyl constants between rounds.
block4 philox4x32_10(block4 c, std::uint32_t k0, std::uint32_t k1) {
  for (int r = 0; r < 10; ++r) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(0xD2511F53u) * c.x;
    const std::uint64_t p1 = static_cast<std::uint64_t>(0xCD9E8D57u) * c.z;
    c = block4{static_cast<std::uint32_t>(p1 >> 32) ^ c.y ^ k0, static_cast<std::uint32_t>(p1),
               static_cast<std::uint32_t>(p0 >> 32) ^ c.w ^ k1, static_cast<std::uint32_t>(p0)};
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return c;
}

/// Box-Muller on two 32-bit words, with cuRAND's constants and float operations (curand_normal.h's
/// host branch): u in (0, 1], angle in (0, 2 pi).
void box_muller(std::uint32_t a, std::uint32_t b, float* out) {
  constexpr float k_inv = 2.3283064e-10f, k_inv_2pi = 2.3283064e-10f * 6.2831855f;
  const float u = static_cast<float>(a) * k_inv + k_inv / 2;
  const float v = static_cast<float>(b) * k_inv_2pi + k_inv_2pi / 2;
  const float s = std::sqrt(-2.0f * std::log(u));
  out[0] = std::sin(v) * s;
  out[1] = std::cos(v) * s;
}

/// The k_threads virtual threads of cuRAND's host Philox generator: block i of the sequence (floats
/// 4i .. 4i + 3) is Philox of counter (i / k_threads, 0, i mod k_threads, 0).
constexpr std::uint64_t k_threads = 65536;

void fill_blocks(std::uint64_t first, std::uint64_t count, std::uint32_t k0, std::uint32_t k1, float* out) {
  for (std::uint64_t b = 0; b < count; ++b) {
    const std::uint64_t i = first + b;
    const std::uint64_t hi = i / k_threads;
    const block4 r = philox4x32_10(
        block4{static_cast<std::uint32_t>(hi), static_cast<std::uint32_t>(hi >> 32),
               static_cast<std::uint32_t>(i % k_threads), 0u},
        k0, k1);
    box_muller(r.x, r.y, out + 4 * b);
    box_muller(r.z, r.w, out + 4 * b + 2);
  }
}

}  // namespace

host_normal_generator::host_normal_generator(std::uint64_t seed, int threads)
    : key_(run_seed(seed)), threads_(threads) {}

void host_normal_generator::fill(float* out, std::size_t n) {
  if (n == 0) return;
  if (position_ % 4 != 0) {  // never from this library's own draws; a seek may land mid-block
    const std::uint64_t skip = position_ % 4;
    std::vector<float> tmp(draw_count(n) + 4);
    position_ -= skip;
    try {
      fill(tmp.data(), draw_count(n) + 4);
    } catch (...) {
      position_ += skip;
      throw;
    }
    std::copy_n(tmp.data() + skip, draw_count(n), out);
    position_ -= 4 - skip;
    return;
  }
  const std::uint64_t blocks = draw_count(n) / 4, first = position_ / 4;
  const std::uint32_t k0 = static_cast<std::uint32_t>(key_), k1 = static_cast<std::uint32_t>(key_ >> 32);
  constexpr std::uint64_t k_blocks_per_task = 16384;  // below this, one thread
  if (threads_ == 1 || blocks < 2 * k_blocks_per_task) {
    fill_blocks(first, blocks, k0, k1, out);
  } else {  // every block is a pure function of its index, so any split gives the same floats
    const int tasks = static_cast<int>((blocks + k_blocks_per_task - 1) / k_blocks_per_task);
    parallel_rows(tasks, threads_, [&](int b, int e) {
      const std::uint64_t lo = static_cast<std::uint64_t>(b) * k_blocks_per_task;
      const std::uint64_t hi = std::min<std::uint64_t>(blocks, static_cast<std::uint64_t>(e) * k_blocks_per_task);
      fill_blocks(first + lo, hi - lo, k0, k1, out + 4 * lo);
    });
  }
  position_ += draw_count(n);
}

void host_normal_generator::seek(std::uint64_t position) noexcept { position_ = position; }

}  // namespace diffevo::detail
