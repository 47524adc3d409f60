// Prints why the cuda backend is unavailable and checks it contains argv[1]: run by ctest with a fake
// CUDA driver that reports a device (tests/backend/fake_libcuda.cpp), so the loader goes as far as the
// plugin, on a machine without a GPU. One process per case: the loader runs once per process.
#include <cstdio>
#include <string>

#include "diffevo/diffevo.hpp"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string why = diffevo::cuda_unavailable_reason();
  std::printf("cuda_unavailable_reason: %s\n", why.c_str());
  if (why.find(argv[1]) == std::string::npos) {
    std::printf("expected it to contain: %s\n", argv[1]);
    return 1;
  }
  // A request for the cuda backend says the same.
  diffevo::config c;
  c.backend = diffevo::backend_kind::cuda;
  try {
    diffevo::optimizer o(c);
  } catch (const diffevo::device_unavailable& e) {
    if (std::string(e.what()).find(why) != std::string::npos) return 0;
    std::printf("device_unavailable without the reason: %s\n", e.what());
    return 1;
  }
  std::printf("no device_unavailable\n");
  return 1;
}
