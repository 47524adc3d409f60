// The checkpoint file format: encode_checkpoint / decode_checkpoint (host/checkpoint/checkpoint.cpp does the
// file I/O and the optimizer side).
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
// naming both), the flags, the file size against the header (truncated or trailing bytes), the
// checksum (corrupted), then the payload parses exactly, the config validates, the array sizes and
// counters match it, and the noise position is the one its generation implies.
// Nothing is constructed before all checks pass.
#include "checkpoint_format.hpp"

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "diffevo/error.hpp"
#include "diffevo/schedule.hpp"
#include "host/backend/noise_position.hpp"
#include "host/util/message.hpp"

namespace diffevo::detail {
namespace {

constexpr char k_magic[8] = {'D', 'I', 'F', 'F', 'E', 'V', 'O', '\x1a'};
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

bool little_endian() {
  const std::uint16_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

}  // namespace

const char k_baseline_magic[8] = {'D', 'I', 'F', 'F', 'E', 'V', 'O', 'B'};
const char k_open_ended_magic[8] = {'D', 'I', 'F', 'F', 'E', 'V', 'O', 'O'};

std::vector<unsigned char> seal(const char (&magic)[8], const std::vector<unsigned char>& payload,
                                std::uint32_t version) {
  if (!little_endian()) throw checkpoint_error("checkpoints are written little-endian; this host is big-endian");
  byte_writer file;
  for (char ch : magic) file.put<char>(ch);
  file.put<std::uint32_t>(version);
  file.put<std::uint32_t>(0);
  file.put<std::uint64_t>(payload.size());
  std::vector<unsigned char>& bytes = file.bytes();
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  file.put<std::uint32_t>(crc32(payload.data(), payload.size()));
  return std::move(file.bytes());
}

unsealed unseal(const unsigned char* data, std::size_t size, const char (&magic)[8], const char* what,
                const std::string& path, std::uint32_t version_read, std::uint32_t version_oldest) {
  if (version_oldest == 0) version_oldest = version_read;
  if (size < k_header || std::memcmp(data, magic, sizeof magic) != 0) {
    const char* other = size >= k_header && std::memcmp(data, k_magic, sizeof k_magic) == 0
                            ? "; it is an optimizer checkpoint (optimizer::load reads it)"
                        : size >= k_header && std::memcmp(data, k_baseline_magic, sizeof k_baseline_magic) == 0
                            ? "; it is a baseline checkpoint (cma_es::load, open_es::load or pepg::load reads it)"
                        : size >= k_header && std::memcmp(data, k_open_ended_magic, sizeof k_open_ended_magic) == 0
                            ? "; it is an open-ended run's checkpoint (open_ended::load reads it)"
                            : "";
    throw checkpoint_error(msg("checkpoint ", path, ": not a ", what, " (bad magic or shorter than the ", k_header,
                               "-byte header)", other));
  }
  byte_reader head(data + 8, k_header - 8, path);
  const auto version = head.get<std::uint32_t>("version");
  if (version < version_oldest || version > version_read)
    throw checkpoint_error(version_oldest == version_read
                               ? msg("checkpoint ", path, ": format version ", version, " but this library reads version ",
                                     version_read, " of a ", what)
                               : msg("checkpoint ", path, ": format version ", version, " but this library reads versions ",
                                     version_oldest, " to ", version_read, " of a ", what));
  const auto flags = head.get<std::uint32_t>("flags");
  if (flags != 0)
    throw checkpoint_error(msg("checkpoint ", path, ": unknown header flags ", flags, " (version ", version_read,
                               " writes 0)"));
  const auto payload = head.get<std::uint64_t>("payload size");
  const std::size_t have = size - k_header;
  if (payload > std::numeric_limits<std::size_t>::max() - 4 || have != payload + 4) {
    const bool truncated = have < 4 || payload > have - 4;  // no sum that could wrap
    throw checkpoint_error(msg("checkpoint ", path, ": ", truncated ? "truncated" : "trailing bytes", " (header says ",
                               payload, " payload bytes and a 4-byte checksum follow, the file has ", have, ")"));
  }
  std::uint32_t stored;
  std::memcpy(&stored, data + k_header + payload, 4);
  if (crc32(data + k_header, static_cast<std::size_t>(payload)) != stored)
    throw checkpoint_error(msg("checkpoint ", path, ": checksum mismatch (corrupted)"));
  return unsealed{data + k_header, static_cast<std::size_t>(payload), version};
}

namespace {
/// "" when two per-dimension settings (0, 1 or D values; `empty` for none) mean the same values, else
/// the first dimension that differs with both values.
std::string affine_difference(const char* name, const std::vector<float>& a, const std::vector<float>& b, int d,
                              float empty) {
  // (the expected config is the caller's, not yet validated: a size that is none of 0, 1 and D is named,
  // never read past)
  for (const auto* v : {&a, &b})
    if (v->size() > 1 && v->size() != static_cast<std::size_t>(d))
      return msg(name, " has ", v->size(), " values ", v == &a ? "in the checkpoint" : "expected",
                 "; give 0, 1 or dimension = ", d);
  for (int i = 0; i < d; ++i) {
    const float x = a.empty() ? empty : a[a.size() == 1 ? 0 : static_cast<std::size_t>(i)];
    const float y = b.empty() ? empty : b[b.size() == 1 ? 0 : static_cast<std::size_t>(i)];
    if (x != y) return msg(name, "[", i, "] is ", x, " in the checkpoint but ", y, " expected");
  }
  return "";
}
}  // namespace

std::string first_difference(const config& a, const config& b) {
  // the first algorithm field where a (the checkpoint's) differs from b (expected); per-dimension
  // settings are compared as the values they mean ({2} and {2, 2, 2} alike), user_alphas only where
  // the schedule is user (else the run does not read them)
  auto f = [](const char* name, auto x, auto y) { return msg(name, " is ", x, " in the checkpoint but ", y, " expected"); };
  if (a.population != b.population) return f("population", a.population, b.population);
  if (a.dimension != b.dimension) return f("dimension", a.dimension, b.dimension);
  if (a.steps != b.steps) return f("steps", a.steps, b.steps);
  if (a.latent_dim != b.latent_dim) return f("latent_dim", a.latent_dim, b.latent_dim);
  if (a.schedule != b.schedule) return f("schedule", to_string(a.schedule), to_string(b.schedule));
  if (a.schedule == schedule_kind::user && a.user_alphas != b.user_alphas) {
    if (a.user_alphas.size() != b.user_alphas.size())
      return f("the number of user_alphas", a.user_alphas.size(), b.user_alphas.size());
    for (std::size_t i = 0; i < a.user_alphas.size(); ++i)
      if (a.user_alphas[i] != b.user_alphas[i]) return f(msg("user_alphas[", i, "]").c_str(), a.user_alphas[i], b.user_alphas[i]);
  }
  if (a.eta != b.eta) return f("eta", a.eta, b.eta);
  if (a.density != b.density) return f("density", to_string(a.density), to_string(b.density));
  if (a.power != b.power) return f("power", a.power, b.power);
  if (a.temperature != b.temperature) return f("temperature", a.temperature, b.temperature);
  if (a.goal != b.goal) return f("goal", to_string(a.goal), to_string(b.goal));
  if (std::string d = affine_difference("center", a.center, b.center, a.dimension, 0.0f); !d.empty()) return d;
  if (std::string d = affine_difference("scale", a.scale, b.scale, a.dimension, 1.0f); !d.empty()) return d;
  if (a.seed != b.seed) return f("seed", a.seed, b.seed);
  return "";
}


void write_config(byte_writer& w, const config& c) {
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
}

config read_config(byte_reader& r, const std::string& path) {
  config c;
  c.population = r.get<std::int32_t>("population");
  c.dimension = r.get<std::int32_t>("dimension");
  c.steps = r.get<std::int32_t>("steps");
  const auto schedule = r.get<std::int32_t>("schedule");
  c.user_alphas = r.get_array<double>("user_alphas");
  c.eta = r.get<double>("eta");
  const auto density = r.get<std::int32_t>("density");
  c.power = r.get<double>("power");
  c.temperature = r.get<double>("temperature");
  const auto goal = r.get<std::int32_t>("goal");
  c.latent_dim = r.get<std::int32_t>("latent_dim");
  c.center = r.get_array<float>("center");
  c.scale = r.get_array<float>("scale");
  c.seed = r.get<std::uint64_t>("seed");
  // Enums are checked as integers, before any cast to the enum type.
  const auto bad_enum = [&](const char* name, int v) {
    return checkpoint_error(msg("checkpoint ", path, ": ", name, " has the unknown value ", v));
  };
  if (schedule < 0 || schedule > static_cast<int>(schedule_kind::user)) throw bad_enum("schedule", schedule);
  if (density < 0 || density > static_cast<int>(density_kind::log_density)) throw bad_enum("density", density);
  if (goal != static_cast<int>(objective::maximize) && goal != static_cast<int>(objective::minimize))
    throw bad_enum("goal", goal);
  c.schedule = static_cast<schedule_kind>(schedule);
  c.density = static_cast<density_kind>(density);
  c.goal = static_cast<objective>(goal);
  return c;
}

std::vector<unsigned char> encode_checkpoint(const checkpoint_data& d) {
  byte_writer w;
  write_config(w, d.cfg);
  w.put<std::int32_t>(d.generation);
  w.put<std::int32_t>(d.last_nonfinite);
  w.put<std::int64_t>(d.total_nonfinite);
  w.put<std::uint8_t>(d.has_best ? 1 : 0);
  w.put<float>(d.best_fitness);
  w.put_array(d.best);
  w.put<std::uint64_t>(d.rng_position);
  w.put_array(d.x);
  w.put_array(d.x0);
  w.put_array(d.e);
  return seal(k_magic, w.bytes());
}

checkpoint_data decode_checkpoint(const unsigned char* data, std::size_t size, const std::string& path) {
  const unsealed payload = unseal(data, size, k_magic, "diffevo checkpoint", path);
  byte_reader r(payload.data, payload.size, path);
  checkpoint_data d;
  d.cfg = read_config(r, path);
  config& c = d.cfg;
  d.generation = r.get<std::int32_t>("generation");
  d.last_nonfinite = r.get<std::int32_t>("last_nonfinite");
  d.total_nonfinite = r.get<std::int64_t>("total_nonfinite");
  d.has_best = r.get<std::uint8_t>("has_best") != 0;
  d.best_fitness = r.get<float>("best_fitness");
  d.best = r.get_array<float>("best");
  d.rng_position = r.get<std::uint64_t>("noise position");
  d.x = r.get_array<float>("x");
  d.x0 = r.get_array<float>("x0");
  d.e = r.get_array<float>("projection");
  if (!r.at_end()) throw checkpoint_error(msg("checkpoint ", path, ": unexpected bytes after the arrays"));

  try {
    validate(c);
  } catch (const invalid_argument& e) {
    throw checkpoint_error(msg("checkpoint ", path, ": invalid config: ", e.what()));
  }
  const std::size_t nd = static_cast<std::size_t>(c.population) * c.dimension;
  const bool sizes_ok = d.x.size() == nd && d.e.size() == static_cast<std::size_t>(c.latent_dim) * c.dimension &&
                        (d.generation == 0 ? d.x0.empty() : d.x0.size() == nd) && d.generation >= 0 &&
                        d.generation <= c.steps - 1 &&
                        (d.has_best ? d.best.size() == static_cast<std::size_t>(c.dimension) : d.best.empty()) &&
                        d.last_nonfinite >= 0 && d.last_nonfinite <= c.population && d.total_nonfinite >= 0;
  if (!sizes_ok)
    throw checkpoint_error(msg("checkpoint ", path, ": the arrays or counters do not match its config (population ",
                               c.population, ", dimension ", c.dimension, ", generation ", d.generation, ")"));
  if (d.has_best && !std::isfinite(d.best_fitness))
    throw checkpoint_error(msg("checkpoint ", path, ": best_fitness is ", d.best_fitness, " (must be finite)"));
  // The noise position is a function of the config and the generation (host/cpu/rng.hpp's draw order).
  const std::uint64_t expect = noise_position(c, make_schedule(c), d.generation);
  if (d.rng_position != expect)
    throw checkpoint_error(msg("checkpoint ", path, ": noise position ", d.rng_position, " does not match generation ",
                               d.generation, " (expected ", expect, ")"));
  return d;
}

}  // namespace diffevo::detail
