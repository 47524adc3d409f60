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

namespace diffevo::detail {
/// Throws `Exception` naming `who` and `field` unless the enum `v` holds one of its `count` named values
/// 0 .. count - 1 (a cast from any integer compiles, so a config can carry an unnamed one).
template <class Exception, class E>
void expect_enum(E v, const char* field, int count, const char* values, const char* who = "") {
  const int x = static_cast<int>(v);
  DIFFEVO_EXPECTS(x >= 0 && x < count, Exception, who, *who ? ": " : "", field, " must be ", values, " (got ", x, ")");
}
}  // namespace diffevo::detail
