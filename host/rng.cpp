#include "rng.hpp"

#include <curand.h>

#include "diffevo/error.hpp"
#include "message.hpp"

namespace diffevo::detail {

std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t stream) noexcept {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

namespace {
void check(curandStatus_t s, const char* call) {
  if (s != CURAND_STATUS_SUCCESS) {
    if (s == CURAND_STATUS_ALLOCATION_FAILED) throw out_of_memory(msg("cuRAND host generator: ", call, " failed to allocate"));
    throw curand_error(msg("cuRAND call ", call, " failed with status ", static_cast<int>(s)));
  }
}
struct host_generator {
  curandGenerator_t g = nullptr;
  host_generator() { check(curandCreateGeneratorHost(&g, CURAND_RNG_PSEUDO_PHILOX4_32_10), "curandCreateGeneratorHost"); }
  ~host_generator() { curandDestroyGenerator(g); }
  host_generator(const host_generator&) = delete;
  host_generator& operator=(const host_generator&) = delete;
};
}  // namespace

void normal_host(std::uint64_t seed, std::uint64_t stream, float* out, std::size_t n) {
  if (n == 0) return;
  host_generator gen;
  check(curandSetPseudoRandomGeneratorSeed(gen.g, stream_seed(seed, stream)), "curandSetPseudoRandomGeneratorSeed");
  check(curandSetGeneratorOffset(gen.g, 0), "curandSetGeneratorOffset");
  check(curandGenerateNormal(gen.g, out, even_count(n), 0.0f, 1.0f), "curandGenerateNormal");
}

}  // namespace diffevo::detail
