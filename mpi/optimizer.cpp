// The distributed optimizer (docs/architecture.md "Many processes"): every rank drives an identical
// single-process optimizer; only fitness (and, sharded, the new rows) moves between them. This file is
// the collective state machine: agreement on errors, the config check, the fitness all-gather and the
// population hash that catches drift.
#include "diffevo/mpi.hpp"

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "diffevo/error.hpp"
#include "diffevo/detail/hash.hpp"
#include "host/api/collect.hpp"
#include "host/backend/row_exchange.hpp"
#include "host/util/message.hpp"
#include "mpi/comm.hpp"
#include "mpi/row_exchange.hpp"

namespace diffevo::mpi {

using diffevo::detail::msg;

struct optimizer::state {
  explicit state(MPI_Comm comm) : ch(comm) {}
  detail::channel ch;  // first, so destroyed last: the row exchange in `run` uses it
  options opts;
  std::vector<int> counts, firsts;  // each rank's rows (the row exchange reads them too)
  std::optional<diffevo::optimizer> run;
  std::shared_ptr<detail::mpi_row_exchange> exchange;  // sharded with 2 or more ranks, else null
  bool asked = false;
  bool asked_device = false;  // asked through ask_local_device(): the tell asks the device (no host copy)
  std::vector<float> host_fitness;  // tell_local_device()'s copy
  bool broken = false;  // the ranks' states may differ: every call throws
  std::string broken_why;
  // The population of the current generation on the host (the cuda backend copies it on every
  // ask()), kept so that ask(), ask_local() and tell_local() copy it once per generation.
  population_view pop{};
  int pop_generation = -1;
  std::vector<float> all_fitness;

  int first() const { return firsts[static_cast<std::size_t>(ch.rank())]; }
  int count() const { return counts[static_cast<std::size_t>(ch.rank())]; }

  /// This rank's rows of `whole` (host or device memory).
  population_view local_view(population_view whole) const {
    return population_view{whole.data + static_cast<std::size_t>(first()) * static_cast<std::size_t>(whole.cols),
                           count(), whole.cols};
  }

  /// Throws invalid_argument (naming `call`) unless `n` is this rank's row count.
  void check_count(const char* call, std::size_t n) const {
    DIFFEVO_EXPECTS(n == static_cast<std::size_t>(count()), invalid_argument, call, ": fitness has ", n,
                    " values but this rank has ", count(), " rows (", first(), " .. ", first() + count(), ")");
  }

  void require_intact() const {
    if (broken) throw state_drift(broken_why);
  }

  population_view current() {
    if (pop_generation != run->generation()) {
      pop = run->ask();
      pop_generation = run->generation();
    }
    return pop;
  }

  std::string where() const { return msg("generation ", run ? run->generation() : 0); }

  /// This rank's population hash (local; computed where the population lives, so the cuda backend
  /// copies N hashes to the host, not the population).
  std::uint64_t local_hash() { return diffevo::detail::params_hash(*run); }

  /// Collective, after the ranks found that their hashes differ (`h`: this rank's): names the ranks
  /// whose population differs from rank 0's, breaks the run and throws state_drift on every rank.
  [[noreturn]] void drift(std::uint64_t h) {
    std::uint64_t h0 = h;
    ch.run("MPI_Bcast", [&] { return MPI_Bcast(&h0, 1, MPI_UINT64_T, 0, ch.comm()); });
    int differs = h != h0 ? 1 : 0, how_many = 0, lowest = differs ? ch.rank() : ch.size();
    ch.run("MPI_Allreduce", [&] { return MPI_Allreduce(&differs, &how_many, 1, MPI_INT, MPI_SUM, ch.comm()); });
    ch.run("MPI_Allreduce", [&] { return MPI_Allreduce(MPI_IN_PLACE, &lowest, 1, MPI_INT, MPI_MIN, ch.comm()); });
    broken = true;
    broken_why = msg("state drift at generation ", run->generation(), ": the population on ", how_many,
                     " rank(s) (the first: rank ", lowest, ") differs from rank 0's (hash ", h0,
                     "); unlike hardware or libraries give other bits. The run cannot go on: resume from the "
                     "last checkpoint on ranks that agree");
    throw state_drift(broken_why);
  }

  /// Collective: compares the population hash across ranks (one reduction of {h, ~h} by MIN gives the
  /// smallest and the largest hash).
  void check_hash() {
    std::exception_ptr err;
    std::uint64_t h = 0;
    try {
      h = local_hash();
    } catch (...) {
      err = std::current_exception();
    }
    ch.agree(err, where());
    std::uint64_t v[2] = {h, ~h};
    ch.run("MPI_Allreduce", [&] { return MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_UINT64_T, MPI_MIN, ch.comm()); });
    if (v[0] != ~v[1]) drift(h);
  }

  /// Whether the hash is compared after this generation. Not with a sharded update: every rank's rows
  /// are then the owner's, exchanged, so the ranks cannot drift apart (only the start is compared).
  bool hash_due() const {
    return opts.check_every > 0 && !exchange && run->generation() % opts.check_every == 0;
  }

  /// Two ranks whose populations live on the same device (first < 0: none), and its identity.
  struct sharing {
    int first = -1, second = -1;
    std::string device;
  };

  /// Collective: the first two ranks on the same device. `id` is this rank's device identity ("" on
  /// the cpu backend or when it could not be read: never shared).
  sharing shared_device(const std::string& id) {
    constexpr std::size_t k_identity = 32;  // a UUID in hex
    std::string mine = id.substr(0, k_identity);
    mine.resize(k_identity, '\0');
    std::vector<char> all(k_identity * static_cast<std::size_t>(ch.size()));
    ch.run("MPI_Allgather", [&] {
      return MPI_Allgather(mine.data(), static_cast<int>(k_identity), MPI_CHAR, all.data(),
                           static_cast<int>(k_identity), MPI_CHAR, ch.comm());
    });
    const std::string none(k_identity, '\0');
    std::map<std::string, int> first_on;  // device -> the first rank on it
    for (int r = 0; r < ch.size(); ++r) {
      std::string d(all.data() + static_cast<std::size_t>(r) * k_identity, k_identity);
      if (d == none) continue;
      const auto [it, fresh] = first_on.emplace(d, r);
      if (!fresh) return {it->second, r, std::move(d)};
    }
    return {};
  }

  /// After construction or load (collective): same backend everywhere, the exchange path, the row
  /// exchange, the first hash.
  void start() {
    // What the ranks must agree on beyond the config: the backend, and where the run stands (after
    // load(): ranks that read files of different generations would otherwise go on, and a sharded
    // update, which compares no hash later, would wait forever for a rank that has finished).
    // The rest of the state (best fitness, count of non-finite values) is compared with the hash.
    std::vector<std::pair<std::string, std::string>> kind{{"backend (in use)", to_string(run->backend())},
                                                          {"generation()", std::to_string(run->generation())}};
    // automatic is host until the exchange between devices has run on GPUs (it has run only on the
    // emulator): device is asked for. The options are the same on every rank (compared already).
    if (opts.exchange == exchange_path::automatic) opts.exchange = exchange_path::host;
    const bool device = opts.exchange == exchange_path::device;
    // Which device each rank's population lives on (only for device: NCCL needs one per rank).
    std::exception_ptr err;
    std::string id;
    if (device) {
      try {
        id = diffevo::detail::device_identity(*run);
      } catch (...) {
        err = std::current_exception();
      }
    }
    const sharing shared = device ? shared_device(id) : sharing{};
    detail::require_same(ch, kind, "optimizer");
    try {
      if (err) std::rethrow_exception(err);
      DIFFEVO_EXPECTS(!device || diffevo::detail::device_exchange_available(*run), invalid_argument,
                      "options.exchange = device needs rows that move between devices, but ",
                      run->backend() == backend_kind::cuda
                          ? "this cuda backend was built without NCCL (DIFFEVO_ENABLE_NCCL)"
                          : "the cpu backend's rows are in host memory",
                      "; use exchange_path::host or automatic");
      DIFFEVO_EXPECTS(!device || shared.first < 0, invalid_argument,
                      "options.exchange = device needs one device per rank (NCCL), but ranks ", shared.first, " and ",
                      shared.second, " share the device with UUID ", shared.device,
                      "; pick each rank's device (cudaSetDevice(node_local_rank(comm))) or use exchange_path::host");
      // cpu_math = automatic is exact here: the same bits at any rank count (fast only when asked)
      if (run->cfg().cpu_math == cpu_math_kind::automatic) diffevo::detail::use_exact_cpu_math(*run);
      const config& c = run->cfg();
      detail::row_layout(c.population, ch.size(), counts, firsts);
      all_fitness.resize(static_cast<std::size_t>(c.population));
      if (opts.update == update_mode::automatic)
        opts.update = run->backend() == backend_kind::cpu && ch.size() > 1 && c.population >= k_shard_min_population
                          ? update_mode::sharded
                          : update_mode::replicated;
      if (opts.update == update_mode::sharded && ch.size() > 1) {
        const std::size_t row = sizeof(float) * static_cast<std::size_t>(c.dimension);
        // The rows it will exchange: x (and, on cuda, x0), the latent rows, neff (cpu double, cuda float).
        const std::size_t latent_row = sizeof(float) * static_cast<std::size_t>(c.latent_dim);
        exchange = std::make_shared<detail::mpi_row_exchange>(
            ch, counts, firsts, std::initializer_list<std::size_t>{row, latent_row, sizeof(double), sizeof(float)});
        exchange->device = opts.exchange == exchange_path::device;
        diffevo::detail::set_row_exchange(*run, exchange);
      }
    } catch (...) {
      err = std::current_exception();
    }
    ch.agree(err, "");
    if (opts.check_every > 0) {
      check_hash();
      char best[64] = "none";
      if (run->has_best()) std::snprintf(best, sizeof best, "%a", static_cast<double>(run->best_fitness()));
      detail::require_same(ch, {{"best_fitness()", best}, {"total_nonfinite()", std::to_string(run->total_nonfinite())}},
                           "optimizer");
    }
  }
};

namespace {
void check_options(const options& o) {
  const int u = static_cast<int>(o.update);
  DIFFEVO_EXPECTS(u >= 0 && u <= 2, invalid_argument, "options.update must be automatic, replicated or sharded (got ", u, ")");
  const int x = static_cast<int>(o.exchange);
  DIFFEVO_EXPECTS(x >= 0 && x <= 2, invalid_argument, "options.exchange must be automatic, host or device (got ", x, ")");
  DIFFEVO_EXPECTS(o.check_every >= 0, invalid_argument, "options.check_every must be >= 0 (got ", o.check_every, ")");
}
}  // namespace

optimizer::optimizer(std::unique_ptr<state> s) : s_(std::move(s)) {}

optimizer::optimizer(const config& cfg, MPI_Comm comm, const options& opts) {
  auto s = std::make_unique<state>(comm);
  detail::require_same(s->ch, detail::describe(cfg, opts), "config");
  std::exception_ptr err;
  try {
    check_options(opts);
    s->opts = opts;
    s->run.emplace(cfg);
  } catch (...) {
    err = std::current_exception();
  }
  s->ch.agree(err, "");
  s->start();
  s_ = std::move(s);
}

optimizer optimizer::load(const std::string& path, MPI_Comm comm, const config* expect, const options& opts) {
  auto s = std::make_unique<state>(comm);
  std::exception_ptr err;
  try {
    check_options(opts);
    s->opts = opts;
    s->run.emplace(diffevo::optimizer::load(path, expect));
  } catch (...) {
    err = std::current_exception();
  }
  s->ch.agree(err, "loading " + path);
  detail::require_same(s->ch, detail::describe(s->run->cfg(), opts), "config");
  s->start();
  return optimizer(std::move(s));
}

optimizer::~optimizer() = default;
optimizer::optimizer(optimizer&&) noexcept = default;
optimizer& optimizer::operator=(optimizer&&) noexcept = default;

population_view optimizer::ask() {
  s_->require_intact();
  const population_view p = s_->current();
  s_->asked = true;
  return p;
}

population_view optimizer::ask_local() { return s_->local_view(ask()); }

std::pair<int, int> optimizer::local_rows() const noexcept { return {s_->first(), s_->first() + s_->count()}; }

void optimizer::tell_local(const float* fitness, std::size_t n) {
  s_->require_intact();
  state& s = *s_;
  std::exception_ptr err;
  try {
    DIFFEVO_EXPECTS(!s.run->done(), logic_error, "tell_local() after done(): the run has finished its ",
                    s.run->generations(), " generations");
    DIFFEVO_EXPECTS(s.asked, logic_error, "tell_local() before ask() or ask_local()");
    s.check_count("tell_local()", n);
    DIFFEVO_EXPECTS(n == 0 || fitness != nullptr, invalid_argument, "tell_local(): fitness is a null pointer");
  } catch (...) {
    err = std::current_exception();
  }
  s.ch.agree(err, s.where());

  s.ch.run("MPI_Allgatherv", [&] {
    return MPI_Allgatherv(fitness, s.count(), MPI_FLOAT, s.all_fitness.data(), s.counts.data(), s.firsts.data(),
                          MPI_FLOAT, s.ch.comm());
  });

  // Every rank now tells the same values to the same state: a bad value fails everywhere alike. The
  // sharded update agrees on its local failures before each exchange (an error every rank then holds,
  // nothing applied anywhere). Anything else that failed on some ranks only (an observer on rank 0,
  // memory) is told apart below by whether the generation was applied.
  const int before = s.run->generation();
  const std::string where = msg("generation ", before);
  if (s.exchange) {
    s.exchange->where = where;
    s.exchange->agreed = nullptr;
    s.exchange->agrees = 0;
  }
  err = nullptr;
  try {
    if (s.asked_device)
      s.run->ask_device();  // asked this generation, no copy
    else
      s.current();  // asked this generation (cached: the cuda backend copies on every ask())
    s.run->tell(s.all_fitness);
  } catch (...) {
    err = std::current_exception();
  }
  // Sharded: a rank that failed before the update's first agreement (its summary, on the device)
  // meets the others there now; where every rank failed alike before it (a bad fitness value), they
  // all meet here. Either way every rank throws the agreed error, nothing applied anywhere.
  if (s.exchange && err && !s.exchange->agreed && s.exchange->agrees == 0) {
    try {
      s.exchange->agree(err);
    } catch (...) {
    }
  }
  if (s.exchange && s.exchange->agreed) std::rethrow_exception(s.exchange->agreed);
  const bool applied = s.run->generation() != before;
  if (applied) s.asked = s.asked_device = false;  // else the same generation is told again
  std::uint64_t h = 0;
  const bool hash = applied && s.hash_due();
  if (hash) {
    try {
      h = s.local_hash();
    } catch (...) {
      if (!err) err = std::current_exception();
    }
  }
  // One reduction by MIN: the lowest failing rank, applied on every rank, applied on none, and the
  // smallest and largest hash.
  std::uint64_t v[5] = {static_cast<std::uint64_t>(err ? s.ch.rank() : s.ch.size()), applied ? 1u : 0u,
                        applied ? 0u : 1u, h, ~h};
  s.ch.run("MPI_Allreduce", [&] { return MPI_Allreduce(MPI_IN_PLACE, v, 5, MPI_UINT64_T, MPI_MIN, s.ch.comm()); });
  const bool all_applied = v[1] == 1, none_applied = v[2] == 1;
  const int failing = static_cast<int>(v[0]);
  if (!all_applied && !none_applied) {
    s.broken = true;
    s.broken_why = msg("generation ", before, " was applied on some ranks only (a rank's update failed); the ranks' "
                       "states differ and the run cannot go on: resume from the last checkpoint");
    try {
      if (failing < s.ch.size()) s.ch.raise_from(failing, err, where);
    } catch (...) {
      std::throw_with_nested(state_drift(s.broken_why));
    }
    throw state_drift(s.broken_why);
  }
  if (hash && failing == s.ch.size() && v[3] != ~v[4]) s.drift(h);
  if (failing < s.ch.size()) s.ch.raise_from(failing, err, where);
}

population_view optimizer::ask_local_device() {
  s_->require_intact();
  const population_view p = s_->run->ask_device();  // throws logic_error on the cpu backend
  s_->asked = s_->asked_device = true;
  return s_->local_view(p);
}

void optimizer::tell_local_device(const float* d_fitness, std::size_t n) {
  s_->require_intact();
  state& s = *s_;
  std::exception_ptr err;
  try {
    DIFFEVO_EXPECTS(s.run->backend() == backend_kind::cuda, logic_error,
                    "tell_local_device() needs backend = cuda; this run is on ", to_string(s.run->backend()));
    s.check_count("tell_local_device()", n);
    s.host_fitness.resize(n);
    if (n) s.run->download(d_fitness, s.host_fitness.data(), n);  // after the work queued on the stream
  } catch (...) {
    err = std::current_exception();
  }
  if (err) tell_local_failed(err);  // meets the other ranks' agreement at the start of tell_local()
  tell_local(s.host_fitness.data(), n);
}

void optimizer::tell_local_failed(std::exception_ptr error) {
  s_->require_intact();  // a broken run throws on every rank alike, before any collective
  if (!error) error = std::make_exception_ptr(invalid_argument("tell_local_failed(): the exception is null"));
  s_->ch.agree(error, s_->where());
  std::rethrow_exception(error);  // unreachable: agree() throws when this rank passes an error
}

void optimizer::save(const std::string& path) const {
  s_->require_intact();
  diffevo::detail::complete_rows(*s_->run);  // a sharded update's x0, exchanged (collective)
  std::exception_ptr err;
  if (s_->ch.rank() == 0) {
    try {
      s_->run->save(path);
    } catch (...) {
      err = std::current_exception();
    }
  }
  s_->ch.agree(err, "saving " + path);
}

void optimizer::on_generation(generation_callback cb) {
  if (s_->ch.rank() == 0) s_->run->on_generation(std::move(cb));
}

bool optimizer::done() const noexcept { return s_->run->done(); }
int optimizer::generation() const noexcept { return s_->run->generation(); }
int optimizer::generations() const noexcept { return s_->run->generations(); }
std::vector<float> optimizer::best() const { return s_->run->best(); }
float optimizer::best_fitness() const { return s_->run->best_fitness(); }
bool optimizer::has_best() const noexcept { return s_->run->has_best(); }
std::vector<float> optimizer::x0() const {
  s_->require_intact();
  diffevo::detail::complete_rows(*s_->run);  // a sharded update's x0, exchanged (collective)
  return s_->run->x0();
}
const config& optimizer::cfg() const noexcept { return s_->run->cfg(); }
const options& optimizer::opts() const noexcept { return s_->opts; }
int optimizer::rank() const noexcept { return s_->ch.rank(); }
int optimizer::size() const noexcept { return s_->ch.size(); }
const diffevo::optimizer& optimizer::local() const noexcept { return *s_->run; }
double optimizer::communication_seconds() const noexcept { return s_->ch.seconds(); }

optimize_result run(optimizer& opt, const local_fitness& fitness) {
  // Each rank evaluates its rows; a throw there becomes every rank's exception (tell_local_failed).
  const auto [first, last] = opt.local_rows();
  std::vector<float> f(static_cast<std::size_t>(last - first));
  while (!opt.done()) {
    try {
      if (!fitness) throw invalid_argument("diffevo::mpi::run: fitness callback is empty");
      fitness(opt.ask_local(), first, f.data());
    } catch (...) {
      opt.tell_local_failed(std::current_exception());
    }
    opt.tell_local(f.data(), f.size());
  }
  // The final population: evaluated by rows, gathered, collected alike on every rank.
  optimizer::state& s = *opt.s_;
  s.require_intact();
  population_view all{};
  std::exception_ptr err;
  try {
    if (!fitness) throw invalid_argument("diffevo::mpi::run: fitness callback is empty");
    all = opt.ask();
    fitness(opt.ask_local(), first, f.data());
  } catch (...) {
    err = std::current_exception();
  }
  s.ch.agree(err, "final population");
  s.ch.run("MPI_Allgatherv", [&] {
    return MPI_Allgatherv(f.data(), s.count(), MPI_FLOAT, s.all_fitness.data(), s.counts.data(), s.firsts.data(),
                          MPI_FLOAT, s.ch.comm());
  });
  return diffevo::detail::collect_result(*s.run, all, s.all_fitness);
}

optimize_result optimize(const config& cfg, MPI_Comm comm, const local_fitness& fitness, const options& opts) {
  optimizer opt(cfg, comm, opts);
  return run(opt, fitness);
}

int node_local_rank(MPI_Comm comm) {
  // on a duplicate whose errors come back as codes (comm's own handler would abort the job), which
  // also refuses MPI_COMM_NULL and an MPI that is not initialized
  detail::channel ch(comm);
  MPI_Comm node = MPI_COMM_NULL;
  detail::check(MPI_Comm_split_type(ch.comm(), MPI_COMM_TYPE_SHARED, ch.rank(), MPI_INFO_NULL, &node),
                "MPI_Comm_split_type");
  int local = 0;
  const int rc = MPI_Comm_rank(node, &local);
  MPI_Comm_free(&node);
  detail::check(rc, "MPI_Comm_rank");
  return local;
}

std::uint64_t population_hash(const float* data, int rows, int cols) {
  DIFFEVO_EXPECTS(rows >= 0 && cols >= 0 && (data != nullptr || rows == 0 || cols == 0), invalid_argument,
                  "population_hash: rows and cols must be >= 0 with non-null data (got rows = ", rows, ", cols = ",
                  cols, ")");
  std::vector<std::uint64_t> h(static_cast<std::size_t>(rows));
  for (int i = 0; i < rows; ++i) h[static_cast<std::size_t>(i)] = diffevo::detail::row_hash(data, i, cols);
  return diffevo::detail::combine_row_hashes(h.data(), rows);
}

}  // namespace diffevo::mpi
