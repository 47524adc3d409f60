// The evaluator facade: validation at the API boundary and backend choice. The cpu work is the
// environment's host loop (diffevo/detail/rollout.hpp), the cuda work in cuda/rollout/rollout.cu.
#include "diffevo/rollout.hpp"

#include <climits>
#include <cmath>
#include <sstream>
#include <string>

#include "diffevo/error.hpp"
#include "library_cartpole.hpp"
#include "host/util/message.hpp"
#include "rollout_backend.hpp"

namespace diffevo {
namespace {

std::string widths_text(const std::vector<int>& w) {
  std::ostringstream os;
  for (std::size_t i = 0; i < w.size(); ++i) os << (i ? "-" : "") << w[i];
  return os.str();
}

detail::rollout_params validated(const rollout_config& c, const rollout_environment& en) {
  DIFFEVO_EXPECTS(en.name != nullptr && en.run_host != nullptr && en.obs_dim >= 1 && en.num_actions >= 1,
                  invalid_argument, "environment: incomplete (name ", en.name ? "set" : "null", ", run_host ",
                  en.run_host ? "set" : "null", ", obs_dim ", en.obs_dim, en.continuous ? ", action_dim " : ", num_actions ", en.num_actions,
                  "); make it with make_environment<Env>(name) or make_host_environment<Env>(name)");
  // (A build without CUDA has no device code for any environment: the constructor says so.)
  DIFFEVO_EXPECTS(c.backend != backend_kind::cuda || en.launch_device != nullptr || !built_with_cuda(), invalid_argument,
                  "backend = cuda, but the ", en.name, " environment has no device code (make_host_environment); "
                  "make it with make_environment<Env>(name) of diffevo/rollout.cuh, compiled by nvcc");
  const std::string arch = widths_text(c.layers);
  DIFFEVO_EXPECTS(c.layers.size() >= 2 && c.layers.size() <= static_cast<std::size_t>(env::k_max_layers),
                  invalid_argument, "layers must list 2 to ", env::k_max_layers, " widths (got ", c.layers.size(),
                  ": ", arch, ")");
  for (std::size_t l = 0; l < c.layers.size(); ++l)
    DIFFEVO_EXPECTS(c.layers[l] >= 1 && c.layers[l] <= env::k_max_width, invalid_argument, "layers[", l,
                    "] must be in [1, ", env::k_max_width, "] (got ", c.layers[l], " in ", arch, ")");
  DIFFEVO_EXPECTS(c.layers.front() == en.obs_dim, invalid_argument, "layers[0] must be ", en.obs_dim, " (the ",
                  en.name, " observation size; got ", c.layers.front(), " in ", arch, ")");
  DIFFEVO_EXPECTS(c.layers.back() == en.num_actions, invalid_argument, "the last layer width must be ",
                  en.num_actions, en.continuous ? " (the dimension of the " : " (one logit per ", en.name,
                  " action; got ", c.layers.back(), " in ", arch, ")");
  detail::expect_enum<invalid_argument>(c.backend, "backend", 3, "automatic, cpu or cuda (0-2)");
  DIFFEVO_EXPECTS(c.episodes >= 1, invalid_argument, "episodes must be >= 1 (got ", c.episodes, ")");
  DIFFEVO_EXPECTS(c.max_steps >= 1, invalid_argument, "max_steps must be >= 1 (got ", c.max_steps, ")");
  // A return is a float mean over the episodes; count_steps() and last_steps() rebuild the step totals
  // from it, exactly while episodes x max_steps <= 2^23 (its rounding times episodes stays below 1/2).
  DIFFEVO_EXPECTS(static_cast<long long>(c.episodes) * c.max_steps <= (1LL << 23), invalid_argument,
                  "episodes x max_steps must be at most 2^23 = 8388608, so that a float return counts its steps "
                  "exactly (got ", c.episodes, " x ", c.max_steps, ")");
  DIFFEVO_EXPECTS(c.cpu_threads >= 0 && c.cpu_threads <= k_max_cpu_threads, invalid_argument,
                  "cpu_threads must be in [0, ", k_max_cpu_threads, "] (got ", c.cpu_threads, ")");
  detail::rollout_params rp{};
  rp.shape.layers = static_cast<int>(c.layers.size());
  for (int l = 0; l < rp.shape.layers; ++l) rp.shape.widths[l] = c.layers[static_cast<std::size_t>(l)];
  DIFFEVO_EXPECTS(rp.shape.parameter_count() <= INT_MAX, invalid_argument, "the ", arch, " MLP has ",
                  rp.shape.parameter_count(), " parameters, more than ", INT_MAX);
  rp.episodes = c.episodes;
  rp.max_steps = c.max_steps;
  rp.normalize = c.normalize_obs;
  rp.seed = c.seed;
  rp.fixed_start = c.fixed_start;
  return rp;
}

}  // namespace

struct rollout_evaluator::impl {
  rollout_config cfg;
  std::string name;         ///< the environment's name (env.name points here)
  rollout_environment env;
  detail::rollout_params rp;
  backend_kind kind = backend_kind::cpu;
  std::unique_ptr<detail::rollout_device> dev;
  long long last_steps = 0;

  void check(const population_view& v, const void* out, const char* call) const {
    const long long p = rp.shape.parameter_count();
    DIFFEVO_EXPECTS(v.cols == p, invalid_argument, call, ": the parameter matrix has ", v.cols,
                    " columns but the ", widths_text(cfg.layers), " MLP has ", p, " parameters");
    DIFFEVO_EXPECTS(v.rows >= 0, invalid_argument, call, ": rows must be >= 0 (got ", v.rows, ")");
    DIFFEVO_EXPECTS(v.rows == 0 || (v.data != nullptr && out != nullptr), invalid_argument, call,
                    ": null parameter or return pointer");
  }
};

rollout_evaluator::rollout_evaluator(const rollout_config& cfg, const rollout_environment& env)
    : p_(std::make_unique<impl>()) {
  p_->rp = validated(cfg, env);
  p_->cfg = cfg;
  p_->name = env.name;
  p_->env = env;
  p_->env.name = p_->name.c_str();
  const bool gpu = cfg.backend == backend_kind::cuda ||
                   (cfg.backend == backend_kind::automatic && env.launch_device && cuda_device_available());
  if (gpu) {  // throws device_unavailable with the reason when there is no device
    p_->kind = backend_kind::cuda;
    p_->dev = detail::make_cuda_rollout(p_->rp, p_->env);
  }
}

rollout_evaluator::~rollout_evaluator() = default;
rollout_evaluator::rollout_evaluator(rollout_evaluator&&) noexcept = default;
rollout_evaluator& rollout_evaluator::operator=(rollout_evaluator&&) noexcept = default;

int rollout_evaluator::parameter_count() const noexcept { return static_cast<int>(p_->rp.shape.parameter_count()); }
backend_kind rollout_evaluator::backend() const noexcept { return p_->kind; }
const rollout_config& rollout_evaluator::cfg() const noexcept { return p_->cfg; }
const rollout_environment& rollout_evaluator::environment() const noexcept { return p_->env; }
long long rollout_evaluator::last_steps() const noexcept { return p_->last_steps; }

long long rollout_evaluator::count_steps(const float* returns, int n) const {
  DIFFEVO_EXPECTS(!p_->env.rewarded, logic_error, "count_steps: the ", p_->name,
                  " environment has rewards, so its returns are not episode lengths");
  DIFFEVO_EXPECTS(n >= 0 && (n == 0 || returns != nullptr), invalid_argument,
                  "count_steps: n must be >= 0 with non-null returns (got n = ", n, ")");
  // A return is a mean episode length, in [1, max_steps]; anything else did not come from evaluate()
  // (and a NaN or huge value would overflow the count).
  long long s = 0;
  for (int i = 0; i < n; ++i) {
    DIFFEVO_EXPECTS(returns[i] >= 1.0f && static_cast<double>(returns[i]) <= p_->rp.max_steps, invalid_argument, "count_steps: returns[", i,
                    "] = ", returns[i], " is not an episode length in [1, max_steps = ", p_->rp.max_steps, "]");
    s += std::llround(static_cast<double>(returns[i]) * p_->rp.episodes);
  }
  return s;
}

void rollout_evaluator::evaluate(population_view params, float* returns, std::uint64_t generation,
                                 std::uint64_t first_individual) {
  p_->check(params, returns, "evaluate");
  if (params.rows == 0) {
    p_->last_steps = 0;
    return;
  }
  if (p_->kind == backend_kind::cuda)
    p_->dev->evaluate_host(params.data, params.rows, returns, generation, first_individual);
  else {
    detail::rollout_params rp = p_->rp;
    rp.first_individual = first_individual;
    p_->env.run_host(rp, params.data, params.rows, returns, generation, p_->cfg.cpu_threads);
  }
  p_->last_steps = p_->env.rewarded ? -1 : count_steps(returns, params.rows);
}

void rollout_evaluator::evaluate_device(population_view d_params, float* d_returns, std::uint64_t generation,
                                         cuda_stream stream, std::uint64_t first_individual) {
  DIFFEVO_EXPECTS(p_->kind == backend_kind::cuda, logic_error,
                  "evaluate_device() needs backend = cuda; this evaluator runs on cpu");
  p_->check(d_params, d_returns, "evaluate_device");
  p_->last_steps = -1;
  if (d_params.rows == 0) return;
  p_->dev->evaluate_device(d_params.data, d_params.rows, d_returns, generation, first_individual, stream);
}

rollout_environment cartpole_environment() {
  rollout_environment e = make_host_environment<detail::library_cartpole>("cart-pole");
  e.run_host = &detail::rollout_cartpole_host;
  if (built_with_cuda()) e.launch_device = &detail::launch_cartpole_on_device;
  return e;
}

}  // namespace diffevo
