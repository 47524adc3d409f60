#pragma once
// A per-dimension setting given as no value, one value or D values, made D values (open_ended's box and
// scale): host/open_ended/open_ended.cpp and validate.cpp.
#include <cstddef>
#include <vector>

namespace diffevo::detail {

/// @return `v` when it has D values; else D copies of its one value, or of `empty` when it has none.
template <class T>
std::vector<T> expand(const std::vector<T>& v, int d, T empty) {
  if (v.size() <= 1) return std::vector<T>(static_cast<std::size_t>(d), v.empty() ? empty : v[0]);
  return v;
}

}  // namespace diffevo::detail
