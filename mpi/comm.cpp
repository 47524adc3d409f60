#include "mpi/comm.hpp"

#include <cinttypes>
#include <climits>
#include <cstdio>
#include <new>
#include <string>
#include <utility>

#include "diffevo/detail/hash.hpp"
#include "diffevo/error.hpp"
#include "host/util/message.hpp"

namespace diffevo::mpi::detail {

void check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) std::snprintf(text, sizeof text, "error code %d", rc);
  throw mpi_error(diffevo::detail::msg(call, " failed: ", text));
}

channel::channel(MPI_Comm comm) {
  int initialized = 0;
  check(MPI_Initialized(&initialized), "MPI_Initialized");
  if (!initialized) throw logic_error("diffevo::mpi: MPI is not initialized (call MPI_Init first)");
  if (comm == MPI_COMM_NULL) throw invalid_argument("diffevo::mpi: comm is MPI_COMM_NULL");
  check(MPI_Comm_dup(comm, &comm_), "MPI_Comm_dup");
  // Errors come back as codes (checked, thrown as mpi_error) instead of aborting the job.
  const int rc = MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  if (rc == MPI_SUCCESS) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    return;
  }
  MPI_Comm_free(&comm_);
  check(rc, "MPI_Comm_set_errhandler");
}

channel::~channel() {
  int finalized = 1;
  if (comm_ != MPI_COMM_NULL && MPI_Finalized(&finalized) == MPI_SUCCESS && !finalized) MPI_Comm_free(&comm_);
}

namespace {

/// What an exception is, so that every rank can throw the same type.
enum kind : int {
  k_other,
  k_invalid_argument,
  k_logic_error,
  k_out_of_memory,
  k_checkpoint_error,
  k_device_unavailable,
  k_cuda_error,
  k_cublas_error,
  k_curand_error,
  k_nccl_error,
  k_mpi_error,
  k_state_drift,
};

std::pair<int, std::string> classify(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const invalid_argument& x) {
    return {k_invalid_argument, x.what()};
  } catch (const logic_error& x) {
    return {k_logic_error, x.what()};
  } catch (const out_of_memory& x) {
    return {k_out_of_memory, x.what()};
  } catch (const checkpoint_error& x) {
    return {k_checkpoint_error, x.what()};
  } catch (const device_unavailable& x) {
    return {k_device_unavailable, x.what()};
  } catch (const cuda_error& x) {
    return {k_cuda_error, x.what()};
  } catch (const cublas_error& x) {
    return {k_cublas_error, x.what()};
  } catch (const curand_error& x) {
    return {k_curand_error, x.what()};
  } catch (const nccl_error& x) {
    return {k_nccl_error, x.what()};
  } catch (const mpi_error& x) {
    return {k_mpi_error, x.what()};
  } catch (const state_drift& x) {
    return {k_state_drift, x.what()};
  } catch (const std::bad_alloc& x) {
    return {k_out_of_memory, x.what()};
  } catch (const std::exception& x) {
    return {k_other, x.what()};
  } catch (...) {
    return {k_other, "an exception that is not a std::exception"};
  }
}

/// Throws `e`; with `nest` (the failing rank itself) that rank's own exception is nested in it.
template <class E>
[[noreturn]] void go(const E& e, std::exception_ptr nest) {
  if (!nest) throw e;
  try {
    std::rethrow_exception(nest);
  } catch (...) {
    std::throw_with_nested(e);
  }
}

/// Throws the exception of kind `k` with `what`.
[[noreturn]] void raise(int k, const std::string& what, int rank, std::exception_ptr nest) {
  switch (k) {
    case k_invalid_argument: go(invalid_argument(what), nest);
    case k_logic_error: go(logic_error(what), nest);
    case k_out_of_memory: go(out_of_memory(what), nest);
    case k_checkpoint_error: go(checkpoint_error(what), nest);
    case k_device_unavailable: go(device_unavailable(what), nest);
    case k_cuda_error: go(cuda_error(what), nest);
    case k_cublas_error: go(cublas_error(what), nest);
    case k_curand_error: go(curand_error(what), nest);
    case k_nccl_error: go(nccl_error(what), nest);
    case k_mpi_error: go(mpi_error(what), nest);
    case k_state_drift: go(state_drift(what), nest);
    default: go(rank_failure(what, rank), nest);
  }
}

}  // namespace

std::string channel::broadcast(const std::string& s, int root) {
  unsigned long long len = s.size();
  run("MPI_Bcast", [&] { return MPI_Bcast(&len, 1, MPI_UNSIGNED_LONG_LONG, root, comm_); });
  if (len > static_cast<unsigned long long>(INT_MAX))
    throw mpi_error(diffevo::detail::msg("diffevo::mpi: a broadcast text of ", len, " bytes is too long"));
  std::string out = rank_ == root ? s : std::string(static_cast<std::size_t>(len), '\0');
  if (len > 0)
    run("MPI_Bcast", [&] { return MPI_Bcast(&out[0], static_cast<int>(len), MPI_CHAR, root, comm_); });
  return out;
}

void channel::agree(std::exception_ptr local, const std::string& where) {
  int failing = local ? rank_ : size_;
  run("MPI_Allreduce", [&] { return MPI_Allreduce(MPI_IN_PLACE, &failing, 1, MPI_INT, MPI_MIN, comm_); });
  if (failing == size_) return;
  raise_from(failing, local, where);
}

void channel::raise_from(int failing, std::exception_ptr local, const std::string& where) {
  std::pair<int, std::string> error{k_other, ""};
  if (rank_ == failing) error = classify(local);
  int k = error.first;
  run("MPI_Bcast", [&] { return MPI_Bcast(&k, 1, MPI_INT, failing, comm_); });
  const std::string text = broadcast(error.second, failing);
  const std::string what = diffevo::detail::msg("rank ", failing, where.empty() ? "" : ", ", where, ": ", text);
  raise(k, what, failing, rank_ == failing ? local : nullptr);
}

void row_layout(int n, int p, std::vector<int>& counts, std::vector<int>& firsts) {
  counts.resize(static_cast<std::size_t>(p));
  firsts.resize(static_cast<std::size_t>(p));
  for (int r = 0; r < p; ++r) {
    firsts[static_cast<std::size_t>(r)] = first_row(n, p, r);
    counts[static_cast<std::size_t>(r)] = first_row(n, p, r + 1) - first_row(n, p, r);
  }
}

void require_same(channel& ch, const std::vector<std::pair<std::string, std::string>>& fields, const char* what) {
  std::string mine;
  for (const auto& f : fields) {
    mine += f.second;
    mine.push_back('\0');
  }
  const std::string root = ch.broadcast(mine, 0);
  // The first field whose text differs from rank 0's.
  long long first = static_cast<long long>(fields.size());
  std::size_t a = 0;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::size_t b = root.find('\0', a);
    if (b == std::string::npos || root.compare(a, b - a, fields[i].second) != 0) {
      first = static_cast<long long>(i);
      break;
    }
    a = b + 1;
  }
  // The lowest (field, rank) that differs, as one number.
  long long key = first * ch.size() + ch.rank();
  ch.run("MPI_Allreduce", [&] { return MPI_Allreduce(MPI_IN_PLACE, &key, 1, MPI_LONG_LONG, MPI_MIN, ch.comm()); });
  const long long field = key / ch.size();
  if (field >= static_cast<long long>(fields.size())) return;
  const int rank = static_cast<int>(key % ch.size());
  const std::size_t i = static_cast<std::size_t>(field);
  const std::string theirs = ch.broadcast(fields[i].second, rank);
  std::size_t start = 0;
  for (std::size_t j = 0; j < i; ++j) start = root.find('\0', start) + 1;
  const std::string zero = root.substr(start, root.find('\0', start) - start);
  throw invalid_argument(diffevo::detail::msg(what, ".", fields[i].first, " differs between ranks: rank 0 has ", zero,
                                              ", rank ", rank, " has ", theirs, " (every rank must pass the same)"));
}

namespace {
std::string exact(double v) {
  char b[40];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}
std::string exact_u64(std::uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "%" PRIu64, v);
  return b;
}
template <class T>
std::string exact_list(const std::vector<T>& v) {
  if (v.size() > 8) {  // long lists by their length and bit hash
    char b[64];
    std::snprintf(b, sizeof b, "[%zu values, hash %016" PRIx64 "]", v.size(),
                  diffevo::detail::hash_words(v.data(), v.size() * sizeof(T)));
    return b;
  }
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + exact(static_cast<double>(v[i]));
  return s + "]";
}
template <class E>
std::string named(E v) {
  return diffevo::detail::msg(to_string(v), " (", static_cast<int>(v), ")");
}
}  // namespace

std::vector<std::pair<std::string, std::string>> describe(const config& c, const options& o) {
  return {
      {"population", std::to_string(c.population)},
      {"dimension", std::to_string(c.dimension)},
      {"steps", std::to_string(c.steps)},
      {"schedule", named(c.schedule)},
      {"user_alphas", exact_list(c.user_alphas)},
      {"eta", exact(c.eta)},
      {"density", named(c.density)},
      {"power", exact(c.power)},
      {"temperature", exact(c.temperature)},
      {"goal", named(c.goal)},
      {"latent_dim", std::to_string(c.latent_dim)},
      {"center", exact_list(c.center)},
      {"scale", exact_list(c.scale)},
      {"seed", exact_u64(c.seed)},
      {"backend", named(c.backend)},
      {"cpu_math", named(c.cpu_math)},
      {"update (options)", named(o.update)},
      {"check_every (options)", std::to_string(o.check_every)},
      {"exchange (options)", named(o.exchange)},
  };
}

}  // namespace diffevo::mpi::detail

namespace diffevo::mpi {

const char* to_string(update_mode m) noexcept {
  switch (m) {
    case update_mode::automatic: return "automatic";
    case update_mode::replicated: return "replicated";
    case update_mode::sharded: return "sharded";
  }
  return "?";
}

const char* to_string(exchange_path m) noexcept {
  switch (m) {
    case exchange_path::automatic: return "automatic";
    case exchange_path::host: return "host";
    case exchange_path::device: return "device";
  }
  return "?";
}

}  // namespace diffevo::mpi
