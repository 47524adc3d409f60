#include "cpu_backend.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <new>
#include <thread>
#include <vector>

#include "diffevo/detail/parallel.hpp"
#include "diffevo/error.hpp"
#include "message.hpp"
#include "vector_ops.hpp"
#include "rng.hpp"

namespace diffevo::detail {
namespace {

class cpu_backend final : public backend {
 public:
  explicit cpu_backend(const config& cfg)
      : n_(cfg.population), d_(cfg.dimension), latent_(cfg.latent_dim), density_(density_of(cfg)), rng_(cfg.seed) {
    threads_ = cfg.cpu_threads > 0 ? cfg.cpu_threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const std::size_t nd = static_cast<std::size_t>(n_) * d_;
    // Refuse what cannot fit before trying: x, parameters, x0, the next x0 and the noise are N x D
    // floats each (plus a transposed copy for plain D > 32).
    const bool wide = latent_ == 0 && d_ > k_direct_distance_max;
    const double need = (wide ? 24.0 : 20.0) * static_cast<double>(nd) + 4.0 * latent_ * d_;
    const double have = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGE_SIZE));
    if (have > 0 && need > have)
      throw out_of_memory(msg("cpu backend: the population (population = ", n_, ", dimension = ", d_, ") needs about ",
                              need / 1e9, " GB but this machine has ", have / 1e9, " GB of memory"));
    try {
      x_.resize(draw_count(nd));
      p_.resize(nd);
      x0_.resize(nd);
      x0_next_.resize(nd);
      z_.resize(draw_count(nd));
      fitness_.resize(static_cast<std::size_t>(n_));
      neff_.assign(static_cast<std::size_t>(n_), 1.0);
      center_ = expand_affine(cfg.center, d_, 0.0f);
      scale_ = expand_affine(cfg.scale, d_, 1.0f);
      if (latent_ > 0) {
        e_.resize(draw_count(static_cast<std::size_t>(latent_) * d_));
        q_.resize(static_cast<std::size_t>(n_) * latent_);
      }
    } catch (const std::bad_alloc&) {
      throw out_of_memory(msg("cpu backend: cannot allocate the population (population = ", n_, ", dimension = ", d_,
                              ", about ", 16.0 * static_cast<double>(nd) / 1e9, " GB)"));
    }
    rng_.fill(x_.data(), nd);
    if (latent_ > 0) {
      rng_.fill(e_.data(), static_cast<std::size_t>(latent_) * d_);
      for (int r = 0; r < latent_; ++r) {  // SPEC §5: unit-norm rows
        float* row = e_.data() + static_cast<std::size_t>(r) * d_;
        double s = 0;
        for (int c = 0; c < d_; ++c) s += double(row[c]) * row[c];
        const double inv = 1.0 / std::sqrt(s);
        for (int c = 0; c < d_; ++c) row[c] = static_cast<float>(row[c] * inv);
      }
    }
    refresh_params();
  }

  const float* host_params() override { return p_.data(); }

  fitness_summary summarize(const float* f) override {
    fitness_summary s = empty_summary();
    for (int j = 0; j < n_; ++j) summary_add(s, j, f[j], density_);
    std::copy(f, f + n_, fitness_.begin());
    summary_ = s;
    return s;
  }

  void update(const ddim_coefficients& c) override {
    std::vector<float> log_g(static_cast<std::size_t>(n_));
    for (int j = 0; j < n_; ++j) log_g[j] = final_log_density(fitness_[j], density_, summary_);

    const float* q = x_.data();
    int k = d_;
    if (latent_ > 0) {  // z = E x, recomputed every generation (SPEC §5)
      parallel_rows(n_, threads_, [&](int b, int e) {
        for (int i = b; i < e; ++i)
          for (int r = 0; r < latent_; ++r) {
            const float* xi = x_.data() + static_cast<std::size_t>(i) * d_;
            const float* er = e_.data() + static_cast<std::size_t>(r) * d_;
            double acc = 0;
            for (int cc = 0; cc < d_; ++cc) acc += double(er[cc]) * xi[cc];
            q_[static_cast<std::size_t>(i) * latent_ + r] = static_cast<float>(acc);
          }
      });
      q = q_.data();
      k = latent_;
    }

    const double inv2 = 1.0 / (2.0 * (1.0 - c.a_t));
    const double s = std::sqrt(c.a_t);
    const float sf = static_cast<float>(s);
    // Rows are processed in blocks: first each row's normalized weights (float64 log-domain softmax,
    // stored as float), then x0 = W X for the block, tiled over columns so one pass over X serves
    // k_row_block rows (float accumulation in j order, like the cuda backend's SGEMM).
    constexpr int k_row_block = 32, k_col_tile = 512, k_narrow = 8;
    // Coordinates above k_direct_distance_max: float64 distances computed for a block of rows at a
    // time against a transposed copy of q, so the inner loop runs over j (vectorizable) while each
    // distance still sums its coordinates in ascending order, exactly as the direct loop would.
    const bool wide = k > k_direct_distance_max;
    if (wide) {
      qt_.resize(static_cast<std::size_t>(k) * n_);
      for (int j = 0; j < n_; ++j)
        for (int cc = 0; cc < k; ++cc) qt_[static_cast<std::size_t>(cc) * n_ + j] = q[static_cast<std::size_t>(j) * k + cc];
    }
    constexpr int k_dist_tile = 256;
    parallel_rows(n_, threads_, [&](int b, int e) {
      std::vector<double> v(static_cast<std::size_t>(n_));
      std::vector<double> d2(wide ? static_cast<std::size_t>(k_row_block) * n_ : 0);
      std::vector<float> w(static_cast<std::size_t>(k_row_block) * n_);
      std::vector<float> acc(static_cast<std::size_t>(k_row_block) * k_col_tile);
      for (int i0 = b; i0 < e; i0 += k_row_block) {
        const int rows = std::min(k_row_block, e - i0);
        if (wide) {
          std::fill(d2.begin(), d2.end(), 0.0);
          for (int j0 = 0; j0 < n_; j0 += k_dist_tile) {
            const int jn = std::min(k_dist_tile, n_ - j0);
            for (int cc = 0; cc < k; ++cc) {
              const float* __restrict col = qt_.data() + static_cast<std::size_t>(cc) * n_ + j0;
              for (int r = 0; r < rows; ++r) {
                const double a = q[static_cast<std::size_t>(i0 + r) * k + cc];
                add_squared_differences(d2.data() + static_cast<std::size_t>(r) * n_ + j0, col, a, s, jn);
              }
            }
          }
        }
        for (int r = 0; r < rows; ++r) {
          const int i = i0 + r;
          const float* qi = q + static_cast<std::size_t>(i) * k;
          double vmax = -INFINITY;
          if (wide) {
            const double* dr = d2.data() + static_cast<std::size_t>(r) * n_;
            for (int j = 0; j < n_; ++j) {
              v[j] = log_weight(log_g[j], dr[j], inv2);
              vmax = std::max(vmax, v[j]);
            }
          } else {
            for (int j = 0; j < n_; ++j) {
              v[j] = log_weight(log_g[j], scaled_distance2(qi, q + static_cast<std::size_t>(j) * k, k, sf), inv2);
              vmax = std::max(vmax, v[j]);
            }
          }
          // Softmax with a max shift (SPEC §4): cannot underflow whatever D and a_t are.
          double sum = 0, sum_sq = 0;
          if (d_ <= k_narrow) {  // few columns: the row's x0 in the same pass (float64 sums, j order)
            double out[k_narrow] = {};
            for (int j = 0; j < n_; ++j) {
              const double wj = std::exp(v[j] - vmax);
              if (wj == 0) continue;
              sum += wj;
              sum_sq += wj * wj;
              const float* xj = x_.data() + static_cast<std::size_t>(j) * d_;
              for (int cc = 0; cc < d_; ++cc) out[cc] += wj * xj[cc];
            }
            float* x0i = x0_next_.data() + static_cast<std::size_t>(i) * d_;
            for (int cc = 0; cc < d_; ++cc) x0i[cc] = static_cast<float>(out[cc] / sum);
          } else {
            for (int j = 0; j < n_; ++j) {
              v[j] = std::exp(v[j] - vmax);
              sum += v[j];
              sum_sq += v[j] * v[j];
            }
            const double inv = 1.0 / sum;
            float* wr = w.data() + static_cast<std::size_t>(r) * n_;
            for (int j = 0; j < n_; ++j) wr[j] = static_cast<float>(v[j] * inv);
          }
          neff_[static_cast<std::size_t>(i)] = sum * sum / sum_sq;
        }
        if (d_ <= k_narrow) continue;
        for (int c0 = 0; c0 < d_; c0 += k_col_tile) {
          const int cols = std::min(k_col_tile, d_ - c0);
          std::fill(acc.begin(), acc.end(), 0.0f);
          for (int j = 0; j < n_; ++j) {
            const float* __restrict xj = x_.data() + static_cast<std::size_t>(j) * d_ + c0;
            for (int r = 0; r < rows; ++r) {
              const float wij = w[static_cast<std::size_t>(r) * n_ + j];
              if (wij == 0.0f) continue;
              add_scaled(acc.data() + static_cast<std::size_t>(r) * k_col_tile, xj, wij, cols);
            }
          }
          for (int r = 0; r < rows; ++r)
            std::copy_n(acc.data() + static_cast<std::size_t>(r) * k_col_tile, cols,
                        x0_next_.data() + static_cast<std::size_t>(i0 + r) * d_ + c0);
        }
      }
    });

    // Everything that can throw (allocation, threads, the noise draw) has happened by now; the
    // commit below cannot fail, so a throwing update leaves x, x0 and the noise position unchanged.
    const std::size_t nd = static_cast<std::size_t>(n_) * d_;
    const update_coefficients uc = update_of(c);
    const bool noisy = c.sigma > 0;
    if (noisy) rng_.fill(z_.data(), nd);
    x0_.swap(x0_next_);
    for (std::size_t t = 0; t < nd; ++t) x_[t] = ddim_update(x_[t], x0_[t], noisy ? z_[t] : 0.0f, uc);
    refresh_params();
  }

  std::vector<float> last_fitness() override { return fitness_; }

  double effective_neighbours() override {
    double m = 0;
    for (double v : neff_) m += v;
    return m / n_;
  }

  std::vector<float> x0_params() override {
    std::vector<float> out(x0_.size());
    to_params(x0_.data(), out.data(), static_cast<std::size_t>(n_), center_, scale_);
    return out;
  }

  void copy_params_row(int i, float* out) override {
    std::copy_n(p_.data() + static_cast<std::size_t>(i) * d_, d_, out);
  }

  state export_state() override {
    const std::size_t nd = static_cast<std::size_t>(n_) * d_;
    state st;
    st.x.assign(x_.begin(), x_.begin() + static_cast<std::ptrdiff_t>(nd));
    st.x0 = x0_;
    if (latent_ > 0) st.e.assign(e_.begin(), e_.begin() + static_cast<std::ptrdiff_t>(latent_) * d_);
    st.rng_position = rng_.position();
    return st;
  }

  void import_state(const state& st) override {
    rng_.seek(st.rng_position);  // the only call that can fail: first, so a failure changes nothing
    std::copy(st.x.begin(), st.x.end(), x_.begin());
    if (!st.x0.empty()) std::copy(st.x0.begin(), st.x0.end(), x0_.begin());
    if (latent_ > 0) std::copy(st.e.begin(), st.e.end(), e_.begin());
    refresh_params();
  }

  fitness_summary summarize_device(const float*) override {
    throw logic_error("cpu backend: device fitness is not available");  // the optimizer checks first
  }

 private:
  void refresh_params() { to_params(x_.data(), p_.data(), static_cast<std::size_t>(n_), center_, scale_); }

  int n_, d_, latent_;
  density_params density_;
  host_normal_generator rng_;
  int threads_ = 1;
  std::vector<float> x_, p_, x0_, x0_next_, z_, e_, q_, fitness_, center_, scale_;
  fitness_summary summary_ = empty_summary();
  std::vector<double> neff_;  // per row, last update
  std::vector<float> qt_;     // q transposed (k x N), wide distances only
};

}  // namespace

std::unique_ptr<backend> make_cpu_backend(const config& cfg) { return std::make_unique<cpu_backend>(cfg); }

}  // namespace diffevo::detail
