#pragma once
// What every baseline shares: the population buffer, the ask/tell state machine, fitness
// classification and best-so-far (host/baselines/strategy.cpp), and the algorithm-specific parts
// each baseline overrides (sample the next population, update from the told fitness).
#include <cstdint>
#include <string>
#include <vector>

#include "host/api/record.hpp"
#include "host/cpu/rng.hpp"
#include "diffevo/baselines.hpp"

namespace diffevo::detail {

/// The population buffer (draw_count(n d) floats); throws out_of_memory naming population and
/// dimension when `need` bytes (all the strategy's buffers) exceed this machine's memory, before
/// trying (host/baselines/strategy.cpp).
std::vector<float> population_buffer(const char* who, int n, int d, double need);

/// In a catch block for std::bad_alloc: rethrows it as out_of_memory naming the sizes (an
/// out_of_memory as it is).
[[noreturn]] void rethrow_as_out_of_memory(const char* who, int n, int d);

struct baseline_state {
  /// `bytes` estimates all the strategy's buffers (population_buffer checks it).
  baseline_state(const char* name_, int population, int dimension, int generations_, objective goal_,
                 std::uint64_t seed, double bytes)
      : name(name_), n(population), d(dimension), generations(generations_), goal(goal_), rng(seed),
        pop(population_buffer(name_, population, dimension, bytes)) {}
  virtual ~baseline_state() = default;

  /// Fills `pop` (n x d) from the current search distribution.
  virtual void sample() = 0;
  /// One update from utilities u (n values, larger is better; non-finite fitness already mapped to
  /// the worst finite utility, and `dropped` marks them).
  virtual void update(const std::vector<double>& u, const std::vector<char>& dropped) = 0;
  virtual std::vector<float> mean() const = 0;

  /// n normal draws per row into `out` (n x d floats, capacity draw_count).
  void normals(float* out, std::size_t count) { rng.fill(out, count); }

  const char* name;
  int n, d, generations;
  objective goal;
  host_normal_generator rng;
  std::vector<float> pop;
  int generation = 0;
  bool asked = false;
  std::vector<float> best;
  float best_fitness = 0;
  bool has_best = false;
  long long nonfinite = 0;
  observer_slot observer;
  std::vector<unsigned char> config;  ///< the config as a checkpoint encodes it (baseline_config_bytes)
  std::vector<float> told;            ///< every fitness told, generation by generation (checkpoints replay them)
  double last_tell = 0;  ///< seconds_now() at the previous tell (or construction)
};

/// The config's fields as a baseline checkpoint holds them (host/baselines/checkpoint.cpp).
std::vector<unsigned char> baseline_config_bytes(const cma_es_config& c);
std::vector<unsigned char> baseline_config_bytes(const open_es_config& c);
std::vector<unsigned char> baseline_config_bytes(const pepg_config& c);

/// Centered ranks in [-0.5, 0.5] (estool's compute_centered_ranks); dropped entries rank below
/// every finite one; ties by index.
std::vector<double> centered_ranks(const std::vector<double>& u, const std::vector<char>& dropped);

/// Adam as in estool (ascent on the gradient estimate g): theta += a m / (sqrt(v) + 1e-8).
struct adam {
  explicit adam(int d, double beta1 = 0.99, double beta2 = 0.999)
      : b1(beta1), b2(beta2), m(static_cast<std::size_t>(d), 0.0), v(static_cast<std::size_t>(d), 0.0) {}
  void ascend(std::vector<double>& theta, const std::vector<double>& g, double stepsize);
  double b1, b2;
  std::vector<double> m, v;
  int t = 0;
};

/// estool's fitness shaping: centered ranks (or the utilities as they are), then the L2 penalty
/// -weight_decay * mean_j(x_kj^2) on each finite entry of the population `pop` (n x d).
std::vector<double> shaped_fitness(const std::vector<double>& u, const std::vector<char>& dropped, bool ranks,
                                   double weight_decay, const std::vector<float>& pop, int d);

/// The fields OpenES and PEPG share, validated with `who` ("open-es", "pepg") in the messages.
struct gradient_es_fields {
  int dimension, generations;
  double sigma_init, sigma_decay, sigma_limit, learning_rate, learning_rate_decay, learning_rate_limit, weight_decay;
};
void validate_gradient_es(const gradient_es_fields& f, const char* who);

/// Validates a mean0 field (0 or d finite values) with the initial step size `sigma` (named
/// `sigma_name`: samples mean + sigma z must fit a float) and expands it.
std::vector<double> initial_mean(const std::vector<float>& mean0, int d, double sigma, const char* sigma_name,
                                 const char* who);

}  // namespace diffevo::detail
