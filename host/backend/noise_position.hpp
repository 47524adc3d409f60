#pragma once
// Where a run's noise sequence stands at a generation (host/cpu/rng.hpp's draw order): the initial
// population, the projection (latent only), then one N x D draw per generation with sigma > 0. The
// checkpoint reader checks a file against it; a run started at a later generation (start_point)
// continues the sequence from it.
#include <cstdint>
#include <vector>

#include "diffevo/config.hpp"
#include "diffevo/schedule.hpp"

namespace diffevo::detail {

/// The noise position of a run of `c` (schedule `alphas`) at `generation` (0 .. T - 1).
inline std::uint64_t noise_position(const config& c, const std::vector<double>& alphas, int generation) {
  const auto draws = [](std::uint64_t n) { return (n + 3u) & ~std::uint64_t(3); };  // rng.hpp's draw_count
  const std::uint64_t nd = static_cast<std::uint64_t>(c.population) * static_cast<std::uint64_t>(c.dimension);
  std::uint64_t at = draws(nd) + (c.latent_dim > 0 ? draws(static_cast<std::uint64_t>(c.latent_dim) * c.dimension) : 0);
  for (int k = 0; k < generation; ++k)
    if (ddim_step(alphas, k, c.eta).sigma > 0) at += draws(nd);
  return at;
}

}  // namespace diffevo::detail
