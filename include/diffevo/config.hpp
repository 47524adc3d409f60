#pragma once
/// \file
/// The run configuration of a Diffusion Evolution optimizer (docs/algorithm.md §1-§5).

#include <cstdint>
#include <string>
#include <vector>

namespace diffevo {

/// Noise schedule `alpha[0] > ... > alpha[T-1]` (docs/algorithm.md §2).
enum class schedule_kind {
  cosine,  ///< default; alpha from 0.999 down to 9.98e-4
  linear,  ///< evenly spaced from 1 - 1e-4 down to 1e-8
  ddpm,    ///< exp(-b s - g s^2), pinned at 1 - 1e-4 and 1e-4; decreasing up to about 184,000 steps (more: refused)
  user     ///< `config::user_alphas`, strictly decreasing, each in (0, 1)
};

/// How raw fitness becomes a density `g >= 0` (docs/algorithm.md §3).
enum class density_kind {
  identity,     ///< g = f'  (f' = f when maximizing, -f when minimizing; f' < 0 is an error)
  power,        ///< g = (f' / temperature)^power  (same sign rule)
  energy,       ///< log g = (f' - max f') / temperature  (default; any sign)
  log_density,  ///< the values passed to tell() are log g directly (higher is better: goal must be maximize)
};

/// Whether larger or smaller fitness is better.
enum class objective { maximize, minimize };

/// Where the population lives and the update runs.
enum class backend_kind {
  automatic,  ///< cuda when a CUDA device can be used (cuda_device_available()), else cpu
  cpu,        ///< host threads; same algorithm and noise as cuda
  cuda        ///< device-resident population; throws device_unavailable without a device
};

/// How the cpu backend computes its large products and its noise (docs/algorithm.md §9). Both
/// choices run the same algorithm at the same accuracy; they differ in speed and in what the bits
/// depend on.
enum class cpu_math_kind {
  automatic,  ///< fast, except under the MPI component (diffevo::mpi), where it is exact
  exact,      ///< the library's own kernels: the same bits on every x86-64 processor, vector width,
              ///< thread count and MPI rank split; the noise is bit for bit cuRAND's host generator
  fast        ///< x0 = W X by the BLAS the library was built with (SGEMM) and, plain D > 32, the Gram
              ///< matrix too (DSYRK); the noise's log, sin and cos by the library's vectorized
              ///< functions. The bits may depend on the BLAS, the processor and the thread count.
};

/// Everything that defines a run. All fields are validated by `validate()` (called by the optimizer
/// constructor); a bad field throws `diffevo::invalid_argument` naming the field and the value.
struct config {
  int population = 512;  ///< N >= 2
  int dimension = 2;     ///< D >= 1, parameters per individual
  int steps = 25;        ///< 2 <= T <= k_max_steps noise levels; a run has T - 1 generations

  schedule_kind schedule = schedule_kind::cosine;  ///< noise schedule (docs/algorithm.md §2)
  std::vector<double> user_alphas;  ///< used when schedule == user; size T, strictly decreasing, in (0, 1)

  /// DDIM stochasticity: 0 is deterministic DDIM, 1 is DDPM. Values > 1 are allowed only while
  /// `1 - a_p - sigma^2 >= 0` at every generation.
  double eta = 1.0;

  density_kind density = density_kind::energy;  ///< fitness to density mapping (docs/algorithm.md §3)
  double power = 1.0;        ///< exponent of density_kind::power, > 0
  double temperature = 1.0;  ///< of power and energy, > 0
  objective goal = objective::maximize;  ///< whether larger or smaller fitness is better

  int latent_dim = 0;  ///< d: 0 = plain (distances in x), else 1 <= d <= D (docs/algorithm.md §5)

  /// User parameters are p = center + scale * x. Each vector is empty (0 and 1), one value (all
  /// dimensions) or D values (per dimension). scale must be finite and > 0, and p must stay finite in
  /// float for |x| <= k_max_abs_x: |center| + scale * k_max_abs_x <= FLT_MAX (about 3.4e38).
  /// p is a float: a scale far below the float spacing at the center (1e-10 at center 1000, where
  /// floats are 6e-5 apart) leaves every p of that dimension at the center. Not refused (a run may
  /// narrow to float resolution on purpose); choose scale for the resolution you need.
  std::vector<float> center;
  std::vector<float> scale;  ///< as center (see above); each value finite and > 0

  std::uint64_t seed = 0;  ///< one seed gives one run (bit-identical on the same backend)

  backend_kind backend = backend_kind::automatic;  ///< where the population lives and the update runs
  int cpu_threads = 0;  ///< cpu backend worker threads (and the BLAS's); 0 = hardware concurrency; at most k_max_cpu_threads
  /// How the cpu backend computes (see cpu_math_kind). Like cpu_threads, a choice of this process:
  /// checkpoints do not record it, and a run may resume under the other choice.
  cpu_math_kind cpu_math = cpu_math_kind::automatic;
};

/// The largest `steps` accepted (the schedule is a table of `steps` doubles).
constexpr int k_max_steps = 1000000;

/// The internal coordinates x start as N(0, 1) and stay within a few units; validate() requires
/// `center + scale * x` to be finite in float for every |x| up to this bound.
constexpr double k_max_abs_x = 1e6;
/// The most cpu worker threads a config may ask for (config::cpu_threads).
constexpr int k_max_cpu_threads = 4096;

/// Checks every field of a configuration (the optimizer constructor calls it).
///
/// Enum fields must hold one of their named values (a number cast to the enum is refused, naming
/// it). A user schedule and `eta` are checked by building the schedule and every generation's
/// coefficients.
/// @param cfg The configuration to check.
/// @throws invalid_argument naming the first bad field and its value.
/// @note Host only; no device work (it does not look for a CUDA device either).
void validate(const config& cfg);

/// The name of a schedule kind, used in messages and logs.
/// @param k The value to name.
/// @return "cosine", "linear", "ddpm" or "user"; "?" for a value outside the enum.
/// @note Host only; no device work.
const char* to_string(schedule_kind k) noexcept;
/// The name of a density mapping, used in messages and logs.
/// @param k The value to name.
/// @return "identity", "power", "energy" or "log_density"; "?" for a value outside the enum.
/// @note Host only; no device work.
const char* to_string(density_kind k) noexcept;
/// The name of an objective, used in messages and logs.
/// @param k The value to name.
/// @return "maximize" or "minimize"; "?" for a value outside the enum.
/// @note Host only; no device work.
const char* to_string(objective k) noexcept;
/// The name of a backend kind, used in messages and logs.
/// @param k The value to name.
/// @return "automatic", "cpu" or "cuda"; "?" for a value outside the enum.
/// @note Host only; no device work.
const char* to_string(backend_kind k) noexcept;
/// The name of a cpu math choice, used in messages and logs.
/// @param k The value to name.
/// @return "automatic", "exact" or "fast"; "?" for a value outside the enum.
/// @note Host only; no device work.
const char* to_string(cpu_math_kind k) noexcept;

/// Whether this library was built with a BLAS for the cpu backend's fast products (CMake option
/// DIFFEVO_CPU_BLAS, OpenBLAS); without one, cpu_math = fast computes them with the exact kernels.
/// @note Host only; no device work.
bool cpu_blas_available() noexcept;

}  // namespace diffevo
