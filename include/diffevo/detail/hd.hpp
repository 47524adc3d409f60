#pragma once
/// \file
/// One macro so the same math compiles for host and device (tiny-cuda-nn style). Public headers use it
/// without needing CUDA headers: under a plain C++ compiler it expands to nothing.

#if defined(__CUDACC__)
#define DIFFEVO_HD __host__ __device__
#else
#define DIFFEVO_HD
#endif

/// DIFFEVO_HD inline, and inlined wherever it is called, even without optimization. For the few shared
/// functions the cpu backend's vector kernels call (host/cpu/vector_kernels.inc, compiled once per
/// instruction set): no out-of-line copy compiled for AVX-512 is then ever emitted for the linker to
/// share with code that must run on any x86-64.
#if defined(__CUDACC__)
#define DIFFEVO_HD_INLINE __host__ __device__ __forceinline__
#elif defined(__GNUC__)
#define DIFFEVO_HD_INLINE inline __attribute__((always_inline))
#else
#define DIFFEVO_HD_INLINE inline
#endif
