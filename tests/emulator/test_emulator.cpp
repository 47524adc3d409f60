// The emulator's own tests: that it runs kernels as a device would (barriers, shuffles, shared memory,
// stream order) and that it catches what it claims to catch (cuda_emulator.hpp).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <numeric>
#include <random>
#include <vector>

#include <unistd.h>

#include "cuda/optimizer/kernels.cuh"
#include "cuda/util/handles.cuh"
#include "diffevo/detail/rollout.hpp"
#include "diffevo/diffevo.hpp"
#include "diffevo/env/mlp.hpp"
#include "diffevo/optimize.cuh"
#include "diffevo/rollout.cuh"
#include "examples/mountain_car.hpp"
#include "tests/helpers/paper_config.hpp"
#include "tests/helpers/population_helpers.hpp"
#include "emulator_test_support.hpp"

namespace {

constexpr int k_threads = 128;

// Block sum through shared memory (tree with barriers), one block per row.
__global__ void row_sums_kernel(const float* x, int cols, double* out) {
  __shared__ double sh[k_threads];
  double s = 0;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) s += x[blockIdx.x * cols + c];
  sh[threadIdx.x] = s;
  __syncthreads();
  for (int w = k_threads / 2; w > 0; w /= 2) {
    if (static_cast<int>(threadIdx.x) < w) sh[threadIdx.x] += sh[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = sh[0];
}

__global__ void shuffle_kernel(int* out) {
  const int v = static_cast<int>(threadIdx.x) * 10;
  out[threadIdx.x] = __shfl_down_sync(0xffffffffu, v, 3);
}

__global__ void divergent_barrier_kernel(int* out) {
  if (threadIdx.x % 2 == 0) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1;
}

// Thread 0 publishes a value that the others read with no barrier between: a race.
__global__ void racy_kernel(int* out) {
  __shared__ int published;
  if (threadIdx.x == 0) published = 7;
  out[threadIdx.x] = published;
  __syncthreads();
  if (threadIdx.x == 0) published = 0;
}

__global__ void dynamic_shared_kernel(float* out) {
  DIFFEVO_DYNAMIC_SHARED(float, smem);
  smem[threadIdx.x] = static_cast<float>(threadIdx.x);
  __syncthreads();
  out[threadIdx.x] = smem[blockDim.x - 1 - threadIdx.x];
}

// A struct argument with pointers at three depths: a member, a member of a member, an array element.
struct inner_args {
  int count;
  const int* values;
};
struct nested_args {
  int* out;
  inner_args in;
  float scale;
  const int* extra[2];
  std::array<const int*, 1> more;
};

__global__ void nested_args_kernel(nested_args a) {
  const int i = static_cast<int>(threadIdx.x);
  if (i < a.in.count)
    a.out[i] = static_cast<int>(a.scale * static_cast<float>(a.in.values[i] + *a.extra[1] - *a.more[0] + 1));
}

template <class T>
T* device_alloc(std::size_t n) {
  T* p = nullptr;
  EXPECT_EQ(cudaMalloc(&p, n * sizeof(T)), cudaSuccess);
  return p;
}

}  // namespace

TEST(Emulator, BlockReductionWithBarriersMatchesTheHostSum) {
  const int rows = 5, cols = 1000;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> x(rows * cols);
  for (float& v : x) v = u(rng);
  float* dx = device_alloc<float>(x.size());
  double* dout = device_alloc<double>(rows);
  ASSERT_EQ(cudaMemcpy(dx, x.data(), x.size() * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
  for (bool reverse : {false, true}) {
    const bool before = diffevo::emu::set_reverse_order(reverse);
    DIFFEVO_LAUNCH(rows, k_threads, 0, nullptr, row_sums_kernel)(dx, cols, dout);
    ASSERT_EQ(cudaPeekAtLastError(), cudaSuccess);
    std::vector<double> out(rows);
    ASSERT_EQ(cudaMemcpy(out.data(), dout, rows * sizeof(double), cudaMemcpyDeviceToHost), cudaSuccess);
    diffevo::emu::set_reverse_order(before);
    for (int r = 0; r < rows; ++r) {
      double ref = 0;
      for (int c = 0; c < cols; ++c) ref += x[r * cols + c];
      EXPECT_NEAR(out[r], ref, 1e-9) << "row " << r << (reverse ? ", reverse order" : "");
    }
  }
  cudaFree(dx);
  cudaFree(dout);
}

TEST(Emulator, ShuffleDownReadsTheLaneDeltaAboveOrItsOwn) {
  int* d = device_alloc<int>(64);
  DIFFEVO_LAUNCH(1, 64, 0, nullptr, shuffle_kernel)(d);
  std::vector<int> out(64);
  ASSERT_EQ(cudaMemcpy(out.data(), d, 64 * sizeof(int), cudaMemcpyDeviceToHost), cudaSuccess);
  for (int t = 0; t < 64; ++t) EXPECT_EQ(out[t], (t % 32 + 3 < 32 ? t + 3 : t) * 10) << "thread " << t;
  cudaFree(d);
}

TEST(Emulator, DynamicSharedMemoryNeedsTheAttributeAboveTheDefault) {
  const int n = 16384;  // 64 KiB of floats
  float* d = device_alloc<float>(n);
  EXPECT_EQ(diffevo::emu::faults_during([&] {
              DIFFEVO_LAUNCH(1, 1024, n * sizeof(float), nullptr, dynamic_shared_kernel)(d);
              EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
            }),
            1);
  ASSERT_EQ(cudaFuncSetAttribute(dynamic_shared_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                 static_cast<int>(n * sizeof(float))),
            cudaSuccess);
  DIFFEVO_LAUNCH(1, 1024, n * sizeof(float), nullptr, dynamic_shared_kernel)(d);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  std::vector<float> out(1024);
  ASSERT_EQ(cudaMemcpy(out.data(), d, 1024 * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
  for (int t = 0; t < 1024; ++t) EXPECT_EQ(out[t], float(1023 - t));
  cudaFree(d);
}

TEST(Emulator, DivergentBarrierIsALaunchFailure) {
  int* d = device_alloc<int>(64);
  EXPECT_EQ(diffevo::emu::faults_during([&] {
              DIFFEVO_LAUNCH(1, 64, 0, nullptr, divergent_barrier_kernel)(d);
              EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
              cudaGetLastError();
            }),
            1);
  cudaFree(d);
}

TEST(Emulator, AMissingBarrierGivesDifferentResultsInTheTwoOrders) {
  int* d = device_alloc<int>(64);
  std::vector<int> forward(64), reverse(64);
  for (bool rev : {false, true}) {
    const bool before = diffevo::emu::set_reverse_order(rev);
    DIFFEVO_LAUNCH(1, 64, 0, nullptr, racy_kernel)(d);
    ASSERT_EQ(cudaMemcpy((rev ? reverse : forward).data(), d, 64 * sizeof(int), cudaMemcpyDeviceToHost), cudaSuccess);
    diffevo::emu::set_reverse_order(before);
  }
  EXPECT_NE(forward, reverse);
  cudaFree(d);
}

TEST(Emulator, HostPointerKernelArgumentIsALaunchError) {
  std::vector<int> host(64);
  EXPECT_EQ(diffevo::emu::faults_during([&] {
              DIFFEVO_LAUNCH(1, 64, 0, nullptr, shuffle_kernel)(host.data());
              EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
            }),
            1);
}

// The members are found without naming them (cuda_emulator.hpp, field_count): one per member, arrays
// counted once, for the library's own argument structs too.
static_assert(diffevo::emu::field_count<inner_args>() == 2);
static_assert(diffevo::emu::field_count<nested_args>() == 5);
static_assert(diffevo::emu::field_count<diffevo::env::mlp_shape>() == 2);
static_assert(diffevo::emu::field_count<diffevo::detail::rollout_params>() == 7);
static_assert(diffevo::emu::field_count<diffevo::detail::summary_extras>() == 8);

TEST(Emulator, HostPointerInsideAStructArgumentIsALaunchErrorNamingTheField) {
  int* out = device_alloc<int>(32);
  int* values = device_alloc<int>(32);
  std::vector<int> host(32, 1), got(32, -1);
  ASSERT_EQ(cudaMemcpy(values, host.data(), 32 * sizeof(int), cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemset(out, 0, 32 * sizeof(int)), cudaSuccess);
  const nested_args good{out, {32, values}, 2.0f, {values, values + 3}, {values + 5}};
  DIFFEVO_LAUNCH(1, 32, 0, nullptr, nested_args_kernel)(good);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(got.data(), out, 32 * sizeof(int), cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(got, std::vector<int>(32, 4));

  // A host pointer in each place in turn: the launch fails and the kernel does not run.
  ASSERT_EQ(cudaMemset(out, 0, 32 * sizeof(int)), cudaSuccess);
  for (int place = 0; place < 4; ++place) {
    nested_args bad = good;
    if (place == 0) bad.out = host.data();
    if (place == 1) bad.in.values = host.data();
    if (place == 2) bad.extra[1] = host.data();
    if (place == 3) bad.more[0] = host.data();
    EXPECT_EQ(diffevo::emu::faults_during([&] {
                DIFFEVO_LAUNCH(1, 32, 0, nullptr, nested_args_kernel)(bad);
                EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue) << "place " << place;
              }),
              1)
        << "place " << place;
  }
  EXPECT_EQ(diffevo::emu::bad_pointer_in(nested_args{out, {1, host.data()}, 1.0f, {}, {}}, "argument 0"),
            "argument 0, field 1, field 1");
  EXPECT_EQ(diffevo::emu::bad_pointer_in(nested_args{out, {1, values}, 1.0f, {values, host.data()}, {}}, "argument 0"),
            "argument 0, field 3[1]");
  EXPECT_EQ(diffevo::emu::bad_pointer_in(nested_args{out, {1, values}, 1.0f, {}, {host.data()}}, "argument 0"),
            "argument 0, field 4[0]");
  ASSERT_EQ(cudaMemcpy(got.data(), out, 32 * sizeof(int), cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(got, std::vector<int>(32, 0));
  cudaFree(out);
  cudaFree(values);
}

TEST(Emulator, BadLaunchShapesAreConfigurationErrors) {
  int* d = device_alloc<int>(64);
  EXPECT_EQ(diffevo::emu::faults_during([&] {
              DIFFEVO_LAUNCH(1, 2048, 0, nullptr, shuffle_kernel)(d);
              EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
              DIFFEVO_LAUNCH(0, 64, 0, nullptr, shuffle_kernel)(d);
              EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
            }),
            2);
  cudaFree(d);
}

TEST(Emulator, CopiesCheckDirectionAndBounds) {
  float* d = device_alloc<float>(16);
  std::vector<float> h(32);
  EXPECT_EQ(diffevo::emu::faults_during([&] {
              EXPECT_EQ(cudaMemcpy(d, h.data(), 17 * sizeof(float), cudaMemcpyHostToDevice), cudaErrorInvalidValue);
              EXPECT_EQ(cudaMemcpy(h.data(), d, 4, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
              EXPECT_EQ(cudaMemcpy(d + 8, d, 9 * sizeof(float), cudaMemcpyDeviceToDevice), cudaErrorInvalidValue);
              cudaGetLastError();
            }),
            3);
  EXPECT_EQ(cudaMemcpy(d + 8, d, 8 * sizeof(float), cudaMemcpyDeviceToDevice), cudaSuccess);
  cudaFree(d);
}

TEST(Emulator, AsyncWorkRunsWhenItsStreamIsAwaited) {
  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  float* d = device_alloc<float>(4);
  const std::vector<float> src = {1, 2, 3, 4};
  std::vector<float> dst(4, 0.0f);
  ASSERT_EQ(cudaMemcpyAsync(d, src.data(), sizeof(float) * 4, cudaMemcpyHostToDevice, s), cudaSuccess);
  ASSERT_EQ(cudaMemcpyAsync(dst.data(), d, sizeof(float) * 4, cudaMemcpyDeviceToHost, s), cudaSuccess);
  EXPECT_EQ(dst, std::vector<float>(4, 0.0f)) << "the copies ran before their stream was awaited";
  ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  EXPECT_EQ(dst, src);
  cudaFree(d);
  cudaStreamDestroy(s);
}

TEST(Emulator, AHostSourceChangedBeforeItsCopyRanIsAFault) {
  float* d = device_alloc<float>(4);
  std::vector<float> src = {1, 2, 3, 4};
  EXPECT_EQ(diffevo::emu::faults_during([&] {
              ASSERT_EQ(cudaMemcpyAsync(d, src.data(), sizeof(float) * 4, cudaMemcpyHostToDevice, nullptr), cudaSuccess);
              src[2] = 7;  // before the stream got there
              cudaDeviceSynchronize();
              cudaGetLastError();
            }),
            1);
  cudaFree(d);
}

TEST(Emulator, NewDeviceMemoryReadsAsNaN) {
  float* d = device_alloc<float>(3);
  std::vector<float> h(3, 0.0f);
  ASSERT_EQ(cudaMemcpy(h.data(), d, sizeof(float) * 3, cudaMemcpyDeviceToHost), cudaSuccess);
  for (float v : h) EXPECT_TRUE(std::isnan(v));
  cudaFree(d);
}

// The GEMM stand-in against a float64 reference on random inputs, every transpose; and cuBLAS's
// leading-dimension check.
TEST(Emulator, GemmMatchesFloat64ReferenceAndChecksLeadingDimensions) {
  cublasHandle_t h = nullptr;
  ASSERT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
  const int m = 7, n = 5, k = 9;
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> a(k * m + 3 * k), b(k * n + 3 * n), c(m * n);
  for (double& v : a) v = u(rng);
  for (double& v : b) v = u(rng);
  for (double& v : c) v = u(rng);
  double *da = device_alloc<double>(a.size()), *db = device_alloc<double>(b.size()), *dc = device_alloc<double>(c.size());
  ASSERT_EQ(cudaMemcpy(da, a.data(), a.size() * 8, cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(db, b.data(), b.size() * 8, cudaMemcpyHostToDevice), cudaSuccess);
  for (auto ta : {CUBLAS_OP_N, CUBLAS_OP_T})
    for (auto tb : {CUBLAS_OP_N, CUBLAS_OP_T}) {
      const int lda = (ta == CUBLAS_OP_N ? m : k) + 1, ldb = (tb == CUBLAS_OP_N ? k : n) + 1;
      const double alpha = 0.5, beta = -2.0;
      ASSERT_EQ(cudaMemcpy(dc, c.data(), c.size() * 8, cudaMemcpyHostToDevice), cudaSuccess);
      ASSERT_EQ(cublasDgemm(h, ta, tb, m, n, k, &alpha, da, lda, db, ldb, &beta, dc, m), CUBLAS_STATUS_SUCCESS);
      std::vector<double> out(c.size());
      ASSERT_EQ(cudaMemcpy(out.data(), dc, out.size() * 8, cudaMemcpyDeviceToHost), cudaSuccess);
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) {
          long double s = 0;
          for (int p = 0; p < k; ++p) {
            const double av = ta == CUBLAS_OP_N ? a[i + p * lda] : a[p + i * lda];
            const double bv = tb == CUBLAS_OP_N ? b[p + j * ldb] : b[j + p * ldb];
            s += static_cast<long double>(av) * bv;
          }
          EXPECT_NEAR(out[i + j * m], double(alpha * s + beta * c[i + j * m]), 1e-13);
        }
    }
  const double one = 1, zero = 0;
  EXPECT_EQ(diffevo::emu::faults_during([&] {
              EXPECT_EQ(cublasDgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, da, m - 1, db, k, &zero, dc, m),
                        CUBLAS_STATUS_INVALID_VALUE);
              EXPECT_EQ(cublasDgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, da, m, db, k, &zero, dc, m + 1),
                        CUBLAS_STATUS_INVALID_VALUE);  // C would run past its allocation
              cudaGetLastError();
            }),
            2);
  cublasDestroy(h);
  cudaFree(da);
  cudaFree(db);
  cudaFree(dc);
}

// The cuda backend frees everything it allocated, also when its constructor throws.
TEST(Emulator, CudaBackendLeavesNoDeviceAllocationBehind) {
  const std::size_t before = diffevo::emu::live_allocations();
  {
    diffevo::config c;
    c.population = 32;
    c.dimension = 40;
    c.latent_dim = 2;
    c.steps = 3;
    c.backend = diffevo::backend_kind::cuda;
    diffevo::optimizer o(c);
    std::vector<float> f(32);
    while (!o.done()) {
      const auto p = o.ask();
      for (int i = 0; i < p.rows; ++i) f[i] = -std::fabs(p.row(i)[0]);
      o.tell(f);
    }
    EXPECT_GT(diffevo::emu::live_allocations(), before);
  }
  EXPECT_EQ(diffevo::emu::live_allocations(), before);
}

// ---- every failable call failing in turn (fail_call) ---------------------------------------------

namespace {

// One shape per update path: fused plain, fused latent, softmax + SGEMM (latent), Gram (plain, D > 32).
std::vector<diffevo::config> update_paths() {
  std::vector<diffevo::config> out;
  for (auto [n, d, latent] : {std::tuple{40, 3, 0}, {40, 6, 2}, {36, 20, 2}, {33, 40, 0}}) {
    diffevo::config c;
    c.population = n;
    c.dimension = d;
    c.latent_dim = latent;
    c.steps = 4;
    c.seed = 5;
    c.backend = diffevo::backend_kind::cuda;
    out.push_back(c);
  }
  return out;
}

// Runs f with the k-th failable call failing. Returns whether that call was made inside f, and sets
// `threw` when f threw. The injected fault is the only one allowed: the recovery must raise none.
bool with_call_failing(long k, bool& threw, const std::function<void()>& f, bool sticky = false) {
  bool reached = false;
  threw = false;
  const long faults = diffevo::emu::faults_during([&] {
    diffevo::emu::fail_call(k, sticky);
    try {
      f();
    } catch (const std::exception&) {
      threw = true;
    }
    reached = !diffevo::emu::failure_pending();
    diffevo::emu::fail_call(-1);
  });
  EXPECT_EQ(faults, reached ? 1 : 0) << "call " << k << ": faults besides the injected one (see stderr)";
  return reached;
}

}  // namespace

// The constructor throws for every failing call it makes and leaves no device allocation behind.
// The handle owners (cuda/util/handles.cuh): each handle is released exactly once, also after moves
// (a second destroy of a stream or handle is a fault the emulator reports), and a stream view
// refuses the default stream.
TEST(EmulatorHandles, OwnersReleaseEachHandleOnceThroughMoves) {
  using namespace diffevo::detail;
  const long faults = diffevo::emu::faults_reported();
  {
    owned_stream s = owned_stream::create();
    owned_stream moved = std::move(s);
    EXPECT_EQ(s.get(), nullptr);
    ASSERT_NE(moved.get(), nullptr);
    cublas_handle blas = cublas_handle::create(moved.view());
    curand_generator rng = curand_generator::create(CURAND_RNG_PSEUDO_PHILOX4_32_10, moved.view());
    owned_event e = owned_event::create(), e2;
    e2 = std::move(e);
    EXPECT_EQ(e.get(), nullptr);
    cublas_handle blas2;
    blas2 = std::move(blas);
    owned_stream other = owned_stream::create();
    other = std::move(moved);  // releases the stream `other` held
  }
  EXPECT_EQ(diffevo::emu::faults_reported(), faults);
  EXPECT_THROW(stream_view(nullptr), diffevo::logic_error);
}

TEST(EmulatorFaults, EveryFailingCallInAConstructorThrowsAndLeaksNothing) {
  for (const diffevo::config& c : update_paths()) {
    const std::size_t before = diffevo::emu::live_allocations();
    long k = 0;
    for (;; ++k) {
      bool threw = false, in_constructor = false;
      std::unique_ptr<diffevo::optimizer> o;
      with_call_failing(k, threw, [&] {
        o = std::make_unique<diffevo::optimizer>(c);
        in_constructor = !diffevo::emu::failure_pending();
      });
      if (threw) in_constructor = true;
      o.reset();
      EXPECT_EQ(diffevo::emu::live_allocations(), before) << "D " << c.dimension << ", call " << k;
      if (!in_constructor) break;
      EXPECT_TRUE(threw) << "D " << c.dimension << ": call " << k << " failed and the constructor went on";
    }
    EXPECT_GT(k, 5) << "D " << c.dimension;
  }
}

// A tell that fails at any of its calls throws and leaves the optimizer as it was: the same
// generation and population, and telling the same fitness again gives an uninterrupted run's bits.
TEST(EmulatorFaults, AFailingCallInATellLeavesTheOptimizerAsItWas) {
  for (const diffevo::config& c : update_paths()) {
    diffevo::optimizer ref(c);
    ref.tell(cosine_fitness(ref.ask()));
    const std::vector<float> f1 = cosine_fitness(ref.ask());
    ref.tell(f1);
    const std::vector<float> expected = host_copy(ref.ask());
    long k = 0;
    for (;; ++k) {
      diffevo::optimizer o(c);
      o.tell(cosine_fitness(o.ask()));
      const std::vector<float> before = host_copy(o.ask());
      bool threw = false;
      if (!with_call_failing(k, threw, [&] { o.tell(f1); })) break;
      EXPECT_TRUE(threw) << "D " << c.dimension << ": call " << k << " failed and tell went on";
      EXPECT_EQ(o.generation(), 1) << "D " << c.dimension << ", call " << k;
      EXPECT_EQ(host_copy(o.ask()), before) << "D " << c.dimension << ", call " << k;
      o.tell(f1);
      EXPECT_EQ(host_copy(o.ask()), expected) << "D " << c.dimension << ", call " << k;
    }
    EXPECT_GT(k, 2) << "D " << c.dimension;
  }
}

// The cart-pole evaluator: a failing call makes evaluate throw; the next evaluate gives the returns.
TEST(EmulatorFaults, AFailingCallInAnEvaluationThrowsAndTheNextOneWorks) {
  for (std::vector<int> layers : {std::vector<int>{4, 8, 2}, std::vector<int>{4, 32, 32, 2}}) {
    diffevo::rollout_config rc;
    rc.layers = layers;
    rc.max_steps = 50;
    rc.backend = diffevo::backend_kind::cuda;
    diffevo::cartpole_evaluator ref(rc);
    const int n = 5, p = ref.parameter_count();
    std::vector<float> params(static_cast<std::size_t>(n) * p);
    std::mt19937 rng(2);
    std::normal_distribution<float> nd(0, 0.3f);
    for (float& v : params) v = nd(rng);
    std::vector<float> expected(n), got(n);
    ref.evaluate(diffevo::population_view{params.data(), n, p}, expected.data(), 0);
    const std::size_t before = diffevo::emu::live_allocations();
    long k = 0;
    for (;; ++k) {
      bool threw = false;
      {
        std::unique_ptr<diffevo::cartpole_evaluator> ev;
        const bool reached = with_call_failing(k, threw, [&] {
          ev = std::make_unique<diffevo::cartpole_evaluator>(rc);
          ev->evaluate(diffevo::population_view{params.data(), n, p}, got.data(), 0);
        });
        if (!reached) break;
        EXPECT_TRUE(threw) << "call " << k;
        if (ev) {
          ev->evaluate(diffevo::population_view{params.data(), n, p}, got.data(), 0);
          EXPECT_EQ(got, expected) << "call " << k;
        }
      }
      EXPECT_EQ(diffevo::emu::live_allocations(), before) << "call " << k;
    }
    EXPECT_GT(k, 3);
  }
}

// Your own environment's evaluation with each call failing in turn: every failure throws, and the
// failing launch is reported naming the environment.
TEST(EmulatorFaults, AFailingLaunchOfYourOwnEnvironmentIsReportedNamingIt) {
  diffevo::rollout_config rc;
  rc.layers = {2, 16, 3};
  rc.max_steps = 50;
  rc.backend = diffevo::backend_kind::cuda;
  diffevo::rollout_evaluator ev(rc, diffevo::make_environment<mountain_car>("mountain-car"));
  const int n = 5, p = ev.parameter_count();
  std::vector<float> params(static_cast<std::size_t>(n) * p, 0.1f), got(n);
  bool named = false;
  long k = 0;
  for (;; ++k) {
    std::string what;
    bool threw = false;
    if (!with_call_failing(k, threw, [&] {
          try {
            ev.evaluate(diffevo::population_view{params.data(), n, p}, got.data(), 0);
          } catch (const std::exception& e) {
            what = e.what();
            throw;
          }
        }))
      break;
    EXPECT_TRUE(threw) << "call " << k;
    named = named || what.find("launching the mountain-car rollout kernels") != std::string::npos;
  }
  EXPECT_GT(k, 2);
  EXPECT_TRUE(named) << "no failure named the environment's kernels";
}

// A deferred run (run_functor: tells that do not wait for the host) with any one call failing throws
// and leaves the optimizer at a generation g with the population, best and noise position of a
// synchronous run at g: finishing it gives the uninterrupted run's bits.
TEST(EmulatorFaults, AFailingCallInADeferredRunLeavesAConsistentGeneration) {
  using namespace diffevo;
  const config c = paper_config(backend_kind::cuda, 64, 6, 21);
  const functions::paper_fitness f{functions::benchmark::rastrigin};
  const optimize_result whole = optimize_functor(c, f);
  auto tell_sync = [&](optimizer& o, int count) {
    for (int g = 0; g < count; ++g) {
      const population_view d = o.ask_device();
      evaluate_device(f, d.data, d.rows, d.cols, o.device_fitness(), o.stream());
      o.tell_device(o.device_fitness(), static_cast<std::size_t>(d.rows));
    }
  };
  long k = 0;
  for (;; ++k) {
    optimizer o(c);
    bool threw = false;
    if (!with_call_failing(k, threw, [&] { run_functor(o, f); })) break;
    EXPECT_TRUE(threw) << "call " << k;
    optimizer ref(c);
    tell_sync(ref, o.generation());
    EXPECT_EQ(host_copy(o.ask()), host_copy(ref.ask())) << "call " << k << ", generation " << o.generation();
    EXPECT_EQ(o.has_best(), ref.has_best()) << "call " << k;
    if (o.has_best()) EXPECT_EQ(o.best(), ref.best()) << "call " << k;
    EXPECT_EQ(run_functor(o, f).population, whole.population) << "call " << k;
  }
  EXPECT_GT(k, 10);
}

// A device fault that loses the context (sticky, as on a GPU: every later call fails) at any call of
// a tell: tell throws, so do the later calls that need the device, and the destructor neither throws
// nor crashes.
TEST(EmulatorFaults, AfterALostContextEveryCallThrowsAndNothingCrashes) {
  const std::string path = ::testing::TempDir() + "diffevo_lost_" + std::to_string(::getpid());
  for (const diffevo::config& c : update_paths()) {
    long k = 0;
    for (;; ++k) {
      bool threw = false, reached = false;
      {
        diffevo::optimizer o(c);
        o.tell(cosine_fitness(o.ask()));
        const std::vector<float> f = cosine_fitness(o.ask());
        reached = with_call_failing(k, threw, [&] { o.tell(f); }, true);
        if (reached) {
          EXPECT_TRUE(threw) << "D " << c.dimension << ": call " << k << " lost the context and tell went on";
          EXPECT_THROW(
              {
                o.ask();
                o.tell(f);
              },
              std::exception)
              << "D " << c.dimension << ", call " << k;
          EXPECT_THROW(o.save(path), std::exception) << "D " << c.dimension << ", call " << k;
        }
      }  // the destructor meets the lost context
      diffevo::emu::reset_device();
      if (!reached) break;
    }
    EXPECT_GT(k, 2) << "D " << c.dimension;
  }
  std::remove(path.c_str());
}
