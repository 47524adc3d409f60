#pragma once
/// \file
/// How the library writes kernel launches and dynamic shared memory:
///     DIFFEVO_LAUNCH(grid, block, smem, stream, kernel)(args...)  is  kernel<<<grid, block, smem, stream>>>(args...)
///     DIFFEVO_DYNAMIC_SHARED(T, name);                            is  extern __shared__ T name[];
/// under nvcc. The CUDA emulator of the library's tests (tests/emulator), which compiles the CUDA
/// sources with a C++ compiler to run the cuda backend's tests without a GPU, defines both its own way
/// before this header.
#ifndef DIFFEVO_LAUNCH
#define DIFFEVO_LAUNCH(grid, block, smem, stream, ...) __VA_ARGS__<<<grid, block, smem, stream>>>
#endif
#ifndef DIFFEVO_DYNAMIC_SHARED
#define DIFFEVO_DYNAMIC_SHARED(T, name) extern __shared__ T name[]
#endif
