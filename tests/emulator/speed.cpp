// bench/speed.cu compiled for the CUDA emulator (cuda_emulator.hpp is force-included).
#include "../../bench/speed.cu"
