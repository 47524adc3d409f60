// The record writer and the console display of diffevo/observe.hpp, and the statistics every
// strategy's records are computed from (record.hpp).
#include "diffevo/observe.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
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
    std::fprintf(raw,
                 "generation,generations,alpha,alpha_next,best,mean,median,worst,nonfinite,effective_neighbours,"
                 "spread,update_seconds,generation_seconds,best_so_far\n");
  std::fflush(raw);
}

namespace {
// JSON has no NaN: write null.
void json_num(std::FILE* f, const char* key, double v, bool last = false) {
  if (std::isfinite(v))
    std::fprintf(f, "\"%s\": %.9g%s", key, v, last ? "" : ", ");
  else
    std::fprintf(f, "\"%s\": null%s", key, last ? "" : ", ");
}
}  // namespace

void record_writer::operator()(const generation_record& r) {
  std::FILE* f = file_.get();
  if (format_ == format::csv) {
    std::fprintf(f, "%d,%d,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%d,%.9g,%.9g,%.9g,%.9g,%.9g\n", r.generation, r.generations,
                 r.alpha, r.alpha_next, r.best, r.mean, r.median, r.worst, r.nonfinite, r.effective_neighbours, r.spread,
                 r.update_seconds, r.generation_seconds, r.best_so_far);
  } else {
    std::fprintf(f, "{\"generation\": %d, \"generations\": %d, ", r.generation, r.generations);
    json_num(f, "alpha", r.alpha);
    json_num(f, "alpha_next", r.alpha_next);
    json_num(f, "best", r.best);
    json_num(f, "mean", r.mean);
    json_num(f, "median", r.median);
    json_num(f, "worst", r.worst);
    std::fprintf(f, "\"nonfinite\": %d, ", r.nonfinite);
    json_num(f, "effective_neighbours", r.effective_neighbours);
    json_num(f, "spread", r.spread);
    json_num(f, "update_seconds", r.update_seconds);
    json_num(f, "generation_seconds", r.generation_seconds);
    json_num(f, "best_so_far", r.best_so_far, true);
    std::fprintf(f, "}\n");
  }
  if (std::fflush(f) != 0) throw std::runtime_error(std::string("record_writer: write failed: ") + std::strerror(errno));
}

progress_printer::progress_printer(std::FILE* out) : out_(out) {
  if (!out) throw std::invalid_argument("progress_printer: out must not be null (stderr is the default)");
}

void progress_printer::operator()(const generation_record& r) {
  if (lines_ % 20 == 0)
    std::fprintf(out_, "%9s %12s %12s %12s %12s %12s %6s %8s %10s %8s\n", "gen/total", "best", "mean", "median",
                 "worst", "best-so-far", "nonfin", "neigh", "spread", "sec");
  ++lines_;
  char gen[32];
  std::snprintf(gen, sizeof gen, "%d/%d", r.generation, r.generations);
  std::fprintf(out_, "%9s %12.5g %12.5g %12.5g %12.5g %12.5g %6d %8.3g %10.4g %8.3f\n", gen, r.best, r.mean, r.median,
               r.worst, r.best_so_far, r.nonfinite, r.effective_neighbours, r.spread, r.generation_seconds);
  std::fflush(out_);
}

}  // namespace diffevo
