// Checkpoints of the baselines: baseline_strategy::save and cma_es / open_es / pepg ::load.
//
// A baseline's state (CMA-ES's covariance and paths, Adam's moments, the step sizes) is a function of
// its config and the fitness told so far: the populations come from the seeded generator in a fixed
// order. So the checkpoint stores the config and the told fitness, and load replays the tells. That
// resumes bit for bit, and no state field can be forgotten.
//
// Payload, in the container of host/checkpoint/checkpoint_format.cpp (magic "DIFFEVOB", version 1):
//   u64 count + char[count]  the strategy's name ("cma-es", "open-es", "pepg")
//   the config's fields in the order of fields() below: i32 for int and enums, f64 for double, u8 for
//   bool, u64 for the seed, u64 count + f32[count] for mean0
//   i32 generation
//   u64 count + f32[count]   the fitness told, generation by generation (generation x population)
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "host/checkpoint/checkpoint_file.hpp"
#include "host/checkpoint/checkpoint_format.hpp"
#include "host/util/message.hpp"
#include "diffevo/error.hpp"
#include "state.hpp"

namespace diffevo {
namespace detail {
namespace {

// A new config field must be added to fields() below, or checkpoints would drop it: these bindings
// stop compiling when a config's field count changes (then list the field and update the count).
[[maybe_unused]] void config_field_counts(cma_es_config& c, open_es_config& o, pepg_config& p) {
  [[maybe_unused]] auto& [c1, c2, c3, c4, c5, c6, c7] = c;
  [[maybe_unused]] auto& [o1, o2, o3, o4, o5, o6, o7, o8, o9, o10, o11, o12, o13, o14, o15, o16, o17] = o;
  [[maybe_unused]] auto& [p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13, p14, p15, p16, p17, p18] = p;
}

template <class C, class F>
void fields(C& c, F&& f) {
  using T = std::remove_const_t<C>;
  f("population", c.population);
  f("dimension", c.dimension);
  f("generations", c.generations);
  if constexpr (std::is_same_v<T, cma_es_config>) {
    f("sigma0", c.sigma0);
  } else if constexpr (std::is_same_v<T, open_es_config>) {
    f("sigma_init", c.sigma_init);
    f("sigma_decay", c.sigma_decay);
    f("sigma_limit", c.sigma_limit);
    f("learning_rate", c.learning_rate);
    f("learning_rate_decay", c.learning_rate_decay);
    f("learning_rate_limit", c.learning_rate_limit);
    f("weight_decay", c.weight_decay);
    f("antithetic", c.antithetic);
    f("shaping", c.shaping);
    f("optimizer", c.optimizer);
    f("momentum", c.momentum);
  } else {
    static_assert(std::is_same_v<T, pepg_config>);
    f("sigma_init", c.sigma_init);
    f("sigma_alpha", c.sigma_alpha);
    f("sigma_decay", c.sigma_decay);
    f("sigma_limit", c.sigma_limit);
    f("sigma_max_change", c.sigma_max_change);
    f("learning_rate", c.learning_rate);
    f("learning_rate_decay", c.learning_rate_decay);
    f("learning_rate_limit", c.learning_rate_limit);
    f("elite_ratio", c.elite_ratio);
    f("average_baseline", c.average_baseline);
    f("weight_decay", c.weight_decay);
    f("rank_fitness", c.rank_fitness);
  }
  f("mean0", c.mean0);
  f("goal", c.goal);
  f("seed", c.seed);
}

// The largest value of each enum a config holds (they start at 0).
constexpr int last_value(objective) { return 1; }
constexpr int last_value(fitness_shaping) { return static_cast<int>(fitness_shaping::raw); }
constexpr int last_value(es_optimizer) { return static_cast<int>(es_optimizer::momentum); }
static_assert(static_cast<int>(objective::maximize) == 0 && static_cast<int>(objective::minimize) == 1);

struct put_field {
  byte_writer& w;
  void operator()(const char*, int v) const { w.put<std::int32_t>(v); }
  void operator()(const char*, double v) const { w.put<double>(v); }
  void operator()(const char*, bool v) const { w.put<std::uint8_t>(v ? 1 : 0); }
  void operator()(const char*, std::uint64_t v) const { w.put<std::uint64_t>(v); }
  void operator()(const char*, const std::vector<float>& v) const { w.put_array(v); }
  template <class E, class = std::enable_if_t<std::is_enum_v<E>>>
  void operator()(const char*, E v) const {
    w.put<std::int32_t>(static_cast<std::int32_t>(v));
  }
};

struct get_field {
  byte_reader& r;
  const std::string& path;
  void operator()(const char* name, int& v) const { v = r.get<std::int32_t>(name); }
  void operator()(const char* name, double& v) const { v = r.get<double>(name); }
  void operator()(const char* name, std::uint64_t& v) const { v = r.get<std::uint64_t>(name); }
  void operator()(const char* name, std::vector<float>& v) const { v = r.get_array<float>(name); }
  void operator()(const char* name, bool& v) const {
    const auto b = r.get<std::uint8_t>(name);
    if (b > 1) throw checkpoint_error(msg("checkpoint ", path, ": ", name, " has the unknown value ", int(b)));
    v = b != 0;
  }
  template <class E, class = std::enable_if_t<std::is_enum_v<E>>>
  void operator()(const char* name, E& v) const {  // checked as an integer before the cast
    const auto i = r.get<std::int32_t>(name);
    if (i < 0 || i > last_value(E{}))
      throw checkpoint_error(msg("checkpoint ", path, ": ", name, " has the unknown value ", i));
    v = static_cast<E>(i);
  }
};

template <class C>
std::vector<unsigned char> config_bytes(const C& c) {
  byte_writer w;
  fields(c, put_field{w});
  return std::move(w.bytes());
}

// Each field in fields() order: its encoded bytes (compared exactly) and its value as text.
struct field_value {
  const char* name;
  std::vector<unsigned char> bytes;
  std::string text;
};
std::string exact_text(double v) {  // the fewest digits that read back as v
  for (int digits = 6;; ++digits) {
    std::ostringstream os;
    os.precision(digits);
    os << v;
    if (std::strtod(os.str().c_str(), nullptr) == v || digits >= std::numeric_limits<double>::max_digits10 || v != v)
      return os.str();
  }
}
template <class C>
std::vector<field_value> field_values(const C& c) {
  std::vector<field_value> out;
  fields(c, [&](const char* name, const auto& v) {
    using V = std::decay_t<decltype(v)>;
    byte_writer w;
    put_field{w}(name, v);
    std::string t;
    if constexpr (std::is_same_v<V, std::vector<float>>) {
      t = "[";
      for (std::size_t i = 0; i < v.size(); ++i) t += (i ? ", " : "") + exact_text(v[i]);
      t += "]";
    } else if constexpr (std::is_enum_v<V>) {
      t = std::to_string(static_cast<int>(v));
    } else if constexpr (std::is_floating_point_v<V>) {
      t = exact_text(v);
    } else {
      t = std::to_string(v);
    }
    out.push_back(field_value{name, std::move(w.bytes()), std::move(t)});
  });
  return out;
}

template <class C>
std::string first_difference(const C& saved, const C& expected) {
  const auto a = field_values(saved), b = field_values(expected);
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].bytes != b[i].bytes)
      return msg(a[i].name, " is ", a[i].text, " in the checkpoint but ", b[i].text, " expected");
  return "";
}

template <class Strategy, class C>
Strategy load_baseline(const std::string& path, const C* expect, const char* kind) {
  const std::vector<unsigned char> bytes = read_file(path);
  const unsealed p = unseal(bytes.data(), bytes.size(), k_baseline_magic, "diffevo baseline checkpoint", path);
  byte_reader r(p.data, p.size, path);
  const std::vector<char> name_chars = r.get_array<char>("strategy name");
  const std::string name(name_chars.begin(), name_chars.end());
  if (name != kind) {
    const bool known = name == "cma-es" || name == "open-es" || name == "pepg";
    throw checkpoint_error(known ? msg("checkpoint ", path, ": it holds a ", name, " run, not ", kind)
                                 : msg("checkpoint ", path, ": unknown strategy name (corrupted)"));
  }
  C c;
  fields(c, get_field{r, path});
  const auto generation = r.get<std::int32_t>("generation");
  const std::vector<float> told = r.get_array<float>("told fitness");
  if (!r.at_end()) throw checkpoint_error(msg("checkpoint ", path, ": unexpected bytes after the told fitness"));
  // Every check before anything is built: the file's config decides the allocations.
  if (c.population < 0 || generation < 0 || generation > c.generations ||
      told.size() != static_cast<std::size_t>(generation) * static_cast<std::size_t>(c.population))
    throw checkpoint_error(msg("checkpoint ", path, ": ", told.size(), " told fitness values do not match generation ",
                               generation, " of ", c.generations, " with population ", c.population));
  if (expect) {
    // generations may differ: the run goes on to expect's (nothing else reads it, so the replay and
    // the continuation are the same bits as a run made with that count), if it has not told more
    C same_count = c;
    same_count.generations = expect->generations;
    const std::string diff = first_difference(same_count, *expect);
    if (!diff.empty()) throw invalid_argument(msg("checkpoint ", path, ": ", diff));
    if (expect->generations < generation)
      throw invalid_argument(msg("checkpoint ", path, ": generations = ", expect->generations, " expected, but the run has ",
                                 "told ", generation, " already"));
    c.generations = expect->generations;
  }
  Strategy s = [&] {
    try {
      return Strategy(c);
    } catch (const invalid_argument& e) {
      throw checkpoint_error(msg("checkpoint ", path, ": invalid config: ", e.what()));
    }
  }();
  const std::size_t n = static_cast<std::size_t>(c.population);
  for (int g = 0; g < generation; ++g) {
    s.ask();
    try {
      s.tell(told.data() + static_cast<std::size_t>(g) * n, n);
    } catch (const invalid_argument& e) {
      throw checkpoint_error(msg("checkpoint ", path, ": the fitness told at generation ", g, " is invalid: ", e.what()));
    }
  }
  return s;
}

}  // namespace

std::vector<unsigned char> baseline_config_bytes(const cma_es_config& c) { return config_bytes(c); }
std::vector<unsigned char> baseline_config_bytes(const open_es_config& c) { return config_bytes(c); }
std::vector<unsigned char> baseline_config_bytes(const pepg_config& c) { return config_bytes(c); }

}  // namespace detail

void baseline_strategy::save(const std::string& path) const {
  const detail::baseline_state& s = *s_;
  detail::byte_writer w;
  const std::string name = s.name;
  w.put_array(std::vector<char>(name.begin(), name.end()));
  std::vector<unsigned char>& b = w.bytes();
  b.insert(b.end(), s.config.begin(), s.config.end());
  w.put<std::int32_t>(s.generation);
  w.put_array(s.told);
  detail::write_file_atomically(path, detail::seal(detail::k_baseline_magic, w.bytes()));
}

cma_es cma_es::load(const std::string& path, const cma_es_config* expect) {
  return detail::load_baseline<cma_es>(path, expect, "cma-es");
}
open_es open_es::load(const std::string& path, const open_es_config* expect) {
  return detail::load_baseline<open_es>(path, expect, "open-es");
}
pepg pepg::load(const std::string& path, const pepg_config* expect) {
  return detail::load_baseline<pepg>(path, expect, "pepg");
}

}  // namespace diffevo
