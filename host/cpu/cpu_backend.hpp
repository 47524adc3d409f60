#pragma once
#include <cstddef>
#include <memory>

#include "host/backend/backend.hpp"

namespace diffevo::detail {
/// The CPU backend: same algorithm and noise as the CUDA one, rows spread over host threads
/// (each row is computed by one thread in a fixed order, so results do not depend on thread count).
std::unique_ptr<backend> make_cpu_backend(const config& cfg);

/// The most bytes the cpu backend's whole float64 Gram matrix (N x N, kernel coordinates k > 32) may
/// take: 256 MiB unless set. Within it, each update computes the matrix once from its upper half and
/// mirrors it; above it (N > about 5,800), each row block computes its own rows (twice the multiply-
/// adds, no N x N buffer). Both give the same bits. Read at every update.
std::size_t cpu_gram_budget() noexcept;
/// For tests: 0 makes every update take the row-block path.
void set_cpu_gram_budget(std::size_t bytes) noexcept;
}  // namespace diffevo::detail
