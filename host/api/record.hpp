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

/// A strategy's observer and how many times on_generation() has set it.
struct observer_slot {
  generation_callback callback;
  unsigned sets = 0;

  /// on_generation(cb).
  void set(generation_callback cb) {
    callback = std::move(cb);
    ++sets;
  }
  explicit operator bool() const noexcept { return static_cast<bool>(callback); }
  /// Calls the callback with `rec`. It runs moved out of the slot, so it may replace or clear itself
  /// (on_generation() from inside it) without destroying the closure that is running; it goes back
  /// into the slot afterwards, also when it throws, unless it was replaced or cleared meanwhile. Its
  /// state (a stateful functor's, say) is kept: it is moved, never copied.
  void call(const generation_record& rec);
};

}  // namespace diffevo::detail
