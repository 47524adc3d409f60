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

record_writer::record_writer(const std::string& path, format f) : format_(f) {
  std::FILE* raw = std::fopen(path.c_str(), "w");
  if (!raw) throw std::runtime_error("record_writer: cannot open " + path + ": " + std::strerror(errno));
  file_.reset(raw, [](std::FILE* p) { std::fclose(p); });
  if (f == format::csv)
    std::fputs("generation,generations,alpha,alpha_next,best,mean,median,worst,nonfinite,effective_neighbours,"
               "spread,update_seconds,generation_seconds,best_so_far\n",
               raw);
  if (std::fflush(raw) != 0 || std::ferror(raw))
    throw std::runtime_error("record_writer: cannot write " + path + ": " + std::strerror(errno));
}

namespace {
/// v in the shortest form that reads back to the same float or double, whatever the C locale
/// (printf's %g writes the locale's decimal comma: a German locale broke every CSV row and JSON line).
template <class T>
void put_number(std::string& out, T v) {
  char buf[64];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}
// JSON has no NaN: write null.
template <class T>
void json_num(std::string& out, const char* key, T v, bool last = false) {
  out += '"';
  out += key;
  out += "\": ";
  if (std::isfinite(v))
    put_number(out, v);
  else
    out += "null";
  if (!last) out += ", ";
}
}  // namespace

void record_writer::operator()(const generation_record& r) {
  std::string line;
  if (format_ == format::csv) {
    const auto field = [&](auto v, bool last = false) {
      put_number(line, v);
      line += last ? '\n' : ',';
    };
    field(r.generation), field(r.generations), field(r.alpha), field(r.alpha_next), field(r.best), field(r.mean);
    field(r.median), field(r.worst), field(r.nonfinite), field(r.effective_neighbours), field(r.spread);
    field(r.update_seconds), field(r.generation_seconds), field(r.best_so_far, true);
  } else {
    line += "{\"generation\": ";
    put_number(line, r.generation);
    line += ", \"generations\": ";
    put_number(line, r.generations);
    line += ", ";
    json_num(line, "alpha", r.alpha);
    json_num(line, "alpha_next", r.alpha_next);
    json_num(line, "best", r.best);
    json_num(line, "mean", r.mean);
    json_num(line, "median", r.median);
    json_num(line, "worst", r.worst);
    line += "\"nonfinite\": ";
    put_number(line, r.nonfinite);
    line += ", ";
    json_num(line, "effective_neighbours", r.effective_neighbours);
    json_num(line, "spread", r.spread);
    json_num(line, "update_seconds", r.update_seconds);
    json_num(line, "generation_seconds", r.generation_seconds);
    json_num(line, "best_so_far", r.best_so_far, true);
    line += "}\n";
  }
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
