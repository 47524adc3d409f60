#pragma once
// Nearest-better distances for the seed clustering of open_ended_config::refine_levels (Preuss's
// nearest-better clustering, docs/algorithm.md §8): for each point, the distance to the closest point
// ranked better. Host only, float64; used by host/open_ended/open_ended.cpp.
#include <cstddef>
#include <vector>

namespace diffevo::detail {

/// The squared distance of two points in scaled units: sum_k ((p[k] - q[k]) / unit[k])^2, each term and
/// the sum in double, in the order of k (the refinement's distances in units of run.scale).
double scaled_distance2(const float* p, const float* q, const std::vector<float>& unit);

/// For points ranked best first, the distance from each to its nearest better-ranked point, in scaled
/// units: sqrt(sum_k ((x_a[k] - x_b[k]) / unit[k])^2), each term and the sum in double, in the order of k.
/// @param x The points, row-major (n x unit.size()).
/// @param order The n row indices, best first.
/// @param unit Each coordinate's scale (> 0).
/// @return out[a] for order[a]: infinity for a = 0, else the square root of the smallest
///   scaled_distance2 to order[b], b < a.
/// @note The same values as the quadratic scan over all pairs, bit for bit (the distance of each pair is
///   computed by the same expression, and the minimum of a set does not depend on the order it is
///   searched in). Sets of 1024 points or more are searched with a k-d tree whose subtrees record their
///   best rank, so a point's search skips the subtrees of worse points: about n log n rather than n^2
///   in low dimension (the exploration samples of open_ended_config::explore_samples).
std::vector<double> nearest_better_distances(const std::vector<float>& x, const std::vector<int>& order,
                                             const std::vector<float>& unit);

}  // namespace diffevo::detail
