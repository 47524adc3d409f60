#include "rng.hpp"

#include <curand.h>

#include "diffevo/detail/random.hpp"
#include "diffevo/error.hpp"
#include "message.hpp"

namespace diffevo::detail {

std::uint64_t run_seed(std::uint64_t seed) noexcept { return mix64(seed); }

namespace {
void check(curandStatus_t s, const char* call) {
  if (s != CURAND_STATUS_SUCCESS) {
    if (s == CURAND_STATUS_ALLOCATION_FAILED) throw out_of_memory(msg("cuRAND host generator: ", call, " failed to allocate"));
    throw curand_error(msg("cuRAND call ", call, " failed with status ", static_cast<int>(s)));
  }
}
}  // namespace

host_normal_generator::host_normal_generator(std::uint64_t seed) {
  curandGenerator_t g = nullptr;
  check(curandCreateGeneratorHost(&g, CURAND_RNG_PSEUDO_PHILOX4_32_10), "curandCreateGeneratorHost");
  gen_ = g;
  try {
    check(curandSetPseudoRandomGeneratorSeed(g, run_seed(seed)), "curandSetPseudoRandomGeneratorSeed");
    check(curandSetGeneratorOffset(g, 0), "curandSetGeneratorOffset");
  } catch (...) {
    curandDestroyGenerator(g);
    throw;
  }
}

host_normal_generator::~host_normal_generator() { curandDestroyGenerator(static_cast<curandGenerator_t>(gen_)); }

void host_normal_generator::fill(float* out, std::size_t n) {
  if (n == 0) return;
  check(curandGenerateNormal(static_cast<curandGenerator_t>(gen_), out, draw_count(n), 0.0f, 1.0f),
        "curandGenerateNormal");
  position_ += draw_count(n);
}

void host_normal_generator::seek(std::uint64_t position) {
  check(curandSetGeneratorOffset(static_cast<curandGenerator_t>(gen_), position), "curandSetGeneratorOffset");
  position_ = position;
}

}  // namespace diffevo::detail
