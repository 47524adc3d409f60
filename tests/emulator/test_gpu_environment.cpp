// test_gpu_environment.cu compiled for the CUDA emulator (cuda_emulator.hpp is force-included).
#include "../test_gpu_environment.cu"
