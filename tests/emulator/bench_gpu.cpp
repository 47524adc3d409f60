// bench/gpu.cu compiled for the CUDA emulator (cuda_emulator.hpp is force-included): the bench's
// cuda branches on the emulated device.
#include "bench/gpu.cu"
