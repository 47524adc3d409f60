// The vector kernels compiled for avx512 (64-byte vectors); CMakeLists.txt gives this file its flags.
#include <immintrin.h>

#include "diffevo/detail/math.hpp"
#include "diffevo/env/cartpole.hpp"
#include "diffevo/env/mlp.hpp"
#include "vector_ops.hpp"

namespace diffevo::detail {
namespace {
#include "vector_kernels.inc"
}  // namespace

const vector_kernels& vector_kernels_avx512() {
  static constexpr vector_kernels t = make_kernels<64>();
  return t;
}

}  // namespace diffevo::detail
