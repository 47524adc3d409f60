#pragma once
// The end of a one-call run, shared by the drivers of host/api/optimize.cpp and mpi/optimizer.cpp.
#include <vector>

#include "diffevo/optimize.hpp"
#include "diffevo/strategy.hpp"

namespace diffevo::detail {

/// The result of a finished run whose final population (host `last`) has host fitness `f`: the final
/// population joins the best-so-far comparison.
/// @throws invalid_argument for +inf in the winning direction in `f` (as tell() would).
optimize_result collect_result(const strategy& opt, const population_view& last, const std::vector<float>& f);

}  // namespace diffevo::detail
