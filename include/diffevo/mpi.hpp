#pragma once
/// \file
/// One run across processes (the optional MPI component: CMake target diffevo::mpi, option
/// DIFFEVO_ENABLE_MPI). Every rank holds the whole population and the same noise; each evaluates a
/// contiguous block of rows, and only fitness moves (an all-gather of N floats per generation). The
/// update is then either repeated identically on every rank (replicated) or split by rows and the new
/// rows exchanged (sharded). Either way a run is the single-process run bit for bit, at
/// any rank count, and a checkpoint written at P ranks resumes at any other P
/// (docs/architecture.md "Many processes"). Unverified on a GPU: a sharded update on the cuda backend
/// with D > 8, whose products are cuBLAS calls on each rank's rows (README "Many processes").

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "diffevo/config.hpp"
#include "diffevo/error.hpp"
#include "diffevo/observe.hpp"
#include "diffevo/optimize.hpp"
#include "diffevo/optimizer.hpp"

#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

namespace diffevo::mpi {

/// How the ranks share the update (x0 and the DDIM step, 2 N^2 D flops a generation).
enum class update_mode {
  automatic,   ///< sharded on the cpu backend with 2 or more ranks and N >= k_shard_min_population, else
               ///< replicated (the cuda backend: replicated; bench/NOTES.md has where sharding pays there)
  replicated,  ///< every rank computes the whole update (moves N floats of fitness a generation)
  sharded,     ///< each rank computes its own rows, then the rows are all-gathered (moves N D floats,
               ///< N d latent floats and N doubles a generation; x0's N D floats only when x0() or
               ///< save() asks). On the cuda backend the rows move as options::exchange says, the
               ///< fused D <= 8 kernel included
};

/// How a sharded update's rows move between the ranks' devices (cuda backend; the cpu backend's rows
/// are in host memory and always move with MPI).
enum class exchange_path {
  automatic,  ///< host for now: the exchange between devices has run only on the CUDA emulator (NCCL
              ///< emulated over MPI), never on GPUs, so it is asked for by name
  host,       ///< through host memory: this rank's rows copied to the host, all-gathered with MPI, and
              ///< every row copied back to the device (Debian's Open MPI is not CUDA-aware)
  device,     ///< between the devices with NCCL (grouped broadcasts in place, no host copy): the cuda
              ///< backend built with NCCL (DIFFEVO_ENABLE_NCCL), one device per rank (NCCL refuses
              ///< two ranks on one device; the devices' UUIDs are compared at construction). The communicator is made at the first exchange, from a
              ///< unique id that rank 0 broadcasts with MPI
};

/// @return The mode's name ("automatic", "replicated", "sharded"; "?" for a value outside the enum).
const char* to_string(update_mode m) noexcept;
/// @return The path's name ("automatic", "host", "device"; "?" for a value outside the enum).
const char* to_string(exchange_path m) noexcept;

/// The smallest population for which update_mode::automatic shards the update (bench/NOTES.md
/// "Many processes": below it the exchange costs more than the flops it saves).
constexpr int k_shard_min_population = 256;

/// The distributed run's own settings (every rank must pass the same; they are checked like the config).
struct options {
  update_mode update = update_mode::automatic;  ///< how the update is shared
  /// Compare a hash of the whole population across ranks after every `check_every`-th generation
  /// of a replicated update (and after construction and load); 0 never compares. A difference (for
  /// example unlike hardware giving other bits) throws state_drift. The hash is computed where the
  /// population lives (on the device for cuda: N row hashes come to the host). A sharded update needs no
  /// per-generation comparison: every row is then computed by one rank and copied to the others, so
  /// the ranks cannot drift apart (only the start is compared).
  int check_every = 1;
  /// How a sharded update's rows move on the cuda backend (a replicated update moves none). device
  /// throws invalid_argument at construction on every rank where it cannot be: the cpu backend, a
  /// cuda backend built without NCCL, or ranks sharing a device (named).
  exchange_path exchange = exchange_path::automatic;
};

/// A collective call failed on some rank: every rank throws this for an error that is not one of
/// diffevo's own types (those are thrown as their own type on every rank, with the same message).
class rank_failure : public std::runtime_error {
 public:
  rank_failure(const std::string& what, int rank) : std::runtime_error(what), rank_(rank) {}
  /// @return The lowest rank on which the call failed.
  int rank() const noexcept { return rank_; }

 private:
  int rank_;
};

/// The ranks' populations differ (state drift), or a failure left them different. The run cannot go
/// on: every later call throws; resume from the last checkpoint.
class state_drift : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// An MPI call returned an error (its MPI_Error_string is in the message).
class mpi_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Evaluates this rank's rows: `fitness_fn(rows, first, fitness)` gets the rows local_rows() of the
/// population (host memory, valid during the call) and the population index of the first one, and
/// writes rows.rows values to `fitness`.
using local_fitness = std::function<void(population_view rows, int first, float* fitness)>;

class optimizer;
/// Drives `opt` from its current generation to the end, as optimize() (collective).
optimize_result run(optimizer& opt, const local_fitness& fitness);

/// Diffusion Evolution across the ranks of a communicator, ask/tell style.
///
/// Every member marked collective must be called by every rank of the communicator, in the same
/// order. A failure on any rank makes every rank throw, at the same call: the failing rank's error
/// (the lowest rank's where several fail) with "rank r, generation g: " in front of its message,
/// as the same diffevo exception type (else rank_failure); the rank where it happened throws it
/// with its original exception nested (std::rethrow_if_nested). After such a throw the optimizer
/// is at the same generation on every rank and the call can be retried, except after state_drift,
/// and except an observer's exception (rank 0), thrown after the generation was applied everywhere.
/// An MPI call that fails (mpi_error) is the exception to all this: MPI reports it on that rank only,
/// so end the job (MPI_Abort), as MPI's default handler would have.
///
/// MPI must be initialized (MPI_Init, or MPI_Init_thread with at least MPI_THREAD_FUNNELED: the cpu
/// backend's worker threads never call MPI) and the optimizer destroyed before MPI_Finalize.
/// Not thread-safe. Move-only; a moved-from optimizer may only be destroyed or assigned to. On the
/// cuda backend fitness moves through host memory (Debian's Open MPI is not CUDA-aware), and a
/// sharded update's rows as options::exchange says (NCCL between devices where it can); pick each
/// rank's device (for example the node-local rank, node_local_rank()) with
/// cudaSetDevice before constructing.
class optimizer {
 public:
  /// Starts a run on every rank of `comm` (collective).
  ///
  /// Every rank must pass the same config (cpu_threads excepted) and options; each builds the same
  /// initial population from the seed.
  /// @param cfg The run's configuration.
  /// @param comm The ranks taking part (duplicated: the optimizer's messages never mix with yours).
  /// @param opts The distributed settings.
  /// @throws invalid_argument on every rank naming the first field that differs between ranks
  ///         ("config.temperature differs between ranks: rank 0 has 1, rank 2 has 0.5"), or the
  ///         first bad field (as diffevo::optimizer), or a bad option.
  /// @throws (as diffevo::optimizer's constructor, on every rank) when any rank fails to construct.
  /// @throws state_drift if the initial populations differ.
  /// @throws mpi_error if an MPI call fails.
  optimizer(const config& cfg, MPI_Comm comm, const options& opts = {});
  /// Frees the duplicated communicator (unless MPI is already finalized). Never throws.
  ~optimizer();
  optimizer(optimizer&&) noexcept;
  optimizer& operator=(optimizer&&) noexcept;
  optimizer(const optimizer&) = delete;
  optimizer& operator=(const optimizer&) = delete;

  /// Resumes a run from a checkpoint written by save() at any rank count (collective).
  ///
  /// Every rank reads `path` (a file system all ranks see); the states are then compared by hash
  /// (unless opts.check_every = 0, which never compares).
  /// @param path The checkpoint.
  /// @param comm The ranks taking part.
  /// @param expect If given, the config the checkpoint must hold (as diffevo::optimizer::load).
  /// @param opts The distributed settings.
  /// @throws checkpoint_error, invalid_argument ... as diffevo::optimizer::load, on every rank.
  /// @throws state_drift if the ranks loaded different states (when compared).
  static optimizer load(const std::string& path, MPI_Comm comm, const config* expect = nullptr,
                        const options& opts = {});

  /// The whole population in parameter space, the same on every rank. Not collective.
  /// @return N x D host values, valid until the next tell.
  population_view ask();
  /// This rank's rows of ask(): rows local_rows().first ... second - 1. Not collective.
  /// @return (second - first) x D host values (0 rows on a rank without rows).
  population_view ask_local();
  /// This rank's rows [first, second): the N rows split into size() contiguous blocks whose sizes
  /// differ by at most one, in rank order. A rank may have none (more ranks than individuals).
  std::pair<int, int> local_rows() const noexcept;

  /// Gives this rank's fitness and applies one generation on every rank (collective).
  ///
  /// All-gathers the N fitness values, then updates (replicated or sharded). A bad fitness value on
  /// any rank throws invalid_argument on every rank (naming the population index), leaving the
  /// generation to be told again.
  /// @param fitness n host values for rows local_rows(), in order.
  /// @param n local_rows().second - local_rows().first.
  /// @throws logic_error before ask()/ask_local(), after done() (on every rank).
  /// @throws invalid_argument for a wrong n, a null pointer with n > 0, or a fitness value tell()
  ///         refuses.
  /// @throws state_drift when the population hash differs between ranks after the update, or an
  ///         update failed on some ranks only.
  /// @throws mpi_error, out_of_memory ... as diffevo::optimizer::tell().
  void tell_local(const float* fitness, std::size_t n);
  /// This rank's rows of the device population (cuda backend): rows local_rows() of
  /// diffevo::optimizer::ask_device(), ready in stream order on local().stream(). No copy, not
  /// collective.
  /// @throws logic_error on the cpu backend.
  population_view ask_local_device();
  /// tell_local() with this rank's fitness in device memory (cuda backend; collective).
  ///
  /// The n values are copied to the host after the work queued on local().stream() (the copy waits
  /// for it), all-gathered with MPI on host memory, and told; the update then runs on the device.
  /// @param d_fitness n floats of device memory on the optimizer's device.
  /// @param n local_rows().second - local_rows().first.
  /// @throws logic_error on the cpu backend (on every rank), and as tell_local().
  /// @throws cuda_error if the copy fails (on every rank), and as tell_local().
  void tell_local_device(const float* d_fitness, std::size_t n);
  /// tell_local() for a rank whose evaluation failed (collective): every rank throws `error` as
  /// described in the class comment, and the generation can be told again.
  /// @param error The exception (std::current_exception() in a catch block); must not be null.
  [[noreturn]] void tell_local_failed(std::exception_ptr error);

  /// Writes a checkpoint (collective): the ranks complete a sharded update's x0, then rank 0 writes
  /// `path` atomically (diffevo::optimizer::save);
  /// every rank throws if it fails. The checkpoint resumes at any rank count, and in one process
  /// with diffevo::optimizer::load.
  void save(const std::string& path) const;

  /// Calls `cb` on rank 0 after every tell with that generation's record (other ranks ignore it).
  /// `cb` runs on rank 0 alone, so it must call nothing collective (x0(), save(), ...).
  void on_generation(generation_callback cb);

  /// @return True after T - 1 generations.
  bool done() const noexcept;
  /// @return Generations completed so far.
  int generation() const noexcept;
  /// @return T - 1.
  int generations() const noexcept;
  /// @return The best individual told so far (the same on every rank); throws as diffevo::optimizer::best().
  std::vector<float> best() const;
  /// @return Its fitness.
  float best_fitness() const;
  /// @return True once a finite fitness has been told.
  bool has_best() const noexcept;
  /// The x0 estimate of the last tell (collective: a sharded update exchanges x0's rows only when
  /// asked, here or in save(), so a generation moves the new x only, not x0 as well).
  /// @return N x D values, parameter space, the same on every rank.
  std::vector<float> x0() const;
  /// @return The configuration.
  const config& cfg() const noexcept;
  /// @return The distributed settings, with update_mode::automatic and exchange_path::automatic
  ///         resolved.
  const options& opts() const noexcept;
  /// @return This process's rank in the communicator.
  int rank() const noexcept;
  /// @return The number of ranks.
  int size() const noexcept;
  /// @return The single-process optimizer this rank drives (every rank's holds the same state); for
  ///         reading (best(), alphas(), ...; its x0() and save() throw logic_error after a sharded
  ///         update until this optimizer's x0() or save() has completed x0). Telling it directly
  ///         breaks the run.
  const diffevo::optimizer& local() const noexcept;
  /// @return Seconds this rank spent in MPI calls since construction (the fitness all-gather, the
  ///         row exchange, the agreement and hash checks), for measuring.
  double communication_seconds() const noexcept;

 private:
  friend optimize_result run(optimizer& opt, const local_fitness& fitness);
  struct state;
  explicit optimizer(std::unique_ptr<state> s);
  std::unique_ptr<state> s_;
};

/// Runs a whole optimization across `comm` (collective): each generation every rank evaluates its
/// rows, then tell_local(). The final population is evaluated too. If `fitness` throws on any rank,
/// every rank throws (see optimizer) and nothing hangs.
/// @return The same result on every rank (the whole final population and its fitness).
optimize_result optimize(const config& cfg, MPI_Comm comm, const local_fitness& fitness, const options& opts = {});

/// @return This process's rank among the ranks of `comm` on the same node (shared memory), for
///         picking one GPU per rank. Collective.
/// @throws logic_error before MPI_Init; invalid_argument for MPI_COMM_NULL.
/// @throws mpi_error if an MPI call fails (made on a duplicate of `comm` that returns errors).
int node_local_rank(MPI_Comm comm);

/// The 64-bit hash of a population (rows x cols floats, row-major) that the ranks compare for state
/// drift: each row's bits hashed alone, then the row hashes in order (diffevo/detail/hash.hpp). The
/// optimizer computes it where the population lives (the cuda backend on the device). Host only.
/// @throws invalid_argument for negative sizes or null data with rows x cols > 0.
std::uint64_t population_hash(const float* data, int rows, int cols);

}  // namespace diffevo::mpi

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif
