// Writes the seed corpus of tests/fuzz/corpus (three small valid checkpoints) and, given a second
// folder, of tests/fuzz/corpus-open-ended (two small open-ended runs: told in float and in double,
// with an injection, one stopped; and a run with the refinement options of formats 5-13, told in
// double). Build against the library and run with the output folders:
//   ./make_corpus tests/fuzz/corpus tests/fuzz/corpus-open-ended
// (the corpus keeps the first two open-ended files as written in format 8, and the third in format 13)
#include <diffevo/diffevo.hpp>
#include <diffevo/open_ended.hpp>
#include <cmath>
#include <string>
#include <vector>
using namespace diffevo;
int main(int, char** argv) {
  std::string dir = argv[1];
  config c; c.population = 4; c.dimension = 2; c.steps = 4; c.backend = backend_kind::cpu; c.seed = 1;
  { optimizer o(c); o.save(dir + "/plain-gen0.ckpt"); }
  c.dimension = 3; c.latent_dim = 2; c.scale = {2.0f}; c.center = {1, 2, 3}; c.goal = objective::minimize;
  { optimizer o(c); std::vector<float> f = {1, 2, NAN, 4};
    for (int g = 0; g < 2; ++g) { o.ask(); o.tell(f); } o.save(dir + "/latent-gen2.ckpt"); }
  c = config{}; c.population = 3; c.dimension = 1; c.steps = 3; c.schedule = schedule_kind::user; c.user_alphas = {0.9, 0.5, 0.2};
  c.backend = backend_kind::cpu; c.density = density_kind::identity;
  { optimizer o(c); std::vector<float> f = {0.1f, 0.5f, 0.2f}; o.ask(); o.tell(f); o.ask(); o.tell(f); o.save(dir + "/user-schedule-done.ckpt"); }
  if (!argv[2]) return 0;
  const std::string oe = argv[2];
  open_ended_config o; o.run.population = 4; o.run.dimension = 2; o.run.steps = 3; o.run.seed = 2;
  o.run.backend = backend_kind::cpu; o.lower = {-1}; o.upper = {1}; o.shaping = density_shaping::rank;
  o.archive_radius = 0.1; o.refine_levels = 2; o.refine_population = 3; o.refine_steps = 2; o.max_evaluations = 40;
  { open_ended r(o); std::vector<float> f = {1, 2, 3, 4}; std::vector<double> g = {1, 2.5, 3.25, 4.125};
    r.ask(); r.tell(f); r.ask(); r.tell(g); const float p[2] = {0.5f, -0.5f}; r.inject(p, 1); r.ask(); r.tell(g);
    r.save(oe + "/mixed-running.ckpt"); }
  { open_ended r(o); while (!r.done()) { population_view q = r.ask(); std::vector<double> g(q.rows);
      for (int i = 0; i < q.rows; ++i) g[i] = -(q.row(i)[0] * q.row(i)[0]) - 1e-9 * i; r.tell(g); }
    r.save(oe + "/double-stopped.ckpt"); }
  o.max_evaluations = 400; o.refine_levels = 4; o.refine_cycles = 6; o.refine_taboo = true; o.refine_polish = 2;
  o.refine_seed_cut = 0.5; o.explore_samples = 8; o.refine_abandon = 1; o.refine_abandon_gain = 0.1;
  o.refine_abandon_level = 3; o.refine_probe = 0.5; o.refine_translate = 2; o.refine_translate_optima = true;
  o.refine_nudge = 2; o.refine_precision = 1e-6;
  { open_ended r(o); for (int k = 0; k < 30 && !r.done(); ++k) { population_view q = r.ask(); std::vector<double> g(q.rows);
      for (int i = 0; i < q.rows; ++i) g[i] = -std::fabs(q.row(i)[0] - 0.25) - std::fabs(q.row(i)[1] + 0.5); r.tell(g); }
    r.save(oe + "/options-running.ckpt"); }
}
