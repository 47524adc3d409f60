#pragma once
/// \file
/// Exceptions thrown by diffevo. Every message names the offending field or call and its value.

#include <new>
#include <stdexcept>
#include <string>

// Default visibility even where diffevo is compiled with hidden symbols (its cuda plugin): an exception
// thrown there is caught by type in your code, which needs one type identity on every C++ runtime.
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

namespace diffevo {

/// A configuration field or call argument is out of range; the message names it and its value.
///
/// Thrown by validate() and every constructor that takes a config (optimizer, the baselines,
/// rollout_evaluator), by make_schedule() and ddim_step(), by a tell of the wrong length, with a null
/// pointer or with a fitness value the run cannot take (+infinity in the winning direction; under the
/// identity and power mappings a negative density), by a checkpoint load whose config differs from the
/// expected one, by the drivers for an empty callback, and by rollout_evaluator calls with a wrong
/// parameter matrix or returns. The call that throws it changes no state, except
/// optimizer::synchronize() (and the calls that make it first: ask(), tell(), tell_device()), which
/// reports a bad fitness value of a tell_device_async() generation and rewinds the optimizer to that
/// generation.
class invalid_argument : public std::invalid_argument {
 public:
  /// Constructs it from a message (const std::string& or const char*), which what() returns.
  using std::invalid_argument::invalid_argument;
};

/// A call made in the wrong state.
///
/// For example `tell()` before `ask()` or after `done()`; `best()` before any finite fitness; `x0()`
/// before the first tell; `best()`, `x0()` or `save()` while tell_device_async() tells are pending; a
/// cuda-only call (ask_device(), tell_device(), device_fitness(), download(), evaluate_device(),
/// run_device()) on the cpu backend; rollout_evaluator::count_steps() for a rewarded environment; on_generation() with a
/// callback on a strategy that does not support observers. The call changes no state.
class logic_error : public std::logic_error {
 public:
  /// Constructs it from a message (const std::string& or const char*), which what() returns.
  using std::logic_error::logic_error;
};

/// The cuda backend was requested but no usable CUDA device exists.
///
/// Thrown by the optimizer's and rollout_evaluator's constructors (and the loads and drivers that
/// construct an optimizer) for `backend = cuda` when the library was built without CUDA, no CUDA
/// driver or device is found, or the cuda backend's plugin cannot be loaded. The message carries the
/// reason cuda_unavailable_reason() gives. `backend = automatic` falls back to the cpu instead.
class device_unavailable : public std::runtime_error {
 public:
  /// Constructs it from a message (const std::string& or const char*), which what() returns.
  using std::runtime_error::runtime_error;
};

/// A CUDA runtime call or kernel launch failed (cuda backend only).
///
/// The message carries the call, the file and line (for the library's own calls) and CUDA's error
/// string. A failed allocation is reported as out_of_memory instead. An error that loses the CUDA
/// context (a kernel fault) makes every later call on that device throw.
class cuda_error : public std::runtime_error {
 public:
  /// Constructs it from a message (const std::string& or const char*), which what() returns.
  using std::runtime_error::runtime_error;
};

/// A cuBLAS call failed (cuda backend, where the update uses cuBLAS: latent_dim > 0 or D > 8).
///
/// The message carries the call, file, line and cuBLAS status. A failed allocation is reported as
/// out_of_memory instead.
class cublas_error : public std::runtime_error {
 public:
  /// Constructs it from a message (const std::string& or const char*), which what() returns.
  using std::runtime_error::runtime_error;
};

/// A cuRAND call failed (the cuda backend's noise draws).
///
/// The message carries the call, file, line and cuRAND status. A failed allocation is reported as
/// out_of_memory instead.
class curand_error : public std::runtime_error {
 public:
  /// Constructs it from a message (const std::string& or const char*), which what() returns.
  using std::runtime_error::runtime_error;
};

/// An NCCL call failed (the cuda backend's sharded update moving rows between devices, the MPI
/// component's exchange_path::device).
///
/// The message carries the call, file, line and NCCL's error string. The communicator is then
/// aborted on every rank and made anew at the next exchange.
class nccl_error : public std::runtime_error {
 public:
  /// Constructs it from a message (const std::string& or const char*), which what() returns.
  using std::runtime_error::runtime_error;
};

/// A checkpoint could not be written or read.
///
/// Thrown by save() and load() of the optimizer and the baselines: an I/O failure, a path that is not
/// a regular file, not a checkpoint (or one of another strategy), another format version, truncated
/// or corrupted (checksum), or contents that do not form a valid run (save() also refuses a
/// big-endian host). The message names the file and what is wrong.
class checkpoint_error : public std::runtime_error {
 public:
  /// Constructs it from a message (const std::string& or const char*), which what() returns.
  using std::runtime_error::runtime_error;
};

/// Host or device memory could not be allocated.
///
/// Thrown when a population does not fit (checked before allocating: the host's physical memory for
/// the cpu backend and the baselines, the free device memory for the cuda backend) or when allocating
/// one of their buffers fails, including allocations inside CUDA, cuBLAS and cuRAND. Other host
/// allocations may throw a plain `std::bad_alloc`. Derives from `std::bad_alloc` so generic handlers
/// catch it; `what()` says what was requested and where.
class out_of_memory : public std::bad_alloc {
 public:
  /// @param msg The message what() returns.
  explicit out_of_memory(std::string msg) : msg_(std::move(msg)) {}
  /// @return The message given at construction.
  const char* what() const noexcept override { return msg_.c_str(); }

 private:
  std::string msg_;
};

}  // namespace diffevo

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif
