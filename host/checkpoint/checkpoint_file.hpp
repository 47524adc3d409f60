#pragma once
// Whole-file I/O for checkpoints (defined in host/checkpoint/checkpoint.cpp), shared by the optimizer's and the
// baselines' save and load.
#include <string>
#include <vector>

namespace diffevo::detail {

/// Atomic replace: writes a temporary file next to `path` (named by process and thread), flushes it to
/// disk, renames it over `path` and flushes the directory. Throws checkpoint_error naming the step.
void write_file_atomically(const std::string& path, const std::vector<unsigned char>& bytes);

/// The whole file; throws checkpoint_error "checkpoint <path>: cannot open: ..." if it cannot be read.
std::vector<unsigned char> read_file(const std::string& path);

}  // namespace diffevo::detail
