// Checkpoints, the optimizer side: optimizer::save (state -> bytes -> atomic file replace) and
// optimizer::load (file -> checked bytes -> a new optimizer); and the file I/O every checkpoint uses
// (checkpoint_file.hpp). The format is in
// host/checkpoint_format.cpp.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <thread>

#include "checkpoint_file.hpp"
#include "checkpoint_format.hpp"
#include "diffevo/error.hpp"
#include "message.hpp"
#include "optimizer_state.hpp"

namespace diffevo {
namespace detail {

void write_file_atomically(const std::string& path, const std::vector<unsigned char>& bytes) {
  // Atomic replace: write a temporary file next to `path` (named by process and thread, so
  // concurrent savers never share one), flush it to disk, rename it over `path`, flush the directory.
  const std::string tmp = detail::msg(path, ".tmp.", ::getpid(), ".", std::hash<std::thread::id>{}(std::this_thread::get_id()));
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw checkpoint_error(detail::msg("checkpoint ", path, ": cannot create ", tmp, ": ", std::strerror(errno)));
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const bool flushed = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  const int err = errno;
  const bool closed = std::fclose(f) == 0;
  if (!written || !flushed || !closed) {
    std::remove(tmp.c_str());
    throw checkpoint_error(detail::msg("checkpoint ", path, ": writing ", tmp, " failed: ", std::strerror(err)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp.c_str());
    throw checkpoint_error(detail::msg("checkpoint ", path, ": cannot rename ", tmp, " over it: ", std::strerror(e)));
  }
  // Durability of the rename itself (best effort: the file is already complete and in place).
  const std::string::size_type slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::vector<unsigned char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw checkpoint_error(msg("checkpoint ", path, ": cannot open: ", std::strerror(errno)));
  return std::vector<unsigned char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace detail

optimizer::optimizer(std::unique_ptr<state> s) : s_(std::move(s)) {}

void optimizer::save(const std::string& path) const {
  require_settled("save()");
  const state& s = *s_;
  detail::backend::state st = s.impl->export_state();
  detail::checkpoint_data d;
  d.cfg = s.cfg;
  d.generation = s.generation;
  d.last_nonfinite = s.last_nonfinite;
  d.total_nonfinite = s.total_nonfinite;
  d.has_best = s.has_best;
  d.best_fitness = s.best_fitness;
  d.best = s.best;
  d.rng_position = st.rng_position;
  d.x = std::move(st.x);
  if (s.generation > 0) d.x0 = std::move(st.x0);
  d.e = std::move(st.e);
  detail::write_file_atomically(path, detail::encode_checkpoint(d));
}

optimizer optimizer::load(const std::string& path, const config* expect) {
  const std::vector<unsigned char> bytes = detail::read_file(path);
  detail::checkpoint_data d = detail::decode_checkpoint(bytes.data(), bytes.size(), path);
  config c = d.cfg;
  if (expect) {
    const std::string diff = detail::first_difference(c, *expect);
    if (!diff.empty()) throw invalid_argument(detail::msg("checkpoint ", path, ": ", diff));
    c.backend = expect->backend;
    c.cpu_threads = expect->cpu_threads;
  }
  optimizer opt(c);  // validated config: a fresh backend, whose draws the saved state then replaces
  detail::backend::state st;
  st.x = std::move(d.x);
  st.x0 = std::move(d.x0);
  st.e = std::move(d.e);
  st.rng_position = d.rng_position;
  opt.s_->impl->import_state(st);
  opt.s_->generation = d.generation;
  opt.s_->last_nonfinite = d.last_nonfinite;
  opt.s_->total_nonfinite = d.total_nonfinite;
  opt.s_->has_best = d.has_best;
  opt.s_->best_fitness = d.best_fitness;
  opt.s_->best = std::move(d.best);
  return opt;
}

}  // namespace diffevo
