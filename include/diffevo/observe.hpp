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

/// Called after every successful tell() with that generation's record.
///
/// An exception it throws propagates out of tell(), after the generation has been applied.
using generation_callback = std::function<void(const generation_record&)>;

/// Writes one row per generation to a CSV file (with a header) or a JSON Lines file.
///
/// Each record is flushed, so a crash loses at most the line being written. Copies share the file.
class record_writer {
 public:
  /// The file format: `csv` (comma-separated, a header line of the field names first) or `jsonl`
  /// (one JSON object per line; non-finite values are written as null). Numbers are written in the
  /// shortest form that reads back to the same float or double, with a decimal point whatever the
  /// C locale.
  enum class format { csv, jsonl };
  /// Opens (and truncates) the file; a CSV file gets its header line.
  /// @param path The file to write.
  /// @param f Its format.
  /// @throws std::runtime_error naming the path if the file cannot be opened or its header written (no
  ///         diffevo exception).
  /// @note Host only; no device work.
  record_writer(const std::string& path, format f);
  /// Appends the record as one line and flushes it.
  /// @param r The generation's record.
  /// @throws std::runtime_error if the write fails (it propagates out of the tell() that called it).
  /// @note Host only; no device work.
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
  /// A printer writing to `out`.
  /// @param out The stream to print to (stderr by default); it is not closed.
  /// @throws std::invalid_argument (not diffevo::invalid_argument) if `out` is null.
  /// @note Host only; no device work.
  explicit progress_printer(std::FILE* out = stderr);
  /// Prints the record as one line (after the header on the first call and every 20 lines) and
  /// flushes `out`.
  /// @param r The generation's record.
  /// @note Host only; no device work. Write errors are not reported.
  void operator()(const generation_record& r);

 private:
  std::FILE* out_;
  int lines_ = 0;
};

}  // namespace diffevo
