#pragma once
#include <memory>

#include "backend.hpp"

namespace diffevo::detail {
/// The CPU backend: same algorithm and noise as the CUDA one, rows spread over host threads
/// (each row is computed by one thread in a fixed order, so results do not depend on thread count).
std::unique_ptr<backend> make_cpu_backend(const config& cfg);
}  // namespace diffevo::detail
