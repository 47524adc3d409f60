// The MPI component under mpiexec (ctest label mpi, run at 1, 2, 3 and 4 ranks): every test runs on
// every rank; each compares the distributed run with the single-process optimizer bit for bit, or
// checks that one rank's failure becomes every rank's exception at the same call.
#include <gtest/gtest.h>
#include <mpi.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "diffevo/mpi.hpp"
#include "diffevo/optimize.hpp"
#include "diffevo/rollout.hpp"
#include "host/backend/row_exchange.hpp"
#include "tests/helpers/mpi_ranks.hpp"

namespace {

using diffevo::test::rank_of;
using diffevo::test::size_of;
using diffevo::test::all_ranks;
using diffevo::test::evaluate_rows;
using diffevo::test::same_bits;
using diffevo::test::tell_twin;

/// A fitness of one row alone (so it is the same whichever rank evaluates the row): a bumpy bowl.
float row_fitness(const float* x, int d) {
  float s = 0;
  for (int c = 0; c < d; ++c) {
    const float t = x[c] - 0.5f * static_cast<float>(c % 3);
    s += t * t - 0.3f * std::cos(3.0f * t);
  }
  return -s;
}

diffevo::config make_config(int n, int d, int latent, std::uint64_t seed) {
  diffevo::config c;
  c.population = n;
  c.dimension = d;
  c.latent_dim = latent;
  c.steps = 12;
  c.seed = seed;
  c.backend = diffevo::backend_kind::cpu;
  c.cpu_threads = 1;
  // What automatic means under the MPI component: the single-process twins compute the same way.
  c.cpu_math = diffevo::cpu_math_kind::exact;
  return c;
}

diffevo::optimize_result single_process(const diffevo::config& c) {
  return diffevo::optimize(c, [](diffevo::population_view p, float* f) {
    evaluate_rows(p, row_fitness, f);
  });
}

diffevo::mpi::local_fitness local_rows_fitness() {
  return [](diffevo::population_view rows, int, float* f) {
    evaluate_rows(rows, row_fitness, f);
  };
}

struct shape {
  int n, d, latent;
};

// N not divisible by P (7, 301), N smaller than P (2 at 3 and 4 ranks), narrow (D = 3), wide plain
// (D = 40: the Gram path) and latent.
const shape k_shapes[] = {{2, 3, 0}, {7, 3, 0}, {7, 40, 0}, {301, 3, 0}, {301, 40, 0}, {301, 40, 4}, {64, 40, 2}};

class SameBits : public ::testing::TestWithParam<diffevo::mpi::update_mode> {};

TEST_P(SameBits, AsTheSingleProcessRunForEveryShape) {
  for (const shape& s : k_shapes) {
    SCOPED_TRACE(testing::Message() << "N = " << s.n << ", D = " << s.d << ", latent = " << s.latent);
    const diffevo::config c = make_config(s.n, s.d, s.latent, 100u + static_cast<unsigned>(s.n + s.d + s.latent));
    const diffevo::optimize_result one = single_process(c);
    diffevo::mpi::options o;
    o.update = GetParam();
    const diffevo::optimize_result many = diffevo::mpi::optimize(c, MPI_COMM_WORLD, local_rows_fitness(), o);
    EXPECT_TRUE(same_bits(one.population, many.population));
    EXPECT_TRUE(same_bits(one.fitness, many.fitness));
    EXPECT_TRUE(same_bits(one.best, many.best));
    EXPECT_EQ(one.best_fitness, many.best_fitness);
    EXPECT_EQ(one.generations, many.generations);
  }
}

INSTANTIATE_TEST_SUITE_P(Mpi, SameBits,
                         ::testing::Values(diffevo::mpi::update_mode::replicated, diffevo::mpi::update_mode::sharded,
                                           diffevo::mpi::update_mode::automatic));

TEST(Mpi, CpuMathAutomaticIsExactAndAnExplicitFastIsKept) {
  diffevo::config c = make_config(301, 40, 4, 8);
  c.cpu_math = diffevo::cpu_math_kind::automatic;
  diffevo::config exact = c;
  exact.cpu_math = diffevo::cpu_math_kind::exact;
  {
    diffevo::mpi::optimizer opt(c, MPI_COMM_WORLD);
    EXPECT_EQ(opt.cfg().cpu_math, diffevo::cpu_math_kind::exact);
  }
  const diffevo::optimize_result one = single_process(exact);
  const diffevo::optimize_result many = diffevo::mpi::optimize(c, MPI_COMM_WORLD, local_rows_fitness());
  EXPECT_TRUE(same_bits(one.population, many.population));
  // fast when asked: replicated on every rank (each rank runs the same products and noise on this
  // machine; the drift check compares the populations every generation), the single-process fast run's bits
  diffevo::config fast = c;
  fast.cpu_math = diffevo::cpu_math_kind::fast;
  diffevo::mpi::options o;
  o.update = diffevo::mpi::update_mode::replicated;
  diffevo::mpi::optimizer opt(fast, MPI_COMM_WORLD, o);
  EXPECT_EQ(opt.cfg().cpu_math, diffevo::cpu_math_kind::fast);
  const diffevo::optimize_result fast_many = diffevo::mpi::run(opt, local_rows_fitness());
  EXPECT_TRUE(same_bits(single_process(fast).population, fast_many.population));
}

TEST(Mpi, AskTellLoopGivesTheSameX0AndBestAsOneProcess) {
  diffevo::test::expect_sharded_matches_twin(make_config(37, 40, 0, 5), row_fitness);
}

TEST(Mpi, RowsSplitInRankOrderAndSizesDifferByAtMostOne) {
  for (int n : {2, 3, 5, 64, 1001}) {
    diffevo::mpi::optimizer opt(make_config(n, 2, 0, 1), MPI_COMM_WORLD);
    const auto [b, e] = opt.local_rows();
    std::vector<int> firsts(static_cast<std::size_t>(size_of())), lasts(firsts.size());
    MPI_Allgather(&b, 1, MPI_INT, firsts.data(), 1, MPI_INT, MPI_COMM_WORLD);
    MPI_Allgather(&e, 1, MPI_INT, lasts.data(), 1, MPI_INT, MPI_COMM_WORLD);
    EXPECT_EQ(firsts.front(), 0);
    EXPECT_EQ(lasts.back(), n);
    for (std::size_t r = 0; r < firsts.size(); ++r) {
      const int count = lasts[r] - firsts[r];
      EXPECT_TRUE(count == n / size_of() || count == n / size_of() + 1) << "rank " << r << " has " << count;
      if (r > 0) EXPECT_EQ(firsts[r], lasts[r - 1]);
    }
    EXPECT_EQ(opt.ask_local().rows, e - b);
  }
}

TEST(Mpi, AConfigThatDiffersOnOneRankThrowsOnEveryRankNamingTheField) {
  if (size_of() < 2) GTEST_SKIP() << "needs 2 or more ranks";
  diffevo::config c = make_config(16, 3, 0, 1);
  if (rank_of() == size_of() - 1) c.temperature = 0.5;
  const std::string expect = "config.temperature differs between ranks: rank 0 has 1, rank " +
                             std::to_string(size_of() - 1) + " has 0.5";
  try {
    diffevo::mpi::optimizer opt(c, MPI_COMM_WORLD);
    ADD_FAILURE() << "no exception";
  } catch (const diffevo::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what();
  }
  // The options too.
  diffevo::mpi::options o;
  if (rank_of() == 0) o.check_every = 3;
  EXPECT_THROW(diffevo::mpi::optimizer(make_config(16, 3, 0, 1), MPI_COMM_WORLD, o), diffevo::invalid_argument);
}

TEST(Mpi, ABadConfigOnEveryRankThrowsItsOwnMessage) {
  diffevo::config c = make_config(16, 3, 0, 1);
  c.population = 1;
  try {
    diffevo::mpi::optimizer opt(c, MPI_COMM_WORLD);
    ADD_FAILURE() << "no exception";
  } catch (const diffevo::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("rank 0: population must be >= 2"), std::string::npos) << e.what();
  }
}

TEST(Mpi, TheExchangePathIsResolvedAndADeviceExchangeOnTheCpuBackendIsNamed) {
  // automatic and host resolve to host on the cpu backend (its rows are in host memory)
  for (const auto path : {diffevo::mpi::exchange_path::automatic, diffevo::mpi::exchange_path::host}) {
    diffevo::mpi::options o;
    o.exchange = path;
    diffevo::mpi::optimizer opt(make_config(16, 3, 0, 1), MPI_COMM_WORLD, o);
    EXPECT_EQ(opt.opts().exchange, diffevo::mpi::exchange_path::host);
  }
  diffevo::mpi::options o;
  o.exchange = diffevo::mpi::exchange_path::device;
  try {
    diffevo::mpi::optimizer opt(make_config(16, 3, 0, 1), MPI_COMM_WORLD, o);
    ADD_FAILURE() << "no exception";
  } catch (const diffevo::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("rank 0: options.exchange = device needs rows that move between devices, "
                                         "but the cpu backend's rows are in host memory"),
              std::string::npos)
        << e.what();
  }
  o.exchange = static_cast<diffevo::mpi::exchange_path>(7);
  try {
    diffevo::mpi::optimizer opt(make_config(16, 3, 0, 1), MPI_COMM_WORLD, o);
    ADD_FAILURE() << "no exception";
  } catch (const diffevo::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("options.exchange must be automatic, host or device (got 7)"),
              std::string::npos)
        << e.what();
  }
}

TEST(Mpi, TheModesAndPathsHaveTheirNames) {
  using diffevo::mpi::to_string;
  EXPECT_STREQ(to_string(diffevo::mpi::update_mode::automatic), "automatic");
  EXPECT_STREQ(to_string(diffevo::mpi::update_mode::replicated), "replicated");
  EXPECT_STREQ(to_string(diffevo::mpi::update_mode::sharded), "sharded");
  EXPECT_STREQ(to_string(static_cast<diffevo::mpi::update_mode>(9)), "?");
  EXPECT_STREQ(to_string(diffevo::mpi::exchange_path::automatic), "automatic");
  EXPECT_STREQ(to_string(diffevo::mpi::exchange_path::host), "host");
  EXPECT_STREQ(to_string(diffevo::mpi::exchange_path::device), "device");
  EXPECT_STREQ(to_string(static_cast<diffevo::mpi::exchange_path>(9)), "?");
}

struct evaluation_failed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

TEST(Mpi, AFitnessThatThrowsOnOneRankThrowsOnEveryRankAtTheSameGenerationAndCanBeRetried) {
  const diffevo::config c = make_config(23, 3, 0, 9);
  const diffevo::optimize_result one = single_process(c);
  const int bad = size_of() - 1;
  for (const bool library_type : {false, true}) {
    diffevo::mpi::optimizer opt(c, MPI_COMM_WORLD);
    const auto [b, e] = opt.local_rows();
    std::vector<float> f(static_cast<std::size_t>(e - b));
    bool thrown = false;
    while (!opt.done()) {
      const diffevo::population_view rows = opt.ask_local();
      try {
        try {
          if (!thrown && opt.generation() == 4 && rank_of() == bad) {
            if (library_type) throw diffevo::invalid_argument("my evaluator refused row 3");
            throw evaluation_failed("simulator crashed");
          }
          evaluate_rows(rows, row_fitness, f.data());
        } catch (...) {
          opt.tell_local_failed(std::current_exception());
        }
        opt.tell_local(f.data(), f.size());
      } catch (const diffevo::invalid_argument& x) {
        EXPECT_TRUE(library_type);
        EXPECT_EQ(std::string(x.what()), "rank " + std::to_string(bad) + ", generation 4: my evaluator refused row 3");
        thrown = true;
      } catch (const diffevo::mpi::rank_failure& x) {
        EXPECT_FALSE(library_type);
        EXPECT_EQ(x.rank(), bad);
        EXPECT_EQ(std::string(x.what()), "rank " + std::to_string(bad) + ", generation 4: simulator crashed");
        if (rank_of() == bad) {  // the original is nested on the rank where it happened
          EXPECT_THROW(std::rethrow_if_nested(x), evaluation_failed);
        }
        thrown = true;
      }
    }
    EXPECT_TRUE(all_ranks(thrown));
    // The retry told generation 4 again: the run is the uninterrupted one.
    const diffevo::population_view p = opt.ask();
    EXPECT_TRUE(all_ranks(std::memcmp(p.data, one.population.data(), p.size() * sizeof(float)) == 0));
  }
}

TEST(Mpi, TheOneCallDriverThrowsOnEveryRankWhenOneRanksFitnessThrows) {
  const int bad = size_of() - 1;
  int calls = 0;
  try {
    diffevo::mpi::optimize(make_config(23, 3, 0, 9), MPI_COMM_WORLD, [&](diffevo::population_view rows, int, float* f) {
      if (++calls == 3 && rank_of() == bad) throw evaluation_failed("boom");
      for (int i = 0; i < rows.rows; ++i) f[i] = 0;
    });
    ADD_FAILURE() << "no exception";
  } catch (const diffevo::mpi::rank_failure& x) {
    EXPECT_EQ(std::string(x.what()), "rank " + std::to_string(bad) + ", generation 2: boom");
  }
  EXPECT_EQ(calls, 3);
}

TEST(Mpi, ABadFitnessValueOnOneRankIsNamedByItsPopulationIndexOnEveryRank) {
  diffevo::config c = make_config(10, 2, 0, 3);
  c.density = diffevo::density_kind::identity;
  diffevo::mpi::optimizer opt(c, MPI_COMM_WORLD);
  const auto [b, e] = opt.local_rows();
  opt.ask_local();
  std::vector<float> f(static_cast<std::size_t>(e - b), 1.0f);
  if (b <= 7 && 7 < e) f[static_cast<std::size_t>(7 - b)] = -2.0f;  // negative under identity
  try {
    opt.tell_local(f.data(), f.size());
    ADD_FAILURE() << "no exception";
  } catch (const diffevo::invalid_argument& x) {
    EXPECT_NE(std::string(x.what()).find("generation 0: fitness[7] = -2"), std::string::npos) << x.what();
  }
  EXPECT_EQ(opt.generation(), 0);
  std::fill(f.begin(), f.end(), 1.0f);
  opt.tell_local(f.data(), f.size());  // the retry goes through
  EXPECT_EQ(opt.generation(), 1);
}

TEST(Mpi, AWrongCountOrOrderOnOneRankThrowsOnEveryRankWithoutHanging) {
  diffevo::mpi::optimizer opt(make_config(10, 2, 0, 3), MPI_COMM_WORLD);
  const auto [b, e] = opt.local_rows();
  std::vector<float> f(static_cast<std::size_t>(e - b) + 1, 1.0f);
  // tell_local before ask on every rank:
  EXPECT_THROW(opt.tell_local(f.data(), static_cast<std::size_t>(e - b)), diffevo::logic_error);
  opt.ask();
  const std::size_t n = rank_of() == size_of() - 1 ? f.size() : f.size() - 1;
  try {
    opt.tell_local(f.data(), n);
    ADD_FAILURE() << "no exception";
  } catch (const diffevo::invalid_argument& x) {
    EXPECT_NE(std::string(x.what()).find("rank " + std::to_string(size_of() - 1) + ", generation 0: tell_local(): fitness has"),
              std::string::npos)
        << x.what();
  }
  EXPECT_EQ(opt.generation(), 0);
}

/// This process's address-space size in bytes (/proc/self/statm, first field in pages).
std::size_t address_space_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  unsigned long pages = 0;
  if (f) {
    if (std::fscanf(f, "%lu", &pages) != 1) pages = 0;
    std::fclose(f);
  }
  return static_cast<std::size_t>(pages) * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

TEST(Mpi, AnAllocationThatFailsInsideTheShardedUpdateOnOneRankThrowsOnEveryRankAndCanBeRetried) {
  if (size_of() < 2) GTEST_SKIP() << "needs 2 or more ranks";
  // The last rank's address space is capped just above its size while it updates, so the update's
  // workspace (megabytes at N = 2000, D = 40) cannot be allocated there; the other ranks have already
  // entered the update. They must all throw, none wait in the row exchange.
  const diffevo::config c = make_config(2000, 40, 0, 21);
  diffevo::mpi::options o;
  o.update = diffevo::mpi::update_mode::sharded;
  diffevo::mpi::optimizer opt(c, MPI_COMM_WORLD, o);
  diffevo::optimizer one(c);
  const auto [b, e] = opt.local_rows();
  std::vector<float> f(static_cast<std::size_t>(e - b));
  const diffevo::population_view rows = opt.ask_local();
  evaluate_rows(rows, row_fitness, f.data());
  const bool capped = rank_of() == size_of() - 1;
  rlimit old{};
  getrlimit(RLIMIT_AS, &old);
  if (capped) {
    rlimit tight = old;
    tight.rlim_cur = address_space_bytes() + (std::size_t(1) << 20);
    ASSERT_EQ(setrlimit(RLIMIT_AS, &tight), 0);
  }
  std::string what;
  try {
    opt.tell_local(f.data(), f.size());
  } catch (const diffevo::out_of_memory& x) {
    what = x.what();
  } catch (const std::exception& x) {
    what = std::string("wrong type: ") + x.what();
  }
  if (capped) setrlimit(RLIMIT_AS, &old);
  EXPECT_EQ(what.rfind("rank " + std::to_string(size_of() - 1) + ", generation 0: ", 0), 0u) << what;
  EXPECT_EQ(opt.generation(), 0);
  opt.tell_local(f.data(), f.size());  // the retry: the uninterrupted run's bits
  tell_twin(one, row_fitness);
  const diffevo::population_view a = one.ask(), m = opt.ask();
  EXPECT_EQ(std::memcmp(a.data, m.data, a.size() * sizeof(float)), 0);
}

TEST(Mpi, AnObserverThatThrowsOnRankZeroThrowsOnEveryRankAfterTheGenerationWasApplied) {
  diffevo::mpi::optimizer opt(make_config(12, 2, 0, 3), MPI_COMM_WORLD);
  opt.on_generation([](const diffevo::generation_record& r) {
    if (r.generation == 2) throw std::runtime_error("observer failed");
  });
  const auto [b, e] = opt.local_rows();
  std::vector<float> f(static_cast<std::size_t>(e - b), 1.0f);
  for (int g = 0; g < 2; ++g) {
    opt.ask_local();
    if (g == 0) {
      opt.tell_local(f.data(), f.size());
      continue;
    }
    try {
      opt.tell_local(f.data(), f.size());
      ADD_FAILURE() << "no exception";
    } catch (const diffevo::mpi::rank_failure& x) {
      EXPECT_EQ(std::string(x.what()), "rank 0, generation 1: observer failed");
    }
  }
  EXPECT_EQ(opt.generation(), 2);  // applied on every rank
  opt.ask_local();
  opt.tell_local(f.data(), f.size());  // and the run goes on
  EXPECT_EQ(opt.generation(), 3);
}

TEST(Mpi, ObserversRunOnRankZeroOnly) {
  diffevo::mpi::optimizer opt(make_config(12, 2, 0, 3), MPI_COMM_WORLD);
  int records = 0;
  opt.on_generation([&](const diffevo::generation_record&) { ++records; });
  diffevo::mpi::run(opt, local_rows_fitness());
  EXPECT_EQ(records, rank_of() == 0 ? opt.generations() : 0);
}

std::string temp_path(const char* name) {
  const char* dir = std::getenv("DIFFEVO_MPI_TEST_DIR");
  std::string base = dir ? dir : ".";
  return base + "/" + name + "-" + std::to_string(size_of()) + ".ckpt";
}

TEST(Mpi, ASaveByRankZeroResumesAtThisRankCountAndInOneProcess) {
  for (const shape& s : {shape{29, 40, 0}, shape{29, 40, 4}}) {
    const diffevo::config c = make_config(s.n, s.d, s.latent, 77);
    const diffevo::optimize_result one = single_process(c);
    const std::string path = temp_path("save");
    {
      diffevo::mpi::optimizer opt(c, MPI_COMM_WORLD);
      const auto [b, e] = opt.local_rows();
      std::vector<float> f(static_cast<std::size_t>(e - b));
      for (int g = 0; g < 5; ++g) {
        const diffevo::population_view rows = opt.ask_local();
        evaluate_rows(rows, row_fitness, f.data());
        opt.tell_local(f.data(), f.size());
      }
      opt.save(path);
    }
    diffevo::mpi::optimizer resumed = diffevo::mpi::optimizer::load(path, MPI_COMM_WORLD, &c);
    EXPECT_EQ(resumed.generation(), 5);
    const diffevo::optimize_result many = diffevo::mpi::run(resumed, local_rows_fitness());
    EXPECT_TRUE(same_bits(one.population, many.population));
    EXPECT_TRUE(same_bits(one.best, many.best));
    if (rank_of() == 0) {  // the same file in one process
      diffevo::optimizer alone = diffevo::optimizer::load(path, &c);
      const diffevo::optimize_result r = diffevo::run(alone, [](diffevo::population_view p, float* f) {
        evaluate_rows(p, row_fitness, f);
      });
      EXPECT_TRUE(same_bits(one.population, r.population));
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank_of() == 0) std::remove(path.c_str());
  }
}

TEST(Mpi, ASaveThatFailsOnRankZeroThrowsOnEveryRank) {
  diffevo::mpi::optimizer opt(make_config(8, 2, 0, 3), MPI_COMM_WORLD);
  try {
    opt.save("/nonexistent-directory/run.ckpt");
    ADD_FAILURE() << "no exception";
  } catch (const diffevo::checkpoint_error& x) {
    EXPECT_NE(std::string(x.what()).find("rank 0, saving /nonexistent-directory/run.ckpt: "), std::string::npos) << x.what();
  }
}

TEST(Mpi, ALoadThatFailsOnOneRankThrowsOnEveryRank) {
  if (size_of() < 2) GTEST_SKIP() << "needs 2 or more ranks";
  const diffevo::config c = make_config(8, 2, 0, 3);
  const std::string path = temp_path("load-one");
  {
    diffevo::mpi::optimizer opt(c, MPI_COMM_WORLD);
    opt.save(path);
  }
  const std::string mine = rank_of() == 1 ? path + ".missing" : path;
  EXPECT_THROW(diffevo::mpi::optimizer::load(mine, MPI_COMM_WORLD), diffevo::checkpoint_error);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank_of() == 0) std::remove(path.c_str());
}

// Files of one population at different generations (a stale checkpoint on one rank): the generation
// is compared at load, whatever check_every says (the sharded update, which compares no hash later,
// waited forever for the rank that had finished; the replicated one threw a different state_drift on
// each rank one generation later).
TEST(Mpi, ALoadOfDifferentGenerationsThrowsOnEveryRankNamingBoth) {
  if (size_of() < 2) GTEST_SKIP() << "needs 2 or more ranks";
  const diffevo::config c = make_config(300, 3, 0, 5);  // N >= 256: sharded on the cpu backend
  const std::string a = temp_path("gen-a"), b = temp_path("gen-b");
  if (rank_of() == 0) {
    diffevo::optimizer first(c);
    const diffevo::population_view p = first.ask();
    for (const auto& [path, g] : {std::pair<std::string, int>{a, 1}, {b, 2}}) {
      diffevo::start_point sp;
      sp.population.assign(p.data, p.data + p.size());
      sp.generation = g;
      sp.diffuse = false;
      diffevo::optimizer(c, sp).save(path);
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  for (int check_every : {1, 0}) {
    for (diffevo::mpi::update_mode u : {diffevo::mpi::update_mode::sharded, diffevo::mpi::update_mode::replicated}) {
      diffevo::mpi::options o;
      o.update = u;
      o.check_every = check_every;
      try {
        diffevo::mpi::optimizer::load(rank_of() == 1 ? b : a, MPI_COMM_WORLD, &c, o);
        ADD_FAILURE() << "no exception";
      } catch (const diffevo::invalid_argument& x) {
        EXPECT_NE(std::string(x.what()).find("optimizer.generation() differs between ranks: rank 0 has 1, rank 1 has 2"),
                  std::string::npos)
            << x.what();
      }
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank_of() == 0) {
    std::remove(a.c_str());
    std::remove(b.c_str());
  }
}

TEST(Mpi, PlantedDriftIsCaughtOnEveryRankNamingTheGeneration) {
  if (size_of() < 2) GTEST_SKIP() << "needs 2 or more ranks";
  // Two runs of one config told different fitness: at generation 3 their populations differ. Rank 1
  // resumes the other one, as a rank whose hardware gave other bits would hold another state.
  const diffevo::config c = make_config(12, 3, 0, 3);
  const std::string a = temp_path("drift-a"), b = temp_path("drift-b");
  if (rank_of() == 0) {
    for (const std::string& path : {a, b}) {
      diffevo::optimizer opt(c);
      for (int g = 0; g < 3; ++g) {
        opt.ask();
        std::vector<float> f(12, 1.0f);
        if (path == b) f[static_cast<std::size_t>(g)] = 5.0f;
        opt.tell(f);
      }
      opt.save(path);
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  try {
    diffevo::mpi::optimizer::load(rank_of() == 1 ? b : a, MPI_COMM_WORLD);
    ADD_FAILURE() << "no exception";
  } catch (const diffevo::mpi::state_drift& x) {
    EXPECT_NE(std::string(x.what()).find("state drift at generation 3: the population on 1 rank(s) (the first: rank 1)"),
              std::string::npos)
        << x.what();
  }
  // With the check off, nothing is compared.
  diffevo::mpi::options off;
  off.check_every = 0;
  EXPECT_NO_THROW(diffevo::mpi::optimizer::load(rank_of() == 1 ? b : a, MPI_COMM_WORLD, nullptr, off));
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank_of() == 0) {
    std::remove(a.c_str());
    std::remove(b.c_str());
  }
}

TEST(Mpi, PopulationHashSeesOneFlippedBitAndEachRowsPlace) {
  std::vector<float> v(1001 * 3);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.25f - 3.0f;
  const std::uint64_t h = diffevo::mpi::population_hash(v.data(), 1001, 3);
  EXPECT_EQ(h, diffevo::mpi::population_hash(v.data(), 1001, 3));
  for (std::size_t i : {std::size_t(0), std::size_t(7), std::size_t(1500), std::size_t(3002)}) {
    std::vector<float> w = v;
    std::uint32_t bits;
    std::memcpy(&bits, &w[i], 4);
    bits ^= 1u;
    std::memcpy(&w[i], &bits, 4);
    EXPECT_NE(h, diffevo::mpi::population_hash(w.data(), 1001, 3)) << "index " << i;
  }
  std::vector<float> swapped = v;  // two rows exchanged
  std::swap_ranges(swapped.begin(), swapped.begin() + 3, swapped.begin() + 3);
  EXPECT_NE(h, diffevo::mpi::population_hash(swapped.data(), 1001, 3));
  EXPECT_NE(h, diffevo::mpi::population_hash(v.data(), 1000, 3));
  EXPECT_NE(h, diffevo::mpi::population_hash(v.data(), 3, 1001));
  EXPECT_THROW(diffevo::mpi::population_hash(nullptr, 2, 2), diffevo::invalid_argument);
}

TEST(Mpi, TheOptimizersHashIsThePopulationHashOfWhatAskReturns) {
  for (const int latent : {0, 3}) {
    diffevo::optimizer o(make_config(33, 40, latent, 9));
    for (int g = 0; g < 3; ++g) {
      const diffevo::population_view p = o.ask();
      EXPECT_EQ(diffevo::detail::params_hash(o), diffevo::mpi::population_hash(p.data, p.rows, p.cols));
      std::vector<float> f(33);
      for (int i = 0; i < 33; ++i) f[static_cast<std::size_t>(i)] = row_fitness(p.row(i), p.cols);
      o.tell(f);
    }
  }
}

TEST(Mpi, CartPoleReturnsOfEachRanksRowsAreThoseOfOneWholeEvaluation) {
  diffevo::rollout_config rc;
  rc.layers = {4, 8, 2};
  rc.seed = 11;
  rc.max_steps = 200;
  rc.backend = diffevo::backend_kind::cpu;
  rc.cpu_threads = 1;
  diffevo::cartpole_evaluator ev(rc);
  diffevo::config c = make_config(19, ev.parameter_count(), 0, 4);
  c.steps = 4;
  std::uint64_t gen = 0;
  const diffevo::optimize_result one = diffevo::optimize(c, [&](diffevo::population_view p, float* f) {
    ev.evaluate(p, f, gen++);
  });
  std::uint64_t gen2 = 0;
  const diffevo::optimize_result many =
      diffevo::mpi::optimize(c, MPI_COMM_WORLD, [&](diffevo::population_view rows, int first, float* f) {
        ev.evaluate(rows, f, gen2++, static_cast<std::uint64_t>(first));
      });
  EXPECT_TRUE(same_bits(one.fitness, many.fitness));
  EXPECT_TRUE(same_bits(one.population, many.population));
}

TEST(Mpi, NodeLocalRanksCountFromZeroOnThisMachine) {
  // mpiexec here starts every rank on this machine.
  EXPECT_EQ(diffevo::mpi::node_local_rank(MPI_COMM_WORLD), rank_of());
  // a bad communicator is an exception, not MPI's default handler aborting the job
  EXPECT_THROW(diffevo::mpi::node_local_rank(MPI_COMM_NULL), diffevo::invalid_argument);
}

TEST(Mpi, CommunicationTimeIsCounted) {
  diffevo::mpi::optimizer opt(make_config(16, 2, 0, 3), MPI_COMM_WORLD);
  diffevo::mpi::run(opt, local_rows_fitness());
  EXPECT_GT(opt.communication_seconds(), 0.0);
  EXPECT_EQ(opt.size(), size_of());
  EXPECT_EQ(opt.rank(), rank_of());
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  if (rank_of() != 0) ::testing::GTEST_FLAG(brief) = true;  // rank 0 reports in full, the others failures only
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0, any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return any;
}
