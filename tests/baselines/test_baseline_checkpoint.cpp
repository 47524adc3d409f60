// Checkpoints of the baselines (host/baselines/checkpoint.cpp): a run saved, loaded and continued
// equals the uninterrupted run bit for bit, for every baseline and option that changes its state;
// the file's errors (missing, corrupted, truncated, another kind's, hand-edited) are checkpoint_error
// naming the problem; another config is invalid_argument naming the field.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "host/checkpoint/checkpoint_format.hpp"
#include "diffevo/diffevo.hpp"
#include "tests/helpers/expect.hpp"
#include "tests/helpers/file_bytes.hpp"

using namespace diffevo;

namespace {

std::string temp_path(const std::string& tag) {
  return ::testing::TempDir() + "diffevo_baseline_" + tag + "_" + std::to_string(::getpid()) + ".ckpt";
}

// A shifted sphere with a NaN now and then, so non-finite counts and best-so-far are exercised.
void fitness_of(const population_view& p, int generation, std::vector<float>& f) {
  f.resize(static_cast<std::size_t>(p.rows));
  for (int i = 0; i < p.rows; ++i) {
    double q = 0;
    for (int k = 0; k < p.cols; ++k) q += (p.row(i)[k] - 0.5) * (p.row(i)[k] - 0.5);
    f[i] = static_cast<float>(q);
  }
  if (generation % 3 == 1) f[static_cast<std::size_t>(generation) % f.size()] = NAN;
}

// Everything a user can see of a strategy after each generation.
struct trace {
  std::vector<std::vector<float>> populations, means;
  std::vector<float> best, best_fitness;
  long long nonfinite = 0;
};
template <class S>
trace run_on(S& s, int generations) {
  trace t;
  std::vector<float> f;
  for (int g = 0; g < generations && !s.done(); ++g) {
    const population_view p = s.ask();
    t.populations.emplace_back(p.data, p.data + p.size());
    fitness_of(p, s.generation(), f);
    s.tell(f);
    t.means.push_back(s.mean());
    t.best = s.best();
    t.best_fitness.push_back(s.best_fitness());
  }
  const population_view last = s.ask();
  t.populations.emplace_back(last.data, last.data + last.size());
  t.nonfinite = s.total_nonfinite();
  return t;
}

// Uninterrupted run vs. a run saved after `at` generations, loaded and finished.
template <class S, class C>
void resumes_bit_for_bit(const C& cfg, int at, const char* what) {
  SCOPED_TRACE(what);
  S whole(cfg);
  const trace a = run_on(whole, cfg.generations);

  const std::string path = temp_path(what);
  S first(cfg);
  const trace head = run_on(first, at);
  first.save(path);
  S resumed = S::load(path, &cfg);
  EXPECT_EQ(resumed.generation(), at);
  EXPECT_EQ(resumed.total_nonfinite(), first.total_nonfinite());
  EXPECT_EQ(resumed.mean(), first.mean());
  const population_view p0 = resumed.ask(), q0 = first.ask();
  EXPECT_EQ(std::vector<float>(p0.data, p0.data + p0.size()), std::vector<float>(q0.data, q0.data + q0.size()));
  const trace tail = run_on(resumed, cfg.generations - at);
  std::remove(path.c_str());

  ASSERT_EQ(head.populations.size() + tail.populations.size() - 1, a.populations.size());
  for (std::size_t g = 0; g < a.populations.size(); ++g) {
    const auto& got = g < head.populations.size() ? head.populations[g] : tail.populations[g - head.populations.size() + 1];
    ASSERT_EQ(got, a.populations[g]) << "population of generation " << g;
  }
  for (std::size_t g = 0; g < tail.means.size(); ++g)
    ASSERT_EQ(tail.means[g], a.means[static_cast<std::size_t>(at) + g]) << "mean after generation " << at + g;
  EXPECT_EQ(tail.best, a.best);
  EXPECT_EQ(tail.best_fitness.back(), a.best_fitness.back());
  EXPECT_EQ(tail.nonfinite, a.nonfinite);
  EXPECT_TRUE(resumed.done());
}

cma_es_config small_cma() {
  cma_es_config c;
  c.population = 12;
  c.dimension = 5;
  c.generations = 9;
  c.sigma0 = 0.7;
  c.mean0 = {1, -1, 0.5f, 0, 2};
  c.goal = objective::minimize;
  c.seed = 41;
  return c;
}

}  // namespace

TEST(BaselineCheckpoint, EveryBaselineResumesBitForBit) {
  resumes_bit_for_bit<cma_es>(small_cma(), 4, "cma-es");
  open_es_config o;
  o.population = 16;
  o.dimension = 4;
  o.generations = 10;
  o.goal = objective::minimize;
  o.seed = 5;
  resumes_bit_for_bit<open_es>(o, 6, "open-es adam");
  o.optimizer = es_optimizer::momentum;
  o.antithetic = true;
  o.shaping = fitness_shaping::standardized;
  resumes_bit_for_bit<open_es>(o, 3, "open-es momentum antithetic");
  pepg_config p;
  p.population = 16;
  p.dimension = 4;
  p.generations = 10;
  p.goal = objective::minimize;
  p.seed = 6;
  resumes_bit_for_bit<pepg>(p, 5, "pepg");
  p.elite_ratio = 0.25;
  p.average_baseline = false;
  p.population = 17;  // odd: one centre sample
  resumes_bit_for_bit<pepg>(p, 7, "pepg elite centre");
}

TEST(BaselineCheckpoint, SavedAtTheStartAndAtTheEnd) {
  const cma_es_config c = small_cma();
  const std::string path = temp_path("ends");
  cma_es fresh(c);
  fresh.save(path);
  cma_es at0 = cma_es::load(path);
  EXPECT_EQ(at0.generation(), 0);
  EXPECT_FALSE(at0.has_best());
  cma_es whole(c);
  run_on(whole, c.generations);
  whole.save(path);
  cma_es at_end = cma_es::load(path);
  EXPECT_TRUE(at_end.done());
  EXPECT_EQ(at_end.best(), whole.best());
  EXPECT_EQ(at_end.sigma(), whole.sigma());
  std::remove(path.c_str());
}

// A finished run goes on past its generations when load() is given a larger count: the same bits as a
// run made with that count from the start (before: "generations is 9 in the checkpoint but 15
// expected"). A count below what the file has told is refused by name.
template <class S, class C>
void extends_bit_for_bit(C cfg, int more, const char* what) {
  SCOPED_TRACE(what);
  C longer = cfg;
  longer.generations = cfg.generations + more;
  S whole(longer);
  const trace a = run_on(whole, longer.generations);
  S first(cfg);
  run_on(first, cfg.generations);
  ASSERT_TRUE(first.done());
  const std::string path = temp_path(what);
  first.save(path);
  S resumed = S::load(path, &longer);
  EXPECT_FALSE(resumed.done());
  EXPECT_EQ(resumed.generations(), longer.generations);
  const trace tail = run_on(resumed, more);
  EXPECT_TRUE(resumed.done());
  for (std::size_t g = 0; g < tail.populations.size(); ++g)
    ASSERT_EQ(tail.populations[g], a.populations[static_cast<std::size_t>(cfg.generations) + g]) << "generation "
                                                                                                << cfg.generations + g;
  EXPECT_EQ(tail.best, a.best);
  C fewer = cfg;
  fewer.generations = cfg.generations - 1;
  expect_message<invalid_argument>([&] { S::load(path, &fewer); }, "expected, but the run has told");
  std::remove(path.c_str());
}

TEST(BaselineCheckpoint, AFinishedRunIsExtendedByALargerGenerationCount) {
  extends_bit_for_bit<cma_es>(small_cma(), 6, "cma-es");
  open_es_config o;
  o.population = 16, o.dimension = 4, o.generations = 5, o.goal = objective::minimize, o.seed = 5;
  extends_bit_for_bit<open_es>(o, 4, "open-es");
  pepg_config p;
  p.population = 16, p.dimension = 4, p.generations = 5, p.goal = objective::minimize, p.seed = 6;
  extends_bit_for_bit<pepg>(p, 4, "pepg");
}

TEST(BaselineCheckpoint, AnotherConfigIsNamed) {
  const cma_es_config c = small_cma();
  const std::string path = temp_path("config");
  cma_es(c).save(path);
  cma_es_config other = c;
  other.sigma0 = 0.5;
  expect_message<invalid_argument>([&] { cma_es::load(path, &other); },
                                   "sigma0 is 0.7 in the checkpoint but 0.5 expected");
  other = c;
  other.sigma0 = 0.7000000000000001;  // one ulp away: still a different run
  expect_message<invalid_argument>([&] { cma_es::load(path, &other); },
                                   "sigma0 is 0.7 in the checkpoint but 0.7000000000000001 expected");
  other = c;
  other.mean0[2] = 0.25f;
  expect_message<invalid_argument>([&] { cma_es::load(path, &other); },
                                   "mean0 is [1, -1, 0.5, 0, 2] in the checkpoint but [1, -1, 0.25, 0, 2] expected");
  pepg_config p;
  p.seed = 3;
  pepg(p).save(path);
  pepg_config q = p;
  q.rank_fitness = false;
  expect_message<invalid_argument>([&] { pepg::load(path, &q); }, "rank_fitness is 1 in the checkpoint but 0 expected");
  std::remove(path.c_str());
}

TEST(BaselineCheckpoint, TheWrongKindOfFileIsNamed) {
  const std::string path = temp_path("kind");
  cma_es(small_cma()).save(path);
  expect_message<checkpoint_error>([&] { open_es::load(path); }, "it holds a cma-es run, not open-es");
  expect_message<checkpoint_error>([&] { optimizer::load(path); },
                                   "not a diffevo checkpoint (bad magic or shorter than the 24-byte header); it is a "
                                   "baseline checkpoint");
  config oc;
  oc.population = 8;
  oc.dimension = 2;
  oc.steps = 4;
  oc.backend = backend_kind::cpu;
  optimizer(oc).save(path);
  expect_message<checkpoint_error>([&] { cma_es::load(path); },
                                   "not a diffevo baseline checkpoint (bad magic or shorter than the 24-byte header); "
                                   "it is an optimizer checkpoint");
  std::remove(path.c_str());
  expect_message<checkpoint_error>([&] { pepg::load(path); }, "cannot open");
}

TEST(BaselineCheckpoint, CorruptedFilesAreCheckpointErrors) {
  const std::string path = temp_path("corrupt");
  cma_es s(small_cma());
  run_on(s, 3);
  s.save(path);
  const std::vector<unsigned char> good = read_all(path);
  std::vector<unsigned char> b = good;
  b[40] ^= 0x10;
  write_all(path, b);
  expect_message<checkpoint_error>([&] { cma_es::load(path); }, "checksum mismatch (corrupted)");
  b = good;
  b.pop_back();
  write_all(path, b);
  expect_message<checkpoint_error>([&] { cma_es::load(path); }, "truncated");
  std::mt19937 rng(9);
  int thrown = 0;
  for (int k = 0; k < 300; ++k) {
    b = good;
    const int edits = 1 + k % 4;
    for (int e = 0; e < edits; ++e) b[rng() % b.size()] = static_cast<unsigned char>(rng());
    if (k % 7 == 0) b.resize(rng() % b.size());
    write_all(path, b);
    try {
      cma_es::load(path);
      EXPECT_EQ(b, good) << "a changed file loaded (corruption " << k << ")";
    } catch (const checkpoint_error&) {
      ++thrown;
    }
  }
  EXPECT_GT(thrown, 290);
  // The same edits inside the payload, sealed again with a valid checksum: the payload parser itself
  // must reject or load them, never crash or throw anything else (ASan in CI).
  const diffevo::detail::unsealed payload =
      diffevo::detail::unseal(good.data(), good.size(), diffevo::detail::k_baseline_magic, "x", path);
  const std::vector<unsigned char> body(payload.data, payload.data + payload.size);
  int loaded = 0, rejected = 0;
  for (int k = 0; k < 300; ++k) {
    std::vector<unsigned char> e = body;
    const int edits = 1 + k % 3;
    for (int x = 0; x < edits; ++x) {
      // Mostly the population, generation and told-fitness bytes; small values, so that the configs
      // that parse stay small enough to build.
      const std::size_t at = rng() % e.size();
      e[at] = static_cast<unsigned char>(rng() % 4);
    }
    if (k % 5 == 0) e.resize(rng() % e.size());
    write_all(path, diffevo::detail::seal(diffevo::detail::k_baseline_magic, e));
    try {
      cma_es::load(path);
      ++loaded;
    } catch (const checkpoint_error&) {
      ++rejected;
    } catch (const invalid_argument& ex) {
      ADD_FAILURE() << "invalid_argument without an expected config: " << ex.what();
    }
  }
  // Many edits land in told fitness values, which stay valid fitness: both outcomes must occur.
  std::printf("[ sealed payload edits ] %d rejected, %d loaded\n", rejected, loaded);
  EXPECT_GT(rejected, 0);
  EXPECT_GT(loaded, 0);
  std::remove(path.c_str());
}

namespace {
// A baseline checkpoint's payload rebuilt field by field, with a valid checksum: what a hand edit
// that keeps the container intact would give.
std::vector<unsigned char> hand_made(const std::string& name, const cma_es_config& c, int generation,
                                     const std::vector<float>& told) {
  diffevo::detail::byte_writer w;
  w.put_array(std::vector<char>(name.begin(), name.end()));
  w.put<std::int32_t>(c.population);
  w.put<std::int32_t>(c.dimension);
  w.put<std::int32_t>(c.generations);
  w.put<double>(c.sigma0);
  w.put_array(c.mean0);
  w.put<std::int32_t>(static_cast<std::int32_t>(c.goal));
  w.put<std::uint64_t>(c.seed);
  w.put<std::int32_t>(generation);
  w.put_array(told);
  return diffevo::detail::seal(diffevo::detail::k_baseline_magic, w.bytes());
}
}  // namespace

TEST(BaselineCheckpoint, HandEditedContentsAreRejected) {
  const std::string path = temp_path("edited");
  const cma_es_config c = small_cma();
  cma_es s(c);
  run_on(s, 2);
  s.save(path);
  std::vector<float> told(2 * 12);
  {  // the layout the test rebuilds is the library's: it reproduces the saved file exactly
    cma_es again(c);
    std::vector<float> f;
    for (int g = 0; g < 2; ++g) {
      fitness_of(again.ask(), g, f);
      std::copy(f.begin(), f.end(), told.begin() + g * 12);
      again.tell(f);
    }
    EXPECT_EQ(hand_made("cma-es", c, 2, told), read_all(path));
  }
  write_all(path, hand_made("cma-es", c, 3, told));
  expect_message<checkpoint_error>([&] { cma_es::load(path); },
                                   "24 told fitness values do not match generation 3 of 9 with population 12");
  write_all(path, hand_made("cma-es", c, 10, std::vector<float>(120, 1.0f)));
  expect_message<checkpoint_error>([&] { cma_es::load(path); }, "do not match generation 10 of 9");
  std::vector<float> bad = told;
  bad[13] = -INFINITY;  // minimize: -inf wins, which tell rejects
  write_all(path, hand_made("cma-es", c, 2, bad));
  expect_message<checkpoint_error>([&] { cma_es::load(path); },
                                   "the fitness told at generation 1 is invalid: cma-es: fitness[1] = -inf");
  cma_es_config broken = c;
  broken.sigma0 = -1;
  write_all(path, hand_made("cma-es", broken, 0, {}));
  expect_message<checkpoint_error>([&] { cma_es::load(path); }, "invalid config: cma-es: sigma0 must be finite and > 0");
  cma_es_config huge = c;
  huge.population = 1 << 30;  // 16 GiB of buffers: refused by the expected config before anything is built
  write_all(path, hand_made("cma-es", huge, 0, {}));
  expect_message<invalid_argument>([&] { cma_es::load(path, &c); },
                                   "population is 1073741824 in the checkpoint but 12 expected");
  cma_es_config odd_goal = c;
  odd_goal.goal = static_cast<objective>(7);
  write_all(path, hand_made("cma-es", odd_goal, 0, {}));
  expect_message<checkpoint_error>([&] { cma_es::load(path); }, "goal has the unknown value 7");
  std::remove(path.c_str());
}
