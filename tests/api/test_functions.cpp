// The paper's 2-D functions (docs/algorithm.md §6) at their known optima, and Diffusion Evolution finding them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>
#include <vector>

#include "diffevo/diffevo.hpp"
#include "tests/helpers/paper_config.hpp"

using namespace diffevo;
using functions::benchmark;

TEST(Functions, KnownMinima) {
  EXPECT_NEAR(functions::rosenbrock(1, 1), 0, 1e-12);
  EXPECT_NEAR(functions::beale(3, 0.5), 0, 1e-12);
  for (auto [x, y] : {std::pair{3.0, 2.0}, {-2.805118, 3.131312}, {-3.779310, -3.283186}, {3.584428, -1.848126}})
    EXPECT_NEAR(functions::himmelblau(x, y), 0, 1e-8);
  EXPECT_NEAR(functions::ackley(0, 0), 0, 1e-12);
  EXPECT_NEAR(functions::rastrigin(0, 0), 0, 1e-12);
}

namespace {
// Max of f on [-4, 4]^2: a 0.01 grid, then a 1e-4 grid around the best cell.
std::pair<double, double> grid_argmax(double (*f)(double, double), double* best) {
  double bx = 0, by = 0;
  *best = -1e300;
  for (int pass = 0; pass < 2; ++pass) {
    const double h = pass == 0 ? 0.01 : 1e-4, cx = bx, cy = by;
    const int n = pass == 0 ? 400 : 100;
    for (int i = -n; i <= n; ++i)
      for (int j = -n; j <= n; ++j) {
        const double x = std::clamp(cx + i * h, -4.0, 4.0), y = std::clamp(cy + j * h, -4.0, 4.0);
        if (f(x, y) > *best) {
          *best = f(x, y);
          bx = x;
          by = y;
        }
      }
  }
  return {bx, by};
}
}  // namespace

TEST(Functions, BoxMaximaMatchTheSpecTargets) {
  double best_a, best_r;
  const auto [ax, ay] = grid_argmax(functions::ackley, &best_a);
  const auto [rx, ry] = grid_argmax(functions::rastrigin, &best_r);
  EXPECT_NEAR(best_a, 12.5401, 1e-3);
  EXPECT_NEAR(best_r, 64.6249, 1e-3);
  EXPECT_NEAR(functions::paper_density(benchmark::ackley, ax, ay), 1.0, 1e-4);
  EXPECT_NEAR(functions::paper_density(benchmark::rastrigin, rx, ry), 1.0, 1e-4);
  EXPECT_DOUBLE_EQ(functions::paper_density(benchmark::rosenbrock, 1, 1), 1.0);
  EXPECT_GE(functions::paper_density(benchmark::ackley, 4.5, 0), 0.0);  // outside the box: ~0, never negative
  EXPECT_LT(functions::paper_density(benchmark::ackley, 4.5, 0), 1e-6);
}

// Diffusion Evolution with the paper's settings (N = 512, T = 25, eta = 0.1, scale 4, identity density)
// ends with x0 estimates at the optima on every function.
TEST(Functions, DiffusionEvolutionFindsTheOptimaOnCpu) {
  for (benchmark b : {benchmark::rosenbrock, benchmark::beale, benchmark::himmelblau, benchmark::ackley,
                      benchmark::rastrigin}) {
    const config c = paper_config(backend_kind::cpu, 512, 25, 42);
    const optimize_result r = optimize(c, [b](population_view pop, float* f) {
      for (int i = 0; i < pop.rows; ++i) f[i] = float(functions::paper_density(b, pop.row(i)[0], pop.row(i)[1]));
    });
    EXPECT_GT(r.best_fitness, 0.98) << "function " << int(b);
    // Not only one lucky individual: the 64 best of the final population (the paper's metric
    // set) are near an optimum on average.
    std::vector<float> g = r.fitness;
    std::sort(g.begin(), g.end(), std::greater<float>());
    double top = 0;
    for (int i = 0; i < 64; ++i) top += g[i];
    EXPECT_GT(top / 64, 0.5) << "function " << int(b);  // measured at seed 42: 0.58 (rastrigin) .. 0.9
  }
}
