#pragma once
/// \file
/// Per-generation observation: a record delivered to a user callback after every tell(), a writer
/// for CSV or JSON Lines files, and a one-line-per-generation console display in the style of pycma.
/// Nothing is printed or written unless you attach one of these.

#include <cstdio>
#include <functional>
#include <memory>
#include <string>

namespace diffevo {

/// What happened in one generation (the tell() that just returned).
struct generation_record {
  int generation = 0;          ///< 1-based count of tells so far
  int generations = 0;         ///< the run's tells: T - 1, or a baseline's generations
  double alpha = 0;            ///< a_t of the step just taken (the noise level it started from); NaN for a baseline
  double alpha_next = 0;       ///< a_{t-1}, the level it moved to; NaN for a baseline
  float best = 0, mean = 0, median = 0, worst = 0;  ///< of the finite fitness told (NaN if none)
  int nonfinite = 0;           ///< non-finite fitness values in this tell
  double effective_neighbours = 0;  ///< mean over i of 1 / sum_j w_ij^2 (1: each sees only itself); NaN for a baseline
  double spread = 0;           ///< mean over dimensions of the population's std (parameters, after the update)
  double update_seconds = 0;   ///< wall time of the tell() itself
  double generation_seconds = 0;  ///< wall time since the previous tell (or construction): includes fitness
  float best_so_far = 0;       ///< best fitness over the run (NaN if none yet)
};

/// Called after every successful tell(). An exception it throws propagates out of tell(), after the
/// generation has been applied.
using generation_callback = std::function<void(const generation_record&)>;

/// Appends one row per generation to a CSV file (with a header) or a JSON Lines file. Opens (and
/// truncates) the file on construction; throws std::runtime_error naming the path if it cannot.
/// Each record is flushed, so a crash loses at most the line being written.
class record_writer {
 public:
  enum class format { csv, jsonl };
  record_writer(const std::string& path, format f);
  void operator()(const generation_record& r);

 private:
  std::shared_ptr<std::FILE> file_;
  format format_;
};

/// Prints one line per generation (a header first and every 20 lines), like pycma's display:
///   gen/total  best  mean  median  worst  best-so-far  nonfin  neigh  spread  sec
/// to `out` (stderr by default). `best` is this generation's, `best-so-far` the run's.
class progress_printer {
 public:
  /// Throws std::invalid_argument if `out` is null.
  explicit progress_printer(std::FILE* out = stderr);
  void operator()(const generation_record& r);

 private:
  std::FILE* out_;
  int lines_ = 0;
};

}  // namespace diffevo
