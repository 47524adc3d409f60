// Checkpoints: optimizer::save and optimizer::load.
//
// Format, version 1 (all integers and floats little-endian, floats IEEE-754):
//
//   offset 0   8 bytes   magic "DIFFEVO\x1a"
//          8   u32       format version (1)
//         12   u32       flags (0)
//         16   u64       payload size P in bytes
//         24   P bytes   payload (below)
//     24 + P   u32       CRC-32 (IEEE, as zlib) of the payload
//
// Payload, in order:
//   config:    i32 population, i32 dimension, i32 steps, i32 schedule, u64 count + f64[count] user
//              alphas, f64 eta, i32 density, f64 power, f64 temperature, i32 goal, i32 latent_dim,
//              u64 count + f32[count] center, u64 count + f32[count] scale, u64 seed
//   progress:  i32 generation, i32 last_nonfinite, i64 total_nonfinite
//   best:      u8 has_best, f32 best_fitness, u64 count + f32[count] best
//   noise:     u64 position in the run's Philox sequence (floats drawn so far)
//   arrays:    u64 count + f32[count] x (N x D), u64 count + f32[count] x0 (N x D, or 0 before the
//              first tell), u64 count + f32[count] projection E (d x D, or 0 when plain)
//
// Loading checks, in order: the file opens, the magic, the version (another version is rejected,
// naming both), the file size against the header (truncated or trailing bytes), the checksum
// (corrupted), then the payload parses exactly, the config validates, and the array sizes match it.
// Nothing is constructed before all checks pass.
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <type_traits>

#include "diffevo/error.hpp"
#include "message.hpp"
#include "optimizer_state.hpp"

namespace diffevo {
namespace {

constexpr char k_magic[8] = {'D', 'I', 'F', 'F', 'E', 'V', 'O', '\x1a'};
constexpr std::uint32_t k_version = 1;
constexpr std::size_t k_header = 24;

std::uint32_t crc32(const unsigned char* p, std::size_t n) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

class writer {
 public:
  template <class T>
  void put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    unsigned char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));  // little-endian hosts only (x86-64, aarch64): checked below
    out_.insert(out_.end(), b, b + sizeof(T));
  }
  template <class T>
  void put_array(const std::vector<T>& v) {
    put<std::uint64_t>(v.size());
    const auto* b = reinterpret_cast<const unsigned char*>(v.data());
    out_.insert(out_.end(), b, b + v.size() * sizeof(T));
  }
  std::vector<unsigned char>& bytes() { return out_; }

 private:
  std::vector<unsigned char> out_;
};

class reader {
 public:
  reader(const unsigned char* p, std::size_t n, const std::string& path) : p_(p), n_(n), path_(path) {}
  template <class T>
  T get(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_ + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  template <class T>
  std::vector<T> get_array(const char* what) {
    const auto count = get<std::uint64_t>(what);
    if (count > (n_ - at_) / sizeof(T))
      throw checkpoint_error(detail::msg("checkpoint ", path_, ": ", what, " claims ", count,
                                         " values, more than the file holds (corrupted)"));
    std::vector<T> v(static_cast<std::size_t>(count));
    std::memcpy(v.data(), p_ + at_, v.size() * sizeof(T));
    at_ += v.size() * sizeof(T);
    return v;
  }
  bool at_end() const { return at_ == n_; }

 private:
  void need(std::size_t k, const char* what) {
    if (n_ - at_ < k)
      throw checkpoint_error(detail::msg("checkpoint ", path_, ": payload ends inside ", what, " (corrupted)"));
  }
  const unsigned char* p_;
  std::size_t n_, at_ = 0;
  const std::string& path_;
};

bool little_endian() {
  const std::uint16_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

/// The first algorithm field where `a` (the checkpoint's) differs from `b` (expected), or "".
std::string first_difference(const config& a, const config& b) {
  auto f = [](const char* name, auto x, auto y) { return detail::msg(name, " is ", x, " in the checkpoint but ", y, " expected"); };
  if (a.population != b.population) return f("population", a.population, b.population);
  if (a.dimension != b.dimension) return f("dimension", a.dimension, b.dimension);
  if (a.steps != b.steps) return f("steps", a.steps, b.steps);
  if (a.latent_dim != b.latent_dim) return f("latent_dim", a.latent_dim, b.latent_dim);
  if (a.schedule != b.schedule) return f("schedule", to_string(a.schedule), to_string(b.schedule));
  if (a.user_alphas != b.user_alphas) return "user_alphas differ from the expected ones";
  if (a.eta != b.eta) return f("eta", a.eta, b.eta);
  if (a.density != b.density) return f("density", to_string(a.density), to_string(b.density));
  if (a.power != b.power) return f("power", a.power, b.power);
  if (a.temperature != b.temperature) return f("temperature", a.temperature, b.temperature);
  if (a.goal != b.goal) return f("goal", to_string(a.goal), to_string(b.goal));
  if (a.center != b.center) return "center differs from the expected one";
  if (a.scale != b.scale) return "scale differs from the expected one";
  if (a.seed != b.seed) return f("seed", a.seed, b.seed);
  return "";
}

}  // namespace

optimizer::optimizer(std::unique_ptr<state> s) : s_(std::move(s)) {}

void optimizer::save(const std::string& path) const {
  if (!little_endian()) throw checkpoint_error("checkpoints are written little-endian; this host is big-endian");
  const state& s = *s_;
  detail::backend::state st = s.impl->export_state();
  if (s.generation == 0) st.x0.clear();
  writer w;
  const config& c = s.cfg;
  w.put<std::int32_t>(c.population);
  w.put<std::int32_t>(c.dimension);
  w.put<std::int32_t>(c.steps);
  w.put<std::int32_t>(static_cast<std::int32_t>(c.schedule));
  w.put_array(c.user_alphas);
  w.put<double>(c.eta);
  w.put<std::int32_t>(static_cast<std::int32_t>(c.density));
  w.put<double>(c.power);
  w.put<double>(c.temperature);
  w.put<std::int32_t>(static_cast<std::int32_t>(c.goal));
  w.put<std::int32_t>(c.latent_dim);
  w.put_array(c.center);
  w.put_array(c.scale);
  w.put<std::uint64_t>(c.seed);
  w.put<std::int32_t>(s.generation);
  w.put<std::int32_t>(s.last_nonfinite);
  w.put<std::int64_t>(s.total_nonfinite);
  w.put<std::uint8_t>(s.has_best ? 1 : 0);
  w.put<float>(s.best_fitness);
  w.put_array(s.best);
  w.put<std::uint64_t>(st.rng_position);
  w.put_array(st.x);
  w.put_array(st.x0);
  w.put_array(st.e);
  const std::vector<unsigned char>& payload = w.bytes();

  writer file;
  for (char ch : k_magic) file.put<char>(ch);
  file.put<std::uint32_t>(k_version);
  file.put<std::uint32_t>(0);
  file.put<std::uint64_t>(payload.size());
  std::vector<unsigned char>& bytes = file.bytes();
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  file.put<std::uint32_t>(crc32(payload.data(), payload.size()));

  // Atomic replace: write a temporary file next to `path`, flush it to disk, rename it over `path`.
  const std::string tmp = detail::msg(path, ".tmp.", ::getpid());
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
}

optimizer optimizer::load(const std::string& path, const config* expect) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw checkpoint_error(detail::msg("checkpoint ", path, ": cannot open: ", std::strerror(errno)));
  const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < k_header || std::memcmp(bytes.data(), k_magic, sizeof k_magic) != 0)
    throw checkpoint_error(detail::msg("checkpoint ", path, ": not a diffevo checkpoint (bad magic or shorter than the ",
                                       k_header, "-byte header)"));
  reader head(bytes.data() + 8, k_header - 8, path);
  const auto version = head.get<std::uint32_t>("version");
  if (version != k_version)
    throw checkpoint_error(detail::msg("checkpoint ", path, ": format version ", version,
                                       " but this library reads version ", k_version));
  head.get<std::uint32_t>("flags");
  const auto payload = head.get<std::uint64_t>("payload size");
  const std::size_t have = bytes.size() - k_header;
  if (payload > std::numeric_limits<std::size_t>::max() - 4 || have != payload + 4)
    throw checkpoint_error(detail::msg("checkpoint ", path, ": ", have < payload + 4 ? "truncated" : "trailing bytes",
                                       " (header says ", payload + 4, " bytes follow, the file has ", have, ")"));
  std::uint32_t stored;
  std::memcpy(&stored, bytes.data() + k_header + payload, 4);
  if (crc32(bytes.data() + k_header, static_cast<std::size_t>(payload)) != stored)
    throw checkpoint_error(detail::msg("checkpoint ", path, ": checksum mismatch (corrupted)"));

  reader r(bytes.data() + k_header, static_cast<std::size_t>(payload), path);
  config c;
  c.population = r.get<std::int32_t>("population");
  c.dimension = r.get<std::int32_t>("dimension");
  c.steps = r.get<std::int32_t>("steps");
  c.schedule = static_cast<schedule_kind>(r.get<std::int32_t>("schedule"));
  c.user_alphas = r.get_array<double>("user_alphas");
  c.eta = r.get<double>("eta");
  c.density = static_cast<density_kind>(r.get<std::int32_t>("density"));
  c.power = r.get<double>("power");
  c.temperature = r.get<double>("temperature");
  c.goal = static_cast<objective>(r.get<std::int32_t>("goal"));
  c.latent_dim = r.get<std::int32_t>("latent_dim");
  c.center = r.get_array<float>("center");
  c.scale = r.get_array<float>("scale");
  c.seed = r.get<std::uint64_t>("seed");
  const auto generation = r.get<std::int32_t>("generation");
  const auto last_nonfinite = r.get<std::int32_t>("last_nonfinite");
  const auto total_nonfinite = r.get<std::int64_t>("total_nonfinite");
  const bool has_best = r.get<std::uint8_t>("has_best") != 0;
  const float best_fitness = r.get<float>("best_fitness");
  std::vector<float> best = r.get_array<float>("best");
  detail::backend::state st;
  st.rng_position = r.get<std::uint64_t>("noise position");
  st.x = r.get_array<float>("x");
  st.x0 = r.get_array<float>("x0");
  st.e = r.get_array<float>("projection");
  if (!r.at_end()) throw checkpoint_error(detail::msg("checkpoint ", path, ": unexpected bytes after the arrays"));

  // The enums must be known values before validate() names them.
  const auto bad_enum = [&](const char* name, int v) {
    return checkpoint_error(detail::msg("checkpoint ", path, ": ", name, " has the unknown value ", v));
  };
  if (static_cast<int>(c.schedule) < 0 || static_cast<int>(c.schedule) > static_cast<int>(schedule_kind::user))
    throw bad_enum("schedule", static_cast<int>(c.schedule));
  if (static_cast<int>(c.density) < 0 || static_cast<int>(c.density) > static_cast<int>(density_kind::log_density))
    throw bad_enum("density", static_cast<int>(c.density));
  if (c.goal != objective::maximize && c.goal != objective::minimize) throw bad_enum("goal", static_cast<int>(c.goal));
  try {
    validate(c);
  } catch (const invalid_argument& e) {
    throw checkpoint_error(detail::msg("checkpoint ", path, ": invalid config: ", e.what()));
  }
  const std::size_t nd = static_cast<std::size_t>(c.population) * c.dimension;
  const auto sizes_ok = st.x.size() == nd && (st.x0.empty() || st.x0.size() == nd) &&
                        st.e.size() == static_cast<std::size_t>(c.latent_dim) * c.dimension &&
                        (generation == 0 ? st.x0.empty() : st.x0.size() == nd) &&
                        generation >= 0 && generation <= c.steps - 1 &&
                        (has_best ? best.size() == static_cast<std::size_t>(c.dimension) : best.empty()) &&
                        last_nonfinite >= 0 && total_nonfinite >= 0;
  if (!sizes_ok)
    throw checkpoint_error(detail::msg("checkpoint ", path, ": the arrays or counters do not match its config (population ",
                                       c.population, ", dimension ", c.dimension, ", generation ", generation, ")"));
  if (expect) {
    const std::string diff = first_difference(c, *expect);
    if (!diff.empty()) throw invalid_argument(detail::msg("checkpoint ", path, ": ", diff));
    c.backend = expect->backend;
    c.cpu_threads = expect->cpu_threads;
  }

  optimizer opt(c);  // validated config: fresh backend, then the saved state replaces its draws
  opt.s_->impl->import_state(st);
  opt.s_->generation = generation;
  opt.s_->last_nonfinite = last_nonfinite;
  opt.s_->total_nonfinite = total_nonfinite;
  opt.s_->has_best = has_best;
  opt.s_->best_fitness = best_fitness;
  opt.s_->best = std::move(best);
  return opt;
}

}  // namespace diffevo
