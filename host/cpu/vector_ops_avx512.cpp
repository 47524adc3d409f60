// The vector kernels compiled for avx512 (64-byte vectors); CMakeLists.txt gives this file its flags.
#include <immintrin.h>

#include "diffevo/detail/math.hpp"
#include "diffevo/env/cartpole.hpp"
#include "diffevo/env/mlp.hpp"
#include "vector_ops.hpp"

// GCC 12's AVX-512 intrinsics pass _mm512_undefined_epi32() (a variable initialized from itself) as
// the unused source of their masked builtins (_mm512_mul_epu32, for one), and -Wmaybe-uninitialized
// then warns at every call that inlines them, a false positive: silenced for these kernels only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
namespace diffevo::detail {
namespace {
#include "vector_kernels.inc"
}  // namespace

const vector_kernels& vector_kernels_avx512() {
  static constexpr vector_kernels t = make_kernels<64>();
  return t;
}

}  // namespace diffevo::detail
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
