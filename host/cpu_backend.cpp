#include "cpu_backend.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
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
      : n_(cfg.population), d_(cfg.dimension), latent_(cfg.latent_dim), density_(density_of(cfg)), rng_(cfg.seed, cfg.cpu_threads) {
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
          for (int r = 0; r < latent_; ++r)
            q_[static_cast<std::size_t>(i) * latent_ + r] = static_cast<float>(
                dot(e_.data() + static_cast<std::size_t>(r) * d_, x_.data() + static_cast<std::size_t>(i) * d_, d_));
      });
      q = q_.data();
      k = latent_;
    }

    const double inv2 = 1.0 / (2.0 * (1.0 - c.a_t));
    const double s = std::sqrt(c.a_t);
    const float sf = static_cast<float>(s);
    // Rows are processed in blocks: first each row's normalized weights (float64 log-domain softmax),
    // then x0 = W X for the block, tiled over columns so one pass over X serves row_block rows
    // (float accumulation in j order, like the cuda backend's SGEMM). With at most k_narrow columns,
    // each row's x0 is a float64 weighted sum instead.
    constexpr int k_narrow = 8, k_dist_j = 512, k_dist_c = 256;
    // Rows per block: the block's float weights take about 2 MB (32 to 1024 rows, a multiple of
    // k_tile_rows), so each packed panel of X serves many rows. No result depends on this choice.
    const int row_block = std::max(32, std::min(1024, (1 << 19) / n_ / 32 * 32));
    // Every loop over j reads a transposed copy of q (k x N), so it runs over contiguous memory and
    // vectorizes, while each distance still sums its coordinates in ascending order as
    // detail::scaled_distance2 does (float for k <= k_direct_distance_max, float64 above: "wide").
    const bool wide = k > k_direct_distance_max;
    const bool narrow = d_ <= k_narrow;
    const int n_pad = (n_ + k_lanes - 1) / k_lanes * k_lanes;  // qt_'s row stride: whole lane vectors
    transpose(q, n_, k, n_pad, qt_);
    if (narrow) transpose(x_.data(), n_, d_, n_, xt_);
    parallel_rows(n_, threads_, [&](int b, int e) {
      std::vector<double> v(static_cast<std::size_t>(n_));
      std::vector<float> d2f(wide ? 0 : static_cast<std::size_t>(n_));
      std::vector<double> d2(wide ? static_cast<std::size_t>(std::min(row_block, e - b)) * n_pad : 0);
      std::vector<float> w(narrow ? 0 : static_cast<std::size_t>(std::min(row_block, e - b) + k_tile_rows) * n_);
      std::vector<float> tile(static_cast<std::size_t>(k_tile_rows) * k_tile_cols);
      std::vector<float> panel(narrow ? 0 : static_cast<std::size_t>(n_) * k_tile_cols, 0.0f);
      for (int i0 = b; i0 < e; i0 += row_block) {
        const int rows = std::min(row_block, e - i0);
        if (wide) {  // float64 distances for the whole block, in register tiles of 4 rows x k_lanes j
          std::fill(d2.begin(), d2.end(), 0.0);
          for (int j1 = 0; j1 < n_; j1 += k_dist_j)
            for (int c0 = 0; c0 < k; c0 += k_dist_c) {  // each distance continues its sum in ascending c
              const int kc = std::min(k_dist_c, k - c0);
              for (int g = 0; g < rows; g += k_tile_rows)
                for (int j0 = j1; j0 < std::min(n_, j1 + k_dist_j); j0 += k_lanes)
                  squared_distance_tile(q + static_cast<std::size_t>(i0 + g) * k + c0, k, std::min(k_tile_rows, rows - g),
                                        qt_.data() + static_cast<std::size_t>(c0) * n_pad + j0, n_pad, kc, s,
                                        d2.data() + static_cast<std::size_t>(g) * n_pad + j0, n_pad);
            }
        }
        for (int r = 0; r < rows; ++r) {
          const int i = i0 + r;
          double vmax;
          if (wide) {
            vmax = log_weights(v.data(), log_g.data(), d2.data() + static_cast<std::size_t>(r) * n_pad, inv2, n_);
          } else {
            const float* qi = q + static_cast<std::size_t>(i) * k;
            std::fill(d2f.begin(), d2f.end(), 0.0f);
            for (int cc = 0; cc < k; ++cc)
              add_squared_differences(d2f.data(), qt_.data() + static_cast<std::size_t>(cc) * n_pad, qi[cc], sf, n_);
            vmax = log_weights(v.data(), log_g.data(), d2f.data(), inv2, n_);
          }
          // Softmax with a max shift (SPEC §4): cannot underflow whatever D and a_t are.
          exp_shifted(v.data(), vmax, n_);
          double sum = 0, sum_sq = 0;
          sum_and_squares(v.data(), n_, &sum, &sum_sq);
          if (narrow) {
            float* x0i = x0_next_.data() + static_cast<std::size_t>(i) * d_;
            for (int cc = 0; cc < d_; ++cc)
              x0i[cc] = static_cast<float>(dot(v.data(), xt_.data() + static_cast<std::size_t>(cc) * n_, n_) / sum);
          } else {
            scale_to_float(w.data() + static_cast<std::size_t>(r) * n_, v.data(), 1.0 / sum, n_);
          }
          neff_[static_cast<std::size_t>(i)] = sum * sum / sum_sq;
        }
        if (narrow) continue;
        // x0 = W X for the block, in tiles of k_tile_rows x k_tile_cols held in registers. Each
        // panel of k_tile_cols columns of X is first copied to contiguous memory, then serves every
        // row group of the block. Rows past the block's end have zero weights, and the last panel's
        // columns past D hold stale values: both results are dropped.
        std::fill(w.begin() + static_cast<std::ptrdiff_t>(rows) * n_, w.end(), 0.0f);
        for (int cc = 0; cc < d_; cc += k_tile_cols) {
          const int nc = std::min(k_tile_cols, d_ - cc);
          if (nc == k_tile_cols) {
            for (int j = 0; j < n_; ++j)
              std::memcpy(panel.data() + static_cast<std::size_t>(j) * k_tile_cols,
                          x_.data() + static_cast<std::size_t>(j) * d_ + cc, sizeof(float) * k_tile_cols);
          } else {
            for (int j = 0; j < n_; ++j)
              std::copy_n(x_.data() + static_cast<std::size_t>(j) * d_ + cc, nc,
                          panel.data() + static_cast<std::size_t>(j) * k_tile_cols);
          }
          for (int g = 0; g < rows; g += k_tile_rows) {
            weighted_sum_tile(w.data() + static_cast<std::size_t>(g) * n_, n_, panel.data(), k_tile_cols, n_,
                              tile.data());
            for (int r = 0; r < std::min(k_tile_rows, rows - g); ++r)
              std::copy_n(tile.data() + static_cast<std::size_t>(r) * k_tile_cols, nc,
                          x0_next_.data() + static_cast<std::size_t>(i0 + g + r) * d_ + cc);
          }
        }
      }
    });

    // The new x is written into z_ (the noise is read first, element by element), so a throw up to
    // here (allocation, threads, the noise draw) leaves x, x0 and the noise position unchanged; the
    // commit after it is swaps and the idempotent parameter map.
    const std::size_t nd = static_cast<std::size_t>(n_) * d_;
    const update_coefficients uc = update_of(c);
    const bool noisy = c.sigma > 0;
    if (noisy) rng_.fill(z_.data(), nd);
    parallel_rows(n_, threads_, [&](int b, int e) {
      for (std::size_t t = static_cast<std::size_t>(b) * d_; t < static_cast<std::size_t>(e) * d_; ++t)
        z_[t] = ddim_update(x_[t], x0_next_[t], noisy ? z_[t] : 0.0f, uc);
    });
    x0_.swap(x0_next_);
    x_.swap(z_);
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
  /// out (cols x stride, zero past rows) = a (rows x cols) transposed.
  static void transpose(const float* a, int rows, int cols, int stride, std::vector<float>& out) {
    out.assign(static_cast<std::size_t>(stride) * cols, 0.0f);
    for (int j = 0; j < rows; ++j)
      for (int cc = 0; cc < cols; ++cc)
        out[static_cast<std::size_t>(cc) * stride + j] = a[static_cast<std::size_t>(j) * cols + cc];
  }

  /// p = center + scale x. Cannot fail: if the threads cannot start, it runs on this one (it is
  /// idempotent, so rows already done are simply done again).
  void refresh_params() noexcept {
    auto rows = [&](int b, int e) {
      to_params(x_.data() + static_cast<std::size_t>(b) * d_, p_.data() + static_cast<std::size_t>(b) * d_,
                static_cast<std::size_t>(e - b), center_, scale_);
    };
    try {
      parallel_rows(n_, threads_, rows);
    } catch (...) {
      rows(0, n_);
    }
  }

  int n_, d_, latent_;
  density_params density_;
  host_normal_generator rng_;
  int threads_ = 1;
  std::vector<float> x_, p_, x0_, x0_next_, z_, e_, q_, fitness_, center_, scale_;
  fitness_summary summary_ = empty_summary();
  std::vector<double> neff_;  // per row, last update
  std::vector<float> qt_;     // q transposed (k x N), for the distances
  std::vector<float> xt_;     // x transposed (D x N), for x0 with few columns
};

}  // namespace

std::unique_ptr<backend> make_cpu_backend(const config& cfg) { return std::make_unique<cpu_backend>(cfg); }

}  // namespace diffevo::detail
