// Checkpoints, the optimizer side: optimizer::save (state -> bytes -> atomic file replace) and
// optimizer::load (file -> checked bytes -> a new optimizer); and the file I/O every checkpoint uses
// (checkpoint_file.hpp). The format is in
// host/checkpoint/checkpoint_format.cpp.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <thread>

#include "checkpoint_file.hpp"
#include "checkpoint_format.hpp"
#include "diffevo/error.hpp"
#include "host/util/message.hpp"
#include "host/api/optimizer_state.hpp"

namespace diffevo {
namespace detail {

namespace {

/// The file a save writes: `path` itself, or, when `path` is a symbolic link (or a chain of them), the
/// file it finally names, so the link survives and its target is replaced (a link whose target does
/// not exist yet gets that target created). Relative targets are resolved against the link's folder.
std::string follow_links(std::string path) {
  for (int hops = 0;; ++hops) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return path;
    if (hops == 40) throw checkpoint_error(msg("checkpoint ", path, ": too many levels of symbolic links"));
    std::vector<char> buf(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 255) + 1);
    const ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0 || static_cast<std::size_t>(n) >= buf.size())
      throw checkpoint_error(msg("checkpoint ", path, ": cannot read the symbolic link: ", std::strerror(errno)));
    std::string target(buf.data(), static_cast<std::size_t>(n));
    const std::string::size_type slash = path.find_last_of('/');
    if (target.empty() || target[0] != '/') target = (slash == std::string::npos ? "" : path.substr(0, slash + 1)) + target;
    path = std::move(target);
  }
}

}  // namespace

void write_file_atomically(const std::string& given, const std::vector<unsigned char>& bytes) {
  if (given.empty()) throw checkpoint_error("checkpoint: the path is empty");
  // Atomic replace: write a temporary file next to the file (named by process and thread, so
  // concurrent savers never share one), flush it to disk, rename it over the file, flush the folder.
  const std::string path = follow_links(given);
  const std::string tmp = detail::msg(path, ".tmp.", ::getpid(), ".", std::hash<std::thread::id>{}(std::this_thread::get_id()));
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw checkpoint_error(detail::msg("checkpoint ", given, ": cannot create ", tmp, ": ", std::strerror(errno)));
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const bool flushed = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  const int err = errno;
  const bool closed = std::fclose(f) == 0;
  if (!written || !flushed || !closed) {
    std::remove(tmp.c_str());
    throw checkpoint_error(detail::msg("checkpoint ", given, ": writing ", tmp, " failed: ", std::strerror(err)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp.c_str());
    throw checkpoint_error(detail::msg("checkpoint ", given, ": cannot rename ", tmp, " over ", path, ": ", std::strerror(e)));
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
  // O_NONBLOCK: opening a FIFO must not wait for a writer; anything but a regular file is refused
  // (a folder, /dev/zero, a FIFO or a socket would fail late, read forever or block).
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw checkpoint_error(msg("checkpoint ", path, ": cannot open: ", std::strerror(errno)));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    throw checkpoint_error(msg("checkpoint ", path, ": cannot stat: ", std::strerror(e)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    const char* kind = S_ISDIR(st.st_mode)    ? "a directory"
                       : S_ISFIFO(st.st_mode) ? "a FIFO"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                       : S_ISBLK(st.st_mode)  ? "a block device"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "a special file";
    throw checkpoint_error(msg("checkpoint ", path, ": is ", kind, ", not a regular file"));
  }
  // Every checkpoint begins "DIFFEVO": a file that does not is read no further than that (its size
  // may be anything, a path given by mistake), and unseal() names it as not a checkpoint.
  constexpr std::size_t k_prefix = 7;
  std::vector<unsigned char> bytes(k_prefix);
  std::size_t got = 0;
  bool checked = false;
  for (;;) {
    if (!checked && got >= k_prefix) {
      if (std::memcmp(bytes.data(), "DIFFEVO", k_prefix) != 0) break;
      checked = true;
      if (static_cast<std::size_t>(st.st_size) > bytes.size()) bytes.resize(static_cast<std::size_t>(st.st_size));
    }
    if (got == bytes.size()) bytes.resize(bytes.size() + 4096);  // the file may have grown since fstat
    const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      throw checkpoint_error(msg("checkpoint ", path, ": cannot read: ", std::strerror(e)));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  bytes.resize(got);
  return bytes;
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
    c.cpu_math = expect->cpu_math;
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
