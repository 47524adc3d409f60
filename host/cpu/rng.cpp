#include "rng.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "diffevo/detail/parallel.hpp"
#include "diffevo/detail/random.hpp"
#include "vector_ops.hpp"

namespace diffevo::detail {

std::uint64_t run_seed(std::uint64_t seed) noexcept { return mix64(seed); }

namespace {

/// Box-Muller on n pairs of 32-bit words, with cuRAND's constants and float operations
/// (curand_normal.h's host branch): pair p = (words[2p], words[2p + 1]) gives out[2p] = sin(v) s and
/// out[2p + 1] = cos(v) s with u in (0, 1], v in (0, 2 pi), s = sqrt(-2 log u). The C library's
/// logf, sinf and cosf run one value at a time; the arithmetic around them vectorizes.
void box_muller(const std::uint32_t* words, int n, float* u, float* v, float* out) {
  constexpr float k_inv = 2.3283064e-10f, k_inv_2pi = 2.3283064e-10f * 6.2831855f;
  for (int p = 0; p < n; ++p) {
    u[p] = static_cast<float>(words[2 * p]) * k_inv + k_inv / 2;
    v[p] = static_cast<float>(words[2 * p + 1]) * k_inv_2pi + k_inv_2pi / 2;
  }
  for (int p = 0; p < n; ++p) {
    u[p] = std::log(u[p]);
    out[2 * p] = std::sin(v[p]);
    out[2 * p + 1] = std::cos(v[p]);
  }
  for (int p = 0; p < n; ++p) {
    const float s = std::sqrt(-2.0f * u[p]);
    out[2 * p] *= s;
    out[2 * p + 1] *= s;
  }
}

/// The k_threads virtual threads of cuRAND's host Philox generator: block i of the sequence (floats
/// 4i .. 4i + 3) is Philox4x32-10 of the counter (i / k_threads as 64 bits, i mod k_threads, 0).
constexpr std::uint64_t k_threads = 65536;

void fill_blocks(std::uint64_t first, std::uint64_t count, std::uint32_t k0, std::uint32_t k1, bool fast, float* out) {
  constexpr int k_batch = 256;  // Philox for a batch of blocks (vectorized), then Box-Muller on each
  std::uint32_t words[4 * k_batch];
  float u[2 * k_batch], v[2 * k_batch];
  for (std::uint64_t done = 0; done < count;) {
    const std::uint64_t i = first + done, hi = i / k_threads, z = i % k_threads;
    const int m = static_cast<int>(std::min<std::uint64_t>({count - done, k_threads - z, std::uint64_t{k_batch}}));
    philox4x32_10(static_cast<std::uint32_t>(hi), static_cast<std::uint32_t>(hi >> 32), static_cast<std::uint32_t>(z),
                  k0, k1, m, words);
    if (fast)
      detail::box_muller(words, 2 * m, out + 4 * done);
    else
      box_muller(words, 2 * m, u, v, out + 4 * done);
    done += static_cast<std::uint64_t>(m);
  }
}

}  // namespace

host_normal_generator::host_normal_generator(std::uint64_t seed, int threads)
    : key_(run_seed(seed)), threads_(threads) {}

void host_normal_generator::fill(float* out, std::size_t n, bool fast) {
  if (n == 0) return;
  if (position_ % 4 != 0) {  // never from this library's own draws; a seek may land mid-block
    const std::uint64_t skip = position_ % 4;
    std::vector<float> tmp(draw_count(n) + 4);
    position_ -= skip;
    try {
      fill(tmp.data(), draw_count(n) + 4, fast);
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
  constexpr std::uint64_t k_blocks_per_task = 1024;  // 4096 floats: about 35 us on one thread
  if (threads_ == 1 || blocks < 2 * k_blocks_per_task) {
    fill_blocks(first, blocks, k0, k1, fast, out);
  } else {  // every block is a pure function of its index, so any split gives the same floats
    const int tasks = static_cast<int>((blocks + k_blocks_per_task - 1) / k_blocks_per_task);
    parallel_rows(tasks, threads_, [&](int b, int e) {
      const std::uint64_t lo = static_cast<std::uint64_t>(b) * k_blocks_per_task;
      const std::uint64_t hi = std::min<std::uint64_t>(blocks, static_cast<std::uint64_t>(e) * k_blocks_per_task);
      fill_blocks(first + lo, hi - lo, k0, k1, fast, out + 4 * lo);
    });
  }
  position_ += draw_count(n);
}

void host_normal_generator::fill_range(std::uint64_t first, std::size_t n, float* out, bool fast) const {
  const std::uint32_t k0 = static_cast<std::uint32_t>(key_), k1 = static_cast<std::uint32_t>(key_ >> 32);
  float part[4];
  std::size_t done = 0;
  if (n > 0 && first % 4 != 0) {  // the rest of a block begun before `first`
    fill_blocks(first / 4, 1, k0, k1, fast, part);
    const std::size_t skip = first % 4, take = std::min<std::size_t>(n, 4 - skip);
    std::copy_n(part + skip, take, out);
    done = take;
  }
  const std::size_t whole = (n - done) / 4;
  if (whole > 0) fill_blocks((first + done) / 4, whole, k0, k1, fast, out + done);
  done += 4 * whole;
  if (done < n) {  // a block that ends after the range
    fill_blocks((first + done) / 4, 1, k0, k1, fast, part);
    std::copy_n(part, n - done, out + done);
  }
}

void host_normal_generator::seek(std::uint64_t position) noexcept { position_ = position; }

}  // namespace diffevo::detail
