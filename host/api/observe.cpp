// The record writer and the console display of diffevo/observe.hpp, and the statistics every
// strategy's records are computed from (record.hpp).
#include "diffevo/observe.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <charconv>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "record.hpp"

namespace diffevo {
namespace detail {

void observer_slot::call(const generation_record& rec) {
  generation_callback running = std::move(callback);
  callback = nullptr;
  const unsigned before = sets;
  try {
    running(rec);
  } catch (...) {
    if (sets == before) callback = std::move(running);
    throw;
  }
  if (sets == before) callback = std::move(running);
}

double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void fitness_stats(std::vector<float> f, objective goal, generation_record& r) {
  f.erase(std::remove_if(f.begin(), f.end(), [](float v) { return !std::isfinite(v); }), f.end());
  if (f.empty()) {
    r.best = r.mean = r.median = r.worst = NAN;
    return;
  }
  std::sort(f.begin(), f.end());
  double m = 0;
  for (float v : f) m += v;
  r.mean = static_cast<float>(m / static_cast<double>(f.size()));
  const std::size_t h = f.size() / 2;
  r.median = f.size() % 2 ? f[h] : static_cast<float>((double(f[h - 1]) + f[h]) / 2);
  r.best = goal == objective::minimize ? f.front() : f.back();
  r.worst = goal == objective::minimize ? f.back() : f.front();
}

double spread_of(const float* p, int n, int d) {
  double total = 0;
  for (int c = 0; c < d; ++c) {
    double m = 0, q = 0;
    for (int i = 0; i < n; ++i) m += p[static_cast<std::size_t>(i) * d + c];
    m /= n;
    for (int i = 0; i < n; ++i) {
      const double e = p[static_cast<std::size_t>(i) * d + c] - m;
      q += e * e;
    }
    total += std::sqrt(q / n);
  }
  return total / d;
}

}  // namespace detail

namespace {
/// Every field of a record, in the files' column order, as f(name, value).
template <class F>
void for_each_field(const generation_record& r, F&& f) {
  f("generation", r.generation), f("generations", r.generations), f("alpha", r.alpha), f("alpha_next", r.alpha_next);
  f("best", r.best), f("mean", r.mean), f("median", r.median), f("worst", r.worst), f("nonfinite", r.nonfinite);
  f("effective_neighbours", r.effective_neighbours), f("spread", r.spread), f("update_seconds", r.update_seconds);
  f("generation_seconds", r.generation_seconds), f("best_so_far", r.best_so_far);
}
/// v in the shortest form that reads back to the same float or double, whatever the C locale
/// (printf's %g writes the locale's decimal comma: a German locale broke every CSV row and JSON line).
template <class T>
void put_number(std::string& out, T v) {
  char buf[64];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}
}  // namespace

record_writer::record_writer(const std::string& path, format f) : format_(f) {
  std::FILE* raw = std::fopen(path.c_str(), "w");
  if (!raw) throw std::runtime_error("record_writer: cannot open " + path + ": " + std::strerror(errno));
  file_.reset(raw, [](std::FILE* p) { std::fclose(p); });
  if (f == format::csv) {
    std::string header;
    for_each_field(generation_record{}, [&](const char* name, auto) {
      header += header.empty() ? "" : ",";
      header += name;
    });
    header += '\n';
    std::fputs(header.c_str(), raw);
  }
  if (std::fflush(raw) != 0 || std::ferror(raw))
    throw std::runtime_error("record_writer: cannot write " + path + ": " + std::strerror(errno));
}

void record_writer::operator()(const generation_record& r) {
  std::string line;
  const bool csv = format_ == format::csv;
  line += csv ? "" : "{";
  bool first = true;
  for_each_field(r, [&](const char* name, auto v) {
    line += first ? "" : (csv ? "," : ", ");
    first = false;
    if (!csv) line += std::string("\"") + name + "\": ";
    if (csv || std::isfinite(static_cast<double>(v)))
      put_number(line, v);
    else
      line += "null";  // JSON has no NaN
  });
  line += csv ? "\n" : "}\n";
  std::FILE* f = file_.get();
  if (std::fwrite(line.data(), 1, line.size(), f) != line.size() || std::fflush(f) != 0)
    throw std::runtime_error(std::string("record_writer: write failed: ") + std::strerror(errno));
}

progress_printer::progress_printer(std::FILE* out) : out_(out) {
  if (!out) throw std::invalid_argument("progress_printer: out must not be null (stderr is the default)");
}

void progress_printer::operator()(const generation_record& r) {
  // the first column as wide as "total/total" (at least the header's 9), so long runs stay in line
  char total[32];
  const int width = std::max(9, 2 * std::snprintf(total, sizeof total, "%d", r.generations) + 1);
  if (lines_ % 20 == 0)
    std::fprintf(out_, "%*s %12s %12s %12s %12s %12s %6s %8s %10s %8s\n", width, "gen/total", "best", "mean", "median",
                 "worst", "best-so-far", "nonfin", "neigh", "spread", "sec");
  ++lines_;
  char gen[32];
  std::snprintf(gen, sizeof gen, "%d/%d", r.generation, r.generations);
  std::fprintf(out_, "%*s %12.5g %12.5g %12.5g %12.5g %12.5g %6d %8.3g %10.4g %8.3g\n", width, gen, r.best, r.mean,
               r.median, r.worst, r.best_so_far, r.nonfinite, r.effective_neighbours, r.spread, r.generation_seconds);
  std::fflush(out_);
}

}  // namespace diffevo
