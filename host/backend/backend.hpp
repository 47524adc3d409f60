#pragma once
// The interface a backend (cpu in host/, cuda in cuda/) implements; the optimizer facade in
// host/api/optimizer.cpp owns validation, the generation counter and best-so-far bookkeeping.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "diffevo/config.hpp"
#include "diffevo/error.hpp"
#include "diffevo/optimizer.hpp"
#include "diffevo/detail/math.hpp"
#include "diffevo/schedule.hpp"
#include "host/util/message.hpp"

namespace diffevo::detail {

class row_exchange;

class backend {
 public:
  virtual ~backend() = default;
  /// The population in parameter space (N x D, host). Synchronizes.
  virtual const float* host_params() = 0;
  /// Reduces a host fitness vector (length N) and keeps it for the next update(). Changes no
  /// population state, so a summary with an error can be rejected by the caller.
  virtual fitness_summary summarize(const float* fitness) = 0;
  /// One DDIM generation with the last summarized fitness (noise is the next draw of the run).
  virtual void update(const ddim_coefficients& c) = 0;
  /// update() computing only ex's rows, then exchanging them (host/backend/row_exchange.hpp); the
  /// same bits as update(). On a throw the state is unchanged, as update()'s.
  virtual void update_rows(const ddim_coefficients& c, row_exchange& ex);
  /// After update_rows(), x0 holds this process's rows only (nothing reads it until asked): exchanges
  /// the rest. Collective; a no-op when x0 is whole. x0_params() and export_state() need it first.
  virtual void complete_rows(row_exchange&) {}
  /// True when update_rows() can move rows between devices itself (row_exchange::on_device()).
  virtual bool device_exchange_available() const { return false; }
  /// The device the population lives on, as its UUID in hex (32 digits), or "" (the cpu backend).
  virtual std::string device_identity() { return {}; }
  /// From the next update on, compute as config::cpu_math = exact (the cpu backend; others always do).
  virtual void use_exact_math() {}
  /// The population hash of the parameters (diffevo/detail/hash.hpp), computed where they live.
  virtual std::uint64_t params_hash() = 0;
  /// The fitness of the last summarize() (N values, host copy).
  virtual std::vector<float> last_fitness() = 0;
  /// Mean over rows of 1 / sum_j w_ij^2 for the weights of the last update().
  virtual double effective_neighbours() = 0;
  /// The last x0 estimate in parameter space (N x D).
  virtual std::vector<float> x0_params() = 0;
  /// Copies individual i's parameters to `out` (D floats).
  virtual void copy_params_row(int i, float* out) = 0;

  /// The state a checkpoint holds: x (N x D), the last x0 (N x D, or empty), the projection E (d x D,
  /// or empty) and the noise sequence position. Synchronizes.
  struct state {
    std::vector<float> x, x0, e;
    std::uint64_t rng_position = 0;
  };
  virtual state export_state() = 0;
  /// Replaces the state (sizes already validated) and recomputes the parameters.
  virtual void import_state(const state& s) = 0;

  // Device access (cuda backend only; the optimizer checks the backend kind before calling these).
  /// The population in parameter space, device pointer; stream-ordered, no synchronization.
  virtual const float* device_params() { return nullptr; }
  /// summarize() with the fitness in device memory.
  virtual fitness_summary summarize_device(const float* d_fitness) = 0;
  /// N floats of device memory for a fitness kernel.
  virtual float* device_fitness() { return nullptr; }
  virtual cuda_stream stream() const { return nullptr; }
  /// Copies n floats from device to host memory in stream order and waits for them (cuda only).
  virtual void download(const float* d_src, float* h_dst, std::size_t n);

  // Deferred tells (cuda backend, fused update only): the summary, its checks and best-so-far stay on
  // the device, so a whole run needs one host synchronization. A fitness error halts the device work
  // of that generation and every later one; end_deferred() rewinds the noise position to it.
  /// True when begin/tell/end_deferred are available.
  virtual bool can_defer() const { return false; }
  /// Starts a deferred sequence from the host's best-so-far (best_row: D floats, or null).
  virtual void begin_deferred(const float* best_row, float best_fitness);
  /// Enqueues generation `generation`: summary of the device fitness, checks, best-so-far, update(c).
  virtual void tell_deferred(const float* d_fitness, const ddim_coefficients& c, int generation);
  struct deferred_outcome {
    bool halted = false;       ///< a fitness error stopped the sequence
    int error_generation = 0;  ///< at this generation (the state is the one it was asked with)
    fitness_summary error{};   ///< that generation's summary
    bool has_best = false;     ///< best-so-far after the sequence (including the host's at the start)
    float best_fitness = 0;
    std::vector<float> best;
    int last_nonfinite = 0;    ///< of the last generation that went through
    long long nonfinite = 0;   ///< over the generations that went through
    int completed = 0;         ///< generations that went through
  };
  /// Waits for the device and reports; the backend is ready for the next (synchronous or deferred) tell.
  virtual deferred_outcome end_deferred();
};

inline void backend::update_rows(const ddim_coefficients&, row_exchange&) {
  throw logic_error("this backend has no sharded update");
}
inline void backend::begin_deferred(const float*, float) {
  throw logic_error("this backend has no deferred tells (can_defer() is false)");
}
inline void backend::tell_deferred(const float*, const ddim_coefficients&, int) {
  throw logic_error("this backend has no deferred tells (can_defer() is false)");
}
inline void backend::download(const float*, float*, std::size_t) {
  throw logic_error("this backend has no device memory");
}
inline backend::deferred_outcome backend::end_deferred() {
  throw logic_error("this backend has no deferred tells (can_defer() is false)");
}

/// Refuses what cannot fit before trying: throws out_of_memory naming `who`, the population and the
/// dimension when `need` bytes exceed this machine's physical memory (the cpu backend, the baselines).
inline void require_host_memory(const char* who, int n, int d, double need) {
  const double have = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGE_SIZE));
  if (have > 0 && need > have)
    throw out_of_memory(msg(who, ": the population (population = ", n, ", dimension = ", d, ") needs about ", need / 1e9,
                            " GB but this machine has ", have / 1e9, " GB of memory"));
}

/// Plain-data density settings of a config.
inline density_params density_of(const config& c) {
  return density_params{static_cast<int>(c.density), c.goal == objective::minimize, c.power, c.temperature};
}

/// A validated center/scale field (0, 1 or D values) expanded to D values.
inline std::vector<float> expand_affine(const std::vector<float>& v, int dim, float dflt) {
  if (v.empty()) return std::vector<float>(static_cast<std::size_t>(dim), dflt);
  if (v.size() == 1) return std::vector<float>(static_cast<std::size_t>(dim), v[0]);
  return v;
}

/// Whether p = center + scale x stays finite in float for every |x| <= k_max_abs_x (what validate()
/// asks of a config's center and scale, and of a baseline's mean0 and step size).
inline bool map_fits_float(double center, double scale) {
  return std::fabs(center) + scale * k_max_abs_x <= std::numeric_limits<float>::max();
}

/// Whether the parameter value p lies in the parameter map's range: finite, and its internal
/// coordinate (p - center) / scale within k_max_abs_x (the bound validate() sizes center and scale by).
inline bool within_parameter_map(float p, float center, float scale) {
  return std::isfinite(p) && std::fabs((static_cast<double>(p) - center) / scale) <= k_max_abs_x;
}

/// out = center + scale * x for `rows` rows of D = center.size() values (docs/algorithm.md §1 parameter map).
inline void to_params(const float* x, float* out, std::size_t rows, const std::vector<float>& center,
                      const std::vector<float>& scale) {
  const std::size_t dim = center.size();
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t c = 0; c < dim; ++c) out[i * dim + c] = center[c] + scale[c] * x[i * dim + c];
}

/// True when fitness `a` is strictly better than `b` under `goal` (ties keep the earlier one).
inline bool improves(float a, float b, objective goal) { return better_than(a, b, goal == objective::minimize); }
/// improves() for fitness kept in double (open_ended::tell(const double*, ...)).
inline bool improves(double a, double b, objective goal) { return goal == objective::minimize ? a < b : a > b; }

/// Float update coefficients from the double ones.
inline update_coefficients update_of(const ddim_coefficients& c) {
  return update_coefficients{static_cast<float>(std::sqrt(c.a_p)), static_cast<float>(std::sqrt(c.a_t)),
                             static_cast<float>(1.0 / std::sqrt(1 - c.a_t)), static_cast<float>(c.c_eps),
                             static_cast<float>(c.sigma)};
}

}  // namespace diffevo::detail
