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

/// A configuration field or call argument is out of range. Thrown before any state changes.
class invalid_argument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// A call made in the wrong state (e.g. `tell()` before `ask()`, `tell()` after `done()`).
class logic_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// The CUDA backend was requested but no usable CUDA device exists.
class device_unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A CUDA runtime call failed; the message carries the call, file, line and CUDA error string.
class cuda_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A cuBLAS call failed.
class cublas_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A cuRAND call failed.
class curand_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A checkpoint could not be written or read: I/O failure, not a checkpoint, another format version,
/// truncated or corrupted (checksum). The message names the file and what is wrong.
class checkpoint_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Host or device memory could not be allocated. Derives from `std::bad_alloc` so generic handlers
/// catch it; `what()` says how many bytes were requested and where.
class out_of_memory : public std::bad_alloc {
 public:
  explicit out_of_memory(std::string msg) : msg_(std::move(msg)) {}
  const char* what() const noexcept override { return msg_.c_str(); }

 private:
  std::string msg_;
};

}  // namespace diffevo

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif
