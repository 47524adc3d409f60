// kernels.cu compiled for the CUDA emulator (cuda_emulator.hpp is force-included).
#include "cuda/optimizer/kernels.cu"
