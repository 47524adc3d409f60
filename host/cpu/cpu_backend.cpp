#include "cpu_backend.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <new>
#include <thread>
#include <utility>
#include <vector>

#include "diffevo/detail/hash.hpp"
#include "diffevo/detail/parallel.hpp"
#include "host/backend/row_exchange.hpp"
#include "diffevo/error.hpp"
#include "host/util/message.hpp"
#include "blas.hpp"
#include "rng.hpp"
#include "vector_ops.hpp"

namespace diffevo::detail {
namespace {

std::atomic<std::size_t> g_gram_budget{std::size_t(256) << 20};

class cpu_backend final : public backend {
 public:
  explicit cpu_backend(const config& cfg)
      : n_(cfg.population), d_(cfg.dimension), latent_(cfg.latent_dim), density_(density_of(cfg)), rng_(cfg.seed, cfg.cpu_threads) {
    threads_ = cfg.cpu_threads > 0 ? cfg.cpu_threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    // automatic is fast; the MPI component makes it exact after construction (use_exact_math).
    fast_noise_ = cfg.cpu_math != cpu_math_kind::exact;
    blas_ = fast_noise_ && have_blas();
    const std::size_t nd = static_cast<std::size_t>(n_) * d_;
    center_ = expand_affine(cfg.center, d_, 0.0f);
    scale_ = expand_affine(cfg.scale, d_, 1.0f);
    // p = 0 + 1 x is x (but for the sign of a zero): the parameters are then x itself, not a copy.
    identity_ = std::all_of(center_.begin(), center_.end(), [](float v) { return v == 0.0f; }) &&
                std::all_of(scale_.begin(), scale_.end(), [](float v) { return v == 1.0f; });
    // Refuse what cannot fit before trying: x, x0, the next x0 (which also receives the next x) and,
    // unless they are x itself, the parameters are N x D floats each (plus a transposed copy and,
    // within its budget, the Gram matrix for plain D > 32).
    const bool wide = latent_ == 0 && d_ > k_direct_distance_max;
    const double gram = wide ? std::min(8.0 * n_ * n_, static_cast<double>(cpu_gram_budget())) : 0.0;
    const double need =
        ((wide ? 20.0 : 16.0) + (identity_ ? 0.0 : 4.0)) * static_cast<double>(nd) + 4.0 * latent_ * d_ + gram;
    require_host_memory("cpu backend", n_, d_, need);
    try {
      x_.resize(draw_count(nd));
      if (!identity_) p_.resize(nd);
      x0_.resize(nd);
      x0_next_.resize(nd);
      z_.resize(draw_count(nd));
      fitness_.resize(static_cast<std::size_t>(n_));
      neff_.assign(static_cast<std::size_t>(n_), 1.0);
      if (latent_ > 0) {
        e_.resize(draw_count(static_cast<std::size_t>(latent_) * d_));
        q_.resize(static_cast<std::size_t>(n_) * latent_);
        q_next_.resize(static_cast<std::size_t>(n_) * latent_);
      }
    } catch (const std::bad_alloc&) {
      throw out_of_memory(msg("cpu backend: cannot allocate the population (population = ", n_, ", dimension = ", d_,
                              ", about ", 16.0 * static_cast<double>(nd) / 1e9, " GB)"));
    }
    rng_.fill(x_.data(), nd);
    if (latent_ > 0) {
      rng_.fill(e_.data(), static_cast<std::size_t>(latent_) * d_);
      for (int r = 0; r < latent_; ++r) {  // docs/algorithm.md §5: unit-norm rows
        float* row = e_.data() + static_cast<std::size_t>(r) * d_;
        double s = 0;
        for (int c = 0; c < d_; ++c) s += double(row[c]) * row[c];
        const double inv = 1.0 / std::sqrt(s);
        for (int c = 0; c < d_; ++c) row[c] = static_cast<float>(row[c] * inv);
      }
    }
    refresh_params();
  }

  const float* host_params() override { return params(); }

  fitness_summary summarize(const float* f) override {
    fitness_summary s = empty_summary();
    for (int j = 0; j < n_; ++j) summary_add(s, j, f[j], density_);
    std::copy(f, f + n_, fitness_.begin());
    summary_ = s;
    return s;
  }

  // One generation (docs/algorithm.md §4-§5): weights, x0 and the DDIM step. When k > 32, the float64 Gram matrix
  // first (full_gram; above cpu_gram_budget(), each block's rows in block_gram instead). Then rows are
  // processed in blocks by the worker threads: each row's normalized weights (row_weights, a float64
  // log-domain softmax), then x0 = W X (block_x0). No result depends on the block size, the thread
  // count or the Gram path.
  void update(const ddim_coefficients& c) override { update_impl(c, nullptr); }
  void update_rows(const ddim_coefficients& c, row_exchange& ex) override { update_impl(c, &ex); }

  /// The generation itself. With `ex` (a sharded update, docs/architecture.md "Many processes") only
  /// this process's rows [ex->first(), ex->last()) of x0 and of the new x are computed, from the whole
  /// replicated x, then every process's rows are exchanged; each row's arithmetic is the same as
  /// without `ex`, so the bits do not depend on the split.
  void update_impl(const ddim_coefficients& c, row_exchange* ex) {
    const int rb = ex ? ex->first() : 0, re = ex ? ex->last() : n_;
    // parallel_rows over this process's rows (every row without `ex`).
    // (Plain lambdas: nothing between two agreements may allocate outside a stage.)
    const auto own_rows = [&](auto&& fn) {
      if (re > rb) parallel_rows(re - rb, threads_, [&](int b, int e) { fn(rb + b, rb + e); });
    };
    // Sharded, local work that may fail (memory, threads) is agreed on before each exchange, so a
    // failure on one process throws on all of them instead of leaving the others in the exchange.
    const auto stage = [&](auto&& fn) {
      if (ex)
        ex->agree_on(fn);
      else
        fn();
    };
    plan p;
    p.q = x_.data();
    p.k = d_;
    const auto project = [&] {
      p.log_g.resize(static_cast<std::size_t>(n_));
      for (int j = 0; j < n_; ++j) p.log_g[j] = final_log_density(fitness_[j], density_, summary_);
      // z = E x, recomputed every generation (docs/algorithm.md §5); sharded: own rows, exchanged
      const auto project_rows = [&](int b, int e) {
        for (int i = b; i < e; ++i) project_row(x_.data(), i, q_.data());
      };
      if (latent_ > 0 && !q_current_) own_rows(project_rows);  // (a whole update made them with its step)
    };
    const bool exchange_q = latent_ > 0 && ex != nullptr;
    if (exchange_q) {  // the latent rows first: every row's distances need every row's z
      stage(project);
      ex->allgather_rows(q_.data(), sizeof(float) * static_cast<std::size_t>(latent_));
    }
    if (latent_ > 0) {
      p.q = q_.data();
      p.k = latent_;
    }
    // The new x is written into z_, so a throw up to the commit (allocation, threads, an exchange)
    // leaves x, x0 and the noise position unchanged (the parameters, written with the step, are
    // remade from x); the commit after it is swaps.
    const std::size_t nd = static_cast<std::size_t>(n_) * d_;
    const update_coefficients uc = update_of(c);
    const bool noisy = c.sigma > 0;
    const std::uint64_t position = rng_.position();
    const auto weights_x0_and_step = [&] {
      if (!exchange_q) project();
      p.inv2 = 1.0 / (2.0 * (1.0 - c.a_t));
      p.a = c.a_t;
      p.s = std::sqrt(c.a_t);
      p.wide = p.k > k_direct_distance_max;
      p.narrow = d_ <= k_narrow;
      // The block's float weights take about 2 MB (32 to 1024 rows), so each packed panel of X serves
      // many rows.
      p.row_block = std::max(32, std::min(1024, (1 << 19) / n_ / 32 * 32));
      p.n_pad = (n_ + k_gram_cols - 1) / k_gram_cols * k_gram_cols;
      // Every loop over j reads a transposed copy of q (k x N), so it runs over contiguous memory and
      // vectorizes, while each distance (or Gram entry) still sums its coordinates in ascending order.
      // A shard computes only its own rows' Gram entries (block_gram); the values are the same.
      p.full_gram =
          p.wide && !ex && static_cast<double>(n_) * p.n_pad * sizeof(double) <= static_cast<double>(cpu_gram_budget());
      if (!(p.full_gram && blas_)) transpose(p.q, n_, p.k, p.n_pad, qt_);  // (blas_full_gram reads q)
      if (p.narrow) transpose(x_.data(), n_, d_, n_, xt_);
      if (p.wide) {  // squared norms for the Gram distances
        p.norm2.resize(static_cast<std::size_t>(n_));
        parallel_rows(n_, threads_, [&](int b, int e) {
          for (int j = b; j < e; ++j) {
            const float* qj = p.q + static_cast<std::size_t>(j) * p.k;
            p.norm2[static_cast<std::size_t>(j)] = dot(qj, qj, p.k);
          }
        });
        if (p.full_gram && blas_)
          blas_full_gram(p);
        else if (p.full_gram)
          full_gram(p);
      }

      if (blas_ && !p.narrow) {
        blas_weights_and_x0(p, rb, re);
      } else {
        own_rows([&](int b, int e) {
          workspace ws(p, n_, std::min(p.row_block, e - b), true);
          for (int i0 = b; i0 < e; i0 += p.row_block) {
            const int rows = std::min(p.row_block, e - i0);
            if (p.wide && !p.full_gram) block_gram(p, ws, i0, rows);
            for (int r = 0; r < rows; ++r) row_weights(p, ws, i0 + r, r, ws.w.data() + static_cast<std::size_t>(r) * n_);
            if (!p.narrow) block_x0(ws, i0, rows);
          }
        });
      }

      // The step, in chunks of about k_step_chunk elements per worker: the chunk's noise (floats
      // position + t of the draw: each Philox block is a function of its index, so any split draws the
      // same numbers, and a shard draws only its rows'), the new x, and (whole updates) its parameters.
      own_rows([&](int b, int e) {
        const int chunk_rows = std::max(1, k_step_chunk / d_);
        std::vector<float> noise(noisy ? static_cast<std::size_t>(chunk_rows) * d_ : 0);
        for (int r0 = b; r0 < e; r0 += chunk_rows) {
          const int r1 = std::min(e, r0 + chunk_rows);
          const std::size_t t0 = static_cast<std::size_t>(r0) * d_, t1 = static_cast<std::size_t>(r1) * d_;
          if (noisy) rng_.fill_range(position + t0, t1 - t0, noise.data(), fast_noise_);
          for (std::size_t t = t0; t < t1; ++t) z_[t] = ddim_update(x_[t], x0_next_[t], noisy ? noise[t - t0] : 0.0f, uc);
          if (!ex && !identity_) to_params(z_.data() + t0, p_.data() + t0, static_cast<std::size_t>(r1 - r0), center_, scale_);
          if (!ex)  // the next update's latent rows, z = E x of the new rows while they are in cache
            for (int i = r0; i < r1; ++i) project_row(z_.data(), i, q_next_.data());
        }
      });
    };
    try {
      stage(weights_x0_and_step);
      if (ex) {  // every process's rows of the new x and of the effective neighbours (x0: complete_rows())
        ex->allgather_rows(z_.data(), sizeof(float) * static_cast<std::size_t>(d_));
        ex->allgather_rows(neff_.data(), sizeof(double));
      }
    } catch (...) {  // threads could not start, or the exchange failed: the noise is drawn again next time
      // (the position has not moved; x and x0 are untouched, and the parameters are remade from x)
      rng_.seek(position);
      refresh_params();
      throw;
    }
    if (noisy) rng_.seek(position + draw_count(nd));
    x0_.swap(x0_next_);
    x_.swap(z_);
    q_current_ = latent_ > 0 && !ex;
    if (q_current_) q_.swap(q_next_);
    x0_partial_ = ex != nullptr;  // nothing reads x0 until complete_rows(): it is exchanged only then
    if (ex) refresh_params();     // a whole update made them with the step
  }

  std::uint64_t params_hash() override {
    std::vector<std::uint64_t> h(static_cast<std::size_t>(n_));
    parallel_rows(n_, threads_, [&](int b, int e) {
      for (int i = b; i < e; ++i) h[static_cast<std::size_t>(i)] = row_hash(params(), i, d_);
    });
    return combine_row_hashes(h.data(), n_);
  }

  void complete_rows(row_exchange& ex) override {
    if (!x0_partial_) return;
    ex.allgather_rows(x0_.data(), sizeof(float) * static_cast<std::size_t>(d_));
    x0_partial_ = false;
  }

  void use_exact_math() override { blas_ = fast_noise_ = false; }

  std::vector<float> last_fitness() override { return fitness_; }

  double effective_neighbours() override {
    double m = 0;
    for (double v : neff_) m += v;
    return m / n_;
  }

  std::vector<float> x0_params() override {
    require_whole_x0("x0()");
    std::vector<float> out(x0_.size());
    to_params(x0_.data(), out.data(), static_cast<std::size_t>(n_), center_, scale_);
    return out;
  }

  void copy_params_row(int i, float* out) override {
    std::copy_n(params() + static_cast<std::size_t>(i) * d_, d_, out);
  }

  state export_state() override {
    require_whole_x0("save()");
    const std::size_t nd = static_cast<std::size_t>(n_) * d_;
    state st;
    st.x.assign(x_.begin(), x_.begin() + static_cast<std::ptrdiff_t>(nd));
    st.x0 = x0_;
    if (latent_ > 0) st.e.assign(e_.begin(), e_.begin() + static_cast<std::ptrdiff_t>(latent_) * d_);
    st.rng_position = rng_.position();
    return st;
  }

  void import_state(const state& st) override {
    q_current_ = false;
    rng_.seek(st.rng_position);
    x0_partial_ = false;
    std::copy(st.x.begin(), st.x.end(), x_.begin());
    if (!st.x0.empty()) std::copy(st.x0.begin(), st.x0.end(), x0_.begin());
    if (latent_ > 0) std::copy(st.e.begin(), st.e.end(), e_.begin());
    refresh_params();
  }

  fitness_summary summarize_device(const float*) override {
    throw logic_error("cpu backend: device fitness is not available");  // the optimizer checks first
  }

 private:
  /// At most this many columns: x0 is a float64 weighted sum per row instead of the tiled product.
  static constexpr int k_narrow = 8;
  /// Tiles of the float64 Gram loops: j in blocks of k_dist_j, coordinates in blocks of k_dist_c.
  static constexpr int k_dist_j = 512, k_dist_c = 256;
  /// Elements of one chunk of the step (its noise stays in the worker's cache until used).
  static constexpr int k_step_chunk = 8192;
  /// cpu_math = fast: the most bytes of one block's weights (rows x N floats) handed to one SGEMM, and
  /// of one float64 panel of q handed to one DSYRK.
  static constexpr std::size_t k_blas_weights = std::size_t(16) << 20, k_blas_panel = std::size_t(16) << 20;

  /// What every worker of one update reads.
  struct plan {
    std::vector<float> log_g;  // final log-density of each individual
    const float* q = nullptr;  // kernel coordinates (N x k): x, or z = E x
    int k = 0;
    double inv2 = 0, a = 0, s = 0;  // 1 / (2 (1 - a_t)), a_t, sqrt(a_t)
    bool wide = false;         // k > k_direct_distance_max: float64 Gram distances
    bool full_gram = false;    // wide, and the whole Gram matrix is in gram_ (else per row block)
    std::vector<double> norm2; // wide: |q_j|^2
    bool narrow = false;       // D <= k_narrow: float64 x0 per row
    int row_block = 32;
    int n_pad = 0;             // qt_'s row stride: whole lane vectors
  };

  /// One worker's buffers, sized for blocks of `rows` rows; `tiles`: with the buffers of block_x0.
  struct workspace {
    workspace(const plan& p, int n, int rows, bool tiles)
        : v(static_cast<std::size_t>(n)),
          d2f(p.wide ? 0 : static_cast<std::size_t>(n)),
          d2(p.wide && !p.full_gram ? static_cast<std::size_t>(rows) * p.n_pad : 0),
          w(p.narrow || !tiles ? 0 : static_cast<std::size_t>(rows + k_tile_rows) * n),
          panel(p.narrow || !tiles ? 0 : static_cast<std::size_t>(n) * k_tile_cols),
          tile(tiles ? static_cast<std::size_t>(k_tile_rows) * k_tile_cols : 0),
          nonzero(p.narrow || !tiles ? 0 : static_cast<std::size_t>(rows / k_tile_rows + 1) * n),
          nonzero_count(tiles ? static_cast<std::size_t>(rows / k_tile_rows + 1) : 0) {}
    std::vector<double> v;    // one row's log-weights, then its unnormalized weights
    std::vector<float> d2f;   // one row's float distances
    std::vector<double> d2;   // the block's float64 Gram rows q_i . q_j (rows x n_pad)
    std::vector<float> w;     // the block's normalized weights (rows x N, then zero rows)
    std::vector<float> panel; // k_tile_cols columns of x, contiguous (N x k_tile_cols)
    std::vector<float> tile;  // one k_tile_rows x k_tile_cols tile of x0
    std::vector<int> nonzero; // per row group, the j with a nonzero weight (groups x N)
    std::vector<int> nonzero_count;
  };

  /// The float64 Gram rows q_i . q_j of rows [i0, i0 + rows) with every j, in register tiles of
  /// k_tile_rows x k_gram_cols; each entry continues its sum over the coordinates in ascending order.
  /// (docs/algorithm.md §4's distance is then |q_i|^2 - 2 s q_i . q_j + a_t |q_j|^2, without the row constant
  /// |q_i|^2, which the softmax cancels: detail::log_weight_gram, as the cuda backend's DGEMM path.)
  void block_gram(const plan& p, workspace& ws, int i0, int rows) const {
    std::fill(ws.d2.begin(), ws.d2.end(), 0.0);
    for (int j1 = 0; j1 < n_; j1 += k_dist_j)
      for (int c0 = 0; c0 < p.k; c0 += k_dist_c) {
        const int kc = std::min(k_dist_c, p.k - c0);
        for (int g = 0; g < rows; g += k_tile_rows)
          for (int j0 = j1; j0 < std::min(n_, j1 + k_dist_j); j0 += k_gram_cols)
            dot_tile(p.q + static_cast<std::size_t>(i0 + g) * p.k + c0, p.k, std::min(k_tile_rows, rows - g),
                     qt_.data() + static_cast<std::size_t>(c0) * p.n_pad + j0, p.n_pad, kc,
                     ws.d2.data() + static_cast<std::size_t>(g) * p.n_pad + j0, p.n_pad);
      }
  }

  /// The whole Gram matrix into gram_ (N x n_pad), from the tiles on and above the diagonal only, in
  /// parallel: each computed entry sums its coordinates in ascending order, and its mirror q_j . q_i
  /// would sum the same exact products in the same order, so copying it gives the same bits as
  /// computing it (and as block_gram).
  void full_gram(const plan& p) {
    constexpr int tb = 64;  // rows and columns of a task's tile (multiples of k_tile_rows and k_gram_cols)
    static_assert(tb % k_tile_rows == 0 && tb % k_gram_cols == 0, "whole register tiles");
    gram_.resize(static_cast<std::size_t>(n_) * p.n_pad);
    const int nb = (n_ + tb - 1) / tb;
    std::vector<std::pair<int, int>> tiles;  // (I, J), J >= I: equal work each, so any split balances
    for (int bi = 0; bi < nb; ++bi)
      for (int bj = bi; bj < nb; ++bj) tiles.emplace_back(bi, bj);
    parallel_rows(static_cast<int>(tiles.size()), threads_, [&](int b, int e) {
      for (int t = b; t < e; ++t) {
        const int i0 = tiles[t].first * tb, j0 = tiles[t].second * tb;
        const int rows = std::min(tb, n_ - i0), cols = std::min(tb, p.n_pad - j0);
        double* out = gram_.data() + static_cast<std::size_t>(i0) * p.n_pad + j0;
        for (int r = 0; r < rows; ++r) std::fill_n(out + static_cast<std::size_t>(r) * p.n_pad, cols, 0.0);
        for (int c0 = 0; c0 < p.k; c0 += k_dist_c) {
          const int kc = std::min(k_dist_c, p.k - c0);
          for (int g = 0; g < rows; g += k_tile_rows)
            for (int jj = 0; jj < cols; jj += k_gram_cols)
              dot_tile(p.q + static_cast<std::size_t>(i0 + g) * p.k + c0, p.k, std::min(k_tile_rows, rows - g),
                       qt_.data() + static_cast<std::size_t>(c0) * p.n_pad + j0 + jj, p.n_pad, kc,
                       out + static_cast<std::size_t>(g) * p.n_pad + jj, p.n_pad);
        }
        if (j0 == i0) continue;  // a diagonal tile computes both halves itself
        for (int j = j0; j < std::min(j0 + tb, n_); ++j) {  // contiguous writes; the tile is still in cache
          double* mirror = gram_.data() + static_cast<std::size_t>(j) * p.n_pad + i0;
          for (int r = 0; r < rows; ++r) mirror[r] = out[static_cast<std::size_t>(r) * p.n_pad + (j - j0)];
        }
      }
    });
  }

  /// The whole Gram matrix into gram_ (N x n_pad) by the BLAS (cpu_math = fast): q converted to
  /// float64 in panels of columns (the products of floats are then exact, as in full_gram), the upper
  /// triangle accumulated panel by panel, then the lower triangle mirrored from it. Each worker owns
  /// a band of rows [a, b) of the upper triangle, about an equal share of its area, and computes it
  /// in its own thread: DSYRK for the diagonal block, DGEMM for the rest of the band.
  void blas_full_gram(const plan& p) {
    gram_.resize(static_cast<std::size_t>(n_) * p.n_pad);
    const int kc = std::max(256, std::min(p.k, static_cast<int>(k_blas_panel / (sizeof(double) * n_))));
    panel_.resize(static_cast<std::size_t>(n_) * std::min(kc, p.k));
    const int bands = std::max(1, std::min(threads_, n_ / 64));
    std::vector<int> edge(static_cast<std::size_t>(bands) + 1, n_);
    for (int t = 0; t < bands; ++t)  // rows [0, r) hold r N - r^2 / 2 of the N^2 / 2 entries
      edge[static_cast<std::size_t>(t)] =
          static_cast<int>(std::lround(n_ * (1.0 - std::sqrt(1.0 - static_cast<double>(t) / bands))));
    const blas_serial_scope serial;
    for (int c0 = 0; c0 < p.k; c0 += kc) {
      const int w = std::min(kc, p.k - c0);
      parallel_rows(n_, threads_, [&](int b, int e) {
        for (int j = b; j < e; ++j)
          std::copy_n(p.q + static_cast<std::size_t>(j) * p.k + c0, w, panel_.data() + static_cast<std::size_t>(j) * w);
      });
      const double beta = c0 == 0 ? 0.0 : 1.0;
      parallel_rows(bands, threads_, [&](int b, int e) {
        for (int t = b; t < e; ++t) {
          const int r0 = edge[static_cast<std::size_t>(t)], r1 = edge[static_cast<std::size_t>(t) + 1];
          if (r1 <= r0) continue;
          const double* a = panel_.data() + static_cast<std::size_t>(r0) * w;
          double* c = gram_.data() + static_cast<std::size_t>(r0) * p.n_pad + r0;
          blas_dsyrk_upper(r1 - r0, w, a, w, beta, c, p.n_pad);
          if (r1 < n_)
            blas_dgemm_nt(r1 - r0, n_ - r1, w, a, w, panel_.data() + static_cast<std::size_t>(r1) * w, w, beta,
                          c + (r1 - r0), p.n_pad);
        }
      });
    }
    constexpr int tb = 64;  // mirrored in tiles, so both sides stay in cache
    const int nb = (n_ + tb - 1) / tb;
    parallel_rows(nb, threads_, [&](int b, int e) {
      for (int bi = b; bi < e; ++bi)
        for (int bj = 0; bj <= bi; ++bj)
          for (int i = bi * tb; i < std::min(n_, bi * tb + tb); ++i)
            for (int j = bj * tb; j < std::min(i, bj * tb + tb); ++j)
              gram_[static_cast<std::size_t>(i) * p.n_pad + j] = gram_[static_cast<std::size_t>(j) * p.n_pad + i];
    });
  }

  /// x0 of rows [rb, re) by the BLAS (cpu_math = fast), in blocks whose weights take at most
  /// k_blas_weights bytes: the worker threads compute each block's weights (row_weights), then its
  /// x0 = W X, each worker an SGEMM of its own part in its own thread (the BLAS's threads would
  /// compete with the library's for the cores between products): its own columns when D has at
  /// least 64 per worker (each worker then packs only its part of X), else its own rows.
  void blas_weights_and_x0(const plan& p, int rb, int re) {
    const int block = std::max(1, std::min(re - rb, static_cast<int>(k_blas_weights / (sizeof(float) * n_))));
    wblock_.resize(static_cast<std::size_t>(block) * n_);
    const bool by_columns = d_ >= 64 * threads_;
    // by columns: whole cache lines each, and threads_ x width >= D (the share rounded up, then to 16)
    const int width = ((d_ + threads_ - 1) / threads_ + 15) / 16 * 16;
    const blas_serial_scope serial;
    for (int i0 = rb; i0 < re; i0 += block) {
      const int rows = std::min(block, re - i0);
      parallel_rows(rows, threads_, [&](int b, int e) {
        workspace ws(p, n_, std::min(p.row_block, e - b), false);
        for (int s0 = b; s0 < e; s0 += p.row_block) {
          const int sub = std::min(p.row_block, e - s0);
          if (p.wide && !p.full_gram) block_gram(p, ws, i0 + s0, sub);
          for (int r = 0; r < sub; ++r)
            row_weights(p, ws, i0 + s0 + r, r, wblock_.data() + static_cast<std::size_t>(s0 + r) * n_);
        }
      });
      if (by_columns) {
        parallel_rows(threads_, threads_, [&](int b, int e) {
          const int c0 = std::min(d_, b * width), c1 = std::min(d_, e * width);
          if (c1 > c0)
            blas_sgemm(rows, c1 - c0, n_, wblock_.data(), n_, x_.data() + c0, d_,
                       x0_next_.data() + static_cast<std::size_t>(i0) * d_ + c0, d_);
        });
      } else {
        parallel_rows(rows, threads_, [&](int b, int e) {
          blas_sgemm(e - b, d_, n_, wblock_.data() + static_cast<std::size_t>(b) * n_, n_, x_.data(), d_,
                     x0_next_.data() + static_cast<std::size_t>(i0 + b) * d_, d_);
        });
      }
    }
  }

  /// Row i (row r of its block): log-weights, softmax with a max shift (docs/algorithm.md §4: cannot underflow
  /// whatever D and a_t are), the effective number of neighbours, and either x0_i (narrow) or the
  /// normalized weights w[0, N) for the x0 product.
  void row_weights(const plan& p, workspace& ws, int i, int r, float* w) {
    double vmax;
    if (p.wide) {
      const double* g = p.full_gram ? gram_.data() + static_cast<std::size_t>(i) * p.n_pad
                                    : ws.d2.data() + static_cast<std::size_t>(r) * p.n_pad;
      vmax = log_weights_gram(ws.v.data(), p.log_g.data(), p.norm2.data(), g, p.a, 2.0 * p.s, p.inv2, n_);
    } else {
      const float* qi = p.q + static_cast<std::size_t>(i) * p.k;
      std::fill(ws.d2f.begin(), ws.d2f.end(), 0.0f);
      for (int cc = 0; cc < p.k; ++cc)
        add_squared_differences(ws.d2f.data(), qt_.data() + static_cast<std::size_t>(cc) * p.n_pad, qi[cc],
                                static_cast<float>(p.s), n_);
      vmax = log_weights(ws.v.data(), p.log_g.data(), ws.d2f.data(), p.inv2, n_);
    }
    exp_shifted(ws.v.data(), vmax, n_);
    double sum = 0, sum_sq = 0;
    sum_and_squares(ws.v.data(), n_, &sum, &sum_sq);
    if (p.narrow) {
      float* x0i = x0_next_.data() + static_cast<std::size_t>(i) * d_;
      for (int cc = 0; cc < d_; ++cc)
        x0i[cc] = static_cast<float>(dot(ws.v.data(), xt_.data() + static_cast<std::size_t>(cc) * n_, n_) / sum);
    } else {
      scale_to_float(w, ws.v.data(), 1.0 / sum, n_);
    }
    neff_[static_cast<std::size_t>(i)] = sum * sum / sum_sq;
  }

  /// x0 = W X for rows [i0, i0 + rows), in tiles of k_tile_rows x k_tile_cols held in registers and
  /// accumulated in float in ascending j (as the cuda backend's SGEMM). Each panel of k_tile_cols
  /// columns of X is copied to contiguous memory once and serves every row group of the block. Rows
  /// past the block's end have zero weights, and the last panel's columns past D hold stale values:
  /// both results are dropped.
  void block_x0(workspace& ws, int i0, int rows) {
    std::fill(ws.w.begin() + static_cast<std::ptrdiff_t>(rows) * n_, ws.w.end(), 0.0f);
    // For each group of k_tile_rows rows, the j whose weights are not all zero (late in a run most
    // weights underflow to 0); a dense group passes no list.
    const int groups = (rows + k_tile_rows - 1) / k_tile_rows;
    for (int g = 0; g < groups; ++g)
      ws.nonzero_count[static_cast<std::size_t>(g)] =
          nonzero_columns(ws.w.data() + static_cast<std::size_t>(g) * k_tile_rows * n_, n_, n_,
                          ws.nonzero.data() + static_cast<std::size_t>(g) * n_);
    for (int cc = 0; cc < d_; cc += k_tile_cols) {
      const int nc = std::min(k_tile_cols, d_ - cc);
      float* panel = ws.panel.data();
      const float* xc = x_.data() + cc;
      if (nc == k_tile_cols) {  // a constant size: the copy is inlined
        for (int j = 0; j < n_; ++j)
          std::memcpy(panel + static_cast<std::size_t>(j) * k_tile_cols, xc + static_cast<std::size_t>(j) * d_,
                      sizeof(float) * k_tile_cols);
      } else {
        for (int j = 0; j < n_; ++j)
          std::copy_n(xc + static_cast<std::size_t>(j) * d_, nc, panel + static_cast<std::size_t>(j) * k_tile_cols);
      }
      for (int g = 0; g < groups; ++g) {
        const int count = ws.nonzero_count[static_cast<std::size_t>(g)];
        weighted_sum_tile(ws.w.data() + static_cast<std::size_t>(g) * k_tile_rows * n_, n_, panel, k_tile_cols,
                          count == n_ ? nullptr : ws.nonzero.data() + static_cast<std::size_t>(g) * n_, count,
                          ws.tile.data());
        for (int r = 0; r < std::min(k_tile_rows, rows - g * k_tile_rows); ++r)
          std::copy_n(ws.tile.data() + static_cast<std::size_t>(r) * k_tile_cols, nc,
                      x0_next_.data() + static_cast<std::size_t>(i0 + g * k_tile_rows + r) * d_ + cc);
      }
    }
  }

  /// out (cols x stride, zero past rows) = a (rows x cols) transposed.
  static void transpose(const float* a, int rows, int cols, int stride, std::vector<float>& out) {
    out.resize(static_cast<std::size_t>(stride) * cols);
    for (int j = 0; j < rows; ++j)
      for (int cc = 0; cc < cols; ++cc)
        out[static_cast<std::size_t>(cc) * stride + j] = a[static_cast<std::size_t>(j) * cols + cc];
    for (int cc = 0; cc < cols; ++cc)  // only the padding needs zeros
      std::fill_n(out.begin() + static_cast<std::ptrdiff_t>(cc) * stride + rows, stride - rows, 0.0f);
  }

  /// Throws logic_error while x0 holds only this process's rows (after a sharded update).
  void require_whole_x0(const char* call) const {
    if (x0_partial_)
      throw logic_error(msg(call, ": x0 of a sharded update is still split between the processes (the MPI "
                                  "component completes it first)"));
  }

  /// Row i of the latent coordinates, q[i] = E x[i] (docs/algorithm.md §5), x and q N x D and N x d.
  void project_row(const float* x, int i, float* q) const {
    for (int r = 0; r < latent_; ++r)
      q[static_cast<std::size_t>(i) * latent_ + r] = static_cast<float>(
          dot(e_.data() + static_cast<std::size_t>(r) * d_, x + static_cast<std::size_t>(i) * d_, d_));
  }

  /// The parameters p = center + scale x: x itself when the map is the identity.
  const float* params() const { return identity_ ? x_.data() : p_.data(); }

  /// p = center + scale x (nothing to do for the identity map). Cannot fail: if the threads cannot start, it runs on this one (it is
  /// idempotent, so rows already done are simply done again).
  void refresh_params() noexcept {
    if (identity_) return;
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
  bool blas_ = false;  // cpu_math = fast in a build with a BLAS: x0 by SGEMM, the whole Gram matrix by DSYRK
  bool q_current_ = false;  // q_ is E x of the current x (a whole update computed it with its step)
  bool identity_ = false;  // center 0 and scale 1: the parameters are x (p_ stays empty)
  bool fast_noise_ = false;  // cpu_math = fast: each generation's noise by detail::box_muller (the initial draws stay cuRAND's)
  std::vector<float> x_, p_, x0_, x0_next_, z_, e_, q_, q_next_, fitness_, center_, scale_;
  fitness_summary summary_ = empty_summary();
  std::vector<double> neff_;  // per row, last update
  bool x0_partial_ = false;   // a sharded update left only this process's rows of x0 (complete_rows())
  std::vector<float> qt_;     // q transposed (k x N), for the distances
  std::vector<float> xt_;     // x transposed (D x N), for x0 with few columns
  std::vector<double> gram_;  // k > 32 and within cpu_gram_budget(): the whole Gram matrix (N x n_pad)
  std::vector<double> panel_; // blas_full_gram: a float64 panel of q's columns (N x at most k_blas_panel bytes)
  std::vector<float> wblock_; // blas_weights_and_x0: one block's weights (at most k_blas_weights bytes)
};

}  // namespace

std::unique_ptr<backend> make_cpu_backend(const config& cfg) { return std::make_unique<cpu_backend>(cfg); }

std::size_t cpu_gram_budget() noexcept { return g_gram_budget.load(std::memory_order_relaxed); }

void set_cpu_gram_budget(std::size_t bytes) noexcept { g_gram_budget.store(bytes, std::memory_order_relaxed); }

}  // namespace diffevo::detail
