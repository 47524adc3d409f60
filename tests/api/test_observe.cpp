// Per-generation records: their values against independent computations, the CSV / JSON Lines
// writer and the console display.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <clocale>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "diffevo/diffevo.hpp"
#include "tests/helpers/expect.hpp"

using namespace diffevo;

namespace {

config small(int n, int d) {
  config c;
  c.population = n;
  c.dimension = d;
  c.steps = 6;
  c.seed = 3;
  c.backend = backend_kind::cpu;
  return c;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace

TEST(Observe, RecordMatchesIndependentComputations) {
  const int n = 30, d = 3;
  config c = small(n, d);
  c.eta = 0.0;
  optimizer o(c);
  std::vector<generation_record> got;
  o.on_generation([&](const generation_record& r) { got.push_back(r); });
  std::mt19937 rng(2);
  std::normal_distribution<float> nd(0, 2);
  std::vector<float> f(n);
  for (float& v : f) v = nd(rng);
  f[4] = NAN;
  const population_view p = o.ask();
  const std::vector<float> x(p.data, p.data + p.size());
  o.tell(f);
  ASSERT_EQ(got.size(), 1u);
  const generation_record& r = got[0];
  EXPECT_EQ(r.generation, 1);
  EXPECT_EQ(r.generations, 5);
  EXPECT_EQ(r.alpha, o.alphas()[5]);
  EXPECT_EQ(r.alpha_next, o.alphas()[4]);
  EXPECT_EQ(r.nonfinite, 1);

  std::vector<float> finite;
  for (float v : f)
    if (std::isfinite(v)) finite.push_back(v);
  std::sort(finite.begin(), finite.end());
  EXPECT_EQ(r.best, finite.back());
  EXPECT_EQ(r.worst, finite.front());
  ASSERT_EQ(finite.size(), 29u);
  EXPECT_EQ(r.median, finite[14]);  // 29 finite values: the 15th
  double mean = 0;
  for (float v : finite) mean += v / finite.size();
  EXPECT_NEAR(r.mean, mean, 1e-5);
  EXPECT_EQ(r.best_so_far, finite.back());

  // Effective neighbours from float64 weights (energy density, plain distances, self included).
  const double a = r.alpha, s = std::sqrt(a);
  double neff = 0;
  for (int i = 0; i < n; ++i) {
    std::vector<double> v(n);
    for (int j = 0; j < n; ++j) {
      double d2 = 0;
      for (int k = 0; k < d; ++k) d2 += (x[i * d + k] - s * x[j * d + k]) * (x[i * d + k] - s * x[j * d + k]);
      v[j] = std::isfinite(f[j]) ? f[j] - d2 / (2 * (1 - a)) : -INFINITY;
    }
    const double m = *std::max_element(v.begin(), v.end());
    double sum = 0, sq = 0;
    for (double e : v) sum += std::exp(e - m);
    for (double e : v) sq += std::exp(e - m) * std::exp(e - m) / (sum * sum);
    neff += 1 / sq / n;
  }
  EXPECT_NEAR(r.effective_neighbours, neff, 1e-6 * neff);
  EXPECT_GE(r.effective_neighbours, 1.0);

  // Spread: mean over dimensions of the std of the parameters after the update.
  const population_view after = o.ask();
  double spread = 0;
  for (int k = 0; k < d; ++k) {
    double m = 0, q = 0;
    for (int i = 0; i < n; ++i) m += after.row(i)[k] / n;
    for (int i = 0; i < n; ++i) q += (after.row(i)[k] - m) * (after.row(i)[k] - m) / n;
    spread += std::sqrt(q) / d;
  }
  EXPECT_NEAR(r.spread, spread, 1e-9);
  EXPECT_GE(r.update_seconds, 0.0);
  EXPECT_GE(r.generation_seconds, 0.0);
}

TEST(Observe, OneDominantIndividualGivesAboutOneNeighbour) {
  config c = small(40, 2);
  c.density = density_kind::identity;
  optimizer o(c);
  double neff = 0;
  o.on_generation([&](const generation_record& r) { neff = r.effective_neighbours; });
  std::vector<float> f(40, 0.0f);
  f[7] = 1.0f;  // only one individual has density: every row's weight sits on it
  o.ask();
  o.tell(f);
  EXPECT_NEAR(neff, 1.0, 1e-9);
}

TEST(Observe, CallbackExceptionPropagatesAfterTheGenerationIsApplied) {
  optimizer o(small(10, 2));
  o.on_generation([](const generation_record&) { throw std::runtime_error("observer failed"); });
  std::vector<float> f(10, 1.0f);
  o.ask();
  EXPECT_THROW(o.tell(f), std::runtime_error);
  EXPECT_EQ(o.generation(), 1);
  o.on_generation(nullptr);
  o.ask();
  o.tell(f);
  EXPECT_EQ(o.generation(), 2);
}

// An observer may clear or replace itself from inside its own call (stop observing after a few
// generations): the call runs on a copy, so its captures live until it returns. The optimizer and a
// baseline; under the sanitizers a call on the destroyed closure fails.
TEST(Observe, ACallbackMayReplaceOrClearItselfWhileItRuns) {
  const auto check = [](strategy& s, int n) {
    std::vector<int> first, second;
    const std::string tag(100, 'x');  // captured by value: freed with the closure
    s.on_generation([&s, &first, &second, tag](const generation_record& r) {
      if (r.generation == 2)
        s.on_generation([&second](const generation_record& q) { second.push_back(q.generation); });
      first.push_back(r.generation + static_cast<int>(tag.size()) - 100 + (tag[99] == 'x' ? 0 : 1000));
    });
    std::vector<float> f(static_cast<std::size_t>(n), 1.0f);
    for (int g = 0; g < 4; ++g) {
      s.ask();
      s.tell(f);
    }
    EXPECT_EQ(first, (std::vector<int>{1, 2}));
    EXPECT_EQ(second, (std::vector<int>{3, 4}));
    s.on_generation([&s](const generation_record&) { s.on_generation(nullptr); });
    s.ask();
    s.tell(f);  // clears itself
    s.ask();
    s.tell(f);  // nothing observes
  };
  config oc = small(10, 2);
  oc.steps = 10;
  optimizer o(oc);
  check(o, 10);
  open_es_config c;
  c.population = 8;
  c.dimension = 2;
  c.generations = 10;
  open_es es(c);
  check(es, 8);
}

TEST(Observe, CsvAndJsonLinesWriters) {
  const std::string csv = ::testing::TempDir() + "diffevo_obs_" + std::to_string(::getpid()) + ".csv";
  const std::string jsonl = csv + ".jsonl";
  {
    optimizer o(small(12, 2));
    record_writer wc(csv, record_writer::format::csv), wj(jsonl, record_writer::format::jsonl);
    o.on_generation([&](const generation_record& r) {
      wc(r);
      wj(r);
    });
    std::vector<float> f(12, NAN);  // all non-finite: best/mean/... are NaN -> null in JSON
    while (!o.done()) {
      o.ask();
      o.tell(f);
    }
  }
  const auto c = lines_of(csv), j = lines_of(jsonl);
  ASSERT_EQ(c.size(), 6u);  // header + 5 generations
  EXPECT_EQ(c[0].substr(0, 22), "generation,generations");
  EXPECT_EQ(c[1].substr(0, 4), "1,5,");
  ASSERT_EQ(j.size(), 5u);
  for (const auto& l : j) {
    EXPECT_EQ(l.front(), '{');
    EXPECT_EQ(l.back(), '}');
    EXPECT_NE(l.find("\"best\": null"), std::string::npos) << l;
    EXPECT_NE(l.find("\"nonfinite\": 12"), std::string::npos) << l;
    EXPECT_EQ(l.find("nan"), std::string::npos) << l;
  }
  std::remove(csv.c_str());
  std::remove(jsonl.c_str());
  EXPECT_THROW(record_writer("/nonexistent-dir/x.csv", record_writer::format::csv), std::runtime_error);
}

// The writers' numbers read back to the same float or double (%.9g wrote 0.30000000000000004 as 0.3),
// and do not follow the C locale's decimal comma (a German locale made 24 CSV fields of 14 and JSON
// that no parser reads).
TEST(Observe, WrittenNumbersReadBackExactlyInAnyLocale) {
  generation_record r;
  r.generation = 3, r.generations = 9, r.nonfinite = 2;
  r.alpha = 0.1 + 0.2, r.alpha_next = 1 - 1e-12;
  r.best = 0.1f, r.mean = -1.5e-30f, r.median = 3.4e38f, r.worst = -0.0f, r.best_so_far = 16777217.0f;
  r.effective_neighbours = 1.0 / 3.0, r.spread = 2.5e-300, r.update_seconds = 1e-9, r.generation_seconds = 12345.678;
  // a locale with a decimal comma, where this machine has one (else the C locale: the round trip still runs)
  const char* comma = nullptr;
  for (const char* name : {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8"})
    if (std::setlocale(LC_NUMERIC, name)) {
      comma = name;
      break;
    }
  const std::string csv = ::testing::TempDir() + "diffevo_obs_num_" + std::to_string(::getpid()) + ".csv";
  const std::string jsonl = csv + ".jsonl";
  {
    record_writer wc(csv, record_writer::format::csv), wj(jsonl, record_writer::format::jsonl);
    wc(r);
    wj(r);
  }
  std::setlocale(LC_NUMERIC, "C");
  const std::vector<std::string> c = lines_of(csv), j = lines_of(jsonl);
  ASSERT_EQ(c.size(), 2u);
  std::vector<std::string> cells;
  std::stringstream row(c[1]);
  for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
  ASSERT_EQ(cells.size(), 14u) << c[1] << (comma ? std::string(" (written under ") + comma + ")" : std::string());
  EXPECT_EQ(std::strtod(cells[2].c_str(), nullptr), r.alpha);
  EXPECT_EQ(std::strtod(cells[3].c_str(), nullptr), r.alpha_next);
  EXPECT_EQ(std::strtof(cells[4].c_str(), nullptr), r.best);
  EXPECT_EQ(std::strtof(cells[5].c_str(), nullptr), r.mean);
  EXPECT_EQ(std::strtof(cells[6].c_str(), nullptr), r.median);
  EXPECT_EQ(cells[7], "-0");
  EXPECT_EQ(cells[8], "2");
  EXPECT_EQ(std::strtod(cells[9].c_str(), nullptr), r.effective_neighbours);
  EXPECT_EQ(std::strtod(cells[10].c_str(), nullptr), r.spread);
  EXPECT_EQ(std::strtod(cells[12].c_str(), nullptr), r.generation_seconds);
  EXPECT_EQ(std::strtof(cells[13].c_str(), nullptr), r.best_so_far);
  EXPECT_EQ(cells[4], "0.1");  // the float's shortest form, not the double 0.100000001
  ASSERT_EQ(j.size(), 1u);
  EXPECT_NE(j[0].find("\"alpha\": 0.30000000000000004, "), std::string::npos) << j[0];
  EXPECT_NE(j[0].find("\"effective_neighbours\": 0.3333333333333333, "), std::string::npos) << j[0];
  EXPECT_EQ(j[0].find(",5"), std::string::npos) << j[0];  // no decimal comma
  std::remove(csv.c_str());
  std::remove(jsonl.c_str());
}

TEST(Observe, ProgressPrinterPrintsAHeaderAndOneLinePerGeneration) {
  std::FILE* tmp = std::tmpfile();
  ASSERT_NE(tmp, nullptr);
  optimizer o(small(8, 2));
  o.on_generation(progress_printer(tmp));
  std::vector<float> f(8, 1.0f);
  while (!o.done()) {
    o.ask();
    o.tell(f);
  }
  std::rewind(tmp);
  std::string text;
  for (int ch; (ch = std::fgetc(tmp)) != EOF;) text += static_cast<char>(ch);
  std::fclose(tmp);
  std::istringstream in(text);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_NE(lines[0].find("gen/total"), std::string::npos);
  EXPECT_NE(lines[0].find("best-so-far"), std::string::npos);
  EXPECT_NE(lines[1].find("1/5"), std::string::npos);
  EXPECT_NE(lines[5].find("5/5"), std::string::npos);
}

// Runs of 10,000 generations and more, and long wall times, stay in line under the header (the first
// column was 9 wide for "12345/99999", and seconds were %8.3f).
TEST(Observe, ProgressColumnsStayInLineForLongRuns) {
  std::FILE* tmp = std::tmpfile();
  ASSERT_NE(tmp, nullptr);
  progress_printer print(tmp);
  generation_record r;
  r.generations = 99999;
  for (int g : {1, 12345, 99999}) {
    r.generation = g;
    r.generation_seconds = g == 99999 ? 1234567.5 : 0.25;
    print(r);
  }
  std::rewind(tmp);
  std::vector<std::string> lines;
  for (char buf[512]; std::fgets(buf, sizeof buf, tmp);) lines.emplace_back(buf);
  std::fclose(tmp);
  ASSERT_EQ(lines.size(), 4u);
  const std::size_t width = lines[0].size();
  for (const std::string& l : lines) EXPECT_EQ(l.size(), width) << l;  // every column where the header's is
}

TEST(Observe, ProgressShowsTheBestSoFarBesideThisGenerationsBest) {
  // Fitness falls every generation (maximize): this generation's best drops, the run's stays at the first.
  std::FILE* tmp = std::tmpfile();
  ASSERT_NE(tmp, nullptr);
  optimizer o(small(8, 2));
  o.on_generation(progress_printer(tmp));
  for (int g = 0; !o.done(); ++g) {
    o.ask();
    std::vector<float> f(8, 100.0f - 10.0f * static_cast<float>(g));
    f[3] += 1.0f;
    o.tell(f);
  }
  std::rewind(tmp);
  char header[256], gen[32];
  ASSERT_NE(std::fgets(header, sizeof header, tmp), nullptr);
  std::vector<double> best, best_so_far;
  double b, m, med, w, bsf;
  while (std::fscanf(tmp, "%31s %lf %lf %lf %lf %lf %*[^\n]", gen, &b, &m, &med, &w, &bsf) == 6) {
    best.push_back(b);
    best_so_far.push_back(bsf);
  }
  std::fclose(tmp);
  ASSERT_EQ(best.size(), 5u);
  for (std::size_t g = 0; g < best.size(); ++g) {
    EXPECT_EQ(best[g], 101.0 - 10.0 * static_cast<double>(g));
    EXPECT_EQ(best_so_far[g], 101.0);
  }
}

TEST(Observe, ProgressPrinterRefusesANullStream) {
  // progress_printer(nullptr) used to crash (SIGSEGV) at the first generation.
  expect_message<std::invalid_argument>([] { progress_printer p(nullptr); }, "progress_printer: out must not be null");
}

TEST(Observe, BaselinesDeliverTheSameRecords) {
  // Every baseline, through the strategy interface: one record per tell with the told fitness's
  // statistics, the next population's spread, best-so-far, and NaN for the diffusion-only fields.
  cma_es_config cc;
  cc.population = 20;
  cc.dimension = 3;
  cc.generations = 4;
  cc.goal = objective::minimize;
  open_es_config oc;
  oc.population = 20;
  oc.dimension = 3;
  oc.generations = 4;
  oc.goal = objective::minimize;
  pepg_config pc;
  pc.population = 20;
  pc.dimension = 3;
  pc.generations = 4;
  pc.goal = objective::minimize;
  cma_es cma(cc);
  open_es oes(oc);
  pepg pe(pc);
  for (strategy* s : std::vector<strategy*>{&cma, &oes, &pe}) {
    std::vector<generation_record> got;
    s->on_generation([&](const generation_record& r) { got.push_back(r); });
    float best_so_far = INFINITY;
    int nan_count = 0;
    while (!s->done()) {
      const population_view p = s->ask();
      std::vector<float> f(20);
      for (int i = 0; i < 20; ++i) {
        double q = 0;
        for (int k = 0; k < 3; ++k) q += double(p.row(i)[k]) * p.row(i)[k];
        f[i] = static_cast<float>(q);
      }
      f[s->generation() % 20] = NAN;
      ++nan_count;
      if (s->generation() == 2) {  // one more non-finite value: an even count of finite ones
        f[19] = INFINITY;          // minimize: +inf loses
        ++nan_count;
      }
      s->tell(f);
      ASSERT_EQ(got.size(), static_cast<std::size_t>(s->generation())) << s->name();
      const generation_record& r = got.back();
      std::vector<float> finite;
      for (float v : f)
        if (std::isfinite(v)) finite.push_back(v);
      std::sort(finite.begin(), finite.end());
      best_so_far = std::min(best_so_far, finite.front());
      EXPECT_EQ(r.generation, s->generation()) << s->name();
      EXPECT_EQ(r.generations, 4) << s->name();
      EXPECT_EQ(r.best, finite.front()) << s->name();  // minimize: the smallest is best
      EXPECT_EQ(r.worst, finite.back()) << s->name();
      const std::size_t h = finite.size() / 2;
      const float median = finite.size() % 2 ? finite[h] : static_cast<float>((double(finite[h - 1]) + finite[h]) / 2);
      EXPECT_EQ(r.median, median) << s->name();
      double mean = 0;
      for (float v : finite) mean += v / static_cast<double>(finite.size());
      EXPECT_NEAR(r.mean, mean, 1e-6 * std::fabs(mean)) << s->name();
      EXPECT_EQ(r.nonfinite, s->generation() == 3 ? 2 : 1) << s->name();
      EXPECT_GE(r.update_seconds, 0.0) << s->name();
      EXPECT_GE(r.generation_seconds, r.update_seconds) << s->name();
      EXPECT_EQ(r.best_so_far, best_so_far) << s->name();
      EXPECT_EQ(r.best_so_far, s->best_fitness()) << s->name();
      EXPECT_TRUE(std::isnan(r.alpha) && std::isnan(r.alpha_next) && std::isnan(r.effective_neighbours)) << s->name();
      const population_view next = s->ask();
      double spread = 0;
      for (int k = 0; k < 3; ++k) {
        double m = 0, q = 0;
        for (int i = 0; i < 20; ++i) m += next.row(i)[k] / 20.0;
        for (int i = 0; i < 20; ++i) q += (next.row(i)[k] - m) * (next.row(i)[k] - m) / 20.0;
        spread += std::sqrt(q) / 3;
      }
      EXPECT_NEAR(r.spread, spread, 1e-9) << s->name();
      EXPECT_GT(r.spread, 0.0) << s->name();
    }
    EXPECT_EQ(s->total_nonfinite(), nan_count) << s->name();
  }
  // A generation with no finite fitness: NaN statistics, the distribution kept, the record still sent.
  cma_es all_bad(cc);
  std::vector<generation_record> got;
  all_bad.on_generation([&](const generation_record& r) { got.push_back(r); });
  all_bad.ask();
  all_bad.tell(std::vector<float>(20, NAN));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(std::isnan(got[0].best) && std::isnan(got[0].mean) && std::isnan(got[0].median) &&
              std::isnan(got[0].best_so_far));
  EXPECT_EQ(got[0].nonfinite, 20);
  all_bad.on_generation(nullptr);
}

TEST(Observe, ABaselinesCallbackExceptionPropagatesAfterTheGenerationIsApplied) {
  cma_es_config cc;
  cc.population = 10;
  cc.generations = 3;
  cma_es s(cc);
  s.on_generation([](const generation_record&) { throw std::runtime_error("observer failed"); });
  std::vector<float> f(10, 1.0f);
  s.ask();
  EXPECT_THROW(s.tell(f), std::runtime_error);
  EXPECT_EQ(s.generation(), 1);
  s.on_generation(nullptr);
  s.ask();
  s.tell(f);
  EXPECT_EQ(s.generation(), 2);
}

TEST(Observe, AStrategyOfYourOwnWithoutObserversSaysSo) {
  struct fixed final : strategy {  // the smallest strategy a user could write
    std::vector<float> x{0.0f, 0.0f};
    int gen = 0;
    population_view ask() override { return population_view{x.data(), 1, 2}; }
    void tell(const float*, std::size_t) override { ++gen; }
    bool done() const noexcept override { return gen >= 1; }
    int generation() const noexcept override { return gen; }
    int generations() const noexcept override { return 1; }
    int population_size() const noexcept override { return 1; }
    int dimension() const noexcept override { return 2; }
    objective goal() const noexcept override { return objective::minimize; }
    std::vector<float> best() const override { return x; }
    float best_fitness() const override { return 0; }
    bool has_best() const noexcept override { return false; }
    long long total_nonfinite() const noexcept override { return 0; }
    const char* name() const noexcept override { return "fixed"; }
  } s;
  try {
    s.on_generation(progress_printer());
    FAIL() << "no exception";
  } catch (const logic_error& e) {
    EXPECT_STREQ(e.what(), "fixed: on_generation() is not supported by this strategy");
  }
}
