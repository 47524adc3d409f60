// test_gpu_functor.cu compiled for the CUDA emulator (cuda_emulator.hpp is force-included).
#include "tests/cuda/test_gpu_functor.cu"
