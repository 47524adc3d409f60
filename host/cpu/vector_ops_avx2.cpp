// The vector kernels compiled for avx2 (32-byte vectors); CMakeLists.txt gives this file its flags.
#include <immintrin.h>  // vector_kernels.inc uses AVX-512 intrinsics when the flags enable them

#include "diffevo/detail/math.hpp"
#include "diffevo/env/cartpole.hpp"
#include "diffevo/env/mlp.hpp"
#include "vector_ops.hpp"

namespace diffevo::detail {
namespace {
#include "vector_kernels.inc"
}  // namespace

const vector_kernels& vector_kernels_avx2() {
  static constexpr vector_kernels t = make_kernels<32>();
  return t;
}

}  // namespace diffevo::detail
