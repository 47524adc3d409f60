// The fuzz corpus and every input the fuzzer ever crashed on (tests/fuzz/regressions) go through the
// decoder in the normal test suite: each either round-trips or throws checkpoint_error.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "../host/checkpoint_format.hpp"
#include "diffevo/error.hpp"

namespace fs = std::filesystem;

TEST(CheckpointCorpus, EveryInputDecodesOrThrowsCheckpointError) {
  int files = 0, decoded = 0;
  for (const char* dir : {DIFFEVO_FUZZ_DIR "/corpus", DIFFEVO_FUZZ_DIR "/regressions"}) {
    if (!fs::exists(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (!entry.is_regular_file() || entry.path().filename() == "README.md") continue;
      std::ifstream in(entry.path(), std::ios::binary);
      const std::vector<unsigned char> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      ++files;
      try {
        const auto d = diffevo::detail::decode_checkpoint(b.data(), b.size(), entry.path().string());
        EXPECT_EQ(diffevo::detail::encode_checkpoint(d), b) << entry.path();
        ++decoded;
      } catch (const diffevo::checkpoint_error&) {
      }
    }
  }
  EXPECT_GE(files, 3);
  EXPECT_GE(decoded, 3) << "the seed corpus holds valid checkpoints";
}
