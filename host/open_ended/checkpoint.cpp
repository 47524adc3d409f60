// An open-ended run's checkpoint: open_ended::save writes it, open_ended::load replays it.
//
// The run's state (cycles, seeds waiting, archive, best point, the optimizer inside) is a function of
// its config and of what was told and injected: every population comes from seeded generators in a
// fixed order. So, like the baselines' checkpoints, the file stores the config and that log, and load
// replays it (the updates run again, the fitness is not evaluated again). That resumes bit for bit
// and no state field can be forgotten; it costs 4 bytes per evaluation in memory and file (8 for a
// value told in double), and the replay takes the updates' share of the run's time.
//
// Payload, in the container of host/checkpoint/checkpoint_format.cpp (magic "DIFFEVOO", version 13;
// version 12, without refine_nudge, is read with it 0; version 11, without refine_translate_optima, is read with it false; version 10, without refine_translate, is read with it 0; version 9, without refine_probe, is read with it 0; version 8 has version 9's payload, but its runs seeded restart k with run.seed + k, and is replayed so (version 9
// hashes k: open_ended.cpp, cycle_seed); version 7, without explore_samples and refine_abandon_level, is read with them 0 and 2; version 6, without
// refine_polish and refine_seed_cut, is read with them 0 and 2; version 5, without refine_taboo, is read
// with it false; version 4, without refine_cycles, is read with it 0
// (3 x refine_levels, what that version's runs did); version
// 3, without values told in double, is read with every tell in float, and version 2, without
// refine_abandon_gain, also with it 0, which is what those versions' runs did; version 1,
// before the config's fields restart_scale, refine_precision, refine_abandon, refine_first_generation
// and derate_radius, is refused):
//   the run config as in the optimizer's checkpoint (write_config)
//   i32 backend used (1 cpu, 2 cuda)
//   the other fields of open_ended_config in the order of fields() below: i32 for int and enums, i64 for
//   long long, f64 for double, u8 for bool, u64 count + values for vectors
//   f64 wall seconds so far; u64 count + char[count] the stop reason ("" while running)
//   u64 count + i32[count] events, u64 count + f32[count] told, u64 count + f32[count] injected
//   (version 4:) u64 count + u8[count] one flag per tell (1: told in double), u64 count + f64[count] the
//   values told in double
#include "host/open_ended/checkpoint.hpp"

#include <algorithm>
#include <type_traits>

#include "diffevo/error.hpp"
#include "host/checkpoint/checkpoint_format.hpp"
#include "host/util/message.hpp"

namespace diffevo::detail {
namespace {

// A new field of open_ended_config must be added to fields() below, or checkpoints would drop it:
// this binding stops compiling when the field count changes (then list the field and update it).
[[maybe_unused]] void config_field_count(open_ended_config& c) {
  [[maybe_unused]] auto& [c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16, c17, c18, c19, c20,
                          c21, c22, c23, c24, c25, c26, c27, c28, c29, c30, c31, c32, c33, c34, c35, c36, c37, c38, c39,
                          c40, c41, c42, c43] = c;
}

/// The first format version with refine_abandon_gain.
constexpr std::uint32_t k_gain_version = 3;
/// The first format version with values told in double (the log's precise flags and told_precise).
constexpr std::uint32_t k_precise_version = 4;
/// The first format version with refine_cycles.
constexpr std::uint32_t k_cycles_version = 5;
/// The first format version with refine_taboo.
constexpr std::uint32_t k_taboo_version = 6;
/// The first format version with refine_polish.
constexpr std::uint32_t k_polish_version = 7;
/// The first format version with explore_samples and refine_abandon_level.
constexpr std::uint32_t k_explore_version = 8;
/// The first format version with refine_probe.
constexpr std::uint32_t k_probe_version = 10;
/// The first format version with refine_translate.
constexpr std::uint32_t k_translate_version = 11;
/// The first format version with refine_translate_optima.
constexpr std::uint32_t k_translate_optima_version = 12;
/// The first format version with refine_nudge.
constexpr std::uint32_t k_nudge_version = 13;

/// Every field but `run` (written by write_config) that a file of `version` holds, in file order.
template <class C, class F>
void fields(C& c, F&& f, std::uint32_t version = k_open_ended_version) {
  f("start.population", c.start.population);
  f("start.generation", c.start.generation);
  f("start.diffuse", c.start.diffuse);
  f("lower", c.lower);
  f("upper", c.upper);
  f("bounds", c.bounds);
  f("penalty", c.penalty);
  f("shaping", c.shaping);
  f("rank_temperature", c.rank_temperature);
  f("continuations", c.continuations);
  f("continue_at", c.continue_at);
  f("restarts", c.restarts);
  f("population_growth", c.population_growth);
  f("max_population", c.max_population);
  f("restart_scale", c.restart_scale);
  f("archive_radius", c.archive_radius);
  f("archive_tolerance", c.archive_tolerance);
  f("refine_levels", c.refine_levels);
  f("refine_scale", c.refine_scale);
  f("refine_shrink", c.refine_shrink);
  f("refine_population", c.refine_population);
  f("refine_steps", c.refine_steps);
  if (version >= k_cycles_version) f("refine_cycles", c.refine_cycles);
  f("refine_tolerance", c.refine_tolerance);
  f("refine_distance", c.refine_distance);
  f("refine_precision", c.refine_precision);
  f("refine_abandon", c.refine_abandon);
  if (version >= k_gain_version) f("refine_abandon_gain", c.refine_abandon_gain);
  f("refine_first_generation", c.refine_first_generation);
  f("derate_radius", c.derate_radius);
  if (version >= k_taboo_version) f("refine_taboo", c.refine_taboo);
  if (version >= k_polish_version) f("refine_polish", c.refine_polish);
  if (version >= k_polish_version) f("refine_seed_cut", c.refine_seed_cut);
  if (version >= k_explore_version) f("explore_samples", c.explore_samples);
  if (version >= k_explore_version) f("refine_abandon_level", c.refine_abandon_level);
  if (version >= k_probe_version) f("refine_probe", c.refine_probe);
  if (version >= k_translate_version) f("refine_translate", c.refine_translate);
  if (version >= k_translate_optima_version) f("refine_translate_optima", c.refine_translate_optima);
  if (version >= k_nudge_version) f("refine_nudge", c.refine_nudge);
  f("target", c.target);
  f("max_evaluations", c.max_evaluations);
  f("max_seconds", c.max_seconds);
  f("flat_generations", c.flat_generations);
  f("flat_tolerance", c.flat_tolerance);
}

struct put_field {
  byte_writer& w;
  template <class T>
  void operator()(const char*, const T& v) const {
    if constexpr (std::is_same_v<T, bool>) w.put<std::uint8_t>(v ? 1 : 0);
    else if constexpr (std::is_enum_v<T> || std::is_same_v<T, int>) w.put<std::int32_t>(static_cast<std::int32_t>(v));
    else if constexpr (std::is_same_v<T, long long>) w.put<std::int64_t>(v);
    else if constexpr (std::is_same_v<T, double>) w.put<double>(v);
    else w.put_array(v);
  }
};

struct get_field {
  byte_reader& r;
  template <class T>
  void operator()(const char* name, T& v) const {
    if constexpr (std::is_same_v<T, bool>) v = r.get<std::uint8_t>(name) != 0;
    else if constexpr (std::is_enum_v<T> || std::is_same_v<T, int>) v = static_cast<T>(r.get<std::int32_t>(name));
    else if constexpr (std::is_same_v<T, long long>) v = r.get<std::int64_t>(name);
    else if constexpr (std::is_same_v<T, double>) v = r.get<double>(name);
    else v = r.get_array<typename T::value_type>(name);
  }
};

}  // namespace

std::string first_difference(const open_ended_config& saved, const open_ended_config& expected) {
  const std::string run = first_difference(saved.run, expected.run);
  if (!run.empty()) return "run." + run;
  std::vector<std::vector<unsigned char>> a;
  std::vector<std::string> shown;  // each saved value as text (vectors: their size)
  std::string diff;
  const auto text = [](const auto& v) -> std::string {
    using T = std::decay_t<decltype(v)>;
    if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
    else if constexpr (std::is_enum_v<T>) return msg(static_cast<int>(v));
    else if constexpr (std::is_arithmetic_v<T>) return msg(v);
    else return msg(v.size(), " values");
  };
  fields(saved, [&](const char*, const auto& v) {
    byte_writer w;
    put_field{w}("", v);
    a.push_back(std::move(w.bytes()));
    shown.push_back(text(v));
  });
  std::size_t i = 0;
  fields(expected, [&](const char* name, const auto& v) {
    byte_writer w;
    put_field{w}("", v);
    if (diff.empty() && w.bytes() != a[i]) {
      const std::string mine = text(v);
      diff = mine != shown[i] ? msg(name, " is ", shown[i], " in the checkpoint but ", mine, " expected")
                              : msg(name, " differs from the expected value (", mine, ", not the same ones)");
    }
    ++i;
  });
  return diff;
}

std::vector<unsigned char> encode_open_ended(const open_ended_checkpoint& c) { return encode_open_ended(c, c.version); }

std::vector<unsigned char> encode_open_ended(const open_ended_checkpoint& c, std::uint32_t version) {
  const bool any_precise = std::any_of(c.log.precise.begin(), c.log.precise.end(), [](std::uint8_t v) { return v != 0; });
  if (version < k_open_ended_oldest || version > k_open_ended_version ||
      (version < k_hashed_seeds_version) != (c.version < k_hashed_seeds_version) ||
      (version < k_gain_version && c.cfg.refine_abandon_gain != 0) ||
      (version < k_cycles_version && c.cfg.refine_cycles != 0) || (version < k_taboo_version && c.cfg.refine_taboo) ||
      (version < k_polish_version && (c.cfg.refine_polish != 0 || c.cfg.refine_seed_cut != open_ended_config{}.refine_seed_cut)) ||
      (version < k_explore_version &&
       (c.cfg.explore_samples != 0 || c.cfg.refine_abandon_level != open_ended_config{}.refine_abandon_level)) ||
      (version < k_probe_version && c.cfg.refine_probe != 0) || (version < k_translate_version && c.cfg.refine_translate != 0) ||
      (version < k_translate_optima_version && c.cfg.refine_translate_optima) ||
      (version < k_nudge_version && c.cfg.refine_nudge != 0) || (version < k_precise_version && any_precise))
    throw logic_error(msg("encode_open_ended: version ", version, " cannot hold this run"));
  byte_writer w;
  write_config(w, c.cfg.run);
  w.put<std::int32_t>(static_cast<std::int32_t>(c.backend));
  fields(c.cfg, put_field{w}, version);
  w.put<double>(c.seconds);
  w.put_array(std::vector<char>(c.stopped.begin(), c.stopped.end()));
  w.put_array(c.log.events);
  w.put_array(c.log.told);
  w.put_array(c.log.injected);
  if (version >= k_precise_version) {
    w.put_array(c.log.precise);
    w.put_array(c.log.told_precise);
  }
  return seal(k_open_ended_magic, w.bytes(), version);
}

open_ended_checkpoint decode_open_ended(const unsigned char* bytes, std::size_t n, const std::string& path) {
  const unsealed p = unseal(bytes, n, k_open_ended_magic, "diffevo open-ended checkpoint", path, k_open_ended_version,
                            k_open_ended_oldest);
  byte_reader r(p.data, p.size, path);
  open_ended_checkpoint c;
  c.version = p.version;
  c.cfg.run = read_config(r, path);
  const auto backend = r.get<std::int32_t>("backend");
  fields(c.cfg, get_field{r}, p.version);
  c.seconds = r.get<double>("seconds");
  const std::vector<char> stopped = r.get_array<char>("stop reason");
  c.stopped.assign(stopped.begin(), stopped.end());
  c.log.events = r.get_array<std::int32_t>("events");
  c.log.told = r.get_array<float>("told fitness");
  c.log.injected = r.get_array<float>("injected points");
  if (p.version >= k_precise_version) {
    c.log.precise = r.get_array<std::uint8_t>("precise flags");
    c.log.told_precise = r.get_array<double>("told fitness (double)");
  }
  if (!r.at_end()) throw checkpoint_error(msg("checkpoint ", path, ": unexpected bytes after the log"));
  if (backend != static_cast<int>(backend_kind::cpu) && backend != static_cast<int>(backend_kind::cuda))
    throw checkpoint_error(msg("checkpoint ", path, ": backend has the unknown value ", backend));
  c.backend = static_cast<backend_kind>(backend);
  c.cfg.run.backend = c.backend;
  try {
    validate(c.cfg);  // the enums too, as integers, before anything is built
  } catch (const invalid_argument& e) {
    throw checkpoint_error(msg("checkpoint ", path, ": invalid config: ", e.what()));
  }
  std::size_t tells = 0;
  for (const std::int32_t e : c.log.events) tells += e > 0 ? 1 : 0;
  if (p.version < k_precise_version) c.log.precise.assign(tells, 0);  // every tell in float then
  if (c.log.precise.size() != tells)
    throw checkpoint_error(msg("checkpoint ", path, ": the log has ", tells, " tells but ", c.log.precise.size(),
                               " precision flags (corrupted)"));
  std::size_t told = 0, told_precise = 0, injected = 0, t = 0;
  const std::size_t injectable = c.log.injected.size() / static_cast<std::size_t>(c.cfg.run.dimension);
  for (const std::int32_t e : c.log.events) {
    if (e <= 0) {  // an injection of -e points: never more than the file holds (no sum that could wrap)
      const std::size_t k = static_cast<std::size_t>(-static_cast<std::int64_t>(e));
      if (k > injectable - injected)
        throw checkpoint_error(msg("checkpoint ", path, ": the log injects more points than the file's ",
                                   injectable, " (corrupted)"));
      injected += k;
      continue;
    }
    const std::uint8_t flag = c.log.precise[t++];
    if (flag > 1) throw checkpoint_error(msg("checkpoint ", path, ": precision flag ", int(flag), " is not 0 or 1 (corrupted)"));
    (flag ? told_precise : told) += static_cast<std::size_t>(e);
  }
  if (told != c.log.told.size() || told_precise != c.log.told_precise.size() ||
      injected * static_cast<std::size_t>(c.cfg.run.dimension) != c.log.injected.size())
    throw checkpoint_error(msg("checkpoint ", path, ": the log's events need ", told, " values told in float, ",
                               told_precise, " in double and ", injected, " injected points but the file holds ",
                               c.log.told.size(), ", ", c.log.told_precise.size(), " and ", c.log.injected.size(),
                               " values (corrupted)"));
  const bool known = c.stopped.empty() || c.stopped == "target" || c.stopped == "max_evaluations" ||
                     c.stopped == "max_seconds" || c.stopped == "restarts";
  if (!known || !(c.seconds >= 0)) throw checkpoint_error(msg("checkpoint ", path, ": unknown stop reason or wall time (corrupted)"));
  return c;
}

}  // namespace diffevo::detail
