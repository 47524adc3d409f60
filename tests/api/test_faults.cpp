// Faults: extreme fitness, impossible allocations, a checkpoint write killed midway.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "diffevo/diffevo.hpp"
#include "tests/helpers/expect.hpp"
#include "tests/helpers/file_bytes.hpp"

using namespace diffevo;

namespace {
config base(density_kind d, objective goal) {
  config c;
  c.population = 32;
  c.dimension = 5;
  c.latent_dim = 0;
  c.steps = 6;
  c.density = d;
  c.goal = goal;
  c.seed = 12;
  c.backend = backend_kind::cpu;
  return c;
}
}  // namespace

TEST(Faults, ExtremeFitnessKeepsThePopulationFinite) {
  struct scenario {
    const char* name;
    density_kind d;
    objective goal;
    std::vector<float> pattern;  // repeated over the population
  };
  const std::vector<scenario> cases = {
      {"all NaN, energy", density_kind::energy, objective::maximize, {NAN}},
      {"all equal, energy", density_kind::energy, objective::maximize, {3.0f}},
      {"huge, energy", density_kind::energy, objective::maximize, {1e30f, -1e30f, 0.0f, 1e29f}},
      {"huge, energy, minimize", density_kind::energy, objective::minimize, {1e30f, -1e30f, 2.0f}},
      {"tiny, identity", density_kind::identity, objective::maximize, {1e-30f, 1e-38f, 0.0f, 2e-30f}},
      {"huge, identity", density_kind::identity, objective::maximize, {3e38f, 1e30f, 0.0f}},
      {"huge, power 3", density_kind::power, objective::maximize, {1e30f, 1e-30f, 1.0f}},
      {"all zero density, identity", density_kind::identity, objective::maximize, {0.0f}},
      {"log density huge", density_kind::log_density, objective::maximize, {1e30f, -1e30f, -INFINITY}},
  };
  for (const scenario& s : cases)
    for (int latent : {0, 2}) {
      config c = base(s.d, s.goal);
      c.power = 3.0;
      c.latent_dim = latent;
      optimizer o(c);
      std::vector<float> f(static_cast<std::size_t>(c.population));
      for (std::size_t i = 0; i < f.size(); ++i) f[i] = s.pattern[i % s.pattern.size()];
      while (!o.done()) {
        o.ask();
        o.tell(f);
        for (float v : o.x0()) ASSERT_TRUE(std::isfinite(v)) << s.name << ", latent " << latent;
      }
      const population_view p = o.ask();
      for (std::size_t i = 0; i < p.size(); ++i) ASSERT_TRUE(std::isfinite(p.data[i])) << s.name;
    }
}

TEST(Faults, AnImpossibleAllocationIsOutOfMemoryAndLeavesNothingBehind) {
  config c;
  c.population = 1 << 20;
  c.dimension = 1 << 20;  // 2^40 floats (4 TiB) per buffer
  c.backend = backend_kind::cpu;
  try {
    optimizer o(c);
    FAIL() << "a 4 TiB population was allocated";
  } catch (const out_of_memory& e) {
    EXPECT_NE(std::string(e.what()).find("population = 1048576, dimension = 1048576"), std::string::npos) << e.what();
  }
  // Still usable afterwards (and, under the sanitizer build, nothing leaked).
  optimizer ok(base(density_kind::energy, objective::maximize));
  EXPECT_EQ(ok.generation(), 0);
  rollout_config r;
  r.layers = {4, 8, 2};
  r.backend = backend_kind::cpu;
  EXPECT_EQ(cartpole_evaluator(r).parameter_count(), 58);
}

TEST(Faults, ABaselinesImpossibleAllocationIsOutOfMemoryNamingItsSize) {
  open_es_config o;
  o.population = 1 << 20;
  o.dimension = 1 << 20;  // 4 TiB of population
  expect_message<out_of_memory>([&] { open_es s(o); },
                                "open-es: the population (population = 1048576, dimension = 1048576)");
  pepg_config p;
  p.population = 1 << 21;
  p.dimension = 1 << 20;
  EXPECT_THROW(pepg{p}, out_of_memory);
  cma_es_config c;
  c.population = 1 << 30;
  c.dimension = 4096;  // 64 TiB for its three N x D buffers
  expect_message<out_of_memory>([&] { cma_es s(c); },
                                "cma-es: the population (population = 1073741824, dimension = 4096)");
  open_es_config fine;
  EXPECT_EQ(open_es(fine).population_size(), 256);
}

TEST(Faults, ACheckpointWriteKilledMidwayLeavesAValidCheckpoint) {
  // A large state (about 8 MB) so the kill often lands inside the write.
  config c = base(density_kind::energy, objective::maximize);
  c.population = 1000;
  c.dimension = 1000;
  optimizer o(c);
  const std::string path = ::testing::TempDir() + "diffevo_kill_" + std::to_string(::getpid());
  o.save(path);
  const std::vector<unsigned char> before = read_all(path);
  std::vector<float> f(1000, 1.0f);
  o.ask();
  o.tell(f);
  for (int delay_us : {0, 200, 1000, 5000, 20000}) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {  // the child saves the newer state and is killed at some point
      o.save(path);
      ::_exit(0);
    }
    ::usleep(static_cast<useconds_t>(delay_us));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    // A killed writer's leftover, if any (the child's main thread has the parent's thread id hash).
    std::remove((path + ".tmp." + std::to_string(child) + "." +
                 std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id())))
                    .c_str());
    // Whatever moment the kill hit: the file is the old checkpoint or the new one, never a mix.
    const optimizer back = optimizer::load(path);
    EXPECT_TRUE(back.generation() == 0 || back.generation() == 1) << "delay " << delay_us;
    if (back.generation() == 0) EXPECT_EQ(read_all(path), before);
  }
  std::remove(path.c_str());
}
