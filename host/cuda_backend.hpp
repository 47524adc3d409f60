#pragma once
#include <memory>

#include "backend.hpp"

namespace diffevo::detail {
/// The CUDA backend (cuda/cuda_backend.cu): population, projection and weights live on the current
/// device; kernels share the math of detail/math.hpp with the cpu backend.
std::unique_ptr<backend> make_cuda_backend(const config& cfg);
}  // namespace diffevo::detail
