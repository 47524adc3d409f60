// Checkpoint / resume: bit-identical continuation, and every way a file can be wrong.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "diffevo/diffevo.hpp"
#include "tests/helpers/expect.hpp"
#include "tests/helpers/file_bytes.hpp"

using namespace diffevo;

namespace {

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "diffevo_ckpt_" + std::to_string(::getpid()) + "_" + name;
}

float fitness(const float* p, int d) {
  double s = 0;
  for (int i = 0; i < d; ++i) s += std::cos(3.0 * p[i]) - 0.2 * p[i] * p[i];
  return static_cast<float>(s);
}

void step(optimizer& o) {
  const population_view p = o.ask();
  std::vector<float> f(static_cast<std::size_t>(p.rows));
  for (int i = 0; i < p.rows; ++i) f[i] = fitness(p.row(i), p.cols);
  if (p.rows > 5) f[5] = NAN;  // exercise the non-finite counters
  o.tell(f);
}

config cfg(int latent) {
  config c;
  c.population = 40;
  c.dimension = 6;
  c.latent_dim = latent;
  c.steps = 9;
  c.eta = 1.0;
  c.scale = {2.0f};
  c.seed = 99;
  c.backend = backend_kind::cpu;
  return c;
}

std::vector<float> population(optimizer& o) {
  const population_view p = o.ask();
  return std::vector<float>(p.data, p.data + p.size());
}

}  // namespace

TEST(Checkpoint, ResumedRunIsBitIdenticalToTheUninterruptedOne) {
  for (int latent : {0, 2})
    for (int stop : {0, 3, 8}) {
      optimizer whole(cfg(latent));
      while (!whole.done()) step(whole);

      optimizer first(cfg(latent));
      for (int g = 0; g < stop; ++g) step(first);
      const std::string path = temp_path("resume");
      first.save(path);
      const config expect = cfg(latent);
      optimizer resumed = optimizer::load(path, &expect);
      EXPECT_EQ(resumed.generation(), stop);
      while (!resumed.done()) step(resumed);

      EXPECT_EQ(population(resumed), population(whole)) << "latent " << latent << ", stopped at " << stop;
      EXPECT_EQ(resumed.x0(), whole.x0());
      EXPECT_EQ(resumed.best(), whole.best());
      EXPECT_EQ(resumed.best_fitness(), whole.best_fitness());
      EXPECT_EQ(resumed.total_nonfinite(), whole.total_nonfinite());
      EXPECT_EQ(resumed.last_nonfinite(), whole.last_nonfinite());
      std::remove(path.c_str());
    }
}

// cpu_math is a choice of the process, as cpu_threads: the checkpoint does not hold it, `expect` gives it,
// and a run resumed under the choice it ran with continues bit for bit under either.
TEST(Checkpoint, EachCpuMathResumesBitForBitAndExpectSuppliesIt) {
  for (cpu_math_kind m : {cpu_math_kind::exact, cpu_math_kind::fast}) {
    config c = cfg(0);
    c.dimension = 40;  // plain D > 32: the Gram product and the x0 product both differ between the choices
    c.cpu_math = m;
    optimizer whole(c);
    while (!whole.done()) step(whole);
    optimizer first(c);
    for (int g = 0; g < 4; ++g) step(first);
    const std::string path = temp_path("math");
    first.save(path);
    optimizer resumed = optimizer::load(path, &c);
    EXPECT_EQ(resumed.cfg().cpu_math, m);
    while (!resumed.done()) step(resumed);
    EXPECT_EQ(population(resumed), population(whole)) << to_string(m);
    EXPECT_EQ(optimizer::load(path).cfg().cpu_math, cpu_math_kind::automatic);
    std::remove(path.c_str());
  }
}

TEST(Checkpoint, LoadWithoutExpectationTakesTheSavedConfig) {
  optimizer o(cfg(2));
  step(o);
  const std::string path = temp_path("noexpect");
  o.save(path);
  optimizer r = optimizer::load(path);
  EXPECT_EQ(r.cfg().population, 40);
  EXPECT_EQ(r.cfg().latent_dim, 2);
  EXPECT_EQ(r.cfg().scale, std::vector<float>{2.0f});
  EXPECT_EQ(population(r), population(o));
  std::remove(path.c_str());
}

TEST(Checkpoint, BadFilesFailWithAClearError) {
  optimizer o(cfg(0));
  step(o);
  const std::string path = temp_path("bad"), broken = temp_path("broken");
  o.save(path);
  const std::vector<unsigned char> good = read_all(path);
  ASSERT_GT(good.size(), 100u);

  expect_message<checkpoint_error>([&] { optimizer::load(temp_path("missing")); }, "cannot open");
  write_all(broken, std::vector<unsigned char>(good.begin(), good.begin() + 10));
  expect_message<checkpoint_error>([&] { optimizer::load(broken); }, "not a diffevo checkpoint");
  write_all(broken, std::vector<unsigned char>(200, 'x'));
  expect_message<checkpoint_error>([&] { optimizer::load(broken); }, "not a diffevo checkpoint");

  auto b = good;
  b[8] = 2;  // version 2
  write_all(broken, b);
  expect_message<checkpoint_error>([&] { optimizer::load(broken); }, "format version 2 but this library reads version 1");

  for (std::size_t cut : {std::size_t(24), good.size() / 2, good.size() - 1}) {
    write_all(broken, std::vector<unsigned char>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut)));
    expect_message<checkpoint_error>([&] { optimizer::load(broken); }, "truncated");
  }
  b = good;
  b.push_back(0);
  write_all(broken, b);
  expect_message<checkpoint_error>([&] { optimizer::load(broken); }, "trailing bytes");

  b = good;
  b[good.size() / 2] ^= 0x10;  // one flipped bit in the population
  write_all(broken, b);
  expect_message<checkpoint_error>([&] { optimizer::load(broken); }, "checksum mismatch (corrupted)");

  config other = cfg(0);
  other.dimension = 7;
  expect_message<invalid_argument>([&] { optimizer::load(path, &other); },
                                   "dimension is 6 in the checkpoint but 7 expected");
  other = cfg(0);
  other.seed = 5;
  expect_message<invalid_argument>([&] { optimizer::load(path, &other); }, "seed is 99 in the checkpoint but 5 expected");
  // per-dimension settings are compared as the values they mean, and a difference is named by its
  // dimension and both values (before: "scale differs from the expected one", and {2} against
  // {2, 2, ...} was refused although it is the same run)
  other = cfg(0);
  other.scale.assign(6, 2.0f);  // the saved run has {2}: 2 in every dimension
  EXPECT_NO_THROW(optimizer::load(path, &other));
  other.scale[4] = 2.5f;
  expect_message<invalid_argument>([&] { optimizer::load(path, &other); }, "scale[4] is 2 in the checkpoint but 2.5 expected");
  other = cfg(0);
  other.center = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
  EXPECT_NO_THROW(optimizer::load(path, &other));
  other.center[0] = -3.0f;
  expect_message<invalid_argument>([&] { optimizer::load(path, &other); }, "center[0] is 0 in the checkpoint but -3 expected");
  other.center = {0.0f, 0.0f, 0.0f};  // an expected config of a size that is none of 0, 1 and D
  expect_message<invalid_argument>([&] { optimizer::load(path, &other); },
                                   "center has 3 values expected; give 0, 1 or dimension = 6");
  // user_alphas only matter under the user schedule
  other = cfg(0);
  other.user_alphas = {0.9, 0.5};
  EXPECT_NO_THROW(optimizer::load(path, &other));
  std::remove(path.c_str());
  std::remove(broken.c_str());
}

TEST(Checkpoint, RandomCorruptionNeverCrashes) {
  optimizer o(cfg(2));
  step(o);
  const std::string path = temp_path("fuzz"), broken = temp_path("fuzzed");
  o.save(path);
  const std::vector<unsigned char> good = read_all(path);
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    auto b = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) b[rng() % b.size()] = static_cast<unsigned char>(rng());
    if (trial % 3 == 0) b.resize(rng() % b.size());
    write_all(broken, b);
    try {
      optimizer::load(broken);
      // Only an unchanged file may load (a flip can rewrite a byte with its own value).
      EXPECT_EQ(b, good) << "trial " << trial;
    } catch (const checkpoint_error&) {
    }
  }
  std::remove(path.c_str());
  std::remove(broken.c_str());
}

TEST(Checkpoint, AFailedSaveLeavesThePreviousCheckpointIntact) {
  optimizer o(cfg(0));
  step(o);
  const std::string path = temp_path("atomic");
  o.save(path);
  const std::vector<unsigned char> before = read_all(path);
  step(o);
  // Block the temporary file's name with a directory: the write fails before touching `path`.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." +
                          std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
  ASSERT_EQ(::mkdir(tmp.c_str(), 0700), 0);
  EXPECT_THROW(o.save(path), checkpoint_error);
  ::rmdir(tmp.c_str());
  EXPECT_EQ(read_all(path), before);
  EXPECT_EQ(optimizer::load(path).generation(), 1);
  expect_message<checkpoint_error>([&] { o.save(temp_path("no/such/dir/file")); }, "cannot create");
  std::remove(path.c_str());
}

TEST(Checkpoint, OnlyRegularFilesAreLoaded) {
  // A directory gave std::ios_base::failure, /dev/zero read until bad_alloc, and a FIFO blocked forever.
  // Every baseline's load reads through the same function.
  const std::string dir = temp_path("a_directory"), fifo = temp_path("a_fifo");
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_message<checkpoint_error>([&] { optimizer::load(dir); }, "checkpoint " + dir + ": is a directory, not a regular file");
  expect_message<checkpoint_error>([&] { optimizer::load("/dev/zero"); },
                                   "checkpoint /dev/zero: is a character device, not a regular file");
  expect_message<checkpoint_error>([&] { optimizer::load(fifo); }, "checkpoint " + fifo + ": is a FIFO, not a regular file");
  expect_message<checkpoint_error>([&] { cma_es::load(dir); }, "is a directory, not a regular file");
  expect_message<checkpoint_error>([&] { open_es::load("/dev/zero"); }, "is a character device");
  expect_message<checkpoint_error>([&] { pepg::load(fifo); }, "is a FIFO");
  ::rmdir(dir.c_str());
  std::remove(fifo.c_str());
}

// A large file that is not a checkpoint (a path given by mistake) is refused after its first bytes:
// load() allocated the whole file's size first, here 1 TiB (a sparse file), and threw bad_alloc.
TEST(Checkpoint, ALargeFileThatIsNotACheckpointIsRefusedFromItsFirstBytes) {
  const std::string path = temp_path("large_not_a_checkpoint");
  {
    std::ofstream out(path, std::ios::binary);
    out << "PK\x03\x04 not a checkpoint";
  }
  if (::truncate(path.c_str(), static_cast<off_t>(1) << 40) != 0) {
    std::remove(path.c_str());
    GTEST_SKIP() << "this file system does not hold a sparse 1 TiB file";
  }
  expect_message<checkpoint_error>([&] { optimizer::load(path); }, "bad magic");
  expect_message<checkpoint_error>([&] { cma_es::load(path); }, "bad magic");
  std::remove(path.c_str());
}

TEST(Checkpoint, SavingThroughASymbolicLinkReplacesItsTargetAndKeepsTheLink) {
  // Documented choice: the link is followed (it used to be replaced by a regular file).
  optimizer o(cfg(0));
  step(o);
  const std::string target = temp_path("link_target"), link = temp_path("link"), link2 = temp_path("link_to_link");
  std::remove(link.c_str());
  std::remove(link2.c_str());
  write_all(target, std::vector<unsigned char>(7, 'x'));
  // A relative target, resolved against the link's folder; and a chain of two links.
  const std::string base = target.substr(target.find_last_of('/') + 1);
  ASSERT_EQ(::symlink(base.c_str(), link.c_str()), 0);
  ASSERT_EQ(::symlink(link.c_str(), link2.c_str()), 0);
  o.save(link2);
  struct stat st;
  ASSERT_EQ(::lstat(link2.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(::lstat(link.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(::lstat(target.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(optimizer::load(target).generation(), 1);
  EXPECT_EQ(read_all(target), read_all(link2));
  // A dangling link gets its target created.
  std::remove(target.c_str());
  o.save(link);
  EXPECT_EQ(optimizer::load(target).generation(), 1);
  ASSERT_EQ(::lstat(link.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  // A loop is named.
  const std::string loop_a = temp_path("loop_a"), loop_b = temp_path("loop_b");
  std::remove(loop_a.c_str());
  std::remove(loop_b.c_str());
  ASSERT_EQ(::symlink(loop_b.c_str(), loop_a.c_str()), 0);
  ASSERT_EQ(::symlink(loop_a.c_str(), loop_b.c_str()), 0);
  expect_message<checkpoint_error>([&] { o.save(loop_a); }, "too many levels of symbolic links");
  for (const std::string& p : {target, link, link2, loop_a, loop_b}) std::remove(p.c_str());
}
