#pragma once
// Builds exception messages from pieces: msg("population must be >= 2 (got ", n, ")").
#include <sstream>
#include <string>

namespace diffevo::detail {
template <class... Ts>
std::string msg(const Ts&... parts) {
  std::ostringstream os;
  os.precision(10);
  (os << ... << parts);
  return os.str();
}
}  // namespace diffevo::detail

/// Throws `Exception(msg(...))` unless `cond` holds. For API-boundary validation.
#define DIFFEVO_EXPECTS(cond, Exception, ...)                        \
  do {                                                               \
    if (!(cond)) throw Exception(::diffevo::detail::msg(__VA_ARGS__)); \
  } while (0)
