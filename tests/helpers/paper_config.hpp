#pragma once
// The paper's 2-D benchmark setting (docs/algorithm.md §6: eta 0.1, scale 4, identity density), as the tests use it.
#include <cstdint>

#include "diffevo/config.hpp"

inline diffevo::config paper_config(diffevo::backend_kind backend, int population, int steps, std::uint64_t seed) {
  diffevo::config c;
  c.population = population;
  c.dimension = 2;
  c.steps = steps;
  c.eta = 0.1;
  c.scale = {4.0f};
  c.density = diffevo::density_kind::identity;
  c.backend = backend;
  c.seed = seed;
  return c;
}
