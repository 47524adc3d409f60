#pragma once
// Shared pieces of diffevo-bench: command-line values, statistics, a tiny JSON writer, timing.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "diffevo/diffevo.hpp"

namespace bench {

/// Thrown for a bad command line; main prints it with the usage hint and exits with status 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct options {
  std::string mode = "paper";
  int runs = -1;  ///< -1: the mode's default
  int latent = 0;
  unsigned long long seed = 0;
  diffevo::backend_kind backend = diffevo::backend_kind::automatic;
  diffevo::cpu_math_kind cpu_math = diffevo::cpu_math_kind::automatic;  ///< paper, schedules, cartpole, throughput, niching
  std::string json;  ///< output path (main sets the default diffevo-bench-<mode>.json and checks it)
  int population = -1;  ///< throughput: controllers; speed: N of the 2-D run and the update-step grid (-1: defaults)
  int dimension = -1;   ///< speed: the only D of the update-step grid (-1: all of 2, 58, 17410)
  bool quiet = false;
  bool fixed_start = false;  ///< cartpole: rollout_config::fixed_start
  bool raw_obs = false;  ///< cartpole: no observation normalisation
  double temperature = 1.0;  ///< cartpole: energy temperature
  std::string methods;  ///< paper: comma-separated methods; empty: all
  std::string net;  ///< cartpole: run only this net (plain, latent, large); empty: all three
  std::string workload;  ///< distributed: cartpole or synthetic; empty: both
  std::string update;    ///< distributed: automatic, replicated or sharded; empty: automatic
  std::string exchange;  ///< distributed: automatic, host or device; empty: automatic
  std::string problems;  ///< niching: problem list such as 1-5,11; empty: all 20
};

/// A progress line on stderr (flushed at once) unless --quiet: every mode says what it is doing
/// while work that takes more than a few seconds runs.
template <class... Args>
void progress(const options& o, const char* format, Args... args) {
  if (o.quiet) return;
  std::fprintf(stderr, format, args...);
  std::fflush(stderr);
}

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct mean_sd {
  double mean = 0, sd = 0;
};
inline mean_sd mean_std(const std::vector<double>& v) {
  mean_sd r;
  if (v.empty()) return r;
  for (double x : v) r.mean += x;
  r.mean /= static_cast<double>(v.size());
  for (double x : v) r.sd += (x - r.mean) * (x - r.mean);
  r.sd = std::sqrt(r.sd / static_cast<double>(v.size()));
  return r;
}

/// Linear-interpolated quantile of sorted values (q in [0, 1]).
inline double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return NAN;
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

/// The temporary file a save writes before renaming it over `path`.
inline std::string temporary_for(const std::string& path) { return path + ".tmp." + std::to_string(::getpid()); }

/// Writes `text` to `path` through temporary_for(path) renamed over it. Throws std::runtime_error
/// naming the path and the reason (errno text); the temporary file is removed on every failure.
inline void write_via_temporary(const std::string& path, const std::string& text) {
  const std::string tmp = temporary_for(path);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0;
  int err = errno;
  const bool closed = std::fclose(f) == 0;
  if (closed && written) {
    if (std::rename(tmp.c_str(), path.c_str()) == 0) return;
    err = errno;
  } else if (written) {
    err = errno;
  }
  std::remove(tmp.c_str());
  throw std::runtime_error("cannot write " + path + ": " + std::strerror(err));
}

/// Refuses, before any work, an output path that cannot be written: a directory, or a folder that is
/// missing or read-only (the temporary file is created and removed). Throws usage_error naming --json.
inline void check_writable(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    throw usage_error("--json " + path + ": is a directory (give a file name)");
  const std::string tmp = temporary_for(path);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw usage_error("--json " + path + ": cannot be written: " + std::strerror(errno));
  std::fclose(f);
  std::remove(tmp.c_str());
}

/// Appends JSON text; the caller keeps the structure valid.
class json {
 public:
  json& raw(const std::string& s) {
    out_ += s;
    return *this;
  }
  json& key(const std::string& k) { return raw("\"" + k + "\": "); }
  json& num(double v) {
    char b[32];
    if (!std::isfinite(v)) return raw("null");
    std::snprintf(b, sizeof b, "%.9g", v);
    return raw(b);
  }
  json& str(const std::string& s) { return raw("\"" + s + "\""); }
  const std::string& text() const { return out_; }
  /// Writes to `path` via a temporary file renamed into place; on failure nothing is left behind and
  /// the message says why (errno text).
  void save(const std::string& path) const { write_via_temporary(path, out_); }

 private:
  std::string out_;
};

inline std::string device_note() {
  if (!diffevo::built_with_cuda()) return " (built without CUDA)";
  const std::string why = diffevo::cuda_unavailable_reason();
  return why.empty() ? "" : " (no CUDA device: " + why + ")";
}

int run_paper(const options& o);
int run_schedules(const options& o);
int run_speed(const options& o);
int run_cartpole(const options& o);
int run_throughput(const options& o);
int run_niching(const options& o);
/// Mode distributed (under mpiexec); without the MPI component it throws usage_error saying so.
int run_distributed(const options& o);

}  // namespace bench
