// cuda_backend.cu compiled for the CUDA emulator (cuda_emulator.hpp is force-included).
#include "cuda/optimizer/cuda_backend.cu"
