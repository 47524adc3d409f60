// The MPI component on the cuda backend (labels gpu and mpi; each test skips without a device), and
// the same file on the CUDA emulator under mpiexec (labels emulated and mpi): a run whose fitness stays
// in device memory (ask_local_device / tell_local_device) across ranks equals the single-process cuda
// run bit for bit.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "diffevo/mpi.hpp"
#include "diffevo/optimize.hpp"
#include "host/backend/row_exchange.hpp"
#include "tests/helpers/mpi_ranks.hpp"

#define SKIP_WITHOUT_DEVICE() \
  if (!diffevo::cuda_device_available()) GTEST_SKIP() << "no CUDA device"

namespace {

using diffevo::test::evaluate_rows;
using diffevo::test::rank_of;
using diffevo::test::tell_twin;

float row_fitness(const float* x, int d) {
  float s = 0;
  for (int c = 0; c < d; ++c) s += (x[c] - 0.3f) * (x[c] - 0.3f);
  return -s;
}

struct shape_dims {
  int n, d;
};

diffevo::config cuda_config(int n, int d, int latent) {
  diffevo::config c;
  c.population = n;
  c.dimension = d;
  c.latent_dim = latent;
  c.steps = 6;
  c.seed = 8;
  c.backend = diffevo::backend_kind::cuda;
  return c;
}

/// Device memory for n floats, freed at scope exit.
struct device_floats {
  explicit device_floats(std::size_t n) {
    if (n && cudaMalloc(reinterpret_cast<void**>(&p), n * sizeof(float)) != cudaSuccess) p = nullptr;
  }
  ~device_floats() {
    if (p) cudaFree(p);
  }
  float* p = nullptr;
};

TEST(GpuMpi, DeviceFitnessAcrossRanksEqualsTheSingleProcessCudaRun) {
  SKIP_WITHOUT_DEVICE();
  for (const int latent : {0, 3}) {
    SCOPED_TRACE(testing::Message() << "latent " << latent);
    const diffevo::config c = cuda_config(37, 40, latent);
    diffevo::optimizer one(c);
    diffevo::mpi::optimizer many(c, MPI_COMM_WORLD);
    EXPECT_EQ(many.opts().update, diffevo::mpi::update_mode::replicated);
    const auto [b, e] = many.local_rows();
    std::vector<float> f(static_cast<std::size_t>(e - b));
    device_floats d_f(f.size());
    ASSERT_TRUE(f.empty() || d_f.p);
    while (!many.done()) {
      // This rank's rows are evaluated on the host here, then their fitness is put in device memory
      // (as a fitness kernel would write it) and told from there.
      const diffevo::population_view rows_d = many.ask_local_device();
      EXPECT_EQ(rows_d.rows, e - b);
      evaluate_rows(many.ask_local(), row_fitness, f.data());
      if (!f.empty()) ASSERT_EQ(cudaMemcpy(d_f.p, f.data(), f.size() * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
      // A pageable cudaMemcpy may return before its transfer lands, and the optimizer's non-blocking
      // stream is not ordered after the legacy stream's copy: wait for it.
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      many.tell_local_device(d_f.p, f.size());
      tell_twin(one, row_fitness);
    }
    const diffevo::population_view a = one.ask(), m = many.ask();
    EXPECT_EQ(std::memcmp(a.data, m.data, a.size() * sizeof(float)), 0);
    EXPECT_EQ(one.best(), many.best());
  }
}

/// The ways a sharded update's rows can move here: through host memory always; between the devices
/// when the cuda backend has NCCL and every rank its own device (on the emulator: NCCL over MPI, each
/// process its own emulated device), where asking for it is accepted.
std::vector<diffevo::mpi::exchange_path> exchange_paths(const diffevo::config& c) {
  std::vector<diffevo::mpi::exchange_path> paths{diffevo::mpi::exchange_path::host};
  diffevo::mpi::options o;
  o.update = diffevo::mpi::update_mode::sharded;
  o.exchange = diffevo::mpi::exchange_path::device;
  try {
    const diffevo::mpi::optimizer probe(c, MPI_COMM_WORLD, o);
    paths.push_back(probe.opts().exchange);
  } catch (const diffevo::invalid_argument&) {  // (on every rank alike)
  }
  return paths;
}

const char* name_of(diffevo::mpi::exchange_path p) {
  return p == diffevo::mpi::exchange_path::device ? "device" : "host";
}

TEST(GpuMpi, AShardedCudaUpdateEqualsTheSingleProcessCudaRunForEveryPath) {
  SKIP_WITHOUT_DEVICE();
  // Float distances (D = 12 plain), the float64 Gram path (D = 40 plain), latent, and the fused
  // D <= 8 kernel over each rank's rows (plain and latent); N not divisible by the rank count, and
  // N = 2 (at 3 ranks, one rank has no rows).
  struct shape {
    int n, d, latent;
  };
  for (const shape& sh : {shape{37, 12, 0}, shape{37, 40, 0}, shape{37, 40, 3}, shape{37, 4, 0}, shape{37, 6, 2},
                          shape{2, 3, 0}}) {
    const diffevo::config c = cuda_config(sh.n, sh.d, sh.latent);
    for (const auto path : exchange_paths(c)) {
      SCOPED_TRACE(testing::Message() << "D = " << sh.d << ", latent " << sh.latent << ", rows through " << name_of(path));
      diffevo::test::expect_sharded_matches_twin(c, row_fitness, path);
    }
  }
}

TEST(GpuMpi, TheDeviceExchangeIsAcceptedWhereEveryRankHasItsOwnDeviceWithNccl) {
  SKIP_WITHOUT_DEVICE();
  const diffevo::config c = cuda_config(16, 4, 0);
  diffevo::mpi::options o;
  o.update = diffevo::mpi::update_mode::sharded;
  // automatic is host until the device exchange has run on GPUs
  EXPECT_EQ(diffevo::mpi::optimizer(c, MPI_COMM_WORLD, o).opts().exchange, diffevo::mpi::exchange_path::host);
  o.exchange = diffevo::mpi::exchange_path::device;
  bool accepted = false;
  try {
    accepted = diffevo::mpi::optimizer(c, MPI_COMM_WORLD, o).opts().exchange == diffevo::mpi::exchange_path::device;
  } catch (const diffevo::invalid_argument& e) {
    // without NCCL, or "... needs one device per rank (NCCL), but ranks 0 and 1 share the device with UUID ..."
    EXPECT_NE(std::string(e.what()).find("rank 0: options.exchange = device needs"), std::string::npos) << e.what();
  }
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
#if defined(DIFFEVO_EMULATED_MPI_TEST) && DIFFEVO_WITH_NCCL
  // Each emulated process has its own device (unless DIFFEVO_EMULATOR_ONE_DEVICE=1 makes them share
  // one), and the emulated build has NCCL (over MPI).
  const char* one = std::getenv("DIFFEVO_EMULATOR_ONE_DEVICE");
  const bool shared = one && std::string(one) == "1";
  EXPECT_EQ(accepted, !(shared && size > 1));
#endif
  (void)accepted;
}

#ifdef DIFFEVO_EMULATED_MPI_TEST
}  // namespace
#include "emulator_test_support.hpp"
namespace {

// Each CUDA, cuBLAS, cuRAND or NCCL call of a sharded cuda tell failing in turn on one rank only: every
// rank throws at that generation, the population is unchanged everywhere, and telling again gives the
// single-process run's bits. (A device fault stays on its rank: the agreement before the exchange
// turns it into every rank's exception.)
void expect_each_failing_call_agreed(const diffevo::config& c, diffevo::mpi::exchange_path path, int failing) {
  diffevo::mpi::options o;
  o.update = diffevo::mpi::update_mode::sharded;
  o.exchange = path;
  const bool failing_rank = rank_of() == failing;
  long k = 0;
  for (;; ++k) {
    diffevo::mpi::optimizer many(c, MPI_COMM_WORLD, o);
    diffevo::optimizer one(c);
    const auto [b, e] = many.local_rows();
    std::vector<float> f(static_cast<std::size_t>(e - b));
    const diffevo::population_view rows = many.ask_local();
    evaluate_rows(rows, row_fitness, f.data());
    const std::vector<float> before(many.ask().data, many.ask().data + many.ask().size());
    bool threw = false, pending = false;
    diffevo::emu::faults_during([&] {
      if (failing_rank) diffevo::emu::fail_call(k);
      try {
        many.tell_local(f.data(), f.size());
      } catch (const std::exception& x) {
        threw = true;
        EXPECT_NE(std::string(x.what()).find("rank " + std::to_string(failing) + ", generation 0: "), std::string::npos)
            << "call " << k << ": " << x.what();
      }
      pending = failing_rank && diffevo::emu::failure_pending();
      diffevo::emu::fail_call(-1);
    });
    int p = pending ? 1 : 0, any_pending = 0;
    MPI_Allreduce(&p, &any_pending, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any_pending) {  // the tell made fewer than k + 1 calls on that rank: every call has failed once
      EXPECT_FALSE(threw);
      break;
    }
    EXPECT_TRUE(threw) << "call " << k;
    EXPECT_EQ(many.generation(), 0) << "call " << k;
    const diffevo::population_view now = many.ask();
    EXPECT_EQ(std::vector<float>(now.data, now.data + now.size()), before) << "call " << k;
    many.tell_local(f.data(), f.size());
    tell_twin(one, row_fitness);
    const diffevo::population_view a = one.ask(), m = many.ask();
    EXPECT_EQ(std::memcmp(a.data, m.data, a.size() * sizeof(float)), 0) << "call " << k;
  }
  EXPECT_GT(k, 5);
#if DIFFEVO_WITH_NCCL
  EXPECT_EQ(diffevo::emu::live_communicators(), 0u);  // every communicator aborted or destroyed with its optimizer
#endif
}

TEST(GpuMpiFaults, EachFailingCallOfAShardedTellOnOneRankThrowsOnEveryRankAndTheRetryGivesTheSameBits) {
  for (const diffevo::config& c : {cuda_config(29, 40, 3), cuda_config(29, 3, 0)}) {  // cuBLAS rows; fused rows
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (const auto path : exchange_paths(c)) {  // NCCL's calls too, with the rows between devices
      // The last rank; and rank 0 between devices, where it alone draws NCCL's unique id.
      for (const int failing : path == diffevo::mpi::exchange_path::device ? std::vector<int>{size - 1, 0}
                                                                            : std::vector<int>{size - 1}) {
        SCOPED_TRACE(testing::Message() << "D = " << c.dimension << ", rows through " << name_of(path)
                                        << ", failing rank " << failing);
        expect_each_failing_call_agreed(c, path, failing);
      }
    }
  }
}
#endif

TEST(GpuMpi, TheDeviceHashIsThePopulationHashOfWhatAskReturns) {
  SKIP_WITHOUT_DEVICE();
  for (const shape_dims& sh : {shape_dims{33, 40}, shape_dims{17, 5}, shape_dims{8, 1}}) {
    diffevo::optimizer o(cuda_config(sh.n, sh.d, 0));
    const diffevo::population_view p = o.ask();
    EXPECT_EQ(diffevo::detail::params_hash(o), diffevo::mpi::population_hash(p.data, p.rows, p.cols))
        << "N " << sh.n << ", D " << sh.d;
  }
}

TEST(GpuMpi, DeviceCallsOnTheCpuBackendThrowOnEveryRank) {
  diffevo::config c = cuda_config(16, 4, 0);
  c.backend = diffevo::backend_kind::cpu;
  diffevo::mpi::optimizer opt(c, MPI_COMM_WORLD);
  EXPECT_THROW(opt.ask_local_device(), diffevo::logic_error);
  opt.ask_local();
  float dummy[16] = {};
  const auto [b, e] = opt.local_rows();
  try {
    opt.tell_local_device(dummy, static_cast<std::size_t>(e - b));
    ADD_FAILURE() << "no exception";
  } catch (const diffevo::logic_error& x) {
    EXPECT_NE(std::string(x.what()).find("rank 0, generation 0: tell_local_device() needs backend = cuda"),
              std::string::npos)
        << x.what();
  }
  EXPECT_EQ(opt.generation(), 0);
}

}  // namespace

#ifdef DIFFEVO_EMULATED_MPI_TEST
#include "emulator_test_support.hpp"
namespace diffevo::emu {
long& expected_faults() {
  static long n = 0;
  return n;
}
}  // namespace diffevo::emu
#endif

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  if (rank_of() != 0) ::testing::GTEST_FLAG(brief) = true;
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
#ifdef DIFFEVO_EMULATED_MPI_TEST
  const long unexpected = diffevo::emu::faults_reported() - diffevo::emu::expected_faults();
  if (unexpected != 0) {
    std::fprintf(stderr, "%ld fault(s) reported by the CUDA emulator that no test expected\n", unexpected);
    failed = 1;
  }
#endif
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return any;
}
