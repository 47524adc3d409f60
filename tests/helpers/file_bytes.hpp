#pragma once
// Whole files as bytes, for the tests of checkpoint files (test_checkpoint, test_checkpoint_corpus,
// test_baseline_checkpoint, test_faults).
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

inline std::vector<unsigned char> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<unsigned char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void write_all(const std::string& path, const std::vector<unsigned char>& b) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
