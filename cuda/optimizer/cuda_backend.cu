// The CUDA backend: the population stays on the device for the whole run. Per generation: fitness
// summary + log-density (one block), latent coordinates Z = X E^T (cuBLAS), then
//  - D <= k_fused_max_dim: one fused kernel per row (weights, x0, DDIM update, parameter map); no
//    weight matrix, and no cuBLAS at all for the plain variant;
//  - larger D: softmax weights per row (kernel) or, plain with large D, from a float64 Gram product
//    X X^T (cuBLAS DGEMM); x0 = W X (cuBLAS SGEMM, in row chunks so W never exceeds a fixed budget);
//    then the DDIM update fused with the parameter map.
// Noise: cuRAND's device Philox generator, with the same seed and the same sequence of calls as the
// cpu backend's host generator (host/cpu/rng.hpp). A sharded update (the MPI component) moves its rows
// through host memory, or between devices with NCCL (cuda/exchange/device_group.cuh). The fused path also supports deferred tells
// (backend.hpp): checks and best-so-far on the device, one host synchronization per run.
#include <algorithm>
#include <atomic>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "host/backend/backend.hpp"
#include "diffevo/detail/hash.hpp"
#include "host/backend/row_exchange.hpp"
#include "host/cpu/rng.hpp"
#include "cuda/plugin/entry_points.hpp"
#include "cuda/util/check.cuh"
#include "cuda/util/handles.cuh"
#include "kernels.cuh"
#ifndef DIFFEVO_WITH_NCCL
#define DIFFEVO_WITH_NCCL 0
#endif
#if DIFFEVO_WITH_NCCL
#include "cuda/exchange/device_group.cuh"
#endif

namespace diffevo::detail {
namespace {

std::atomic<std::size_t> g_weight_budget{std::size_t(512) << 20};  // W chunk (+ Gram rows), bytes

class cuda_backend final : public backend {
 public:
  explicit cuda_backend(const config& cfg)
      : n_(cfg.population), d_(cfg.dimension), latent_(cfg.latent_dim), density_(density_of(cfg)) {
    const std::size_t nd = static_cast<std::size_t>(n_) * d_;
    DIFFEVO_CUDA_TRY(cudaGetDevice(&device_));  // the device current at construction owns the run
    {  // Refuse what cannot fit before allocating: x, parameters, x0 and the update's output (the
       // fused path's next x, or the next x0) are N x D floats, plus the Gram path's float64 copy.
      std::size_t free_bytes = 0, total_bytes = 0;
      DIFFEVO_CUDA_TRY(cudaMemGetInfo(&free_bytes, &total_bytes));
      const bool gram = cfg.latent_dim == 0 && d_ > k_direct_distance_max;
      const double need = (16.0 + (gram ? 8.0 : 0.0)) * static_cast<double>(nd);
      if (need > static_cast<double>(free_bytes))
        throw out_of_memory(msg("cuda backend: the population (population = ", n_, ", dimension = ", d_, ") needs about ",
                                need / 1e9, " GB of device memory but ", free_bytes / 1e9, " GB of ", total_bytes / 1e9,
                                " GB are free"));
    }
    h_center_ = expand_affine(cfg.center, d_, 0.0f);
    h_scale_ = expand_affine(cfg.scale, d_, 1.0f);
    // The handles are owners (cuda/util/handles.cuh): if anything below throws, what was made is released.
    stream_ = owned_stream::create();
    {
      fused_ = d_ <= k_fused_max_dim;
      if (latent_ > 0 || !fused_) {  // the plain fused path needs no cuBLAS handle (one less thing to create)
        blas_ = cublas_handle::create(stream_.view());
        // Full float32 GEMMs: no TF32, so x0 is a float32 weighted mean like the cpu backend's.
        DIFFEVO_CUBLAS_TRY(cublasSetMathMode(blas_, CUBLAS_PEDANTIC_MATH));
      }
      rng_ = curand_generator::create(CURAND_RNG_PSEUDO_PHILOX4_32_10, stream_.view());
      DIFFEVO_CURAND_TRY(curandSetPseudoRandomGeneratorSeed(rng_, run_seed(cfg.seed)));
      DIFFEVO_CURAND_TRY(curandSetGeneratorOffset(rng_, 0));

      x_ = device_buffer<float>(draw_count(nd));
      p_ = device_buffer<float>(draw_count(nd));  // also receives each generation's noise
      x0_ = device_buffer<float>(nd);
      fitness_ = device_buffer<float>(static_cast<std::size_t>(n_));
      log_g_ = device_buffer<float>(static_cast<std::size_t>(n_));
      neff_ = device_buffer<float>(static_cast<std::size_t>(n_));
      // Nothing reads x0 or neff before the first update; zeroed so that no copy (a checkpoint, the
      // sanitizer's initcheck) ever sees uninitialized memory.
      DIFFEVO_CUDA_TRY(cudaMemsetAsync(x0_.data(), 0, sizeof(float) * nd, stream_));
      DIFFEVO_CUDA_TRY(cudaMemsetAsync(neff_.data(), 0, sizeof(float) * n_, stream_));
      summary_ = device_buffer<fitness_summary>(1);
      if (d_ <= k_candidate_max_dim) {
        candidate_ = device_buffer<float>(static_cast<std::size_t>(d_));
        // Read back with every summary, written only when some fitness is finite: never uninitialized.
        DIFFEVO_CUDA_TRY(cudaMemsetAsync(candidate_.data(), 0, sizeof(float) * d_, stream_));
      }
      center_ = device_buffer<float>(static_cast<std::size_t>(d_));
      scale_ = device_buffer<float>(static_cast<std::size_t>(d_));
      // Plain variant with large D: distances from a float64 Gram product (cuBLAS DGEMM). float64
      // because the weights need ||x_i - s x_j||^2 to an absolute accuracy of about 1 - a_t, while the
      // Gram terms are of size D: in float32 their cancellation would leave errors of ~1e-7 D.
      gram_ = latent_ == 0 && d_ > k_direct_distance_max;
      if (fused_) {
        x_next_ = device_buffer<float>(draw_count(nd));  // same size as x_: the two are swapped
        rec_ = device_buffer<run_record>(1);
        rec_backup_ = device_buffer<run_record>(1);
        best_row_ = device_buffer<float>(static_cast<std::size_t>(d_));
        best_row_backup_ = device_buffer<float>(static_cast<std::size_t>(d_));
        DIFFEVO_CUDA_TRY(cudaMemsetAsync(best_row_.data(), 0, sizeof(float) * d_, stream_));  // read back even if unset
      } else {
        x0_next_ = device_buffer<float>(nd);  // swapped with x0_ once an update has succeeded
        const std::size_t row_bytes = (sizeof(float) + (gram_ ? sizeof(double) : 0)) * n_;
        chunk_ = static_cast<int>(std::clamp<std::size_t>(device_weight_budget() / row_bytes, 1, n_));
        w_ = device_buffer<float>(static_cast<std::size_t>(chunk_) * n_);
      }
      if (gram_) {
        xd_ = device_buffer<double>(nd);
        norm2_ = device_buffer<double>(static_cast<std::size_t>(n_));
        g_ = device_buffer<double>(static_cast<std::size_t>(chunk_) * n_);
      }
      DIFFEVO_CUDA_TRY(cudaMemcpyAsync(center_.data(), h_center_.data(), sizeof(float) * d_, cudaMemcpyHostToDevice, stream_));
      DIFFEVO_CUDA_TRY(cudaMemcpyAsync(scale_.data(), h_scale_.data(), sizeof(float) * d_, cudaMemcpyHostToDevice, stream_));

      // Same draws, same order as the cpu backend: initial population, then the projection.
      DIFFEVO_CURAND_TRY(curandGenerateNormal(rng_, x_.data(), draw_count(nd), 0.0f, 1.0f));
      rng_position_ += draw_count(nd);
      if (latent_ > 0) {
        const std::size_t ed = static_cast<std::size_t>(latent_) * d_;
        e_ = device_buffer<float>(draw_count(ed));
        z_ = device_buffer<float>(static_cast<std::size_t>(n_) * latent_);
        DIFFEVO_CURAND_TRY(curandGenerateNormal(rng_, e_.data(), draw_count(ed), 0.0f, 1.0f));
        rng_position_ += draw_count(ed);
        normalize_rows(e_.data(), latent_, d_, stream_);
      }
      ddim_update_and_params(x_.data(), nullptr, nullptr, update_coefficients{}, center_.data(), scale_.data(),
                             p_.data(), n_, d_, stream_);
      DIFFEVO_CUDA_TRY(cudaStreamSynchronize(stream_));
    }
  }

  // Queued work may still use the generator's state: wait for it before the owners release anything
  // (best effort; after a lost context the wait fails and there is nothing to wait for).
  ~cuda_backend() override {
#if DIFFEVO_WITH_NCCL
    group_.abort();  // first: the stream's wait must not wait on a collective no peer will join
#endif
    if (stream_ && cudaStreamSynchronize(stream_) != cudaSuccess) cudaGetLastError();
  }

  const float* host_params() override {
    const device_scope on(device_);
    h_p_.resize(static_cast<std::size_t>(n_) * d_);
    host_round_trip(stream_, [&] {
      DIFFEVO_CUDA_TRY(cudaMemcpyAsync(h_p_.data(), p_.data(), sizeof(float) * h_p_.size(), cudaMemcpyDeviceToHost, stream_));
    });
    return h_p_.data();
  }

  void download(const float* d_src, float* h_dst, std::size_t n) override {
    const device_scope on(device_);
    host_round_trip(stream_, [&] {  // the copy must not land in h_dst after the caller's buffer is gone
      DIFFEVO_CUDA_TRY(cudaMemcpyAsync(h_dst, d_src, sizeof(float) * n, cudaMemcpyDeviceToHost, stream_));
    });
  }

  fitness_summary summarize(const float* f) override {
    const device_scope on(device_);
    return wait_on_throw(stream_, [&] {  // the caller's f is read in stream order; the summary waits for it
      DIFFEVO_CUDA_TRY(cudaMemcpyAsync(fitness_.data(), f, sizeof(float) * n_, cudaMemcpyHostToDevice, stream_));
      return summarize_fitness_buffer();
    });
  }

  fitness_summary summarize_device(const float* d_f) override {
    const device_scope on(device_);
    if (d_f != fitness_.data())
      DIFFEVO_CUDA_TRY(cudaMemcpyAsync(fitness_.data(), d_f, sizeof(float) * n_, cudaMemcpyDeviceToDevice, stream_));
    return summarize_fitness_buffer();
  }

  state export_state() override {
    require_whole_x0("save()");
    const device_scope on(device_);
    const std::size_t nd = static_cast<std::size_t>(n_) * d_;
    state st;
    st.x.resize(nd);
    if (has_x0_) st.x0.resize(nd);
    if (latent_ > 0) st.e.resize(static_cast<std::size_t>(latent_) * d_);
    host_round_trip(stream_, [&] {
      DIFFEVO_CUDA_TRY(cudaMemcpyAsync(st.x.data(), x_.data(), sizeof(float) * nd, cudaMemcpyDeviceToHost, stream_));
      if (has_x0_)
        DIFFEVO_CUDA_TRY(cudaMemcpyAsync(st.x0.data(), x0_.data(), sizeof(float) * nd, cudaMemcpyDeviceToHost, stream_));
      if (latent_ > 0)
        DIFFEVO_CUDA_TRY(
            cudaMemcpyAsync(st.e.data(), e_.data(), sizeof(float) * st.e.size(), cudaMemcpyDeviceToHost, stream_));
    });
    st.rng_position = rng_position_;
    return st;
  }

  void import_state(const state& st) override {
    const device_scope on(device_);
    candidate_index_ = -1;
    x0_partial_ = false;
    host_round_trip(stream_, [&] {
      DIFFEVO_CUDA_TRY(cudaMemcpyAsync(x_.data(), st.x.data(), sizeof(float) * st.x.size(), cudaMemcpyHostToDevice, stream_));
      if (!st.x0.empty())
        DIFFEVO_CUDA_TRY(
            cudaMemcpyAsync(x0_.data(), st.x0.data(), sizeof(float) * st.x0.size(), cudaMemcpyHostToDevice, stream_));
      if (latent_ > 0)
        DIFFEVO_CUDA_TRY(cudaMemcpyAsync(e_.data(), st.e.data(), sizeof(float) * st.e.size(), cudaMemcpyHostToDevice, stream_));
      ddim_update_and_params(x_.data(), nullptr, nullptr, update_coefficients{}, center_.data(), scale_.data(),
                             p_.data(), n_, d_, stream_);
    });
    // Last, once the copies have landed: the noise position and whether an estimate exists.
    DIFFEVO_CURAND_TRY(curandSetGeneratorOffset(rng_, st.rng_position));
    rng_position_ = st.rng_position;
    has_x0_ = !st.x0.empty();
  }

  const float* device_params() override { return p_.data(); }
  float* device_fitness() override { return fitness_.data(); }
  cuda_stream stream() const override { return stream_; }

  void update(const ddim_coefficients& c) override {
    const device_scope on(device_);
    step(c, nullptr);
  }

  // A sharded update (the MPI component, host/backend/row_exchange.hpp): this process computes rows
  // [first, last) of x0 and of the new x from the whole x, drawing only those rows' noise (the Philox
  // stream is a function of the position), then the rows go through host memory to the other
  // processes. Everything that can fail on one process is agreed on before each exchange and before
  // the commit. The fused path (D <= 8) runs its kernel over this process's rows only.
  void update_rows(const ddim_coefficients& c, row_exchange& ex) override {
    std::optional<device_scope> on;
    const std::exception_ptr failed = enter_device(on);  // agreed on with the rows' work
    rewinding_on_throw([&] { sharded_step(c, ex, failed); });
  }

  std::uint64_t params_hash() override {
    const device_scope on(device_);
    device_buffer<std::uint64_t> d_h(static_cast<std::size_t>(n_));
    std::vector<std::uint64_t> h(static_cast<std::size_t>(n_));
    host_round_trip(stream_, [&] {  // N hashes come to the host, not the N x D population
      row_hashes(p_.data(), n_, d_, d_h.data(), stream_);
      DIFFEVO_CUDA_TRY(cudaMemcpyAsync(h.data(), d_h.data(), sizeof(std::uint64_t) * n_, cudaMemcpyDeviceToHost, stream_));
    });
    return combine_row_hashes(h.data(), n_);
  }

  void complete_rows(row_exchange& ex) override {
    if (!x0_partial_) return;
    std::optional<device_scope> on;
    ex.agree(enter_device(on));  // before the exchange's first agreement, so no process is left waiting in it
    exchange_device_rows(x0_.data(), ex.first(), ex.last(), ex, nullptr, [] {});
    x0_partial_ = false;
  }

  bool can_defer() const override { return fused_; }

  bool device_exchange_available() const override { return DIFFEVO_WITH_NCCL != 0; }

  std::string device_identity() override {
    cudaDeviceProp prop{};
    DIFFEVO_CUDA_TRY(cudaGetDeviceProperties(&prop, device_));
    static const char hex[] = "0123456789abcdef";
    std::string id;
    for (const char byte : prop.uuid.bytes) {
      const auto b = static_cast<unsigned char>(byte);
      id += hex[b >> 4];
      id += hex[b & 15];
    }
    return id;
  }

  void begin_deferred(const float* best_row, float best_fitness) override {
    const device_scope on(device_);
    // The copy may read its source any time before the stream gets there (CUDA no longer promises to
    // stage pageable memory at the call): a member, not a local. best_row is the optimizer's, unchanged
    // until end_deferred.
    h_begin_ = run_record{};
    h_begin_.has_best = best_row != nullptr;
    h_begin_.best_value = best_fitness;
    wait_on_throw(stream_, [&] {  // nothing queued may read h_begin_ when the next run rewrites it
      DIFFEVO_CUDA_TRY(cudaMemcpyAsync(rec_.data(), &h_begin_, sizeof h_begin_, cudaMemcpyHostToDevice, stream_));
      if (best_row)
        DIFFEVO_CUDA_TRY(cudaMemcpyAsync(best_row_.data(), best_row, sizeof(float) * d_, cudaMemcpyHostToDevice, stream_));
    });
    deferred_.clear();
  }

  void tell_deferred(const float* d_f, const ddim_coefficients& c, int generation) override {
    const device_scope on(device_);
    if (d_f != fitness_.data())
      DIFFEVO_CUDA_TRY(cudaMemcpyAsync(fitness_.data(), d_f, sizeof(float) * n_, cudaMemcpyDeviceToDevice, stream_));
    const rewind_point start{generation, rng_position_, has_x0_};
    summary_extras a;
    a.params = p_.data();
    a.dim = d_;
    a.rec = rec_.data();
    a.generation = generation;
    a.best_row = best_row_.data();
    a.rec_backup = rec_backup_.data();
    a.best_row_backup = best_row_backup_.data();
    summarize_fitness(fitness_.data(), n_, density_, summary_.data(), log_g_.data(), stream_, a);
    deferred_.push_back(start);
    try {
      step(c, rec_.data());
    } catch (...) {
      // The summary went in and folded this generation into the record: put the record and best row
      // back as they were before it (best effort), so the run settles at this generation untold.
      cudaMemcpyAsync(rec_.data(), rec_backup_.data(), sizeof(run_record), cudaMemcpyDeviceToDevice, stream_);
      cudaMemcpyAsync(best_row_.data(), best_row_backup_.data(), sizeof(float) * d_, cudaMemcpyDeviceToDevice, stream_);
      cudaGetLastError();  // a failure here is not blamed on a later call
      deferred_.pop_back();
      throw;
    }
  }

  deferred_outcome end_deferred() override {
    const device_scope on(device_);
    run_record r{};
    deferred_outcome o;
    o.best.resize(static_cast<std::size_t>(d_));
    host_round_trip(stream_, [&] {
      DIFFEVO_CUDA_TRY(cudaMemcpyAsync(&r, rec_.data(), sizeof r, cudaMemcpyDeviceToHost, stream_));
      DIFFEVO_CUDA_TRY(
          cudaMemcpyAsync(o.best.data(), best_row_.data(), sizeof(float) * d_, cudaMemcpyDeviceToHost, stream_));
    });
    o.has_best = r.has_best != 0;
    o.best_fitness = r.best_value;
    if (!o.has_best) o.best.clear();
    o.last_nonfinite = r.last_nonfinite;
    o.nonfinite = r.nonfinite;
    o.completed = static_cast<int>(deferred_.size());
    if (r.halted) {
      o.halted = true;
      o.error_generation = r.error_generation;
      o.error = r.error;
      // The device kept x (and p, x0) at the halting generation; put the noise position back there too.
      const auto at = std::find_if(deferred_.begin(), deferred_.end(),
                                   [&](const rewind_point& p) { return p.generation == r.error_generation; });
      if (at == deferred_.end())
        throw logic_error(msg("cuda backend: a deferred run halted at generation ", r.error_generation,
                              ", which it never enqueued"));
      o.completed = static_cast<int>(at - deferred_.begin());
      DIFFEVO_CURAND_TRY(curandSetGeneratorOffset(rng_, at->rng_position));
      rng_position_ = at->rng_position;
      has_x0_ = at->has_x0;
    }
    deferred_.clear();
    return o;
  }

  std::vector<float> last_fitness() override {
    const device_scope on(device_);
    std::vector<float> f(static_cast<std::size_t>(n_));
    host_round_trip(stream_, [&] {
      DIFFEVO_CUDA_TRY(cudaMemcpyAsync(f.data(), fitness_.data(), sizeof(float) * n_, cudaMemcpyDeviceToHost, stream_));
    });
    return f;
  }

  double effective_neighbours() override {
    const std::vector<float> v = [&] {
      const device_scope on(device_);
      std::vector<float> h(static_cast<std::size_t>(n_));
      host_round_trip(stream_, [&] {
        DIFFEVO_CUDA_TRY(cudaMemcpyAsync(h.data(), neff_.data(), sizeof(float) * n_, cudaMemcpyDeviceToHost, stream_));
      });
      return h;
    }();
    double m = 0;
    for (float x : v) m += x;
    return m / n_;
  }

  std::vector<float> x0_params() override {
    require_whole_x0("x0()");
    const device_scope on(device_);
    std::vector<float> out(static_cast<std::size_t>(n_) * d_);
    host_round_trip(stream_, [&] {
      DIFFEVO_CUDA_TRY(
          cudaMemcpyAsync(out.data(), x0_.data(), sizeof(float) * out.size(), cudaMemcpyDeviceToHost, stream_));
    });
    to_params(out.data(), out.data(), static_cast<std::size_t>(n_), h_center_, h_scale_);
    return out;
  }

  void copy_params_row(int i, float* out) override {
    if (i == candidate_index_) {  // read back with the summary
      std::copy(h_candidate_.begin(), h_candidate_.end(), out);
      return;
    }
    const device_scope on(device_);
    host_round_trip(stream_, [&] {
      DIFFEVO_CUDA_TRY(cudaMemcpyAsync(out, p_.data() + static_cast<std::size_t>(i) * d_, sizeof(float) * d_,
                                       cudaMemcpyDeviceToHost, stream_));
    });
  }

 private:
  /// One generation's update with the last summarized fitness; `rec` (deferred runs) halts it. A
  /// throw leaves the state as it was (optimizer::apply relies on it): x and x0 are replaced only by
  /// the last launch and the final swap, and the catch puts the noise position back and rebuilds the
  /// parameters, which had received the noise, from x.
  void step(const ddim_coefficients& c, const run_record* rec) {
    rewinding_on_throw([&] { step_body(c, rec); });
  }

  /// Runs `update` (one generation's update): if it throws, the noise position goes back to where it
  /// was and p is recomputed from the unchanged x, then the exception propagates.
  template <class Update>
  void rewinding_on_throw(Update&& update) {
    candidate_index_ = -1;  // the parameters change
    const std::uint64_t position = rng_position_;
    try {
      update();
    } catch (...) {
      curandSetGeneratorOffset(rng_, position);  // best effort: after a device fault nothing works
      rng_position_ = position;
      try {
        ddim_update_and_params(x_.data(), nullptr, nullptr, update_coefficients{}, center_.data(), scale_.data(),
                               p_.data(), n_, d_, stream_);
      } catch (...) {
      }
      throw;
    }
  }

  /// Makes the optimizer's device current for the lifetime of `on`. A failure is returned, not
  /// thrown: a sharded call agrees on it with the other processes before any exchange.
  std::exception_ptr enter_device(std::optional<device_scope>& on) {
    try {
      on.emplace(device_);
    } catch (...) {
      return std::current_exception();
    }
    return nullptr;
  }

  /// The coordinates distances are measured in: x, or (latent) Z = X E^T for every row. Sets `k` to
  /// their width.
  const float* distance_coordinates(int& k) {
    k = d_;
    if (latent_ == 0) return x_.data();
    const float one = 1.0f, zero = 0.0f;
    // Z (row-major N x d) = X E^T; column-major: Z^T (d x N) = E (op T of E^T, D x d) * X^T (D x N).
    DIFFEVO_CUBLAS_TRY(cublasSgemm(blas_, CUBLAS_OP_T, CUBLAS_OP_N, latent_, n_, d_, &one, e_.data(), d_, x_.data(),
                                   d_, &zero, z_.data(), latent_));
    k = latent_;
    return z_.data();
  }

  /// Rows [rb, re) of the next x0 (and their effective neighbours), in chunks of chunk_ rows: the
  /// weights (float distances, or the float64 Gram product for plain large D), then x0 = W X.
  void x0_rows(const float* q, int k, const ddim_coefficients& c, int rb, int re) {
    const float one = 1.0f, zero = 0.0f;
    if (gram_) widen_rows(x_.data(), n_, d_, xd_.data(), norm2_.data(), stream_);
    for (int r0 = rb; r0 < re; r0 += chunk_) {
      const int rows = std::min(chunk_, re - r0);
      if (gram_) {
        // G rows [r0, r0 + rows) = Xd_chunk Xd^T; column-major: G^T (N x rows) = Xd (op T of Xd^T, N x D) * Xd_chunk^T.
        const double done = 1.0, dzero = 0.0;
        DIFFEVO_CUBLAS_TRY(cublasDgemm(blas_, CUBLAS_OP_T, CUBLAS_OP_N, n_, rows, d_, &done, xd_.data(), d_,
                                       xd_.data() + static_cast<std::size_t>(r0) * d_, d_, &dzero, g_.data(), n_));
        softmax_weights_gram(g_.data(), norm2_.data(), n_, log_g_.data(), c.a_t, rows, w_.data(), neff_.data() + r0,
                             stream_);
      } else {
        softmax_weights(q, n_, k, log_g_.data(), c.a_t, r0, rows, w_.data(), neff_.data(), stream_);
      }
      // X0 rows [r0, r0 + rows) = W_chunk X; column-major: X0^T (D x rows) = X^T (D x N) * W_chunk^T (N x rows).
      DIFFEVO_CUBLAS_TRY(cublasSgemm(blas_, CUBLAS_OP_N, CUBLAS_OP_N, d_, rows, n_, &one, x_.data(), d_, w_.data(), n_,
                                     &zero, x0_next_.data() + static_cast<std::size_t>(r0) * d_, d_));
    }
  }

  void step_body(const ddim_coefficients& c, const run_record* rec) {
    int k = d_;
    const float* q = distance_coordinates(k);
    const bool noisy = c.sigma > 0;
    const std::size_t nd = static_cast<std::size_t>(n_) * d_;
    if (fused_) {
      if (noisy) {
        DIFFEVO_CURAND_TRY(curandGenerateNormal(rng_, p_.data(), draw_count(nd), 0.0f, 1.0f));
        rng_position_ += draw_count(nd);
      }
      fused_update(q, k, x_.data(), n_, d_, log_g_.data(), c.a_t, update_of(c), noisy ? p_.data() : nullptr,
                   center_.data(), scale_.data(), x_next_.data(), x0_.data(), p_.data(), neff_.data(), rec, stream_);
      std::swap(x_, x_next_);
      has_x0_ = true;
      return;
    }
    x0_rows(q, k, c, 0, n_);
    if (noisy) {
      DIFFEVO_CURAND_TRY(curandGenerateNormal(rng_, p_.data(), draw_count(nd), 0.0f, 1.0f));
      rng_position_ += draw_count(nd);
    }
    ddim_update_and_params(x_.data(), x0_next_.data(), noisy ? p_.data() : nullptr, update_of(c), center_.data(),
                           scale_.data(), p_.data(), n_, d_, stream_);
    std::swap(x0_, x0_next_);
    has_x0_ = true;
  }

  void require_whole_x0(const char* call) const {
    if (x0_partial_)
      throw logic_error(msg(call, ": x0 of a sharded update is still split between the processes (the MPI "
                                  "component completes it first)"));
  }

  /// The sharded update's body (update_rows() runs it rewinding_on_throw).
  void sharded_step(const ddim_coefficients& c, row_exchange& ex, std::exception_ptr failed) {
    const int rb = ex.first(), re = ex.last();
    const std::size_t nd = static_cast<std::size_t>(n_) * d_;
    const bool noisy = c.sigma > 0;
    ex.agree_on([&] {  // this process's rows; a failure (or the device switch's) is agreed on before any exchange
      if (failed) std::rethrow_exception(failed);
      if (x_next_.size() < draw_count(nd)) {
        x_next_ = device_buffer<float>(draw_count(nd));
        // Its padding past N x D becomes x's after the swap: defined, as x's own is.
        DIFFEVO_CUDA_TRY(cudaMemsetAsync(x_next_.data(), 0, sizeof(float) * draw_count(nd), stream_));
      }
      if (fused_ && x0_next_.size() < nd) x0_next_ = device_buffer<float>(nd);  // (whole updates write x0_)
      int k = d_;
      const float* q = distance_coordinates(k);  // every row's (each row's distances need them all)
      if (!fused_) x0_rows(q, k, c, rb, re);
      const std::size_t b = static_cast<std::size_t>(rb) * d_, e = static_cast<std::size_t>(re) * d_;
      if (noisy && re > rb) {  // the draw's elements [b, e), from a 4-aligned start
        const std::size_t lo = b & ~std::size_t(3), hi = draw_count(e);
        DIFFEVO_CURAND_TRY(curandSetGeneratorOffset(rng_, rng_position_ + lo));
        DIFFEVO_CURAND_TRY(curandGenerateNormal(rng_, p_.data() + lo, hi - lo, 0.0f, 1.0f));
      }
      if (noisy) DIFFEVO_CURAND_TRY(curandSetGeneratorOffset(rng_, rng_position_ + draw_count(nd)));
      if (fused_) {  // the rows' x0, new x and effective neighbours in one kernel, the noise read from p
        fused_update(q, k, x_.data(), n_, d_, log_g_.data(), c.a_t, update_of(c), noisy ? p_.data() : nullptr,
                     center_.data(), scale_.data(), x_next_.data(), x0_next_.data(), p_.data(), neff_.data(), nullptr,
                     stream_, rb, re - rb);
      } else if (re > rb) {  // the new rows in x_next_ (x stays as it was until the exchange succeeded)
        DIFFEVO_CUDA_TRY(cudaMemcpyAsync(x_next_.data() + b, x_.data() + b, sizeof(float) * (e - b),
                                         cudaMemcpyDeviceToDevice, stream_));
        ddim_update_and_params(x_next_.data() + b, x0_next_.data() + b, noisy ? p_.data() + b : nullptr,
                               update_of(c), center_.data(), scale_.data(), p_.data() + b, re - rb, d_, stream_);
      }
    });
    // The new x in x_next_, and p from it (the parameters of every row; agreed on with the copy in),
    // then the commit, which cannot fail.
    exchange_device_rows(x_next_.data(), rb, re, ex, neff_.data(), [&] {
      ddim_update_and_params(x_next_.data(), nullptr, nullptr, update_coefficients{}, center_.data(), scale_.data(),
                             p_.data(), n_, d_, stream_);
    });
    if (noisy) rng_position_ += draw_count(nd);
    std::swap(x_, x_next_);
    std::swap(x0_, x0_next_);
    has_x0_ = true;
    x0_partial_ = true;  // x0's other rows come only when asked (complete_rows())
  }

  /// Exchanges rows [rb, re) of the N x D device matrix `d_rows` (and of the N floats `d_neff`, if
  /// given) with the other processes, through host memory or (ex.on_device()) between the devices,
  /// then enqueues `then` (its failure is agreed on with the exchange's last step). Collective.
  template <class Then>
  void exchange_device_rows(float* d_rows, int rb, int re, row_exchange& ex, float* d_neff, Then&& then) {
    if (ex.on_device()) {
#if DIFFEVO_WITH_NCCL
      exchange_between_devices(d_rows, ex, d_neff, then);
      return;
#else
      // Not reached: the MPI component asks for it only where device_exchange_available() holds.
      throw logic_error("a row exchange between devices needs the cuda backend built with NCCL");
#endif
    }
    const std::size_t nd = static_cast<std::size_t>(n_) * d_;
    const std::size_t b = static_cast<std::size_t>(rb) * d_, e = static_cast<std::size_t>(re) * d_;
    // Each side of the exchange is local work that can fail on one process: agreed on, so no process
    // is left in the exchange, and none commits rows that another could not take in.
    ex.agree_on([&] {
      h_rows_.resize(nd);
      if (d_neff) h_neff_.resize(static_cast<std::size_t>(n_));
      host_round_trip(stream_, [&] {
        if (e > b)
          DIFFEVO_CUDA_TRY(cudaMemcpyAsync(h_rows_.data() + b, d_rows + b, sizeof(float) * (e - b),
                                           cudaMemcpyDeviceToHost, stream_));
        if (d_neff && re > rb)
          DIFFEVO_CUDA_TRY(cudaMemcpyAsync(h_neff_.data() + rb, d_neff + rb, sizeof(float) * (re - rb),
                                           cudaMemcpyDeviceToHost, stream_));
      });
    });
    ex.allgather_rows(h_rows_.data(), sizeof(float) * static_cast<std::size_t>(d_));
    if (d_neff) ex.allgather_rows(h_neff_.data(), sizeof(float));
    ex.agree_on([&] {
      host_round_trip(stream_, [&] {
        DIFFEVO_CUDA_TRY(cudaMemcpyAsync(d_rows, h_rows_.data(), sizeof(float) * nd, cudaMemcpyHostToDevice, stream_));
        if (d_neff)
          DIFFEVO_CUDA_TRY(cudaMemcpyAsync(d_neff, h_neff_.data(), sizeof(float) * n_, cudaMemcpyHostToDevice, stream_));
        then();
      });
    });
  }

#if DIFFEVO_WITH_NCCL
  /// exchange_device_rows() between the devices: the rows stay in device memory and move by NCCL
  /// broadcasts in place (cuda/exchange/device_group.cuh). Each step that can fail on one process is
  /// agreed on before the next needs the peers (the rows computed; the broadcasts enqueued; set up;
  /// their completion and what follows), and an agreed failure aborts the communicator on every process (a
  /// new one is made at the next exchange).
  template <class Then>
  void exchange_between_devices(float* d_rows, row_exchange& ex, float* d_neff, Then&& then) {
    // This process's rows are computed (their kernels ran) before any process enqueues a collective.
    ex.agree_on([&] { DIFFEVO_CUDA_TRY(cudaStreamSynchronize(stream_)); });
    if (!group_) group_ = device_group::create(ex);
    try {
      ex.agree_on([&] {
        const std::size_t row = sizeof(float) * static_cast<std::size_t>(d_);
        if (d_neff)
          group_.enqueue_allgather({{d_rows, row}, {d_neff, sizeof(float)}}, ex, stream_);
        else
          group_.enqueue_allgather({{d_rows, row}}, ex, stream_);
      });
      ex.agree_on([&] { group_.settle_group(); });
      try {
        ex.agree_on([&] {
          group_.wait(stream_, ex);
          host_round_trip(stream_, [&] { then(); });
        });
      } catch (...) {
        ex.clear_give_ups();  // every process is here (the agreed failure): the notices are consumed
        throw;
      }
    } catch (...) {
      group_.abort();  // the agreed failure, on every process: drops what it queued
      throw;
    }
  }
#endif

  /// Up to this dimension the best row comes back with the summary (one round trip instead of two
  /// when the best improves; larger rows are fetched only when needed).
  static constexpr int k_candidate_max_dim = 1 << 16;

  /// Summary and log-densities of fitness_ (kept for the next update), and the best row with it.
  /// Synchronizes.
  fitness_summary summarize_fitness_buffer() {
    summary_extras x;
    const bool with_row = d_ <= k_candidate_max_dim;
    if (with_row) {
      x.params = p_.data();
      x.dim = d_;
      x.candidate = candidate_.data();
    }
    candidate_index_ = -1;
    summarize_fitness(fitness_.data(), n_, density_, summary_.data(), log_g_.data(), stream_, x);
    fitness_summary s;
    if (with_row) h_candidate_.resize(static_cast<std::size_t>(d_));
    host_round_trip(stream_, [&] {
      DIFFEVO_CUDA_TRY(cudaMemcpyAsync(&s, summary_.data(), sizeof s, cudaMemcpyDeviceToHost, stream_));
      if (with_row)
        DIFFEVO_CUDA_TRY(cudaMemcpyAsync(h_candidate_.data(), candidate_.data(), sizeof(float) * d_,
                                         cudaMemcpyDeviceToHost, stream_));
    });
    if (with_row && s.first_error < 0) candidate_index_ = s.best;
    return s;
  }

  int n_, d_, latent_;
  density_params density_;
  int device_ = 0;
  int chunk_ = 1;
  bool fused_ = false;
  bool gram_ = false;
  bool has_x0_ = false;
  bool x0_partial_ = false;  // a sharded update left only this process's rows of x0 (complete_rows())
  std::uint64_t rng_position_ = 0;
  std::vector<float> h_rows_, h_neff_;  // a sharded update's host staging
  std::vector<float> h_center_, h_scale_, h_p_, h_candidate_;
  int candidate_index_ = -1;  // the row in h_candidate_ (valid until the parameters change), or -1
  device_buffer<float> x_, p_, x0_, fitness_, log_g_, neff_, center_, scale_, w_, e_, z_;
  device_buffer<fitness_summary> summary_;
  device_buffer<float> candidate_;          // the summary's best row, read back with it
  device_buffer<float> x_next_, best_row_;  // fused path only: the update's output (swapped with x_), best-so-far
  device_buffer<float> x0_next_;            // other paths: the update's x0 (swapped with x0_)
  device_buffer<run_record> rec_, rec_backup_;
  device_buffer<float> best_row_backup_;
  run_record h_begin_{};  // the record a deferred run starts from (the source of its copy)
  struct rewind_point {  // where each deferred generation started
    int generation;
    std::uint64_t rng_position;
    bool has_x0;
  };
  std::vector<rewind_point> deferred_;
  device_buffer<double> xd_, norm2_, g_;  // Gram path only
  // Declared last, so destroyed first: the stream is synchronized before any buffer it uses is freed,
  // and the generator and cuBLAS handle go before the stream they work on.
  owned_stream stream_;
  cublas_handle blas_;
  curand_generator rng_;
#if DIFFEVO_WITH_NCCL
  device_group group_;  // a sharded update's communicator between devices, made at its first exchange
#endif
};

}  // namespace

std::unique_ptr<backend> create_cuda_backend(const config& cfg) { return std::make_unique<cuda_backend>(cfg); }

std::size_t device_weight_budget() noexcept { return g_weight_budget.load(std::memory_order_relaxed); }

void set_device_weight_budget(std::size_t bytes) noexcept { g_weight_budget.store(bytes, std::memory_order_relaxed); }

}  // namespace diffevo::detail
