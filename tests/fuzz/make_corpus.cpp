// Writes the seed corpus of tests/fuzz/corpus (three small valid checkpoints). Build against the
// library and run with the output folder:  ./make_corpus tests/fuzz/corpus
#include <diffevo/diffevo.hpp>
#include <string>
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
}
