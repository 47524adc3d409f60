#pragma once
// The cuda backend's entry points for the optimizer facade, forwarded to the CUDA plugin
// (host/backend/cuda_plugin.hpp): each throws device_unavailable when there is no plugin or no device.
#include <cstddef>
#include <memory>

#include "backend.hpp"

namespace diffevo::detail {
/// The CUDA backend (cuda/optimizer/cuda_backend.cu): population, projection and weights live on the current
/// device; kernels share the math of detail/math.hpp with the cpu backend.
std::unique_ptr<backend> make_cuda_backend(const config& cfg);

/// The most bytes one row chunk of the N x N weight matrix (and its float64 Gram rows) may take on
/// the cuda backend when D > k_fused_max_dim: 512 MiB unless set. Read when a backend is constructed.
std::size_t cuda_weight_budget();
/// For tests: a small budget runs the chunked x0 product on small populations. At least one row is
/// always processed per chunk.
void set_cuda_weight_budget(std::size_t bytes);
}  // namespace diffevo::detail
