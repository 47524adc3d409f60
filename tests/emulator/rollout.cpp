// rollout.cu compiled for the CUDA emulator (cuda_emulator.hpp is force-included).
#include "cuda/rollout/rollout.cu"
