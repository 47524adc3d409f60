#pragma once
// The optimizer's private state, shared by host/api/optimizer.cpp (the ask/tell facade) and
// host/checkpoint/checkpoint.cpp (save and load).
#include <chrono>
#include <memory>
#include <vector>

#include "host/api/record.hpp"
#include "host/backend/backend.hpp"
#include "host/backend/row_exchange.hpp"
#include "diffevo/observe.hpp"
#include "diffevo/optimizer.hpp"

namespace diffevo {

struct optimizer::state {
  config cfg;
  std::vector<double> alphas;
  backend_kind kind = backend_kind::cpu;
  int generation = 0;
  bool asked = false;
  std::vector<float> best;
  float best_fitness = 0;
  bool has_best = false;
  int last_nonfinite = 0;
  long long total_nonfinite = 0;
  detail::observer_slot observer;
  bool pending = false;  // tell_device_async() tells await synchronize()
  std::chrono::steady_clock::time_point last_tell = std::chrono::steady_clock::now();
  std::shared_ptr<detail::row_exchange> exchange;  // a sharded update's rows (mpi/), else null
  // Last, so destroyed first: the cuda backend waits for its stream, where a deferred run may still
  // read `best` (a copy from host memory), before `best` is freed.
  std::unique_ptr<detail::backend> impl;
};

}  // namespace diffevo
