#include "host/open_ended/nearest_better.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace diffevo::detail {
namespace {

/// Below this many points the quadratic scan is as fast as building a tree.
constexpr std::size_t k_tree_from = 1024;

/// A k-d tree over the ranked points, each node holding one point (the median of its subtree along
/// the widest coordinate) and the best rank in its subtree.
class ranked_tree {
 public:
  ranked_tree(const std::vector<float>& x, const std::vector<int>& order, const std::vector<float>& unit)
      : x_(x), order_(order), unit_(unit), d_(unit.size()) {
    std::vector<int> ranks(order.size());
    for (std::size_t a = 0; a < ranks.size(); ++a) ranks[a] = static_cast<int>(a);
    nodes_.reserve(ranks.size());
    root_ = build(ranks.begin(), ranks.end());
  }

  /// The smallest squared distance from the point ranked a to a point ranked better.
  double nearest_better2(int a) const {
    double best = std::numeric_limits<double>::infinity();
    search(root_, a, row(a), best);
    return best;
  }

 private:
  struct node {
    int rank;       // the point held here
    int best_rank;  // the smallest rank in the subtree
    int axis;
    int left = -1, right = -1;
  };

  const float* row(int rank) const { return x_.data() + static_cast<std::size_t>(order_[rank]) * d_; }

  int build(std::vector<int>::iterator first, std::vector<int>::iterator last) {
    if (first == last) return -1;
    int axis = 0;  // the coordinate of widest scaled spread
    double widest = -1;
    for (std::size_t k = 0; k < d_; ++k) {
      float lo = row(*first)[k], hi = lo;
      for (auto it = first; it != last; ++it) lo = std::min(lo, row(*it)[k]), hi = std::max(hi, row(*it)[k]);
      const double spread = (double(hi) - lo) / unit_[k];
      if (spread > widest) widest = spread, axis = static_cast<int>(k);
    }
    const auto mid = first + (last - first) / 2;
    std::nth_element(first, mid, last, [&](int a, int b) { return row(a)[axis] < row(b)[axis]; });
    const int at = static_cast<int>(nodes_.size());
    nodes_.push_back(node{*mid, *std::min_element(first, last), axis});
    const int left = build(first, mid);  // coordinates <= the median's
    const int right = build(mid + 1, last);  // coordinates >= the median's
    nodes_[static_cast<std::size_t>(at)].left = left;
    nodes_[static_cast<std::size_t>(at)].right = right;
    return at;
  }

  void search(int at, int a, const float* p, double& best) const {
    if (at < 0) return;
    const node& n = nodes_[static_cast<std::size_t>(at)];
    if (n.best_rank >= a) return;  // nothing ranked better below
    const float* q = row(n.rank);
    if (n.rank < a) best = std::min(best, scaled_distance2(p, q, unit_));
    // the far side's points lie at least the plane's distance away: the plane's term is computed as the
    // pair's term is, from a coordinate no farther, so it never exceeds any far point's distance
    const double t = (double(p[n.axis]) - q[n.axis]) / unit_[static_cast<std::size_t>(n.axis)];
    const bool lower = p[n.axis] < q[n.axis];
    search(lower ? n.left : n.right, a, p, best);
    if (t * t < best) search(lower ? n.right : n.left, a, p, best);
  }

  const std::vector<float>& x_;
  const std::vector<int>& order_;
  const std::vector<float>& unit_;
  std::size_t d_;
  std::vector<node> nodes_;
  int root_ = -1;
};

}  // namespace

double scaled_distance2(const float* p, const float* q, const std::vector<float>& unit) {
  double d2 = 0;
  for (std::size_t k = 0; k < unit.size(); ++k) {
    const double t = (double(p[k]) - q[k]) / unit[k];
    d2 += t * t;
  }
  return d2;
}

std::vector<double> nearest_better_distances(const std::vector<float>& x, const std::vector<int>& order,
                                             const std::vector<float>& unit) {
  std::vector<double> nearest(order.size(), std::numeric_limits<double>::infinity());
  const std::size_t d = unit.size();
  if (order.size() < k_tree_from) {
    for (std::size_t a = 1; a < order.size(); ++a) {
      const float* p = x.data() + static_cast<std::size_t>(order[a]) * d;
      for (std::size_t b = 0; b < a; ++b)
        nearest[a] = std::min(nearest[a], scaled_distance2(p, x.data() + static_cast<std::size_t>(order[b]) * d, unit));
      nearest[a] = std::sqrt(nearest[a]);
    }
    return nearest;
  }
  const ranked_tree tree(x, order, unit);
  for (std::size_t a = 1; a < order.size(); ++a) nearest[a] = std::sqrt(tree.nearest_better2(static_cast<int>(a)));
  return nearest;
}

}  // namespace diffevo::detail
