#pragma once
/// \file
/// Umbrella header: everything a host C++ program needs (no CUDA headers required).
#include "diffevo/baselines.hpp"
#include "diffevo/cec2013.hpp"
#include "diffevo/config.hpp"
#include "diffevo/error.hpp"
#include "diffevo/functions.hpp"
#include "diffevo/observe.hpp"
#include "diffevo/open_ended.hpp"
#include "diffevo/optimize.hpp"
#include "diffevo/optimizer.hpp"
#include "diffevo/rollout.hpp"
#include "diffevo/schedule.hpp"
