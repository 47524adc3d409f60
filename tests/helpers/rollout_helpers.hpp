#pragma once
// For the gpu rollout tests (test_gpu_cartpole.cpp, test_gpu_environment.cu): evaluate_device on a
// device copy of host parameters, the returns copied back.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <cstdint>
#include <vector>

#include "diffevo/rollout.hpp"

inline std::vector<float> evaluate_on_device(diffevo::rollout_evaluator& gpu, const std::vector<float>& params, int n,
                                             std::uint64_t generation) {
  const int p = gpu.parameter_count();
  std::vector<float> out(static_cast<std::size_t>(n), -1.0f);
  float *dp = nullptr, *dr = nullptr;
  if (cudaMalloc(reinterpret_cast<void**>(&dp), params.size() * sizeof(float)) != cudaSuccess ||
      cudaMalloc(reinterpret_cast<void**>(&dr), n * sizeof(float)) != cudaSuccess) {
    ADD_FAILURE() << "cudaMalloc failed";
    cudaFree(dp);
    return out;
  }
  EXPECT_EQ(cudaMemcpy(dp, params.data(), params.size() * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
  gpu.evaluate_device(diffevo::population_view{dp, n, p}, dr, generation, nullptr);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(out.data(), dr, n * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
  cudaFree(dp);
  cudaFree(dr);
  return out;
}
