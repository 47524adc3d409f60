// The fuzz corpus and every input the fuzzer ever crashed on (tests/fuzz/regressions) go through the
// decoder in the normal test suite: each either round-trips or throws checkpoint_error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <vector>

#include "host/checkpoint/checkpoint_format.hpp"
#include "host/open_ended/checkpoint.hpp"
#include "diffevo/error.hpp"
#include "tests/helpers/file_bytes.hpp"

namespace fs = std::filesystem;

namespace {
/// Calls `f(path, bytes)` for every input file (README.md aside) of the folders that exist.
template <class F>
int for_each_input(std::initializer_list<const char*> dirs, F&& f) {
  int files = 0;
  for (const char* dir : dirs) {
    if (!fs::exists(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (!entry.is_regular_file() || entry.path().filename() == "README.md") continue;
      ++files;
      f(entry.path().string(), read_all(entry.path().string()));
    }
  }
  return files;
}
}  // namespace

TEST(CheckpointCorpus, EveryInputDecodesOrThrowsCheckpointError) {
  int decoded = 0;
  const int files = for_each_input({DIFFEVO_FUZZ_DIR "/corpus", DIFFEVO_FUZZ_DIR "/regressions"},
                                   [&](const std::string& path, const std::vector<unsigned char>& b) {
    try {
      const auto d = diffevo::detail::decode_checkpoint(b.data(), b.size(), path);
      EXPECT_EQ(diffevo::detail::encode_checkpoint(d), b) << path;
      ++decoded;
    } catch (const diffevo::checkpoint_error&) {
    }
  });
  EXPECT_GE(files, 3);
  EXPECT_GE(decoded, 3) << "the seed corpus holds valid checkpoints";
}

// The open-ended run's corpus (tests/fuzz/make_corpus.cpp: a run told in float and in double with an
// injection, and one stopped, written in version 8, whose runs seeded their restarts as before version
// 9; and a run with the refinement options of versions 5-13, written in version 13) and its fuzz
// regressions: each decodes, re-encoding a valid file gives its bytes again (in the file's own
// version), or it throws checkpoint_error.
TEST(CheckpointCorpus, EveryOpenEndedInputDecodesOrThrowsCheckpointError) {
  int decoded = 0, precise = 0, with_options = 0;
  const int files = for_each_input({DIFFEVO_FUZZ_DIR "/corpus-open-ended", DIFFEVO_FUZZ_DIR "/regressions-open-ended"},
                                   [&](const std::string& path, const std::vector<unsigned char>& b) {
    try {
      const auto c = diffevo::detail::decode_open_ended(b.data(), b.size(), path);
      EXPECT_EQ(diffevo::detail::encode_open_ended(c), b) << path;
      ++decoded;
      precise += std::count(c.log.precise.begin(), c.log.precise.end(), 1) > 0;
      with_options += c.version >= 13 && c.cfg.refine_nudge > 0 && c.cfg.refine_translate_optima && c.cfg.refine_probe > 0;
    } catch (const diffevo::checkpoint_error&) {
    }
  });
  EXPECT_GE(files, 3);
  EXPECT_GE(decoded, 3) << "the seed corpus holds valid checkpoints";
  EXPECT_GE(precise, 3) << "and runs told in double";
  EXPECT_GE(with_options, 1) << "and one with the refinement options of version 13";
}

TEST(CheckpointCorpus, AHandEditedNoisePositionOrBestIsRejected) {
  const std::vector<unsigned char> b = read_all(DIFFEVO_FUZZ_DIR "/corpus/latent-gen2.ckpt");
  diffevo::detail::checkpoint_data d = diffevo::detail::decode_checkpoint(b.data(), b.size(), "corpus");
  auto reencoded_error = [](diffevo::detail::checkpoint_data e) -> std::string {
    const auto bytes = diffevo::detail::encode_checkpoint(e);  // a valid checksum over edited content
    try {
      diffevo::detail::decode_checkpoint(bytes.data(), bytes.size(), "edited");
    } catch (const diffevo::checkpoint_error& err) {
      return err.what();
    }
    return "";
  };
  auto e = d;
  e.rng_position += 4;
  EXPECT_NE(reencoded_error(e).find("noise position"), std::string::npos);
  e = d;
  e.has_best = true;
  e.best.assign(static_cast<std::size_t>(d.cfg.dimension), 0.0f);
  e.best_fitness = NAN;
  EXPECT_NE(reencoded_error(e).find("best_fitness is nan"), std::string::npos);
  EXPECT_EQ(reencoded_error(d), "");
}
