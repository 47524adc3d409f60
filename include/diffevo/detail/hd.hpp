#pragma once
/// \file
/// One macro so the same math compiles for host and device (tiny-cuda-nn style). Public headers use it
/// without needing CUDA headers: under a plain C++ compiler it expands to nothing.

#if defined(__CUDACC__)
#define DIFFEVO_HD __host__ __device__
#else
#define DIFFEVO_HD
#endif
