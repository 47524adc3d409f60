#pragma once
// The library's own cart-pole type. A type of its own (not env::cartpole), so that its host loop
// (host/rollout/rollout.cpp) and kernels (cuda/rollout/rollout.cu), compiled with the library's flags, are symbols
// no user source can instantiate: a user's make_environment<env::cartpole> compiles other ones.
#include "diffevo/env/cartpole.hpp"

namespace diffevo::detail {
struct library_cartpole : env::cartpole {};
}  // namespace diffevo::detail
