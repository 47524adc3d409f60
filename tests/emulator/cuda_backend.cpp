// cuda_backend.cu compiled for the CUDA emulator (cuda_emulator.hpp is force-included).
#include "../../cuda/cuda_backend.cu"
