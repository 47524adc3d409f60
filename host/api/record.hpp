#pragma once
// What every strategy's generation_record is computed from (host/api/observe.cpp): the fitness statistics
// and the population's spread, shared by the optimizer and the baselines.
#include <vector>

#include "diffevo/config.hpp"
#include "diffevo/observe.hpp"

namespace diffevo::detail {

/// Sets r.best / mean / median / worst from the finite values of `f` (NaN when there are none).
void fitness_stats(std::vector<float> f, objective goal, generation_record& r);

/// Mean over the d dimensions of the standard deviation over the n individuals of `p` (n x d).
double spread_of(const float* p, int n, int d);

/// Seconds on a steady clock (differences only).
double seconds_now();

}  // namespace diffevo::detail
