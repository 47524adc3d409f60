// Evolve 4-8-2 cart-pole controllers on every rank of an MPI job: each rank simulates its own rows of
// the population, only the returns move, and the run is the single-process run bit for bit (the
// single-process run with cpu_math = exact, which is what automatic means under MPI). A
// checkpoint is written after every generation; a number G stops after G generations (as a job's time
// limit would), and "resume" continues from the checkpoint at any rank count.
//   mpiexec -n 4 ./example_mpi_cartpole [checkpoint-path] [G | resume]
//   srun -n 4 ./example_mpi_cartpole run.ckpt            (Slurm; one rank per GPU where there are GPUs)
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "diffevo/diffevo.hpp"
#include "diffevo/mpi.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int status = 0;
  try {
    const std::string path = argc > 1 ? argv[1] : "mpi_cartpole.ckpt";
    const bool resume = argc > 2 && std::string(argv[2]) == "resume";
    const int stop_after = argc > 2 && !resume ? std::atoi(argv[2]) : -1;
    diffevo::rollout_config rc;
    rc.layers = {4, 8, 2};
    rc.seed = 3;
    rc.backend = diffevo::backend_kind::cpu;  // each rank evaluates its rows on its own cores
    diffevo::cartpole_evaluator env(rc);

    diffevo::config cfg;
    cfg.population = 256;
    cfg.dimension = env.parameter_count();
    cfg.steps = 10;
    cfg.latent_dim = 2;
    cfg.seed = 3;
    cfg.backend = diffevo::backend_kind::cpu;
    diffevo::mpi::optimizer opt = resume ? diffevo::mpi::optimizer::load(path, MPI_COMM_WORLD, &cfg)
                                         : diffevo::mpi::optimizer(cfg, MPI_COMM_WORLD);
    if (opt.rank() == 0)
      std::printf("%d ranks; this rank has rows %d .. %d; starting at generation %d\n", opt.size(),
                  opt.local_rows().first, opt.local_rows().second - 1, opt.generation());
    opt.on_generation(diffevo::progress_printer(stdout));  // rank 0 only
    const auto [first, last] = opt.local_rows();
    std::vector<float> returns(static_cast<std::size_t>(last - first));
    while (!opt.done() && opt.generation() != stop_after) {
      const diffevo::population_view rows = opt.ask_local();
      try {  // `first` keys each controller's start states by its population index, as in one process
        env.evaluate(rows, returns.data(), static_cast<std::uint64_t>(opt.generation()), static_cast<std::uint64_t>(first));
      } catch (...) {
        opt.tell_local_failed(std::current_exception());  // every rank throws it, nothing hangs
      }
      opt.tell_local(returns.data(), returns.size());  // all-gathers the returns, then updates
      opt.save(path);                                  // rank 0 writes; resumable at any rank count
    }
    if (!opt.done()) {
      if (opt.rank() == 0) std::printf("stopped at generation %d; checkpoint %s\n", opt.generation(), path.c_str());
    } else {
      if (opt.rank() == 0)
        std::printf("best return %.0f over the run; checkpoint %s\n", opt.best_fitness(), path.c_str());
      status = opt.best_fitness() >= 500.0f ? 0 : 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    status = 1;
  }
  MPI_Finalize();
  return status;
}
