// plugin.cu compiled for the CUDA emulator (cuda_emulator.hpp is force-included): linked into the
// emulated library, which calls the entry point directly (DIFFEVO_CUDA_LINKED).
#include "cuda/plugin/plugin.cu"
